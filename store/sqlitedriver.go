package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
)

// modernc.org/sqlite parses (sqlite3_prepare_v2) every statement that
// database/sql hands it through ExecContext or QueryContext and finalizes it
// after the call. Parsing the store's statements takes 5–300 µs each, often
// more than running them (BenchmarkSQLiteStatementCache), and every API
// request and filing batch runs several. The driver's own statements can be
// run again after a reset, which it does itself when a statement's rows are
// closed; so sqliteConn keeps the statements it ran, by text, per
// connection, and runs them again instead of parsing. It also counts the
// statements it runs, for Store.QueryCount.

// Every SQLite transaction here is a writer (_txlock=immediate), and
// SQLite's busy handler is not fair: a waiting writer sleeps 1, 2, 5 ... 100
// ms between tries, while the connection that just committed begins its
// next transaction at once and takes the lock again. With connections kept
// open in the pool a filing worker starved for the whole busy_timeout and
// failed with SQLITE_BUSY (store: TestSQLite/ConcurrentBurst). So the
// connector lets one transaction at a time through BEGIN, in arrival order
// (a channel's waiting senders are served first in, first out), and the
// others wait in Go without sleeping. Single statements outside a
// transaction (the embedded queue's enqueue and claim) still meet the
// writer in SQLite's busy handler; they are short.

// sqliteWriterWait bounds the wait for the writer gate, as busy_timeout
// (sqliteParams) bounds the wait for the lock: a transaction begun while its
// own goroutine holds another fails instead of waiting forever.
const sqliteWriterWait = 10 * time.Second

// sqliteStmtCacheSize bounds the statements kept per connection: the store
// and the embedded queue run about 170 distinct texts, plus one per batch
// size for the queue's IN lists.
const sqliteStmtCacheSize = 256

// sqliteConnector opens modernc.org/sqlite connections wrapped in
// sqliteConn.
type sqliteConnector struct {
	inner     driver.Connector
	cacheSize int
	queries   *atomic.Uint64
	// writer holds a token while a transaction is open.
	writer chan struct{}
}

// openSQLite opens a pool of SQLite connections that keep up to cacheSize
// statements each (0 keeps none) and count what they run in queries.
func openSQLite(dsn string, cacheSize int, queries *atomic.Uint64) (*sql.DB, error) {
	inner, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(&sqliteConnector{inner: inner, cacheSize: cacheSize, queries: queries, writer: make(chan struct{}, 1)}), nil
}

func (c *sqliteConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	inner, ok := conn.(sqliteDriverConn)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("sqlite driver connection %T lacks the context methods", conn)
	}
	return &sqliteConn{inner: inner, cacheSize: c.cacheSize, queries: c.queries, writer: c.writer, stmts: map[string]*cachedStmt{}}, nil
}

func (c *sqliteConnector) Driver() driver.Driver { return c.inner.Driver() }

// sqliteDriverConn is what modernc.org/sqlite's connection implements and
// sqliteConn passes on.
type sqliteDriverConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// sqlite statements implement these; a cached statement is run through them.
type sqliteDriverStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// cachedStmt is a prepared statement and whether rows read from it are still
// open (then the statement is not at its start and cannot be run again).
type cachedStmt struct {
	stmt sqliteDriverStmt
	busy bool
}

// sqliteConn is one SQLite connection with its statement cache. database/sql
// uses a connection from one goroutine at a time, rows included, so the
// cache needs no lock.
type sqliteConn struct {
	inner     sqliteDriverConn
	cacheSize int
	queries   *atomic.Uint64
	writer    chan struct{} // the connector's writer gate
	stmts     map[string]*cachedStmt
}

// stmt returns the cached statement for query, preparing and caching it if
// needed, or nil when the cache is off or the cached statement is busy (a
// query run again while its own rows are open, inside a transaction): then
// the caller runs query the ordinary way.
func (c *sqliteConn) stmt(ctx context.Context, query string) (*cachedStmt, error) {
	if c.cacheSize <= 0 {
		return nil, nil
	}
	if cs, ok := c.stmts[query]; ok {
		if cs.busy {
			return nil, nil
		}
		return cs, nil
	}
	if len(c.stmts) >= c.cacheSize {
		// The store's statements fit the cache many times over: a full
		// cache means ad-hoc texts, so dropping any idle one is as good as
		// keeping the least recently used, and simpler.
		for q, cs := range c.stmts {
			if !cs.busy {
				delete(c.stmts, q)
				// Finalizing reports the error of the statement's last
				// run, which that run's caller already had.
				_ = cs.stmt.Close()
				break
			}
		}
	}
	ds, err := c.prepare(ctx, query)
	if err != nil {
		return nil, err
	}
	cs := &cachedStmt{stmt: ds}
	c.stmts[query] = cs
	return cs, nil
}

