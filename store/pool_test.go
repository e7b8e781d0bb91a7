package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/inbox/inboxtest"
)

// openPool opens a migrated store of the dialect with the pool p.
func openPool(t testing.TB, dialect string, p Pool) *Store {
	t.Helper()
	url := "sqlite:" + filepath.Join(t.TempDir(), "leadhub.db")
	if dialect == DialectPostgres {
		url = inboxtest.PostgresURL(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, Options{URL: url, Pool: p})
	if err != nil {
		t.Fatalf("open %s: %v", dialect, err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate %s: %v", dialect, err)
	}
	return s
}

var dialects = []string{DialectSQLite, DialectPostgres}

// holdConns takes n connections at once and gives them back, so that the
// pool has opened n.
func holdConns(t *testing.T, db *sqlx.DB, n int) {
	t.Helper()
	ctx := context.Background()
	conns := make([]*sql.Conn, n)
	for i := range conns {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatalf("conn %d: %v", i, err)
		}
		conns[i] = c
	}
	for _, c := range conns {
		c.Close()
	}
}

func TestPoolDefaultsTakeEffect(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			s := openPool(t, dialect, Pool{})
			want := PoolDefaults(dialect).MaxOpenConns
			if got := s.db.Stats().MaxOpenConnections; got != want {
				t.Fatalf("MaxOpenConnections = %d, want the default %d", got, want)
			}
			// Max idle = max open: every connection a burst opened stays
			// open for the next one. database/sql's default would keep 2.
			holdConns(t, s.db, want)
			st := s.db.Stats()
			if st.Idle != want || st.MaxIdleClosed != 0 {
				t.Fatalf("after a burst of %d: idle %d, closed for max idle %d; want %d idle, none closed",
					want, st.Idle, st.MaxIdleClosed, want)
			}
		})
	}
}

