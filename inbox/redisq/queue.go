// Package redisq is leadhub's production queue: a Redis stream read through
// a consumer group.
//
// The stream holds only envelopes that are not acknowledged yet: an ack is
// XACK + XDEL in one MULTI, so XLEN is the queue depth and nothing needs
// trimming. A delivery whose consumer died stays in the group's pending list
// and is taken over with XAUTOCLAIM once it has been idle for Visibility; a
// failed delivery is simply left pending, so it comes back the same way.
//
// Attempts are Redis's own delivery counter (the pending list's delivery
// count, read with XPENDING after an XAUTOCLAIM). A delivery whose consumer
// crashed therefore counts as an attempt too, so an envelope that kills the
// process ends in the dead letters instead of crashing it forever.
//
// XACK does not check which consumer holds an entry, so unlike sqlq a
// consumer that finishes after its delivery was taken over still acks it.
// That costs nothing: the envelope was filed, and the other consumer's
// filing is a dedupe no-op.
package redisq

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadhub/leadhub/inbox"
)

var (
	_ inbox.Queue       = (*Queue)(nil)
	_ inbox.DeadLetters = (*Queue)(nil)
	_ inbox.Inspector   = (*Queue)(nil)
)

// Options configures a Queue. Zero values take the defaults.
type Options struct {
	// Stream is the stream key; dead letters go to Stream+":dead".
	// Default "leadhub:inbox".
	Stream string
	// Group is the consumer group. Default "leadhub".
	Group string
	// Consumer names this process in the group. Default
	// "<hostname>-<pid>-<random>", so that a restarted process never
	// inherits a dead one's pending entries except through XAUTOCLAIM.
	Consumer string
	// Visibility is how long a delivery may stay unacknowledged before
	// another consumer takes it over (XAUTOCLAIM min-idle). Default 30s.
	Visibility time.Duration
	// MaxAttempts is how many deliveries an envelope gets before a failure
	// moves it to the dead letters. Default 5.
	MaxAttempts int
	// Block bounds each blocking read (XREADGROUP BLOCK). go-redis does not
	// interrupt a blocked read when ctx is cancelled, so this is how long
	// Consume may take to notice shutdown; centrifugo recommends 1–5s.
	// Reads never block longer than Visibility either, so that a failed
	// delivery is retried on time. Default 2s.
	Block time.Duration
	// Logger receives transient failures, group recreation and dead
	// letters.
	Logger *slog.Logger
	// OnGroupRecreated, if set, is called each time Consume found the group
	// missing (Redis lost its data or someone deleted the stream) and
	// recreated it. Meant for a metric: it should never happen with AOF.
	OnGroupRecreated func()
	// ConsumerIdle is how long a consumer of the group (another process,
	// long gone: every process names itself anew) may stay idle with
	// nothing pending before it is removed from the group. Default 1h.
	ConsumerIdle time.Duration
}

// Queue is an inbox.Queue, inbox.DeadLetters and inbox.Inspector on a Redis
// stream. It is safe for concurrent use; several Consume loops on one Queue
// share its consumer name.
type Queue struct {
	rdb    *redis.Client
	opts   Options
	log    *slog.Logger
	dead   string
	replay *redis.Script

	// swept is when dead consumers were last removed (ForgetIdleConsumers
	// runs from Consume at most every sweepEvery).
	mu    sync.Mutex
	swept time.Time
}

// sweepEvery bounds how often Consume looks for dead consumers.
const sweepEvery = 5 * time.Minute

// settleTimeout bounds the ack of a finished batch. It runs even when the
// consumer's ctx is already cancelled: the handler's work is committed, and
// an ack lost to shutdown only costs a redelivery.
const settleTimeout = 5 * time.Second

// maxErrorLen caps the failure text stored with a dead letter.
const maxErrorLen = 2000

// New returns a queue on rdb. The caller owns rdb and closes it; New does not
// talk to Redis: call Migrate to create the group.
func New(rdb *redis.Client, opts Options) (*Queue, error) {
	if rdb == nil {
		return nil, inbox.Errorf(inbox.EINVALID, "redisq: nil redis client")
	}
	if opts.Stream == "" {
		opts.Stream = "leadhub:inbox"
	}
	if opts.Group == "" {
		opts.Group = "leadhub"
	}
	if opts.Consumer == "" {
		host, _ := os.Hostname() // only a label; "" is fine
		opts.Consumer = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), rand.Text()[:8])
	}
	if opts.Visibility <= 0 {
		opts.Visibility = 30 * time.Second
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if opts.ConsumerIdle <= 0 {
		opts.ConsumerIdle = time.Hour
	}
	if opts.Block <= 0 {
		opts.Block = 2 * time.Second
	}
	// BLOCK counts whole milliseconds and BLOCK 0 means forever.
	opts.Block = max(min(opts.Block, opts.Visibility), time.Millisecond)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Queue{
		rdb:    rdb,
		opts:   opts,
		log:    opts.Logger,
		dead:   opts.Stream + ":dead",
		replay: redis.NewScript(replayScript),
	}, nil
}

