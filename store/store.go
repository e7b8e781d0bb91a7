// Package store keeps leadhub's client cards, identities, conversations,
// messages, events, operators, API tokens and the outbox in SQL through sqlx:
// SQLite (modernc.org/sqlite, the embedded default) or PostgreSQL (the pgx
// stdlib driver). Both dialects run one set of queries (queries.go) with a
// few PostgreSQL overrides, and one schema per dialect (migrations/).
//
// Every change operators must see writes an events row in the same
// transaction; the methods that change things return those events so the
// caller can publish them after the commit.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"modernc.org/sqlite"

	"github.com/leadhub/leadhub/inbox"
)

// Dialects, as Dialect reports them.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// sqliteParams are appended to every SQLite path. synchronous(FULL) because a
// provider's 2xx promises durability even on power loss, and the embedded
// queue lives in this same file; _txlock=immediate makes every transaction
// take the write lock at BEGIN, so two writers queue on busy_timeout instead
// of failing when one upgrades a read lock.
const sqliteParams = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)" +
	"&_pragma=foreign_keys(ON)&_txlock=immediate"

// Options configures Open.
type Options struct {
	// URL selects the database: "" is SQLite at DataDir/leadhub.db;
	// "sqlite:<path>" or "file:<path>" is SQLite at path; "postgres://..." or
	// "postgresql://..." is PostgreSQL through pgx.
	URL string
	// DataDir holds the default SQLite file. It is created (0o750) if
	// missing. Default "./data".
	DataDir string
	// Region reads phone numbers without a country code in client search.
	// Default inbox.DefaultRegion.
	Region string
	Logger *slog.Logger
	// Clock stamps rows and decides what is due (outbox retries, session
	// expiry). Default inbox.SystemClock; tests pass an inbox.FakeClock.
	Clock inbox.Clock
	// Pool sizes the connection pool; zero fields take PoolDefaults.
	Pool Pool
	// SLA sets the answer timers of conversations whose client waits;
	// nil sets none.
	SLA *inbox.SLAPolicy
}

// Store is the SQL store. It is safe for concurrent use.
type Store struct {
	db      *sqlx.DB
	dialect string
	q       queries
	region  string
	log     *slog.Logger
	clock   inbox.Clock
	sla     *inbox.SLAPolicy
	// queries counts the statements run through db (QueryCount).
	queries *atomic.Uint64
}

// Open opens the database and pings it. It does not migrate: call Migrate.
func Open(ctx context.Context, opts Options) (*Store, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dialect, driver, dsn, path, err := dataSource(opts)
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	if dialect == DialectSQLite {
		// sqlx does not know modernc's driver name, so it would not know
		// its placeholder style either.
		sqlx.BindDriver("sqlite", sqlx.QUESTION)
	}
	queries := new(atomic.Uint64)
	var sqlDB *sql.DB
	if dialect == DialectPostgres {
		sqlDB, err = openPostgres(dsn, queries)
	} else {
		sqlDB, err = openSQLite(dsn, sqliteStmtCacheSize, queries)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dialect, err)
	}
	pool := opts.Pool.withDefaults(dialect)
	pool.apply(sqlDB)
	db := sqlx.NewDb(sqlDB, driver)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: ping %s: %w", dialect, err)
	}
	region := opts.Region
	if region == "" {
		region = inbox.DefaultRegion
	}
	clock := opts.Clock
	if clock == nil {
		clock = inbox.SystemClock{}
	}
	q, err := newQueries(dialect, db.Rebind, db.Mapper)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: queries: %w", err)
	}
	s := &Store{db: db, dialect: dialect, q: q, region: region, log: log, clock: clock, queries: queries, sla: opts.SLA}
	attrs := []any{"dialect", dialect, "max_open_conns", pool.MaxOpenConns,
		"conn_max_lifetime", pool.ConnMaxLifetime.String(), "conn_max_idle_time", pool.ConnMaxIdleTime.String()}
	if path != "" {
		attrs = append(attrs, "path", path)
	}
	log.Info("store opened", attrs...)
	return s, nil
}

// dataSource turns Options into a driver name and DSN. Errors never repeat
// the URL: a PostgreSQL URL may carry a password.
func dataSource(opts Options) (dialect, driver, dsn, path string, err error) {
	if opts.DataDir != "" {
		if err := os.MkdirAll(opts.DataDir, 0o750); err != nil {
			return "", "", "", "", fmt.Errorf("create data dir: %w", err)
		}
	}
	path, err = sqlitePath(opts)
	if err != nil {
		return "", "", "", "", err
	}
	if path == "" {
		return DialectPostgres, "pgx", strings.TrimSpace(opts.URL), "", nil
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return "", "", "", "", fmt.Errorf("create database dir: %w", err)
		}
	}
	// The DSN is an SQLite URI: escape what URI parsing would misread.
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	return DialectSQLite, "sqlite", "file:" + esc + "?" + sqliteParams, path, nil
}

