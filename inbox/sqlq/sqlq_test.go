package sqlq_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/inbox/inboxtest"
	"github.com/leadhub/leadhub/inbox/queuetest"
	"github.com/leadhub/leadhub/inbox/sqlq"
)

// sqliteDSN is how the store opens its database.
const sqliteDSN = "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate"

func TestSQLite(t *testing.T) {
	queuetest.Run(t, func(t *testing.T, opts queuetest.Options) queuetest.Queue {
		return newQueue(t, openSQLite(t, sqliteDSN), opts)
	})
}

func TestPostgres(t *testing.T) {
	queuetest.Run(t, func(t *testing.T, opts queuetest.Options) queuetest.Queue {
		return newQueue(t, openPostgres(t), opts)
	})
}

// Several leadhub processes may share one PostgreSQL queue table, each with
// its own connection pool and its own Queue.
func TestPostgresTwoProcesses(t *testing.T) {
	pair := func(t *testing.T, visibility time.Duration) (a, b *sqlq.Queue) {
		url := inboxtest.PostgresURL(t)
		opts := queuetest.Options{Visibility: visibility}
		return newQueue(t, openPostgresURL(t, url), opts), newQueue(t, openPostgresURL(t, url), opts)
	}
	t.Run("exclusive", func(t *testing.T) {
		a, b := pair(t, 30*time.Second)
		queuetest.CheckExclusive(t, a, b, a, b)
	})
	t.Run("takeover from a dead process", func(t *testing.T) {
		a, b := pair(t, 300*time.Millisecond)
		queuetest.CheckTakeover(t, a, b)
	})
}

// Without a busy_timeout and with deferred transactions SQLite answers
// SQLITE_BUSY at once whenever two connections write; the queue must retry
// rather than lose or double anything.
func TestSQLiteWithoutBusyTimeout(t *testing.T) {
	q := newQueue(t, openSQLite(t, "?_pragma=journal_mode(WAL)"), queuetest.Options{Visibility: 30 * time.Second})
	queuetest.CheckExclusive(t, q, q, q, q)
}

func TestNew(t *testing.T) {
	db := openSQLite(t, sqliteDSN)
	tests := []struct {
		name string
		db   *sqlx.DB
		opts sqlq.Options
	}{
		{"nil db", nil, sqlq.Options{}},
		{"table name with sql", db, sqlq.Options{Table: "queue; DROP TABLE x"}},
		{"unknown driver", sqlx.NewDb(db.DB, "mysql"), sqlq.Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sqlq.New(tt.db, tt.opts)
			if got := inbox.ErrorCode(err); got != inbox.EINVALID {
				t.Errorf("New error %v has code %q, want %q", err, got, inbox.EINVALID)
			}
		})
	}
}

// Migrate runs on every start, and two queues may share one database.
func TestMigrateTwiceAndTwoTables(t *testing.T) {
	ctx := context.Background()
	db := openSQLite(t, sqliteDSN)
	a := newQueue(t, db, queuetest.Options{})
	if err := a.Migrate(ctx); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	b, err := sqlq.New(db, sqlq.Options{Table: "outbox"})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Enqueue(ctx, queuetest.Envelope(1)); err != nil {
		t.Fatal(err)
	}
	st, err := b.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Depth != 0 {
		t.Errorf("other table depth = %d, want 0", st.Depth)
	}
}

func TestUnavailable(t *testing.T) {
	ctx := context.Background()
	db := openSQLite(t, sqliteDSN)
	q := newQueue(t, db, queuetest.Options{})
	db.Close()
	if err := q.Enqueue(ctx, queuetest.Envelope(1)); inbox.ErrorCode(err) != inbox.EUNAVAILABLE {
		t.Errorf("Enqueue on a closed database = %v, want code %s", err, inbox.EUNAVAILABLE)
	}
	if err := q.Ping(ctx); inbox.ErrorCode(err) != inbox.EUNAVAILABLE {
		t.Errorf("Ping on a closed database = %v, want code %s", err, inbox.EUNAVAILABLE)
	}
	// Consume keeps retrying until its context ends.
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	err := q.Consume(ctx, 1, func(ctx context.Context, batch []inbox.Delivery) []error {
		t.Error("handler called on a closed database")
		return make([]error, len(batch))
	})
	if err != context.DeadlineExceeded {
		t.Errorf("Consume = %v, want %v", err, context.DeadlineExceeded)
	}
}

func newQueue(t *testing.T, db *sqlx.DB, opts queuetest.Options) *sqlq.Queue {
	t.Helper()
	q, err := sqlq.New(db, sqlq.Options{
		Visibility:  opts.Visibility,
		MaxAttempts: opts.MaxAttempts,
		RetryDelay:  opts.RetryDelay,
		Poll:        50 * time.Millisecond,
		Logger:      slog.New(slog.NewTextHandler(t.Output(), nil)),
	})
	if err != nil {
		t.Fatalf("sqlq.New: %v", err)
	}
	if err := q.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return q
}

func openSQLite(t *testing.T, params string) *sqlx.DB {
	t.Helper()
	sqlx.BindDriver("sqlite", sqlx.QUESTION)
	db, err := sqlx.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "leadhub.db")+params)
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openPostgres(t *testing.T) *sqlx.DB {
	t.Helper()
	return openPostgresURL(t, inboxtest.PostgresURL(t))
}

func openPostgresURL(t *testing.T, url string) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("pgx", url)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