// Migrate creates the stream and the consumer group if they do not exist.
// The group starts at 0, so envelopes added before it existed are
// delivered too.
func (q *Queue) Migrate(ctx context.Context) error {
	if _, err := q.createGroup(ctx); err != nil {
		return fmt.Errorf("redisq: migrate: %w", err)
	}
	return nil
}

// createGroup reports whether it created the group (false: it existed).
func (q *Queue) createGroup(ctx context.Context) (bool, error) {
	err := q.rdb.XGroupCreateMkStream(ctx, q.opts.Stream, q.opts.Group, "0").Err()
	if redis.HasErrorPrefix(err, "BUSYGROUP") {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create group: %w", err)
	}
	return true, nil
}

// Enqueue appends e to the stream. A nil error means Redis accepted it
// (durable as far as Redis's AOF policy goes). Any failure is EUNAVAILABLE
// so that the provider is told to retry.
//
// go-redis retries a command whose reply was lost, so an XADD can land
// twice; the store's dedupe key absorbs the copy.
func (q *Queue) Enqueue(ctx context.Context, e inbox.Envelope) error {
	payload, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("redisq: encode envelope: %w", err)
	}
	err = q.rdb.XAdd(ctx, &redis.XAddArgs{Stream: q.opts.Stream, Values: []any{"envelope", payload}}).Err()
	if err != nil {
		return fmt.Errorf("redisq: enqueue: %w: %w", inbox.Errorf(inbox.EUNAVAILABLE, "queue unavailable"), err)
	}
	return nil
}

// Consume hands batches of at most size deliveries to h until ctx ends, then
// returns ctx.Err() (within Block at most). Stuck deliveries are taken over
// first, then new entries are read. A missing group is recreated; other
// Redis failures are logged and retried with a capped backoff. A batch in
// the handler when ctx ends gets that ctx; deliveries it did not finish come
// back after Visibility.
func (q *Queue) Consume(ctx context.Context, size int, h inbox.Handler) error {
	size = atLeastOne(size)
	cursor := "0-0" // XAUTOCLAIM scan position, kept across rounds
	failures := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch, err := q.next(ctx, size, &cursor)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if isNoGroup(err) {
				cursor = "0-0"
				err = q.recreateGroup(ctx)
				if err == nil {
					continue
				}
			}
			failures++
			// One line when an outage starts and one every 30 reads
			// (about two minutes at the capped pause), not one per read.
			if failures == 1 || failures%30 == 0 {
				q.log.Error("redisq: read", "err", err, "failures", failures)
			}
			if err := sleep(ctx, backoff(failures)); err != nil {
				return err
			}
			continue
		}
		if failures > 0 {
			q.log.Info("redisq: reading again", "failed_reads", failures)
		}
		failures = 0
		q.sweep(ctx)
		if ctx.Err() != nil {
			// A blocked read is not interrupted by ctx, so it may have
			// returned entries after shutdown began: leave them pending for
			// another consumer rather than handle them with a dead ctx.
			return ctx.Err()
		}
		if len(batch) > 0 {
			q.settle(ctx, batch, q.handle(ctx, batch, h))
		}
	}
}

func atLeastOne(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

// entry is a stream entry handed to this consumer.
type entry struct {
	id      string
	payload string
	attempt int
}

// next takes over up to size deliveries idle for Visibility or, if there
// are none, reads up to size new entries, blocking at most Block. No entries and
// no error means the read timed out.
func (q *Queue) next(ctx context.Context, size int, cursor *string) ([]entry, error) {
	msgs, start, err := q.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
		Stream:   q.opts.Stream,
		Group:    q.opts.Group,
		Consumer: q.opts.Consumer,
		MinIdle:  q.opts.Visibility,
		Start:    *cursor,
		Count:    int64(size),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("xautoclaim: %w", err)
	}
	*cursor = start
	if len(msgs) > 0 {
		return q.withAttempts(ctx, msgs)
	}
	streams, err := q.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group:    q.opts.Group,
		Consumer: q.opts.Consumer,
		Streams:  []string{q.opts.Stream, ">"},
		Count:    int64(size),
		Block:    q.opts.Block,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("xreadgroup: %w", err)
	}
	var batch []entry
	for _, s := range streams {
		for _, m := range s.Messages {
			batch = append(batch, entry{id: m.ID, payload: field(m, "envelope"), attempt: 1})
		}
	}
	return batch, nil
}

