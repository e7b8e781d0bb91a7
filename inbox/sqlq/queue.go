// Package sqlq is leadhub's embedded durable queue: a table in the
// application's own SQL database (SQLite by default, PostgreSQL works too).
//
// A delivery is a row leased by one consumer: claiming sets a fresh random
// lease token and pushes visible_at into the future, so nobody else sees the
// row until the lease runs out. Acks and failures are guarded by that token,
// so a consumer that comes back late can never touch a row that another
// consumer has leased since.
package sqlq

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/leadhub/leadhub/inbox"
)

var (
	_ inbox.Queue       = (*Queue)(nil)
	_ inbox.DeadLetters = (*Queue)(nil)
	_ inbox.Inspector   = (*Queue)(nil)
)

// Options configures a Queue. Zero values take the defaults.
type Options struct {
	// Table is the queue table; dead letters live in Table+"_dead".
	// Default "queue".
	Table string
	// Visibility is how long a claimed delivery stays hidden from other
	// consumers. A delivery whose consumer died becomes visible again after
	// it. Default 30s.
	Visibility time.Duration
	// MaxAttempts is how many deliveries an envelope gets before a failure
	// moves it to the dead letters. Default 5.
	MaxAttempts int
	// RetryDelay is how long a failed delivery waits before it is visible
	// again. Default 1s.
	RetryDelay time.Duration
	// Poll is how often an idle consumer looks for rows that other processes
	// enqueued or that became visible again; envelopes enqueued through this
	// Queue wake local consumers at once. Default 250ms.
	Poll time.Duration
	// Logger receives transient failures and dead-lettered envelopes.
	Logger *slog.Logger
}

// Queue is an inbox.Queue, inbox.DeadLetters and inbox.Inspector on a SQL
// table. It is safe for concurrent use; leadhub runs several Consume loops on
// one Queue.
type Queue struct {
	db   *sqlx.DB
	opts Options
	log  *slog.Logger
	sql  queries
	// wake carries a hint from Enqueue to an idle local consumer so that
	// latency is not the poll interval. Buffered, sends never block.
	wake chan struct{}
}

// settleTimeout bounds the ack of a finished batch. It runs even when the
// consumer's ctx is already cancelled: the handler's work is committed, and
// an ack lost to shutdown only costs a redelivery.
const settleTimeout = 5 * time.Second

// maxErrorLen caps the failure text stored with a delivery.
const maxErrorLen = 2000

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// New returns a queue on db, whose driver must be "sqlite"
// (modernc.org/sqlite) or "pgx" (pgx stdlib). The caller owns db and closes
// it; New does not touch the database: call Migrate to create the tables.
func New(db *sqlx.DB, opts Options) (*Queue, error) {
	if db == nil {
		return nil, inbox.Errorf(inbox.EINVALID, "sqlq: nil database")
	}
	if opts.Table == "" {
		opts.Table = "queue"
	}
	if !identRE.MatchString(opts.Table) {
		return nil, inbox.Errorf(inbox.EINVALID, "sqlq: table name %q is not a plain identifier", opts.Table)
	}
	if opts.Visibility <= 0 {
		opts.Visibility = 30 * time.Second
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if opts.RetryDelay <= 0 {
		opts.RetryDelay = time.Second
	}
	if opts.Poll <= 0 {
		opts.Poll = 250 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	qs, err := newQueries(db.DriverName(), opts.Table)
	if err != nil {
		return nil, err
	}
	return &Queue{db: db, opts: opts, log: opts.Logger, sql: qs, wake: make(chan struct{}, 1)}, nil
}

// Migrate creates the queue and dead-letter tables and their index if they
// do not exist yet. It is safe to call on every start.
func (q *Queue) Migrate(ctx context.Context) error {
	for _, stmt := range q.sql.schema {
		if _, err := q.db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("sqlq: migrate: %w", err)
		}
	}
	return nil
}

// Enqueue stores e as a new row. A nil error means the row is committed. A
// database failure is EUNAVAILABLE so that the provider is told to retry.
func (q *Queue) Enqueue(ctx context.Context, e inbox.Envelope) error {
	payload, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("sqlq: encode envelope: %w", err)
	}
	now := time.Now().UnixMilli()
	err = retryBusy(ctx, func() error {
		return q.write(ctx, func(db sqlx.ExtContext) error {
			_, err := db.ExecContext(ctx, q.sql.enqueue, string(payload), now, now)
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("sqlq: enqueue: %w: %w", inbox.Errorf(inbox.EUNAVAILABLE, "queue unavailable"), err)
	}
	q.signal()
	return nil
}

// signal wakes one idle local consumer, if any is waiting.
func (q *Queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Consume claims batches of at most size visible rows and hands them to h
// until ctx ends, then returns ctx.Err(). Database failures are logged and
// retried with a capped backoff. A batch in the handler when ctx ends gets
// that ctx; deliveries it did not finish come back after Visibility.
func (q *Queue) Consume(ctx context.Context, size int, h inbox.Handler) error {
	size = atLeastOne(size)
	poll := time.NewTicker(q.opts.Poll)
	defer poll.Stop()
	failures := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		lease, rows, err := q.claim(ctx, size)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failures++
			q.log.Error("sqlq: claim", "err", err, "failures", failures)
			if err := sleep(ctx, backoff(failures)); err != nil {
				return err
			}
			continue
		}
		failures = 0
		if ctx.Err() != nil {
			// Too late to start a batch; the lease simply runs out.
			return ctx.Err()
		}
		if len(rows) == 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-q.wake:
			case <-poll.C:
			}
			continue
		}
		if len(rows) == size {
			// There is probably more: pass the hint on to an idle sibling.
			q.signal()
		}
		q.settle(ctx, lease, rows, q.handle(ctx, rows, h))
	}
}

