package inbox

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// journal records, in order, what the loop did to the poller, the sink and
// the store, so that tests can assert the order of enqueues and saves.
type journal struct {
	mu      sync.Mutex
	entries []string
	at      []time.Time
}

func (j *journal) add(e string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries = append(j.entries, e)
	j.at = append(j.at, time.Now())
}

// list returns what was done to the poller, sink and checkpoints, without
// the lease calls (see all).
func (j *journal) list() []string {
	return slices.DeleteFunc(j.all(), isLeaseCall)
}

// all returns every entry, lease calls included.
func (j *journal) all() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.entries)
}

func isLeaseCall(e string) bool {
	return strings.HasPrefix(e, "acquire ") || strings.HasPrefix(e, "renew ")
}

func (j *journal) snapshot() ([]string, []time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.entries), slices.Clone(j.at)
}

func (j *journal) count(e string) int {
	n := 0
	for _, x := range j.list() {
		if x == e {
			n++
		}
	}
	return n
}

// timeOf returns when the n-th (from 0) occurrence of e was recorded.
func (j *journal) timeOf(e string, n int) time.Time {
	j.mu.Lock()
	defer j.mu.Unlock()
	for i, x := range j.entries {
		if x == e {
			if n == 0 {
				return j.at[i]
			}
			n--
		}
	}
	return time.Time{}
}

// memPollerStore is a PollerStore in memory whose leases expire by clock,
// with knobs to make renewals fail and leases change hands.
type memPollerStore struct {
	j     *journal
	clock Clock

	mu       sync.Mutex
	cps      map[string]string
	holder   string
	expires  time.Time
	acquires int
	renews   int
	renewErr error
	saveFail int // fail this many saves
}

func newMemPollerStore(j *journal, clock Clock) *memPollerStore {
	return &memPollerStore{j: j, clock: clock, cps: map[string]string{}}
}

func (m *memPollerStore) LoadCheckpoint(ctx context.Context, source string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cps[source], nil
}

func (m *memPollerStore) SaveCheckpoint(ctx context.Context, source, pos string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.saveFail > 0 {
		m.saveFail--
		m.j.add("save failed " + pos)
		return errors.New("database is down")
	}
	m.cps[source] = pos
	m.j.add("save " + pos)
	return nil
}

func (m *memPollerStore) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (Lease, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.acquires++
	m.j.add("acquire " + holder)
	now := m.clock.Now()
	if m.holder != "" && m.holder != holder && now.Before(m.expires) {
		return Lease{Name: name, Holder: m.holder, ExpiresAt: m.expires}, false, nil
	}
	m.holder, m.expires = holder, now.Add(ttl)
	return Lease{Name: name, Holder: holder, ExpiresAt: m.expires}, true, nil
}

func (m *memPollerStore) RenewLease(ctx context.Context, name, holder string, ttl time.Duration) (Lease, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.renewErr != nil {
		return Lease{}, false, m.renewErr
	}
	now := m.clock.Now()
	if m.holder != holder || !now.Before(m.expires) {
		m.j.add("renew refused")
		return Lease{Name: name, Holder: m.holder, ExpiresAt: m.expires}, false, nil
	}
	m.expires = now.Add(ttl)
	m.renews++
	return Lease{Name: name, Holder: holder, ExpiresAt: m.expires}, true, nil
}

func (m *memPollerStore) ReleaseLease(ctx context.Context, name, holder string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.holder == holder {
		m.holder = ""
	}
	return nil
}

// set makes holder hold the lease until expires, as another instance would.
func (m *memPollerStore) set(holder string, expires time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.holder, m.expires = holder, expires
}

func (m *memPollerStore) lease() (string, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.holder, m.acquires
}

// listSource is a Poller over a fixed list of items: the checkpoint is the
// number of items consumed, and a poll with nothing new blocks like a long
// poll until ctx ends.
type listSource struct {
	j     *journal
	keys  []string
	fails int   // fail this many polls
	err   error // with this error
}

func (s *listSource) Poll(ctx context.Context, cp string) ([]PollItem, error) {
	s.j.add("poll " + cp)
	if s.fails > 0 {
		s.fails--
		return nil, s.err
	}
	from, _ := strconv.Atoi(cp)
	if from >= len(s.keys) {
		<-ctx.Done()
		s.j.add("poll cancelled")
		return nil, ctx.Err()
	}
	var items []PollItem
	for i := from; i < len(s.keys); i++ {
		e := Envelope{DedupeKey: s.keys[i]}
		items = append(items, PollItem{Envelopes: []Envelope{e}, Checkpoint: strconv.Itoa(i + 1)})
	}
	return items, nil
}