// sqlitePath returns the SQLite file Options name, or "" for PostgreSQL.
// It creates nothing.
func sqlitePath(opts Options) (string, error) {
	u := strings.TrimSpace(opts.URL)
	var path string
	switch {
	case u == "":
		dir := opts.DataDir
		if dir == "" {
			dir = "data"
		}
		path = filepath.Join(dir, "leadhub.db")
	case strings.HasPrefix(u, "sqlite:"):
		path = strings.TrimPrefix(u, "sqlite:")
	case strings.HasPrefix(u, "file:"):
		path = strings.TrimPrefix(u, "file:")
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		return "", nil
	default:
		scheme, _, _ := strings.Cut(u, ":")
		return "", inbox.Errorf(inbox.EINVALID, "unsupported database URL scheme %q", scheme)
	}
	// "sqlite:///abs/path" and "sqlite://rel/path" name files too; a query
	// string is dropped because the pragmas are not negotiable.
	path = strings.TrimPrefix(path, "//")
	path, _, _ = strings.Cut(path, "?")
	if path == "" {
		return "", inbox.Errorf(inbox.EINVALID, "empty SQLite path")
	}
	return path, nil
}

// CheckExists is for callers that must not create a database by mistake,
// such as an admin command run from the wrong directory, which Open would
// answer with a new empty one. It creates nothing. For SQLite it returns
// ENOTFOUND, naming the absolute path of the file it looked for, when that
// file is missing; a PostgreSQL database is never created by Open (its
// administrator makes it), so it passes.
func CheckExists(opts Options) error {
	path, err := sqlitePath(opts)
	if err != nil || path == "" {
		return err
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return inbox.Errorf(inbox.ENOTFOUND, "no database at %s", path)
		}
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// DB returns the connection pool, shared with the embedded queue
// (inbox/sqlq), which creates its own tables.
func (s *Store) DB() *sqlx.DB { return s.db }

// QueryCount returns how many statements the store's pool has run since
// Open, the embedded queue's included: every query and exec, and BEGIN,
// COMMIT and ROLLBACK; not pings. It only grows.
func (s *Store) QueryCount() uint64 { return s.queries.Load() }

// Dialect returns DialectSQLite or DialectPostgres.
func (s *Store) Dialect() string { return s.dialect }

// inTx runs fn in a transaction and commits if fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = tx.Rollback() // the error that got us here is the one worth returning
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	done = true
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Advisory lock keys (PostgreSQL). The single-bigint and the two-int4 key
// spaces do not overlap, so person locks can never collide with these.
const (
	lockKeyEvents     = 0x6c6875625f657674 // "lhub_evt"
	lockKeyMigrations = 0x6c6875625f6d6967 // "lhub_mig"
	lockClassPersons  = 0x6c687072         // "lhpr", class of the per-person int4 locks
)

// lockEvents must be the last step of a transaction before it inserts its
// events. On PostgreSQL an identity value is taken from the sequence when the
// row is inserted, not when the transaction commits: transaction A may take
// id 10, B id 11, and B commit first. A reader of "events after 9" would then
// see 11, remember it, and skip 10 forever once A commits. Holding one
// transaction-scoped advisory lock from the event inserts to the commit makes
// event writers take ids and commit one at a time, in id order. Taking it last
// keeps the serialized part short, and since its holder waits for nothing
// else, it cannot deadlock with the row locks taken before it. SQLite
// serializes writers anyway, so there the query is empty and this is a no-op.
func (s *Store) lockEvents(ctx context.Context, tx *sqlx.Tx) error {
	if s.q.LockEvents == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, s.q.LockEvents); err != nil {
		return fmt.Errorf("lock events: %w", err)
	}
	return nil
}

// now is the time written into rows: the store's clock in UTC, truncated to
// the microsecond that both dialects store, so what a method returns equals
// what is read back.
func (s *Store) now() time.Time {
	return s.clock.Now().UTC().Truncate(time.Microsecond)
}

// isUniqueViolation reports a UNIQUE or PRIMARY KEY violation on either
// driver.
func isUniqueViolation(err error) bool {
	if code, ok := pgCode(err); ok {
		return code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqliteConstraintUnique || se.Code() == sqliteConstraintPrimaryKey ||
			strings.Contains(se.Error(), "UNIQUE constraint failed")
	}
	return false
}

// isForeignKeyViolation reports a FOREIGN KEY violation on either driver.
func isForeignKeyViolation(err error) bool {
	if code, ok := pgCode(err); ok {
		return code == "23503"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqliteConstraintForeignKey
	}
	return false
}