// withAttempts reads the delivery counters of entries just taken over.
func (q *Queue) withAttempts(ctx context.Context, msgs []redis.XMessage) ([]entry, error) {
	pipe := q.rdb.Pipeline()
	cmds := make([]*redis.XPendingExtCmd, len(msgs))
	for i, m := range msgs {
		cmds[i] = pipe.XPendingExt(ctx, &redis.XPendingExtArgs{
			Stream: q.opts.Stream, Group: q.opts.Group, Start: m.ID, End: m.ID, Count: 1,
		})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("xpending: %w", err)
	}
	batch := make([]entry, len(msgs))
	for i, m := range msgs {
		batch[i] = entry{id: m.ID, payload: field(m, "envelope"), attempt: 1}
		if p := cmds[i].Val(); len(p) == 1 {
			batch[i].attempt = int(p[0].RetryCount)
		}
	}
	return batch, nil
}

func field(m redis.XMessage, name string) string {
	s, _ := m.Values[name].(string)
	return s
}

// recreateGroup recovers from NOGROUP: the stream or the group is gone
// (Redis restarted without persistence, or someone deleted the key).
// Envelopes that were pending in the lost group are lost with it unless the
// stream survived, in which case the new group, starting at 0, delivers
// them again.
func (q *Queue) recreateGroup(ctx context.Context) error {
	created, err := q.createGroup(ctx)
	if err != nil {
		return err
	}
	if created {
		q.log.Warn("redisq: consumer group was missing, recreated it", "stream", q.opts.Stream, "group", q.opts.Group)
		if q.opts.OnGroupRecreated != nil {
			q.opts.OnGroupRecreated()
		}
	}
	return nil
}

// isNoGroup reports a read that failed because the group or stream is gone.
// A read blocked while the stream key is deleted ends with UNBLOCKED.
func isNoGroup(err error) bool {
	return redis.HasErrorPrefix(err, "NOGROUP") || redis.HasErrorPrefix(err, "UNBLOCKED")
}

// handle decodes the entries, runs h and returns one outcome per entry. A
// payload that does not decode fails without reaching h, so it ends in the
// dead letters instead of blocking the queue.
func (q *Queue) handle(ctx context.Context, entries []entry, h inbox.Handler) []error {
	errs := make([]error, len(entries))
	batch := make([]inbox.Delivery, 0, len(entries))
	pos := make([]int, 0, len(entries))
	for i, e := range entries {
		var env inbox.Envelope
		if err := json.Unmarshal([]byte(e.payload), &env); err != nil {
			errs[i] = fmt.Errorf("redisq: decode envelope: %w", err)
			continue
		}
		batch = append(batch, inbox.Delivery{ID: e.id, Envelope: env, Attempt: e.attempt})
		pos = append(pos, i)
	}
	if len(batch) == 0 {
		return errs
	}
	out := h(ctx, batch)
	if len(out) != len(batch) {
		err := fmt.Errorf("redisq: handler returned %d results for %d deliveries", len(out), len(batch))
		q.log.Error("redisq: handler contract", "err", err)
		out = slices.Repeat([]error{err}, len(batch))
	}
	for k, i := range pos {
		errs[i] = out[k]
	}
	return errs
}

// settle acks the entries whose outcome is nil and moves failed entries
// that used up their attempts to the dead letters, all in one MULTI. Other
// failures stay pending and come back after Visibility. Once ctx has ended
// only acks are written: a failure caused by shutdown should not count
// towards the dead letters.
func (q *Queue) settle(ctx context.Context, entries []entry, errs []error) {
	failures := ctx.Err() == nil
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	var acked []string
	var buried []entry
	pipe := q.rdb.TxPipeline()
	for i, e := range entries {
		switch {
		case errs[i] == nil:
			acked = append(acked, e.id)
		case failures && e.attempt >= q.opts.MaxAttempts:
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: q.dead, Values: []any{
				"envelope", e.payload,
				"error", errorText(errs[i]),
				"attempts", e.attempt,
				"orig_id", e.id,
			}})
			acked = append(acked, e.id)
			buried = append(buried, e)
		}
	}
	if len(acked) == 0 {
		return
	}
	pipe.XAck(ctx, q.opts.Stream, q.opts.Group, acked...)
	pipe.XDel(ctx, q.opts.Stream, acked...)
	if _, err := pipe.Exec(ctx); err != nil {
		// Nothing is lost: unacked entries are taken over after Visibility.
		q.log.Error("redisq: settle batch", "err", err, "deliveries", len(entries))
		return
	}
	for _, e := range buried {
		q.log.Warn("redisq: envelope moved to dead letters", "delivery_id", e.id, "attempts", e.attempt)
	}
}

