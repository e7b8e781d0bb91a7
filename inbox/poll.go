package inbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Checkpoints keep each polled source's position, so that a restarted
// instance, or another instance taking over the source's lease, goes on
// where the last poller stopped. A position is opaque to the store: each
// poller writes what it needs to resume (see Poller).
type Checkpoints interface {
	// LoadCheckpoint returns the position last saved for source, "" when
	// none was saved yet.
	LoadCheckpoint(ctx context.Context, source string) (string, error)
	// SaveCheckpoint records source's position, replacing the previous one.
	SaveCheckpoint(ctx context.Context, source, position string) error
}

// Lease is who holds a named lease, and until when.
type Lease struct {
	Name      string
	Holder    string
	ExpiresAt time.Time
}

// Leases hand out named leases with a time to live: at any moment at most one
// holder holds a lease, and a holder that stops renewing (it died) loses it
// when it expires, so that another can take it. Implementations decide
// expiry by their own clock; instances sharing leases must keep their clocks
// in step (NTP) to well within a TTL.
type Leases interface {
	// AcquireLease takes the lease for holder until now+ttl if it is free,
	// expired, or already holder's. ok is false, with the current holder's
	// Lease, when someone else holds it. When several holders race for an
	// expired lease, exactly one gets ok.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (l Lease, ok bool, err error)
	// RenewLease extends holder's lease to now+ttl. ok is false when holder
	// no longer holds it: it expired, or another holder took it. Unlike
	// AcquireLease it never revives an expired lease, so a holder that
	// missed its renewal learns that it may have been replaced.
	RenewLease(ctx context.Context, name, holder string, ttl time.Duration) (l Lease, ok bool, err error)
	// ReleaseLease gives the lease up at once, so that another holder need
	// not wait for it to expire. Releasing a lease held by someone else, or
	// by nobody, does nothing.
	ReleaseLease(ctx context.Context, name, holder string) error
}

// PollerStore is what the poll loop keeps in the database.
type PollerStore interface {
	Checkpoints
	Leases
}

// PollItem is one thing a poll brought: the envelopes it carries (none for
// something the poller skips, such as an update it cannot read) and the
// source's position once they are queued.
type PollItem struct {
	Envelopes  []Envelope
	Checkpoint string
}

// Poller reads one source (a Telegram bot, an IMAP mailbox) from a position.
//
// Poll fetches what came after checkpoint ("" the first time: wherever the
// source starts) and returns it in order. It must not tell the provider that
// anything was received: the loop queues each item's envelopes, then saves
// its Checkpoint, and passes the saved position to the next Poll. A provider
// that must be told (Telegram confirms updates by the next getUpdates'
// offset) is told there, so nothing is confirmed before it is queued. Poll
// may block (a long poll) but must return when ctx ends.
//
// A Telegram poller's checkpoint is the next update_id to ask for
// ("800000106"). An IMAP poller's is the mailbox's UIDVALIDITY and the last
// UID queued ("1700000000:4321"): Poll SELECTs the mailbox, and when
// UIDVALIDITY differs from the checkpoint's the UIDs mean nothing any more, so
// it starts over from the mailbox's beginning (the dedupe key
// email:<channel>:<Message-ID> absorbs what was queued before); otherwise it
// FETCHes UID last+1:*, one item per message with Checkpoint
// "<uidvalidity>:<uid>". Its loop's Source is "email:<channel>:<mailbox>" and
// its Idle the time between polls (or 0 when Poll waits in IDLE itself).
type Poller interface {
	Poll(ctx context.Context, checkpoint string) ([]PollItem, error)
}

// RetryAfterError is a poll failure for which the source said how long to
// wait (Telegram's retry_after). The loop waits at least After.
type RetryAfterError struct {
	Err   error
	After time.Duration
}

func (e *RetryAfterError) Error() string { return e.Err.Error() }
func (e *RetryAfterError) Unwrap() error { return e.Err }

// DefaultLeaseTTL lets another instance take a source over within 30 s of
// its poller dying: the dead holder's lease ran at most 20 s past its last
// renewal, and the others try to acquire it every TTL/4 (5 s).
const DefaultLeaseTTL = 20 * time.Second