func atLeastOne(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

// row is a claimed queue row.
type row struct {
	ID       int64  `db:"id"`
	Payload  string `db:"payload"`
	Attempts int    `db:"attempts"`
}

// claim leases up to size visible rows, oldest first, under a fresh token.
func (q *Queue) claim(ctx context.Context, size int) (string, []row, error) {
	lease := rand.Text()
	now := time.Now()
	var rows []row
	err := retryBusy(ctx, func() error {
		rows = rows[:0]
		return q.write(ctx, func(db sqlx.ExtContext) error {
			return sqlx.SelectContext(ctx, db, &rows, q.sql.claim,
				now.UnixMilli(), size, now.Add(q.opts.Visibility).UnixMilli(), lease)
		})
	})
	if err != nil {
		return "", nil, fmt.Errorf("sqlq: claim: %w", err)
	}
	// RETURNING order is not defined.
	slices.SortFunc(rows, func(a, b row) int { return cmp.Compare(a.ID, b.ID) })
	return lease, rows, nil
}

// write runs one write statement. On SQLite it runs inside a transaction:
// a statement outside one waits for the write lock in SQLite's busy
// handler, which sleeps up to 100 ms between tries while the filing
// transactions it competes with take the lock again at once (measured: one
// accept in a hundred waited over a second at 200 requests/s), whereas the
// store's SQLite connections let transactions take the lock in arrival
// order. On PostgreSQL the statement is its own transaction.
func (q *Queue) write(ctx context.Context, fn func(db sqlx.ExtContext) error) error {
	if q.sql.bind != sqlx.QUESTION {
		return fn(q.db)
	}
	return q.inTx(ctx, func(tx *sqlx.Tx) error { return fn(tx) })
}

// inTx runs fn in a transaction and commits if fn returns nil.
func (q *Queue) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := q.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback() // fn's error is the one worth returning
		return err
	}
	return tx.Commit()
}

// handle decodes rows, runs h and returns one outcome per row. A payload
// that does not decode fails without reaching h, so it ends in the dead
// letters instead of blocking the queue.
func (q *Queue) handle(ctx context.Context, rows []row, h inbox.Handler) []error {
	errs := make([]error, len(rows))
	batch := make([]inbox.Delivery, 0, len(rows))
	pos := make([]int, 0, len(rows))
	for i, r := range rows {
		var env inbox.Envelope
		if err := json.Unmarshal([]byte(r.Payload), &env); err != nil {
			errs[i] = fmt.Errorf("sqlq: decode envelope: %w", err)
			continue
		}
		batch = append(batch, inbox.Delivery{ID: strconv.FormatInt(r.ID, 10), Envelope: env, Attempt: r.Attempts})
		pos = append(pos, i)
	}
	if len(batch) == 0 {
		return errs
	}
	out := h(ctx, batch)
	if len(out) != len(batch) {
		err := fmt.Errorf("sqlq: handler returned %d results for %d deliveries", len(out), len(batch))
		q.log.Error("sqlq: handler contract", "err", err)
		out = slices.Repeat([]error{err}, len(batch))
	}
	for k, i := range pos {
		errs[i] = out[k]
	}
	return errs
}

// settle acks the rows whose outcome is nil and retries or buries the others,
// all in one transaction. Once ctx has ended only acks are written: a failure
// caused by shutdown should not count towards the dead letters, and the row
// comes back after Visibility anyway.
func (q *Queue) settle(ctx context.Context, lease string, rows []row, errs []error) {
	failures := ctx.Err() == nil
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	var buried []row
	err := retryBusy(ctx, func() error {
		var err error
		buried, err = q.settleTx(ctx, lease, rows, errs, failures)
		return err
	})
	if err != nil {
		// Nothing is lost: unacked rows are delivered again after Visibility.
		q.log.Error("sqlq: settle batch", "err", err, "deliveries", len(rows))
		return
	}
	for _, r := range buried {
		q.log.Warn("sqlq: envelope moved to dead letters", "delivery_id", r.ID, "attempts", r.Attempts)
	}
}

