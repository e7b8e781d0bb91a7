package store

import (
	"context"
	"database/sql"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/leadhub/leadhub/inbox"
)

// Pool is the connection pool's shape. A zero field takes its dialect's
// default (PoolDefaults). The pool keeps as many idle connections as it may
// open: database/sql's default of 2 idle made a loaded hub close and reopen
// connections all the time, and each new connection parses every statement
// again.
type Pool struct {
	// MaxOpenConns bounds the connections open at once, in use or idle.
	MaxOpenConns int
	// ConnMaxLifetime closes a connection this long after it was opened.
	ConnMaxLifetime time.Duration
	// ConnMaxIdleTime closes a connection left unused this long.
	ConnMaxIdleTime time.Duration
}

// PoolDefaults returns the pool used for the dialect when Options.Pool
// leaves a field zero. BenchmarkPool measured both on the 2-core machine the
// hub is tuned for (4 filing workers with a backlog, API reads at 200/s;
// figures in the commit that set these).
//
// PostgreSQL: 16 connections. PostgreSQL does no more work with more
// sessions than it has cores to run them: 8, 16 and 32 connections filed
// about as many envelopes per second, 2 and 4 made reads wait behind filing
// (read p99 1.2 s and 0.5 s). The number only has to cover what holds a
// connection at once: the filing workers, the outbound worker, the events
// reader, API requests and websocket replays, and it stays far below
// PostgreSQL's max_connections (100) with several instances. A connection
// is renewed after 30 minutes, so that after a failover or a PgBouncer or
// DNS change connections spread again and a backend's caches do not grow
// for days; one idle for 5 minutes is closed, so a burst's extra sessions
// go away.
//
// SQLite: 16 connections, never closed for age (a connection to a local
// file has nothing to renew, and reopening it loses its statement cache).
// SQLite runs one writer at a time, and with _txlock=immediate every
// transaction is a writer (they queue at the connector's writer gate,
// sqlitedriver.go), but WAL lets readers run beside it: with 2 or 4
// connections reads waited for the filing workers' connections (read p99
// 0.2–0.5 s), from 8 on they did not (10–70 ms, depending on the machine's
// other load) and filing was no slower. 16 leaves the embedded queue (inbox/sqlq shares this pool: every
// webhook's enqueue is a write) and websocket replays room beside the
// workers. An idle connection costs its page cache, so one unused for 30
// minutes is closed.
func PoolDefaults(dialect string) Pool {
	if dialect == DialectPostgres {
		return Pool{MaxOpenConns: 16, ConnMaxLifetime: 30 * time.Minute, ConnMaxIdleTime: 5 * time.Minute}
	}
	return Pool{MaxOpenConns: 16, ConnMaxIdleTime: 30 * time.Minute}
}

// withDefaults fills p's zero fields from the dialect's defaults.
func (p Pool) withDefaults(dialect string) Pool {
	d := PoolDefaults(dialect)
	if p.MaxOpenConns <= 0 {
		p.MaxOpenConns = d.MaxOpenConns
	}
	if p.ConnMaxLifetime <= 0 {
		p.ConnMaxLifetime = d.ConnMaxLifetime
	}
	if p.ConnMaxIdleTime <= 0 {
		p.ConnMaxIdleTime = d.ConnMaxIdleTime
	}
	return p
}

// apply sizes db. Max idle equals max open, so that a connection, once
// opened, stays (with its prepared statements) until it ages out.
func (p Pool) apply(db *sql.DB) {
	db.SetMaxOpenConns(p.MaxOpenConns)
	db.SetMaxIdleConns(p.MaxOpenConns)
	db.SetConnMaxLifetime(p.ConnMaxLifetime)
	db.SetConnMaxIdleTime(p.ConnMaxIdleTime)
}

// pgStatementCacheCapacity is how many prepared statements pgx keeps per
// connection. The store has about 150 fixed statements and the embedded
// queue a dozen more, plus one text per batch size for its IN lists; 512
// holds them all, so a statement is parsed once per connection and never
// evicted and parsed again.
const pgStatementCacheCapacity = 512

// openPostgres opens a pool of pgx connections, each of which prepares a
// statement the first time it runs it and reuses it after that
// (cache_statement), and counts every statement it runs in queries.
//
// A URL that sets default_query_exec_mode or statement_cache_capacity
// itself (behind PgBouncer in transaction mode, say) keeps its own choice.
func openPostgres(dsn string, queries *atomic.Uint64) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's error and the url.Error inside it may repeat the URL, and
		// with it the password: say only what is wrong.
		return nil, inbox.Errorf(inbox.EINVALID, "the PostgreSQL URL does not parse")
	}
	q := url.Values{}
	if u, err := url.Parse(dsn); err == nil {
		q = u.Query()
	}
	if !q.Has("default_query_exec_mode") {
		cfg.DefaultQueryExecMode = pgx.QueryExecModeCacheStatement
	}
	if !q.Has("statement_cache_capacity") {
		cfg.StatementCacheCapacity = pgStatementCacheCapacity
	}
	cfg.Tracer = queryCounter{n: queries}
	return stdlib.OpenDB(*cfg), nil
}

// queryCounter is a pgx QueryTracer that counts statements: every Exec and
// Query, including BEGIN, COMMIT and ROLLBACK, which are round trips too.
// Pings and the protocol-level preparing of a cached statement are not
// counted.
type queryCounter struct{ n *atomic.Uint64 }

func (c queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