// PollLoopOptions configures a PollLoop.
type PollLoopOptions struct {
	// Source names the lease and the checkpoint: "telegram:<channel>",
	// "email:<channel>:<mailbox>".
	Source string
	// Holder identifies this instance among those sharing the store
	// (hostname, pid and something random). Required.
	Holder string
	Poller Poller
	Sink   Sink
	Store  PollerStore
	// Clock decides when the lease has run out. Default SystemClock.
	Clock  Clock
	Logger *slog.Logger
	// LeaseTTL is how long the lease lasts without renewal. Default
	// DefaultLeaseTTL.
	LeaseTTL time.Duration
	// RenewEvery is how often the holder renews; it must be well below
	// LeaseTTL so that one slow renewal does not lose the lease. Default
	// LeaseTTL/3.
	RenewEvery time.Duration
	// AcquireEvery is how often an instance that does not hold the lease
	// tries to take it. Default LeaseTTL/4.
	AcquireEvery time.Duration
	// RetryDelay is the first wait after a failed poll, enqueue or save; it
	// doubles up to MaxRetryDelay. Defaults 1 s and 30 s.
	RetryDelay    time.Duration
	MaxRetryDelay time.Duration
	// Idle is the wait after a poll that brought nothing. 0 for a long poll,
	// which waits on the provider's side.
	Idle time.Duration
}

// PollLoop is the one loop every poller runs in: it polls only while it
// holds the source's lease, queues what each poll brought, and saves the
// source's checkpoint only after the queue took it.
type PollLoop struct {
	opts PollLoopOptions
	log  *slog.Logger
}

// errLeaseLost ends a holding period whose lease could not be kept.
var errLeaseLost = errors.New("lease lost")

// NewPollLoop checks the options and fills in the defaults.
func NewPollLoop(opts PollLoopOptions) (*PollLoop, error) {
	switch {
	case opts.Source == "":
		return nil, errors.New("poll loop: source is required")
	case opts.Holder == "":
		return nil, fmt.Errorf("poll loop %s: holder is required", opts.Source)
	case opts.Poller == nil || opts.Sink == nil || opts.Store == nil:
		return nil, fmt.Errorf("poll loop %s: poller, sink and store are required", opts.Source)
	}
	if opts.Clock == nil {
		opts.Clock = SystemClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = DefaultLeaseTTL
	}
	if opts.RenewEvery <= 0 {
		opts.RenewEvery = opts.LeaseTTL / 3
	}
	if opts.RenewEvery >= opts.LeaseTTL {
		return nil, fmt.Errorf("poll loop %s: renewal every %s would let a lease of %s run out", opts.Source, opts.RenewEvery, opts.LeaseTTL)
	}
	if opts.AcquireEvery <= 0 {
		opts.AcquireEvery = opts.LeaseTTL / 4
	}
	if opts.RetryDelay <= 0 {
		opts.RetryDelay = time.Second
	}
	if opts.MaxRetryDelay <= 0 {
		opts.MaxRetryDelay = 30 * time.Second
	}
	return &PollLoop{opts: opts, log: opts.Logger.With("source", opts.Source)}, nil
}

// Run polls until ctx ends, then releases the lease if it holds it and
// returns nil. Failures of the source, the queue or the store never end it:
// it logs them and tries again.
func (l *PollLoop) Run(ctx context.Context) error {
	o := l.opts
	for {
		lease, ok, err := o.Store.AcquireLease(ctx, o.Source, o.Holder, o.LeaseTTL)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			l.log.Warn("poll lease: acquire failed", "err", err)
		case ok:
			l.log.Info("poll lease acquired; polling", "holder", o.Holder, "expires_at", lease.ExpiresAt)
			err := l.hold(ctx, lease)
			if ctx.Err() != nil {
				l.release()
				return nil
			}
			l.log.Warn("poll lease lost; polling stopped", "holder", o.Holder, "err", err)
		}
		if !sleep(ctx, o.AcquireEvery) {
			return nil
		}
	}
}

