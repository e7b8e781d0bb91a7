package store

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"

	"github.com/jmoiron/sqlx"
	"github.com/jmoiron/sqlx/reflectx"
)

// namedQuery is a statement written with :name parameters, filled from the
// db-tagged fields of P. Statements that take more than a few parameters
// are written this way (DESIGN.md §4): a name says what goes where, and a
// value the statement needs twice is passed once. Placeholders are a
// positional wall to review otherwise.
//
// It is compiled once, when the store opens, by sqlx's named-query compiler
// into '?' placeholders, and then rebound for the dialect like every other
// statement; running it costs a field read per parameter, never a parse.
// sqlx reads a "::" as an escaped ':', so a cast in a named statement is
// written CAST(x AS type).
type namedQuery[P any] struct {
	src   string  // as written, with :name parameters
	text  string  // compiled: positional, in the dialect's placeholders
	index [][]int // the field of P behind each placeholder, in order
}

// named returns the statement src, to be compiled by newQueries.
func named[P any](src string) namedQuery[P] { return namedQuery[P]{src: src} }

// compiledStatement is a statement newQueries prepares beyond rebinding its
// text (a namedQuery of any P, a listStatement); all() reads its text.
type compiledStatement interface {
	compile(m *reflectx.Mapper, rebind func(string) string) error
	sql() string
}

func (q *namedQuery[P]) sql() string { return q.text }

func (q *namedQuery[P]) compile(m *reflectx.Mapper, rebind func(string) string) error {
	if q.src == "" {
		q.text, q.index = "", nil
		return nil
	}
	fields := m.TypeMap(reflect.TypeFor[P]()).Names
	// sqlx compiles a named statement together with its argument and
	// returns the argument's values in placeholder order. Given a map from
	// each of P's names to that name, the values are the names in order. A
	// name P lacks fails here, when the store opens.
	probe := make(map[string]any, len(fields))
	for name := range fields {
		if name != "" {
			probe[name] = name
		}
	}
	text, names, err := sqlx.Named(q.src, probe)
	if err != nil {
		return fmt.Errorf("compile with %s: %w", reflect.TypeFor[P]().Name(), err)
	}
	q.index = make([][]int, len(names))
	for i, n := range names {
		q.index[i] = fields[n.(string)].Index
	}
	q.text = rebind(text)
	return nil
}

// args returns p's values in the order the compiled statement takes them.
func (q *namedQuery[P]) args(p P) []any {
	v := reflect.ValueOf(p)
	out := make([]any, len(q.index))
	for i, idx := range q.index {
		out[i] = v.FieldByIndex(idx).Interface()
	}
	return out
}

func (q *namedQuery[P]) exec(ctx context.Context, e sqlx.ExecerContext, p P) (sql.Result, error) {
	return e.ExecContext(ctx, q.text, q.args(p)...)
}

func (q *namedQuery[P]) get(ctx context.Context, g queryer, dest any, p P) error {
	return g.GetContext(ctx, dest, q.text, q.args(p)...)
}

func (q *namedQuery[P]) selectAll(ctx context.Context, g queryer, dest any, p P) error {
	return g.SelectContext(ctx, dest, q.text, q.args(p)...)
}
