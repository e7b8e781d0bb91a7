package store

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/inbox/inboxtest"
)

var pollT0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// openInstances opens n stores on one migrated database, all on clock: n
// leadhub instances sharing a database.
func openInstances(t *testing.T, dialect string, clock inbox.Clock, n int) []*Store {
	t.Helper()
	url := "sqlite:" + filepath.Join(t.TempDir(), "leadhub.db")
	if dialect == DialectPostgres {
		url = inboxtest.PostgresURL(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stores []*Store
	for i := range n {
		s, err := Open(ctx, Options{URL: url, Clock: clock})
		if err != nil {
			t.Fatalf("open %s: %v", dialect, err)
		}
		t.Cleanup(func() { s.Close() })
		if i == 0 {
			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("migrate %s: %v", dialect, err)
			}
		}
		stores = append(stores, s)
	}
	return stores
}

func TestPollersSQLite(t *testing.T)   { runPollers(t, DialectSQLite) }
func TestPollersPostgres(t *testing.T) { runPollers(t, DialectPostgres) }

func runPollers(t *testing.T, dialect string) {
	tests := []struct {
		name string
		fn   func(t *testing.T, dialect string)
	}{
		{"Checkpoints", testCheckpoints},
		{"Leases", testLeases},
		{"LeaseRace", testLeaseRace},
		{"Takeover", testTakeover},
		{"CleanStopHandsOver", testCleanStopHandsOver},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, dialect)
		})
	}
}

func testCheckpoints(t *testing.T, dialect string) {
	s := openInstances(t, dialect, inbox.NewFakeClock(pollT0), 1)[0]
	ctx := context.Background()
	load := func(source, want string) {
		t.Helper()
		got, err := s.LoadCheckpoint(ctx, source)
		if err != nil || got != want {
			t.Errorf("LoadCheckpoint(%s) = %q, %v; want %q", source, got, err, want)
		}
	}
	load("telegram:tg", "") // never saved
	for _, step := range []struct{ source, pos string }{
		{"telegram:tg", "800000102"},
		{"email:mail:INBOX", "1700000000:42"},
		{"telegram:tg", "800000106"}, // replaces, never appends
	} {
		if err := s.SaveCheckpoint(ctx, step.source, step.pos); err != nil {
			t.Fatalf("SaveCheckpoint(%s, %s): %v", step.source, step.pos, err)
		}
	}
	load("telegram:tg", "800000106")
	load("email:mail:INBOX", "1700000000:42")
	load("email:mail:Sent", "")
	if err := s.SaveCheckpoint(ctx, "", "1"); inbox.ErrorCode(err) != inbox.EINVALID {
		t.Errorf("SaveCheckpoint without a source = %v, want EINVALID", err)
	}
}

func testLeases(t *testing.T, dialect string) {
	clock := inbox.NewFakeClock(pollT0)
	st := openInstances(t, dialect, clock, 2)
	a, b := st[0], st[1] // two instances
	ctx := context.Background()
	const name, ttl = "telegram:tg", 20 * time.Second

	expect := func(what string, l inbox.Lease, ok bool, err error, wantOK bool, wantHolder string, wantExp time.Time) {
		t.Helper()
		if err != nil || ok != wantOK || l.Name != name || l.Holder != wantHolder || !l.ExpiresAt.Equal(wantExp) {
			t.Errorf("%s = %+v, ok %v, %v; want ok %v held by %q until %s", what, l, ok, err, wantOK, wantHolder, wantExp)
		}
	}
	l, ok, err := a.AcquireLease(ctx, name, "a", ttl)
	expect("a acquires a free lease", l, ok, err, true, "a", pollT0.Add(ttl))
	l, ok, err = b.AcquireLease(ctx, name, "b", ttl)
	expect("b acquires a's lease", l, ok, err, false, "a", pollT0.Add(ttl))
	// A lease on another name is independent.
	if _, ok, err := b.AcquireLease(ctx, "telegram:other", "b", ttl); !ok || err != nil {
		t.Errorf("b acquires another lease: %v, %v", ok, err)
	}

	clock.Advance(10 * time.Second)
	l, ok, err = a.RenewLease(ctx, name, "a", ttl)
	expect("a renews", l, ok, err, true, "a", pollT0.Add(30*time.Second))
	l, ok, err = b.RenewLease(ctx, name, "b", ttl)
	expect("b renews a's lease", l, ok, err, false, "a", pollT0.Add(30*time.Second))
	// Acquiring again is how a holder keeps a lease it has; a holder's
	// own lease is never "taken".
	l, ok, err = a.AcquireLease(ctx, name, "a", ttl)
	expect("a acquires its own lease", l, ok, err, true, "a", pollT0.Add(30*time.Second))

	// Alive until the expiry, free from then on.
	clock.Set(pollT0.Add(30*time.Second - time.Microsecond))
	l, ok, err = b.AcquireLease(ctx, name, "b", ttl)
	expect("b acquires just before the expiry", l, ok, err, false, "a", pollT0.Add(30*time.Second))
	clock.Set(pollT0.Add(30 * time.Second))
	l, ok, err = a.RenewLease(ctx, name, "a", ttl)
	expect("a renews an expired lease", l, ok, err, false, "a", pollT0.Add(30*time.Second))
	l, ok, err = b.AcquireLease(ctx, name, "b", ttl)
	expect("b acquires the expired lease", l, ok, err, true, "b", pollT0.Add(50*time.Second))
	l, ok, err = a.AcquireLease(ctx, name, "a", ttl)
	expect("a acquires b's lease", l, ok, err, false, "b", pollT0.Add(50*time.Second))

	// Releasing a lease one does not hold does nothing; the holder's
	// release frees it at once.
	if err := a.ReleaseLease(ctx, name, "a"); err != nil {
		t.Fatal(err)
	}
	l, ok, err = a.AcquireLease(ctx, name, "a", ttl)
	expect("a acquires after its own stray release", l, ok, err, false, "b", pollT0.Add(50*time.Second))
	if err := b.ReleaseLease(ctx, name, "b"); err != nil {
		t.Fatal(err)
	}
	l, ok, err = a.AcquireLease(ctx, name, "a", ttl)
	expect("a acquires after b released", l, ok, err, true, "a", pollT0.Add(50*time.Second))

	if _, _, err := a.AcquireLease(ctx, name, "", ttl); inbox.ErrorCode(err) != inbox.EINVALID {
		t.Errorf("AcquireLease without a holder = %v, want EINVALID", err)
	}
	if _, _, err := a.RenewLease(ctx, name, "a", 0); inbox.ErrorCode(err) != inbox.EINVALID {
		t.Errorf("RenewLease without a ttl = %v, want EINVALID", err)
	}
}