// release gives the lease up on a clean stop, so that another instance
// takes over at once. ctx has ended, hence a short context of its own.
func (l *PollLoop) release() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.opts.Store.ReleaseLease(ctx, l.opts.Source, l.opts.Holder); err != nil {
		l.log.Warn("poll lease: release failed; it expires by itself", "err", err)
	}
}

// hold polls in a goroutine of its own while renewing the lease, and stops
// the polling the moment the lease cannot be kept: renewal failed, another
// holder took it, or the clock passed its expiry before a renewal. It
// returns when ctx ends or the lease is lost, after the polling stopped.
func (l *PollLoop) hold(ctx context.Context, lease Lease) error {
	o := l.opts
	pctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.poll(pctx)
	}()
	defer func() {
		stop()
		<-done
	}()

	tick := time.NewTicker(o.RenewEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		left := lease.ExpiresAt.Sub(o.Clock.Now())
		if left <= 0 {
			// Another instance may hold it by now: stop before asking.
			return fmt.Errorf("%w: expired at %s before it was renewed", errLeaseLost, lease.ExpiresAt)
		}
		// A renewal that outlasts the lease is no use.
		rctx, cancel := context.WithTimeout(ctx, left)
		renewed, ok, err := o.Store.RenewLease(rctx, o.Source, o.Holder, o.LeaseTTL)
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			return fmt.Errorf("%w: renew: %w", errLeaseLost, err)
		case !ok:
			return fmt.Errorf("%w: now held by %q", errLeaseLost, renewed.Holder)
		}
		lease = renewed
	}
}

// poll is the polling proper, run while the lease is held. It returns
// when ctx ends.
func (l *PollLoop) poll(ctx context.Context) {
	o := l.opts
	var (
		failures int
		wait     time.Duration // at least this long before the next attempt
		pos      string        // the position the next Poll starts from
		saved    string        // the position the store has
		loaded   bool
	)
	fail := func(what string, err error) {
		if ctx.Err() != nil {
			return // stopping: the next sleep returns at once
		}
		failures++
		wait = 0
		if ra, ok := errors.AsType[*RetryAfterError](err); ok {
			wait = ra.After
		}
		l.log.Warn("poll: "+what+" failed", "err", err, "failures", failures)
	}
	// save brings the store up to pos. A save that failed after its
	// envelopes were queued is retried before polling on: they are not
	// fetched again, and the store must not keep an older position than
	// the provider was told.
	save := func() bool {
		if pos == saved {
			return true
		}
		if err := o.Store.SaveCheckpoint(ctx, o.Source, pos); err != nil {
			fail("save checkpoint", err)
			return false
		}
		saved = pos
		return true
	}
	for {
		if failures > 0 {
			if !sleep(ctx, max(wait, Backoff(failures, o.RetryDelay, o.MaxRetryDelay))) {
				return
			}
		}
		if ctx.Err() != nil {
			return
		}
		// Loaded once per lease: while this instance waited for the lease,
		// another one may have moved the source on.
		if !loaded {
			cp, err := o.Store.LoadCheckpoint(ctx, o.Source)
			if err != nil {
				fail("load checkpoint", err)
				continue
			}
			pos, saved, loaded = cp, cp, true
		}
		if !save() {
			continue
		}
		items, err := o.Poller.Poll(ctx, pos)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			fail("poll", err)
			continue
		}
		queued := true
		for _, it := range items {
			if err := enqueueAll(ctx, o.Sink, it.Envelopes); err != nil {
				if ctx.Err() != nil {
					return
				}
				// Nothing from this item on is confirmed: the next Poll
				// starts at it again, after a backoff.
				fail("enqueue", err)
				queued = false
				break
			}
			pos = it.Checkpoint
		}
		if !save() {
			continue
		}
		if queued {
			failures = 0
			if len(items) == 0 && o.Idle > 0 && !sleep(ctx, o.Idle) {
				return
			}
		}
	}
}

func enqueueAll(ctx context.Context, sink Sink, envs []Envelope) error {
	for _, e := range envs {
		if err := sink.Enqueue(ctx, e); err != nil {
			return fmt.Errorf("enqueue %s: %w", e.DedupeKey, err)
		}
	}
	return nil
}

// sleep waits d, or less if ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