// journalSink records enqueues and refuses the first fail[key] of a key.
type journalSink struct {
	j    *journal
	mu   sync.Mutex
	fail map[string]int
}

func (s *journalSink) Enqueue(ctx context.Context, e Envelope) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail[e.DedupeKey] > 0 {
		s.fail[e.DedupeKey]--
		s.j.add("enqueue failed " + e.DedupeKey)
		return Errorf(EUNAVAILABLE, "queue is full")
	}
	s.j.add("enqueue " + e.DedupeKey)
	return nil
}

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// startLoop runs a loop with fast real-time waits in the background; the
// returned stop cancels it and checks that it returned nil promptly.
func startLoop(t *testing.T, opts PollLoopOptions) (stop func()) {
	t.Helper()
	if opts.Source == "" {
		opts.Source = "test:src"
	}
	if opts.Holder == "" {
		opts.Holder = "me"
	}
	if m, ok := opts.Store.(*memPollerStore); ok && opts.Clock == nil {
		opts.Clock = m.clock // the loop and the store must agree on the time
	}
	if opts.RenewEvery == 0 {
		opts.RenewEvery = 10 * time.Millisecond
	}
	if opts.AcquireEvery == 0 {
		opts.AcquireEvery = 5 * time.Millisecond
	}
	if opts.RetryDelay == 0 {
		opts.RetryDelay = 30 * time.Millisecond
	}
	l, err := NewPollLoop(opts)
	if err != nil {
		t.Fatalf("NewPollLoop: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v after cancel, want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
	}
	t.Cleanup(stop)
	return stop
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestPollLoopSavesCheckpointOnlyAfterEnqueue(t *testing.T) {
	tests := []struct {
		name  string
		fail  map[string]int // enqueue failures by key
		saves int            // save failures
		want  []string       // the journal up to the poll that finds nothing new
	}{
		{
			name: "all queued",
			want: []string{"poll ", "enqueue a", "enqueue b", "enqueue c", "save 3", "poll 3"},
		},
		{
			// Nothing was queued: no save, the same items again.
			name: "first refused",
			fail: map[string]int{"a": 1},
			want: []string{"poll ", "enqueue failed a", "poll ", "enqueue a", "enqueue b", "enqueue c", "save 3", "poll 3"},
		},
		{
			// What was queued is saved; the poll after the backoff starts
			// at the refused item.
			name: "middle refused",
			fail: map[string]int{"b": 2},
			want: []string{"poll ", "enqueue a", "enqueue failed b", "save 1",
				"poll 1", "enqueue failed b",
				"poll 1", "enqueue b", "enqueue c", "save 3", "poll 3"},
		},
		{
			// The items are queued: they are not fetched again, and the
			// save is retried before the next poll.
			name:  "save fails",
			saves: 1,
			want:  []string{"poll ", "enqueue a", "enqueue b", "enqueue c", "save failed 3", "save 3", "poll 3"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			j := &journal{}
			st := newMemPollerStore(j, NewFakeClock(t0))
			st.saveFail = tt.saves
			stop := startLoop(t, PollLoopOptions{
				Poller: &listSource{j: j, keys: []string{"a", "b", "c"}},
				Sink:   &journalSink{j: j, fail: tt.fail},
				Store:  st,
			})
			waitUntil(t, "a poll from the end", func() bool { return j.count("poll 3") == 1 })
			stop()
			got := j.list()
			got = got[:slices.Index(got, "poll 3")+1]
			if !slices.Equal(got, tt.want) {
				t.Errorf("journal:\n got %q\nwant %q", got, tt.want)
			}
			if cp, _ := st.LoadCheckpoint(context.Background(), "test:src"); cp != "3" {
				t.Errorf("checkpoint = %q, want 3", cp)
			}
			// Every refused enqueue is followed by a backoff of at least
			// RetryDelay (less Backoff's 20% jitter) before the next poll.
			entries, at := j.snapshot()
			for i, e := range entries {
				if !strings.HasPrefix(e, "enqueue failed") {
					continue
				}
				next := i + slices.IndexFunc(entries[i:], func(x string) bool { return strings.HasPrefix(x, "poll") })
				if d := at[next].Sub(at[i]); d < 24*time.Millisecond {
					t.Errorf("polled again %s after %q, want >= 24ms", d, e)
				}
			}
		})
	}
}

func TestPollLoopBacksOffAfterFailures(t *testing.T) {
	t.Parallel()
	j := &journal{}
	st := newMemPollerStore(j, NewFakeClock(t0))
	src := &listSource{j: j, keys: []string{"a"}, fails: 2, err: errors.New("provider is down")}
	stop := startLoop(t, PollLoopOptions{
		Poller: src, Sink: &journalSink{j: j}, Store: st,
		RetryDelay: 40 * time.Millisecond, MaxRetryDelay: time.Second,
	})
	waitUntil(t, "the item after two failed polls", func() bool { return j.count("enqueue a") == 1 })
	stop()
	// Backoff doubles: 40 ms after the first failure, 80 ms after the
	// second, less up to 20% jitter. Only lower bounds are asserted; they
	// hold however slow the machine is.
	first, second, third := j.timeOf("poll ", 0), j.timeOf("poll ", 1), j.timeOf("poll ", 2)
	if d := second.Sub(first); d < 32*time.Millisecond {
		t.Errorf("second poll %s after the first failure, want >= 32ms", d)
	}
	if d := third.Sub(second); d < 64*time.Millisecond {
		t.Errorf("third poll %s after the second failure, want >= 64ms", d)
	}
}

func TestPollLoopHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	j := &journal{}
	st := newMemPollerStore(j, NewFakeClock(t0))
	src := &listSource{j: j, keys: []string{"a"}, fails: 1,
		err: &RetryAfterError{Err: errors.New("429 too many requests"), After: 250 * time.Millisecond}}
	stop := startLoop(t, PollLoopOptions{Poller: src, Sink: &journalSink{j: j}, Store: st, RetryDelay: time.Millisecond})
	waitUntil(t, "the item after the rate limit", func() bool { return j.count("enqueue a") == 1 })
	stop()
	if d := j.timeOf("poll ", 1).Sub(j.timeOf("poll ", 0)); d < 250*time.Millisecond {
		t.Errorf("polled again after %s, want >= the provider's 250ms", d)
	}
}

func TestPollLoopStopsOnContextAndReleases(t *testing.T) {
	t.Parallel()
	j := &journal{}
	st := newMemPollerStore(j, NewFakeClock(t0))
	// Nothing to poll: the loop sits in a long poll when it is stopped.
	stop := startLoop(t, PollLoopOptions{Poller: &listSource{j: j}, Sink: &journalSink{j: j}, Store: st})
	waitUntil(t, "a long poll", func() bool { return j.count("poll ") == 1 })
	if h, _ := st.lease(); h != "me" {
		t.Fatalf("lease holder while polling = %q, want me", h)
	}
	stop() // fails the test unless Run returns nil promptly
	if j.count("poll cancelled") != 1 {
		t.Errorf("the long poll was not cancelled: %q", j.list())
	}
	// A clean stop hands the source over at once instead of making the
	// others wait for the TTL.
	if h, _ := st.lease(); h != "" {
		t.Errorf("lease holder after stop = %q, want released", h)
	}
}

func TestPollLoopPollsOnlyWithTheLease(t *testing.T) {
	t.Parallel()
	j := &journal{}
	clock := NewFakeClock(t0)
	st := newMemPollerStore(j, clock)
	// Another instance holds the lease and has got as far as item 1.
	st.set("other", t0.Add(DefaultLeaseTTL))
	st.cps["test:src"] = "1"
	stop := startLoop(t, PollLoopOptions{
		Poller: &listSource{j: j, keys: []string{"a", "b"}}, Sink: &journalSink{j: j}, Store: st, Clock: clock,
	})
	waitUntil(t, "several acquire attempts", func() bool { _, n := st.lease(); return n >= 5 })
	if got := j.list(); len(got) != 0 {
		t.Fatalf("polled without the lease: %q", got)
	}
	// The other instance died without releasing: once the clock passes its
	// lease's expiry, this one takes over from its checkpoint.
	clock.Advance(DefaultLeaseTTL)
	waitUntil(t, "polling after the takeover", func() bool { return j.count("save 2") == 1 })
	stop()
	if got, want := j.list()[:3], []string{"poll 1", "enqueue b", "save 2"}; !slices.Equal(got, want) {
		t.Errorf("after takeover %q, want %q (resumed from the other's checkpoint)", got, want)
	}
}

func TestPollLoopStopsPollingWhenLeaseIsLost(t *testing.T) {
	tests := []struct {
		name string
		lose func(st *memPollerStore, clock *FakeClock)
	}{
		{"taken by another", func(st *memPollerStore, clock *FakeClock) {
			st.set("other", clock.Now().Add(time.Hour))
		}},
		{"renewal fails", func(st *memPollerStore, clock *FakeClock) {
			st.mu.Lock()
			st.renewErr = errors.New("connection refused")
			st.mu.Unlock()
			// Whoever renews nothing loses the lease, and someone else
			// holds it after that.
			st.set("other", clock.Now().Add(time.Hour))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			j := &journal{}
			clock := NewFakeClock(t0)
			st := newMemPollerStore(j, clock)
			stop := startLoop(t, PollLoopOptions{
				Poller: &listSource{j: j}, Sink: &journalSink{j: j}, Store: st, Clock: clock,
				// Renewals far apart in real time, so that the change
				// below lands before the next one.
				RenewEvery: 50 * time.Millisecond,
			})
			waitUntil(t, "a long poll", func() bool { return j.count("poll ") == 1 })
			tt.lose(st, clock)
			// The long poll in progress is cut off...
			waitUntil(t, "the poll to be cancelled", func() bool { return j.count("poll cancelled") == 1 })
			// ...and no poll follows while the other holds the lease.
			_, n := st.lease()
			waitUntil(t, "several acquire attempts", func() bool { _, m := st.lease(); return m >= n+5 })
			stop()
			if got := j.count("poll "); got != 1 {
				t.Errorf("polled %d times, want 1: %q", got, j.list())
			}
			if h, _ := st.lease(); h != "other" {
				t.Errorf("holder = %q; the loop released or took a lease it did not hold", h)
			}
		})
	}
}

// TestPollLoopStopsWhenItsLeaseRunsOut: a process that was paused (GC, a
// stopped VM) past its lease's end stops polling on its own clock, without
// asking the store first: another instance may hold the lease by then.
func TestPollLoopStopsWhenItsLeaseRunsOut(t *testing.T) {
	t.Parallel()
	j := &journal{}
	// The store's clock stands still, so the store would renew; only the
	// loop's clock passes the expiry.
	st := newMemPollerStore(j, NewFakeClock(t0))
	loopClock := NewFakeClock(t0)
	stop := startLoop(t, PollLoopOptions{
		Poller: &listSource{j: j}, Sink: &journalSink{j: j}, Store: st, Clock: loopClock,
		RenewEvery: 50 * time.Millisecond,
	})
	waitUntil(t, "a long poll", func() bool { return j.count("poll ") == 1 })
	st.mu.Lock()
	renews := st.renews
	st.mu.Unlock()
	loopClock.Advance(DefaultLeaseTTL)
	waitUntil(t, "the poll to be cancelled", func() bool { return j.count("poll cancelled") == 1 })
	// It then acquires afresh (the store says the lease is free to it) and
	// polls again from the checkpoint.
	waitUntil(t, "a poll after acquiring again", func() bool { return j.count("poll ") == 2 })
	stop()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.renews != renews {
		t.Errorf("renewed %d times after the lease ran out; it must stop, not renew", st.renews-renews)
	}
	entries := j.all()
	cancelled := slices.Index(entries, "poll cancelled")
	if !slices.Contains(entries[cancelled:], "acquire me") {
		t.Errorf("polled again without acquiring the lease: %q", entries)
	}
}

func TestNewPollLoopChecksOptions(t *testing.T) {
	j := &journal{}
	ok := PollLoopOptions{Source: "s", Holder: "h", Poller: &listSource{j: j}, Sink: &journalSink{j: j}, Store: newMemPollerStore(j, SystemClock{})}
	tests := []struct {
		name string
		edit func(o *PollLoopOptions)
	}{
		{"no source", func(o *PollLoopOptions) { o.Source = "" }},
		{"no holder", func(o *PollLoopOptions) { o.Holder = "" }},
		{"no store", func(o *PollLoopOptions) { o.Store = nil }},
		{"renewal slower than the lease", func(o *PollLoopOptions) { o.LeaseTTL = time.Second; o.RenewEvery = time.Second }},
	}
	for _, tt := range tests {
		o := ok
		tt.edit(&o)
		if _, err := NewPollLoop(o); err == nil {
			t.Errorf("%s: NewPollLoop accepted it", tt.name)
		}
	}
	l, err := NewPollLoop(ok)
	if err != nil {
		t.Fatal(err)
	}
	// The defaults let another instance take over within 30 s: the lease
	// runs out at most TTL after the holder's last renewal, and the others
	// try every AcquireEvery.
	if got := l.opts.LeaseTTL + l.opts.AcquireEvery; got > 30*time.Second {
		t.Errorf("takeover may take %s, want <= 30s", got)
	}
	if l.opts.RenewEvery*2 >= l.opts.LeaseTTL {
		t.Errorf("renewal every %s leaves no room for a failed one within %s", l.opts.RenewEvery, l.opts.LeaseTTL)
	}
}