func (q *Queue) settleTx(ctx context.Context, lease string, rows []row, errs []error, failures bool) ([]row, error) {
	var acked []int64
	for i, r := range rows {
		if errs[i] == nil {
			acked = append(acked, r.ID)
		}
	}
	if len(acked) == 0 && !failures {
		return nil, nil
	}
	tx, err := q.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	if len(acked) > 0 {
		stmt, args, err := sqlx.In(q.sql.ack, lease, acked)
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, sqlx.Rebind(q.sql.bind, stmt), args...); err != nil {
			return nil, err
		}
	}

	var buried []row
	now := time.Now()
	for i, r := range rows {
		if errs[i] == nil || !failures {
			continue
		}
		msg := errorText(errs[i])
		if r.Attempts < q.opts.MaxAttempts {
			_, err := tx.ExecContext(ctx, q.sql.retry, now.Add(q.opts.RetryDelay).UnixMilli(), msg, r.ID, lease)
			if err != nil {
				return nil, err
			}
			continue
		}
		// Delete first, so that the lease check and the move are one step.
		var gone struct {
			Payload    string `db:"payload"`
			EnqueuedAt int64  `db:"enqueued_at"`
			Attempts   int    `db:"attempts"`
		}
		err := tx.GetContext(ctx, &gone, q.sql.takeLeased, r.ID, lease)
		if errors.Is(err, sql.ErrNoRows) {
			continue // re-leased by someone else meanwhile
		}
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, q.sql.bury, gone.Payload, gone.EnqueuedAt, now.UnixMilli(), gone.Attempts, msg); err != nil {
			return nil, err
		}
		buried = append(buried, r)
	}
	return buried, tx.Commit()
}

// Stats reports the rows waiting or in flight, the age of the oldest and
// the number of dead letters.
func (q *Queue) Stats(ctx context.Context) (inbox.QueueStats, error) {
	var s struct {
		Depth         int64 `db:"depth"`
		Oldest        int64 `db:"oldest"`
		Dead          int64 `db:"dead"`
		Pending       int64 `db:"pending"`
		OldestPending int64 `db:"oldest_pending"`
	}
	if err := q.db.GetContext(ctx, &s, q.sql.stats); err != nil {
		return inbox.QueueStats{}, fmt.Errorf("sqlq: stats: %w", err)
	}
	st := inbox.QueueStats{Depth: s.Depth, Dead: s.Dead, Pending: s.Pending}
	if s.Depth > 0 {
		st.OldestAge = max(0, time.Since(time.UnixMilli(s.Oldest)))
	}
	if s.Pending > 0 {
		st.OldestPendingAge = max(0, time.Since(time.UnixMilli(s.OldestPending)))
	}
	return st, nil
}

// Ping checks that the database answers; a failure is EUNAVAILABLE.
func (q *Queue) Ping(ctx context.Context) error {
	if err := q.db.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlq: ping: %w: %w", inbox.Errorf(inbox.EUNAVAILABLE, "queue unavailable"), err)
	}
	return nil
}

func errorText(err error) string {
	s := err.Error()
	if len(s) > maxErrorLen {
		s = s[:maxErrorLen]
	}
	// PostgreSQL TEXT refuses invalid UTF-8 and NUL bytes.
	return strings.ReplaceAll(strings.ToValidUTF8(s, "?"), "\x00", "?")
}

// retryBusy runs fn again while SQLite reports the database busy or locked.
// The store opens SQLite with a busy_timeout, so this is the backstop for a
// connection without one (or a deferred transaction that lost the race for
// the write lock); PostgreSQL never reports these codes.
func retryBusy(ctx context.Context, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || !isBusy(err) || attempt == 100 {
			return err
		}
		if err := sleep(ctx, time.Millisecond+mrand.N(min(time.Duration(attempt)*5*time.Millisecond, 100*time.Millisecond))); err != nil {
			return err
		}
	}
}

// isBusy reports SQLITE_BUSY (5) or SQLITE_LOCKED (6), including their
// extended codes. It matches modernc's *sqlite.Error by its Code method so
// that this package does not import a driver.
func isBusy(err error) bool {
	var coded interface{ Code() int }
	if !errors.As(err, &coded) {
		return false
	}
	switch coded.Code() & 0xff {
	case 5, 6:
		return true
	}
	return false
}

// backoff is the jittered, capped wait after the n-th failure in a row.
func backoff(n int) time.Duration {
	d := min(100*time.Millisecond<<min(n, 6), 5*time.Second)
	return d/2 + mrand.N(d/2)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