func TestPoolOptionsTakeEffect(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			s := openPool(t, dialect, Pool{MaxOpenConns: 3, ConnMaxIdleTime: 100 * time.Millisecond})
			if got := s.db.Stats().MaxOpenConnections; got != 3 {
				t.Fatalf("MaxOpenConnections = %d, want 3", got)
			}
			holdConns(t, s.db, 3)
			if st := s.db.Stats(); st.Idle != 3 || st.OpenConnections != 3 {
				t.Fatalf("after a burst: %d open, %d idle; want 3 and 3", st.OpenConnections, st.Idle)
			}
			// database/sql looks for idle connections to close at most once
			// a second, whatever the idle time; it counts a connection as
			// closed before the close has finished, so wait for both.
			deadline := time.Now().Add(10 * time.Second)
			for st := s.db.Stats(); st.MaxIdleTimeClosed < 3 || st.OpenConnections != 0; st = s.db.Stats() {
				if time.Now().After(deadline) {
					t.Fatalf("idle connections not closed after the idle time: %+v", st)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

func TestPoolLifetimeTakesEffect(t *testing.T) {
	s := openPool(t, DialectSQLite, Pool{MaxOpenConns: 2, ConnMaxLifetime: 100 * time.Millisecond})
	holdConns(t, s.db, 2)
	deadline := time.Now().Add(10 * time.Second)
	for s.db.Stats().MaxLifetimeClosed < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("connections not closed after their lifetime: %+v", s.db.Stats())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPostgresPreparesOncePerConnection runs store queries several times on
// a one-connection pool and checks, in that session's
// pg_prepared_statements, that each was prepared once and that running them
// again prepares nothing more.
func TestPostgresPreparesOncePerConnection(t *testing.T) {
	s := openPool(t, DialectPostgres, Pool{MaxOpenConns: 1})
	ctx := context.Background()
	run := func() {
		for range 5 {
			if _, err := s.LastEventID(ctx); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.OperatorByEmail(ctx, "nobody@example.com"); inbox.ErrorCode(err) != inbox.ENOTFOUND {
				t.Fatalf("OperatorByEmail: %v", err)
			}
		}
	}
	prepared := func(text string) int {
		var n int
		if err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM pg_prepared_statements WHERE statement = $1`, text); err != nil {
			t.Fatal(err)
		}
		return n
	}
	total := func() int {
		var n int
		if err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM pg_prepared_statements`); err != nil {
			t.Fatal(err)
		}
		return n
	}
	run()
	for _, text := range []string{s.q.LastEventID, s.q.OperatorByEmail} {
		if n := prepared(text); n != 1 {
			t.Errorf("prepared %d times on the session, want 1: %s", n, text)
		}
	}
	before := total()
	run()
	if after := total(); after != before {
		t.Fatalf("running the same queries again prepared %d more statements", after-before)
	}
	if st := s.db.Stats(); st.OpenConnections != 1 {
		t.Fatalf("%d connections open, want the one the test looked at", st.OpenConnections)
	}
}

func TestQueryCount(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			s := openPool(t, dialect, Pool{})
			ctx := context.Background()
			if s.QueryCount() == 0 {
				t.Fatal("migrations ran statements, but the count is 0")
			}
			steps := []struct {
				name string
				run  func() error
				want uint64
			}{
				{"one query", func() error { _, err := s.LastEventID(ctx); return err }, 1},
				{"a transaction of one statement", func() error {
					return s.inTx(ctx, func(tx *sqlx.Tx) error {
						_, err := tx.ExecContext(ctx, s.q.ClearLoginFailures, "k")
						return err
					})
				}, 3}, // BEGIN, the statement, COMMIT
				{"a rolled back transaction", func() error {
					err := s.inTx(ctx, func(tx *sqlx.Tx) error {
						var id int64
						if err := tx.GetContext(ctx, &id, s.q.LastEventID); err != nil {
							return err
						}
						return fmt.Errorf("give up")
					})
					if err == nil {
						return fmt.Errorf("the transaction did not fail")
					}
					return nil
				}, 3}, // BEGIN, the query, ROLLBACK
				{"a ping", func() error { return s.Ping(ctx) }, 0},
			}
			for _, step := range steps {
				before := s.QueryCount()
				if err := step.run(); err != nil {
					t.Fatalf("%s: %v", step.name, err)
				}
				if got := s.QueryCount() - before; got != step.want {
					t.Errorf("%s: counted %d statements, want %d", step.name, got, step.want)
				}
			}
		})
	}
}