// testLeaseRace has several instances race for the same expired lease, many
// times over: each time exactly one wins, and the database names it.
func testLeaseRace(t *testing.T, dialect string) {
	clock := inbox.NewFakeClock(pollT0)
	st := openInstances(t, dialect, clock, 2)
	ctx := context.Background()
	const name, ttl, racers = "telegram:race", 20 * time.Second, 6
	for round := range 25 {
		// The previous round's winner died: its lease has run out.
		clock.Advance(ttl)
		var (
			start   = make(chan struct{})
			wg      sync.WaitGroup
			mu      sync.Mutex
			winners []string
			errs    []error
		)
		for i := range racers {
			holder := fmt.Sprintf("r%d-%d", round, i)
			wg.Go(func() {
				<-start
				_, ok, err := st[i%len(st)].AcquireLease(ctx, name, holder, ttl)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
				}
				if ok {
					winners = append(winners, holder)
				}
			})
		}
		close(start)
		wg.Wait()
		if len(errs) > 0 || len(winners) != 1 {
			t.Fatalf("round %d: winners %v, errors %v; want exactly one winner", round, winners, errs)
		}
		l, found, err := st[0].leaseRow(ctx, name, st[0].q.LeaseByName, name)
		if err != nil || !found || l.Holder != winners[0] {
			t.Fatalf("round %d: the database says %+v (%v), the winner was %s", round, l, err, winners[0])
		}
	}
}

// source is a mailbox-like source shared by the instances: items appear
// over time; a poll returns those after the checkpoint (their count) or
// nothing.
type source struct {
	mu    sync.Mutex
	items []string
}

func (s *source) add(keys ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items = append(s.items, keys...)
}

// instancePoller is one instance's poller of the source; it records the
// checkpoint of every poll it makes.
type instancePoller struct {
	src *source
	mu  sync.Mutex
	cps []string
}

func (p *instancePoller) Poll(ctx context.Context, cp string) ([]inbox.PollItem, error) {
	p.mu.Lock()
	p.cps = append(p.cps, cp)
	p.mu.Unlock()
	from, _ := strconv.Atoi(cp)
	p.src.mu.Lock()
	defer p.src.mu.Unlock()
	var items []inbox.PollItem
	for i := from; i < len(p.src.items); i++ {
		items = append(items, inbox.PollItem{
			Envelopes:  []inbox.Envelope{{DedupeKey: p.src.items[i]}},
			Checkpoint: strconv.Itoa(i + 1),
		})
	}
	return items, nil
}

func (p *instancePoller) polls() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.cps)
}

// keySink records the dedupe keys each instance enqueued.
type keySink struct {
	mu   sync.Mutex
	keys []string
}

func (s *keySink) Enqueue(ctx context.Context, e inbox.Envelope) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, e.DedupeKey)
	return nil
}

func (s *keySink) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.keys)
}

// countingStore counts lease acquisitions, to know that an instance tried
// (and failed) to take the lease.
type countingStore struct {
	*Store
	mu       sync.Mutex
	acquires int
}