func (c *sqliteConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	c.queries.Add(1)
	cs, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.inner.ExecContext(ctx, query, args)
	}
	return cs.stmt.ExecContext(ctx, args)
}

func (c *sqliteConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.queries.Add(1)
	cs, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.inner.QueryContext(ctx, query, args)
	}
	// The driver resets the statement when the rows are closed, and on
	// an error before it returns them.
	rows, err := cs.stmt.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	cs.busy = true
	return &sqliteRows{Rows: rows, done: func() { cs.busy = false }}, nil
}

// PrepareContext serves database/sql's own prepared statements (sql.Stmt),
// which their caller keeps and closes; they are not cached.
func (c *sqliteConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	ds, err := c.prepare(ctx, query)
	if err != nil {
		return nil, err
	}
	return countedStmt{sqliteDriverStmt: ds, queries: c.queries}, nil
}

// prepare parses query on the driver's connection.
func (c *sqliteConn) prepare(ctx context.Context, query string) (sqliteDriverStmt, error) {
	st, err := c.inner.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	ds, ok := st.(sqliteDriverStmt)
	if !ok {
		st.Close()
		return nil, fmt.Errorf("sqlite driver statement %T lacks the context methods", st)
	}
	return ds, nil
}

func (c *sqliteConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// BeginTx waits its turn at the writer gate, then begins; the gate opens
// again when the transaction ends.
func (c *sqliteConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	timer := time.NewTimer(sqliteWriterWait)
	defer timer.Stop()
	select {
	case c.writer <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-timer.C:
		return nil, fmt.Errorf("sqlite: begin: another transaction held the database for %v", sqliteWriterWait)
	}
	c.queries.Add(1)
	tx, err := c.inner.BeginTx(ctx, opts)
	if err != nil {
		<-c.writer
		return nil, err
	}
	return &sqliteTx{Tx: tx, queries: c.queries, writer: c.writer}, nil
}

func (c *sqliteConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// Close finalizes the cached statements before the connection: SQLite
// would refuse to close a connection with live statements.
func (c *sqliteConn) Close() error {
	var errs []error
	for q, cs := range c.stmts {
		errs = append(errs, cs.stmt.Close())
		delete(c.stmts, q)
	}
	errs = append(errs, c.inner.Close())
	return errors.Join(errs...)
}

func (c *sqliteConn) Ping(ctx context.Context) error { return c.inner.Ping(ctx) }

func (c *sqliteConn) ResetSession(ctx context.Context) error { return c.inner.ResetSession(ctx) }

func (c *sqliteConn) IsValid() bool { return c.inner.IsValid() }

// sqliteRows frees its cached statement for the next run once closed. It
// passes on the column type methods modernc's rows have, so that
// sql.Rows.ColumnTypes reports the same as without the cache.
type sqliteRows struct {
	driver.Rows
	done func()
}

func (r *sqliteRows) Close() error {
	err := r.Rows.Close()
	if r.done != nil {
		r.done()
		r.done = nil
	}
	return err
}

func (r *sqliteRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *sqliteRows) ColumnTypeLength(i int) (int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *sqliteRows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *sqliteRows) ColumnTypePrecisionScale(i int) (precision, scale int64, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}

func (r *sqliteRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

// countedStmt counts the runs of a database/sql prepared statement.
type countedStmt struct {
	sqliteDriverStmt
	queries *atomic.Uint64
}

func (s countedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.queries.Add(1)
	return s.sqliteDriverStmt.ExecContext(ctx, args)
}

func (s countedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.queries.Add(1)
	return s.sqliteDriverStmt.QueryContext(ctx, args)
}

// sqliteTx opens the writer gate when it ends, and counts COMMIT and
// ROLLBACK, as pgx's tracer does on PostgreSQL.
type sqliteTx struct {
	driver.Tx
	queries *atomic.Uint64
	writer  chan struct{}
	ended   atomic.Bool
}

func (t *sqliteTx) Commit() error {
	t.queries.Add(1)
	defer t.end()
	return t.Tx.Commit()
}

func (t *sqliteTx) Rollback() error {
	t.queries.Add(1)
	defer t.end()
	return t.Tx.Rollback()
}

// end gives the gate's token back, once: database/sql calls Commit or
// Rollback once per transaction, but a second call must not free a token
// another transaction holds.
func (t *sqliteTx) end() {
	if t.ended.CompareAndSwap(false, true) {
		<-t.writer
	}
}