// sqliteConnOf runs fn with the sqliteConn under c.
func sqliteConnOf(t *testing.T, c *sql.Conn, fn func(sc *sqliteConn)) {
	t.Helper()
	err := c.Raw(func(dc any) error {
		sc, ok := dc.(*sqliteConn)
		if !ok {
			return fmt.Errorf("driver connection is %T, not *sqliteConn", dc)
		}
		fn(sc)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSQLiteStatementCache(t *testing.T) {
	s := openPool(t, DialectSQLite, Pool{})
	ctx := context.Background()
	c, err := s.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 3 {
		if _, err := c.ExecContext(ctx, s.q.ClearLoginFailures, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	sqliteConnOf(t, c, func(sc *sqliteConn) {
		if _, ok := sc.stmts[s.q.ClearLoginFailures]; !ok {
			t.Fatalf("statement not cached; cache holds %d", len(sc.stmts))
		}
	})

	t.Run("same statement again while its rows are open", func(t *testing.T) {
		const q = `SELECT value FROM json_each(?) ORDER BY value`
		outer, err := c.QueryContext(ctx, q, `[1, 2, 3]`)
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		for outer.Next() {
			var v int
			if err := outer.Scan(&v); err != nil {
				t.Fatal(err)
			}
			// The cached statement is busy with outer: this one must not
			// reset it under outer's feet.
			var inner []int
			rows, err := c.QueryContext(ctx, q, `[10, 20]`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var w int
				if err := rows.Scan(&w); err != nil {
					t.Fatal(err)
				}
				inner = append(inner, w)
			}
			if err := rows.Close(); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(inner) != "[10 20]" {
				t.Fatalf("inner rows = %v", inner)
			}
			got = append(got, v)
			if len(got) > 3 {
				t.Fatalf("outer rows restarted: %v", got)
			}
		}
		if err := outer.Close(); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != "[1 2 3]" {
			t.Fatalf("outer rows = %v, want [1 2 3]", got)
		}
		// Closed, the statement is free again and runs from its start.
		var n int
		if err := c.QueryRowContext(ctx, `SELECT count(*) FROM json_each(?)`, `[1, 2]`).Scan(&n); err != nil || n != 2 {
			t.Fatalf("count = %d, %v", n, err)
		}
	})

	t.Run("a failed run leaves the statement usable", func(t *testing.T) {
		const q = `INSERT INTO teams (name, created_at) VALUES (?, ?)`
		at := dbTime(s.now())
		if _, err := c.ExecContext(ctx, q, "sales", at); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ExecContext(ctx, q, "sales", at); !isUniqueViolation(err) {
			t.Fatalf("second insert: %v, want a unique violation", err)
		}
		if _, err := c.ExecContext(ctx, q, "support", at); err != nil {
			t.Fatalf("after a failure: %v", err)
		}
	})

	t.Run("the cache is bounded", func(t *testing.T) {
		for i := range sqliteStmtCacheSize + 20 {
			var v int
			if err := c.QueryRowContext(ctx, fmt.Sprintf("SELECT %d", i)).Scan(&v); err != nil || v != i {
				t.Fatalf("SELECT %d = %d, %v", i, v, err)
			}
		}
		sqliteConnOf(t, c, func(sc *sqliteConn) {
			if n := len(sc.stmts); n > sqliteStmtCacheSize {
				t.Fatalf("cache holds %d statements, more than %d", n, sqliteStmtCacheSize)
			}
		})
	})
}

// TestSQLiteStatementCacheCancel ends a query's context while its rows are
// open, then runs the same statement again on the connection.
func TestSQLiteStatementCacheCancel(t *testing.T) {
	s := openPool(t, DialectSQLite, Pool{MaxOpenConns: 1})
	const q = `SELECT value FROM json_each(?)`
	ctx, cancel := context.WithCancel(context.Background())
	rows, err := s.db.QueryContext(ctx, q, `[1, 2, 3]`)
	if err != nil {
		t.Fatal(err)
	}
	if !rows.Next() {
		t.Fatal("no first row")
	}
	cancel()
	for rows.Next() {
	}
	rows.Close()
	var n int
	if err := s.db.GetContext(context.Background(), &n, `SELECT count(*) FROM (`+q+`)`, `[1, 2]`); err != nil || n != 2 {
		t.Fatalf("count = %d, %v", n, err)
	}
	var vals []int
	if err := s.db.SelectContext(context.Background(), &vals, q, `[4, 5]`); err != nil || fmt.Sprint(vals) != "[4 5]" {
		t.Fatalf("after a canceled run: %v, %v", vals, err)
	}
}

// TestSQLiteWriterGate checks that a second transaction waits for the first
// (and gives up with its context), and that commit and rollback both let
// the next one in.
func TestSQLiteWriterGate(t *testing.T) {
	s := openPool(t, DialectSQLite, Pool{})
	ctx := context.Background()
	first, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := s.db.BeginTxx(short, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second BEGIN while the first is open: %v, want the context's deadline", err)
	}
	if err := first.Rollback(); err != nil {
		t.Fatal(err)
	}
	second, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatalf("BEGIN after a rollback: %v", err)
	}
	if _, err := second.ExecContext(ctx, s.q.ClearLoginFailures, "k"); err != nil {
		t.Fatal(err)
	}
	if err := second.Commit(); err != nil {
		t.Fatal(err)
	}
	soon, cancelSoon := context.WithTimeout(ctx, time.Second)
	defer cancelSoon()
	third, err := s.db.BeginTxx(soon, nil)
	if err != nil {
		t.Fatalf("BEGIN after a commit: %v", err)
	}
	third.Rollback()
}