func (c *countingStore) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (inbox.Lease, bool, error) {
	c.mu.Lock()
	c.acquires++
	c.mu.Unlock()
	return c.Store.AcquireLease(ctx, name, holder, ttl)
}

func (c *countingStore) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.acquires
}

// dyingStore never releases: the process was killed, so it could not.
type dyingStore struct{ *Store }

func (dyingStore) ReleaseLease(context.Context, string, string) error { return nil }

// instance is one running poll loop.
type instance struct {
	poller *instancePoller
	sink   *keySink
	stop   func()
}

func startInstance(t *testing.T, ps inbox.PollerStore, src *source, holder string, clock inbox.Clock) *instance {
	t.Helper()
	in := &instance{poller: &instancePoller{src: src}, sink: &keySink{}}
	l, err := inbox.NewPollLoop(inbox.PollLoopOptions{
		Source: "email:mail:INBOX", Holder: holder, Poller: in.poller, Sink: in.sink, Store: ps, Clock: clock,
		LeaseTTL: 20 * time.Second,
		// Real-time waits are short so the test is quick; lease expiry is
		// decided by the fake clock alone.
		RenewEvery: 10 * time.Millisecond, AcquireEvery: 5 * time.Millisecond, Idle: 5 * time.Millisecond,
		RetryDelay: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	var once sync.Once
	in.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("%s: Run = %v", holder, err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("%s: Run did not return after cancel", holder)
			}
		})
	}
	t.Cleanup(in.stop)
	return in
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// testTakeover: two instances poll one mailbox; the holder dies without
// releasing its lease; the other takes over once the lease has run out, not
// before, and resumes from the dead one's checkpoint.
func testTakeover(t *testing.T, dialect string) {
	clock := inbox.NewFakeClock(pollT0)
	st := openInstances(t, dialect, clock, 2)
	src := &source{}
	src.add("m1", "m2")

	a := startInstance(t, dyingStore{st[0]}, src, "host-a:1:aa", clock)
	waitFor(t, "a to queue m1 and m2", func() bool { return len(a.sink.got()) == 2 })
	bStore := &countingStore{Store: st[1]}
	b := startInstance(t, bStore, src, "host-b:2:bb", clock)
	waitFor(t, "b to try for the lease", func() bool { return bStore.count() >= 5 })
	if p := b.poller.polls(); len(p) != 0 {
		t.Fatalf("b polled %q while a held the lease", p)
	}

	// a dies: its loop ends without releasing, as a killed process would.
	a.stop()
	diedAt := clock.Now()
	src.add("m3")
	clock.Advance(20*time.Second - time.Second)
	n := bStore.count()
	waitFor(t, "b to try for the lease again", func() bool { return bStore.count() >= n+5 })
	if p := b.poller.polls(); len(p) != 0 {
		t.Fatalf("b polled %q before a's lease ran out", p)
	}

	clock.Advance(2 * time.Second)
	waitFor(t, "b to queue m3", func() bool { return len(b.sink.got()) == 1 })
	if got := b.poller.polls()[0]; got != "2" {
		t.Errorf("b's first poll started at %q, want a's checkpoint 2", got)
	}
	if got := b.sink.got(); !slices.Equal(got, []string{"m3"}) {
		t.Errorf("b queued %q, want only m3", got)
	}
	if got := a.sink.got(); !slices.Equal(got, []string{"m1", "m2"}) {
		t.Errorf("a queued %q, want m1 and m2", got)
	}
	if took := clock.Now().Sub(diedAt); took > 30*time.Second {
		t.Errorf("takeover after %s, want within 30s", took)
	}
	// The checkpoint is saved after the enqueue, so it is waited for.
	waitFor(t, "b to save its checkpoint", func() bool {
		cp, err := st[0].LoadCheckpoint(context.Background(), "email:mail:INBOX")
		return err == nil && cp == "3"
	})
}

// testCleanStopHandsOver: an instance that stops cleanly releases the lease,
// so the other takes over without waiting for it to run out.
func testCleanStopHandsOver(t *testing.T, dialect string) {
	clock := inbox.NewFakeClock(pollT0)
	st := openInstances(t, dialect, clock, 2)
	src := &source{}
	src.add("m1")
	a := startInstance(t, st[0], src, "a", clock)
	waitFor(t, "a to queue m1", func() bool { return len(a.sink.got()) == 1 })
	bStore := &countingStore{Store: st[1]}
	b := startInstance(t, bStore, src, "b", clock)
	waitFor(t, "b to try for the lease", func() bool { return bStore.count() >= 3 })
	a.stop()
	src.add("m2")
	// The clock does not move: only the release can let b in.
	waitFor(t, "b to queue m2", func() bool { return len(b.sink.got()) == 1 })
	if got := b.sink.got(); !slices.Equal(got, []string{"m2"}) {
		t.Errorf("b queued %q, want only m2", got)
	}
}
