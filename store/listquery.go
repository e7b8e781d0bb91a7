package store

import (
	"strings"

	"github.com/jmoiron/sqlx/reflectx"
)

// listStatement is a list whose filters are optional (the inbox, the audit
// log, duplicate suggestions): a base that selects and says what every page
// filters, and a tail that orders and cuts the page. A list is built per
// request with one condition per filter that is on (start, and, end), so a
// filter that is off leaves nothing in the statement: no "(? = ” OR col =
// ?)" for every filter, and the database plans each combination for what
// it actually filters.
//
// The parts stay in '?' form and the statement is rebound for the dialect
// once built, with its conditions in place; the per-connection statement
// cache keeps the few combinations in use.
type listStatement struct {
	base   string // SELECT ... WHERE <what every page filters>
	tail   string // ORDER BY ... LIMIT ?
	rebind func(string) string
}

// list returns the list statement of base and tail.
func list(base, tail string) listStatement { return listStatement{base: base, tail: tail} }

func (s *listStatement) compile(_ *reflectx.Mapper, rebind func(string) string) error {
	s.rebind = rebind
	return nil
}

// sql is the list with no filter on.
func (s *listStatement) sql() string { return s.rebind(s.base + "\n" + s.tail) }

// start begins a list statement for one request.
func (s *listStatement) start() *listQuery { return &listQuery{st: s} }

// listQuery is a list statement being built.
type listQuery struct {
	st    *listStatement
	conds strings.Builder
	args  []any
}

// and adds the condition of a filter that is on, with its parameters.
func (l *listQuery) and(cond string, args ...any) *listQuery {
	l.conds.WriteString("\n\tAND (" + cond + ")")
	l.args = append(l.args, args...)
	return l
}

// end returns the statement, rebound for the dialect, and its parameters
// followed by the tail's.
func (l *listQuery) end(tailArgs ...any) (string, []any) {
	return l.st.rebind(l.st.base + l.conds.String() + "\n" + l.st.tail), append(l.args, tailArgs...)
}