// Stats reports the entries not yet acknowledged, the age of the oldest
// (from its stream id, which is Redis's clock in milliseconds) and the
// number of dead letters.
func (q *Queue) Stats(ctx context.Context) (inbox.QueueStats, error) {
	pipe := q.rdb.Pipeline()
	depth := pipe.XLen(ctx, q.opts.Stream)
	first := pipe.XRangeN(ctx, q.opts.Stream, "-", "+", 1)
	dead := pipe.XLen(ctx, q.dead)
	pending := pipe.XPending(ctx, q.opts.Stream, q.opts.Group)
	if _, err := pipe.Exec(ctx); err != nil && !isNoGroup(err) {
		return inbox.QueueStats{}, fmt.Errorf("redisq: stats: %w", err)
	}
	st := inbox.QueueStats{Depth: depth.Val(), Dead: dead.Val()}
	if msgs := first.Val(); len(msgs) > 0 {
		if ts, ok := idTime(msgs[0].ID); ok {
			st.OldestAge = max(0, time.Since(ts))
		}
	}
	if p := pending.Val(); p != nil && p.Count > 0 {
		st.Pending = p.Count
		if ts, ok := idTime(p.Lower); ok {
			st.OldestPendingAge = max(0, time.Since(ts))
		}
	}
	return st, nil
}

// sweep runs ForgetIdleConsumers when it is due; a failure waits for the
// next sweep: dead consumers cost a line in XINFO, nothing else.
func (q *Queue) sweep(ctx context.Context) {
	q.mu.Lock()
	due := time.Since(q.swept) >= sweepEvery
	if due {
		q.swept = time.Now()
	}
	q.mu.Unlock()
	if !due {
		return
	}
	if n, err := q.ForgetIdleConsumers(ctx); err != nil {
		q.log.Warn("redisq: forget idle consumers", "err", err)
	} else if n > 0 {
		q.log.Info("redisq: forgot idle consumers", "consumers", n)
	}
}

// ForgetIdleConsumers removes from the group the consumers other than
// this one that have nothing pending and have been idle longer than
// ConsumerIdle: processes that stopped (a dead one's pending entries are
// taken over by XAUTOCLAIM first, which leaves it with none). It returns
// how many it removed.
func (q *Queue) ForgetIdleConsumers(ctx context.Context) (int, error) {
	consumers, err := q.rdb.XInfoConsumers(ctx, q.opts.Stream, q.opts.Group).Result()
	if err != nil {
		return 0, fmt.Errorf("redisq: consumers: %w", err)
	}
	n := 0
	for _, c := range consumers {
		if c.Name == q.opts.Consumer || c.Pending > 0 || c.Idle < q.opts.ConsumerIdle {
			continue
		}
		// DELCONSUMER would drop entries still pending; it has none, and
		// an entry claimed by it since XINFO is returned by the count.
		removed, err := q.rdb.XGroupDelConsumer(ctx, q.opts.Stream, q.opts.Group, c.Name).Result()
		if err != nil {
			return n, fmt.Errorf("redisq: forget consumer %s: %w", c.Name, err)
		}
		if removed > 0 {
			q.log.Warn("redisq: a forgotten consumer held entries", "consumer", c.Name, "entries", removed)
		}
		n++
	}
	return n, nil
}

// DurabilityWarning says what Redis's configuration cannot promise, ""
// when append-only persistence is on. Without AOF a Redis restart loses
// envelopes the hub already answered 2xx for.
func (q *Queue) DurabilityWarning(ctx context.Context) (string, error) {
	info, err := q.rdb.Info(ctx, "persistence").Result()
	if err != nil {
		return "", fmt.Errorf("redisq: persistence info: %w", err)
	}
	return aofWarning(info), nil
}

// aofWarning reads INFO persistence.
func aofWarning(info string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "aof_enabled:"); ok && v != "1" {
			return "Redis runs without append-only persistence (appendonly no): a Redis restart loses accepted envelopes; set appendonly yes"
		}
	}
	return ""
}

// Ping checks that Redis answers; a failure is EUNAVAILABLE.
func (q *Queue) Ping(ctx context.Context) error {
	if err := q.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redisq: ping: %w: %w", inbox.Errorf(inbox.EUNAVAILABLE, "queue unavailable"), err)
	}
	return nil
}

// idTime is the time part of a stream id "<unix ms>-<seq>".
func idTime(id string) (time.Time, bool) {
	ms, seq, ok := strings.Cut(id, "-")
	if !ok {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	if _, err := strconv.ParseUint(seq, 10, 64); err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(n).UTC(), true
}

func errorText(err error) string {
	s := err.Error()
	if len(s) > maxErrorLen {
		s = strings.ToValidUTF8(s[:maxErrorLen], "")
	}
	return s
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
