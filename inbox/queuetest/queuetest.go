// Package queuetest is the conformance suite every inbox.Queue
// implementation must pass: at-least-once delivery, ack only after success,
// redelivery after a consumer died, dead letters, no delivery held by two
// consumers at once, prompt shutdown and honest stats. sqlq and redisq run it
// from their own tests with a factory, as centrifuge's shared broker tests do.
package queuetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// Queue is what an implementation under test provides.
type Queue interface {
	inbox.Queue
	inbox.DeadLetters
	inbox.Inspector
}

// Options are the timings a subtest asks its queue for.
type Options struct {
	// Visibility is how long a delivery stays hidden after it was handed out.
	Visibility time.Duration
	// MaxAttempts is how many deliveries an envelope gets before a failure
	// moves it to the dead letters.
	MaxAttempts int
	// RetryDelay is the pause before a failed delivery is handed out again,
	// for queues that have one (others redeliver after Visibility).
	RetryDelay time.Duration
}

// waitFor is how long the suite waits for a condition before it fails.
const waitFor = 10 * time.Second

// fast suits subtests that need redelivery.
func fast() Options {
	return Options{Visibility: 300 * time.Millisecond, MaxAttempts: 5, RetryDelay: 50 * time.Millisecond}
}

// slow suits subtests that must see every envelope exactly once and would be
// confused by a lease running out on a busy test machine.
func slow() Options {
	return Options{Visibility: 30 * time.Second, MaxAttempts: 5, RetryDelay: 50 * time.Millisecond}
}

// Run runs the suite. newQueue must return a fresh, empty queue of its own
// (tables, stream, ...) with the given timings, cleaned up when t ends.
// Several Consume loops on one returned value are how the suite models
// several workers.
func Run(t *testing.T, newQueue func(t *testing.T, opts Options) Queue) {
	t.Run("DeliversEverything", func(t *testing.T) { testDeliversEverything(t, newQueue(t, slow())) })
	t.Run("AckOnlyAfterSuccess", func(t *testing.T) { testAckOnlyAfterSuccess(t, newQueue(t, fast())) })
	t.Run("ConsumerDied", func(t *testing.T) {
		q := newQueue(t, fast())
		CheckTakeover(t, q, q)
	})
	t.Run("DeadLetters", func(t *testing.T) {
		opts := fast()
		opts.MaxAttempts = 3
		testDeadLetters(t, newQueue(t, opts), opts.MaxAttempts)
	})
	t.Run("NoConcurrentDoubleProcessing", func(t *testing.T) {
		q := newQueue(t, slow())
		CheckExclusive(t, q, q, q, q)
	})
	t.Run("ReturnsWhenContextEnds", func(t *testing.T) { testReturnsWhenContextEnds(t, newQueue) })
	t.Run("PerDeliveryOutcome", func(t *testing.T) { testPerDeliveryOutcome(t, newQueue(t, fast())) })
	t.Run("WrongResultLengthFailsBatch", func(t *testing.T) { testWrongResultLength(t, newQueue(t, fast())) })
	t.Run("Stats", func(t *testing.T) { testStats(t, newQueue(t, slow())) })
}

func testDeliversEverything(t *testing.T, q Queue) {
	const n, size = 25, 4
	want := make(map[string]inbox.Envelope)
	for i := range n {
		e := Envelope(i)
		want[e.DedupeKey] = e
	}
	var (
		mu  sync.Mutex
		got = make(map[string][]inbox.Delivery)
	)
	enqueue := func(from, to int) {
		for i := from; i < to; i++ {
			mustEnqueue(t, q, Envelope(i))
		}
	}
	// Some before the consumer starts, the rest while it waits.
	enqueue(0, 10)
	c := Start(t, q, size, func(ctx context.Context, batch []inbox.Delivery) []error {
		if len(batch) == 0 || len(batch) > size {
			t.Errorf("batch of %d deliveries, want 1..%d", len(batch), size)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, d := range batch {
			got[d.Envelope.DedupeKey] = append(got[d.Envelope.DedupeKey], d)
		}
		return make([]error, len(batch))
	})
	enqueue(10, n)
	Eventually(t, "every envelope delivered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == n
	})
	c.Stop(t)
	for key, e := range want {
		ds := got[key]
		if len(ds) != 1 {
			t.Errorf("%s delivered %d times, want 1", key, len(ds))
			continue
		}
		if ds[0].ID == "" {
			t.Errorf("%s: delivery has no id", key)
		}
		if ds[0].Attempt != 1 {
			t.Errorf("%s: attempt %d, want 1", key, ds[0].Attempt)
		}
		SameEnvelope(t, ds[0].Envelope, e)
	}
	eventuallyDepth(t, q, 0)
}

func testAckOnlyAfterSuccess(t *testing.T, q Queue) {
	e := Envelope(1)
	mustEnqueue(t, q, e)
	var (
		mu  sync.Mutex
		got []inbox.Delivery
	)
	c := Start(t, q, 8, func(ctx context.Context, batch []inbox.Delivery) []error {
		mu.Lock()
		defer mu.Unlock()
		errs := make([]error, len(batch))
		for i, d := range batch {
			got = append(got, d)
			if len(got) == 1 {
				errs[i] = errors.New("transient failure")
			}
		}
		return errs
	})
	Eventually(t, "failed envelope delivered again", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= 2
	})
	eventuallyDepth(t, q, 0)
	c.Stop(t)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("got %d deliveries, want 2", len(got))
	}
	for i, d := range got {
		SameEnvelope(t, d.Envelope, e)
		if d.Attempt != i+1 {
			t.Errorf("delivery %d: attempt %d, want %d", i, d.Attempt, i+1)
		}
	}
	if st := mustStats(t, q); st.Dead != 0 {
		t.Errorf("dead letters = %d, want 0", st.Dead)
	}
}

// CheckTakeover has a consumer on hung take an envelope and hang, as a
// worker does that froze or whose process was killed, and fails unless a
// consumer on rescuer gets the same envelope again after the visibility
// timeout. hung and rescuer are the same queue, or two handles on it.
func CheckTakeover(t *testing.T, hung, rescuer Queue) {
	t.Helper()
	e := Envelope(1)
	mustEnqueue(t, hung, e)

	taken := make(chan inbox.Delivery, 1)
	hanging := Start(t, hung, 1, func(ctx context.Context, batch []inbox.Delivery) []error {
		taken <- batch[0]
		<-ctx.Done()
		errs := make([]error, len(batch))
		for i := range errs {
			errs[i] = ctx.Err()
		}
		return errs
	})
	var first inbox.Delivery
	select {
	case first = <-taken:
	case <-time.After(waitFor):
		t.Fatal("first consumer never got the envelope")
	}

	again := make(chan inbox.Delivery, 1)
	rescuing := Start(t, rescuer, 1, func(ctx context.Context, batch []inbox.Delivery) []error {
		for _, d := range batch {
			select {
			case again <- d:
			default:
			}
		}
		return make([]error, len(batch))
	})
	select {
	case d := <-again:
		SameEnvelope(t, d.Envelope, first.Envelope)
		if d.Attempt <= first.Attempt {
			t.Errorf("redelivery attempt %d, want more than %d", d.Attempt, first.Attempt)
		}
	case <-time.After(waitFor):
		t.Fatal("envelope held by a hung consumer was never delivered again")
	}
	hanging.Stop(t)
	rescuing.Stop(t)
	eventuallyDepth(t, rescuer, 0)
}

func testDeadLetters(t *testing.T, q Queue, maxAttempts int) {
	ctx := context.Background()
	e := Envelope(1)
	mustEnqueue(t, q, e)
	var (
		mu       sync.Mutex
		attempts []int
	)
	c := Start(t, q, 4, func(ctx context.Context, batch []inbox.Delivery) []error {
		mu.Lock()
		defer mu.Unlock()
		errs := make([]error, len(batch))
		for i, d := range batch {
			attempts = append(attempts, d.Attempt)
			errs[i] = fmt.Errorf("boom: %s", d.Envelope.DedupeKey)
		}
		return errs
	})
	Eventually(t, "envelope in the dead letters", func() bool { return mustStats(t, q).Dead == 1 })
	c.Stop(t)

	mu.Lock()
	wantAttempts := make([]int, maxAttempts)
	for i := range wantAttempts {
		wantAttempts[i] = i + 1
	}
	if !reflect.DeepEqual(attempts, wantAttempts) {
		t.Errorf("attempts seen %v, want %v", attempts, wantAttempts)
	}
	mu.Unlock()
	if st := mustStats(t, q); st.Depth != 0 || st.Dead != 1 {
		t.Errorf("stats = %+v, want depth 0 and dead 1", st)
	}

	dead, err := q.ListDead(ctx, 10)
	if err != nil {
		t.Fatalf("ListDead: %v", err)
	}
	if len(dead) != 1 {
		t.Fatalf("ListDead returned %d, want 1", len(dead))
	}
	d := dead[0]
	SameEnvelope(t, d.Envelope, e)
	if d.Attempts != maxAttempts {
		t.Errorf("dead attempts = %d, want %d", d.Attempts, maxAttempts)
	}
	if want := "boom: " + e.DedupeKey; !strings.Contains(d.Error, want) {
		t.Errorf("dead error = %q, want it to contain %q", d.Error, want)
	}
	if d.ID == "" || d.FailedAt.IsZero() {
		t.Errorf("dead letter id %q failed at %v, want both set", d.ID, d.FailedAt)
	}

	for _, id := range []string{"999999999", "no-such-id"} {
		if err := q.ReplayDead(ctx, id); inbox.ErrorCode(err) != inbox.ENOTFOUND {
			t.Errorf("ReplayDead(%q) = %v, want code %s", id, err, inbox.ENOTFOUND)
		}
	}

	if err := q.ReplayDead(ctx, d.ID); err != nil {
		t.Fatalf("ReplayDead: %v", err)
	}
	if st := mustStats(t, q); st.Depth != 1 || st.Dead != 0 {
		t.Errorf("after replay stats = %+v, want depth 1 and dead 0", st)
	}
	if err := q.ReplayDead(ctx, d.ID); inbox.ErrorCode(err) != inbox.ENOTFOUND {
		t.Errorf("second ReplayDead = %v, want code %s", err, inbox.ENOTFOUND)
	}
	replayed := make(chan inbox.Delivery, 1)
	c = Start(t, q, 4, func(ctx context.Context, batch []inbox.Delivery) []error {
		for _, d := range batch {
			select {
			case replayed <- d:
			default:
				t.Errorf("replayed envelope delivered more than once")
			}
		}
		return make([]error, len(batch))
	})
	select {
	case got := <-replayed:
		SameEnvelope(t, got.Envelope, e)
		if got.Attempt != 1 {
			t.Errorf("replayed attempt = %d, want 1", got.Attempt)
		}
	case <-time.After(waitFor):
		t.Fatal("replayed envelope never delivered")
	}
	eventuallyDepth(t, q, 0)
	c.Stop(t)
}

// CheckExclusive enqueues 500 envelopes through consumers[0] and runs one
// Consume loop per element of consumers (repeat a value for several loops on
// one queue). It fails if two handlers ever hold the same envelope at once,
// if an envelope is not processed, or if one is processed twice: the
// handler never fails, so each must be processed exactly once. The queues
// must have a Visibility far longer than a batch takes.
func CheckExclusive(t *testing.T, consumers ...Queue) {
	t.Helper()
	const n, size = 500, 16
	var (
		mu       sync.Mutex
		inFlight = make(map[string]bool)
		done     = make(map[string]int)
	)
	h := func(ctx context.Context, batch []inbox.Delivery) []error {
		mu.Lock()
		for _, d := range batch {
			key := d.Envelope.DedupeKey
			if inFlight[key] {
				t.Errorf("%s is held by two handlers at once", key)
			}
			inFlight[key] = true
		}
		mu.Unlock()
		time.Sleep(time.Millisecond) // hold the batch long enough to overlap with others
		mu.Lock()
		for _, d := range batch {
			delete(inFlight, d.Envelope.DedupeKey)
			done[d.Envelope.DedupeKey]++
		}
		mu.Unlock()
		return make([]error, len(batch))
	}
	cs := make([]*Consumer, len(consumers))
	for i, q := range consumers {
		cs[i] = Start(t, q, size, h)
	}
	for i := range n {
		mustEnqueue(t, consumers[0], Envelope(i))
	}
	Eventually(t, "every envelope processed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(done) == n
	})
	eventuallyDepth(t, consumers[0], 0)
	for _, c := range cs {
		c.Stop(t)
	}
	mu.Lock()
	defer mu.Unlock()
	for i := range n {
		key := Envelope(i).DedupeKey
		if done[key] != 1 {
			t.Errorf("%s processed %d times, want 1", key, done[key])
		}
	}
}

func testReturnsWhenContextEnds(t *testing.T, newQueue func(t *testing.T, opts Options) Queue) {
	tests := []struct {
		name string
		// deliverFirst has the consumer handle one envelope before it waits.
		deliverFirst bool
		deadline     bool
	}{
		{name: "idle"},
		{name: "after a delivery", deliverFirst: true},
		{name: "deadline", deadline: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newQueue(t, slow())
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			wantErr := context.Canceled
			if tt.deadline {
				ctx, cancel = context.WithTimeout(ctx, 500*time.Millisecond)
				defer cancel()
				wantErr = context.DeadlineExceeded
			}
			handled := make(chan struct{}, 1)
			done := make(chan error, 1)
			go func() {
				done <- q.Consume(ctx, 4, func(ctx context.Context, batch []inbox.Delivery) []error {
					select {
					case handled <- struct{}{}:
					default:
					}
					return make([]error, len(batch))
				})
			}()
			if tt.deliverFirst {
				mustEnqueue(t, q, Envelope(1))
				select {
				case <-handled:
				case <-time.After(waitFor):
					t.Fatal("envelope never delivered")
				}
			}
			// Give the consumer time to settle into its wait or blocking
			// read; the assertion below holds wherever it is.
			time.Sleep(300 * time.Millisecond)
			if !tt.deadline {
				cancel()
			}
			// Blocking reads are bounded (a few seconds at most), so Consume
			// must notice the end of ctx well within this.
			select {
			case err := <-done:
				if !errors.Is(err, wantErr) {
					t.Errorf("Consume returned %v, want %v", err, wantErr)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Consume did not return within 5s of its context ending")
			}
		})
	}
}

func testPerDeliveryOutcome(t *testing.T, q Queue) {
	for i := range 3 {
		mustEnqueue(t, q, Envelope(i))
	}
	middle := Envelope(1).DedupeKey
	var (
		mu      sync.Mutex
		batches int
		count   = make(map[string]int)
	)
	c := Start(t, q, 3, func(ctx context.Context, batch []inbox.Delivery) []error {
		mu.Lock()
		defer mu.Unlock()
		batches++
		errs := make([]error, len(batch))
		if batches == 1 {
			if len(batch) != 3 {
				t.Errorf("first batch has %d deliveries, want all 3 queued", len(batch))
			}
			if len(batch) > 1 {
				if got := batch[1].Envelope.DedupeKey; got != middle {
					t.Errorf("middle of the batch is %s, want %s (queue order)", got, middle)
				}
				errs[1] = errors.New("only the middle one fails")
			}
		}
		for _, d := range batch {
			count[d.Envelope.DedupeKey]++
		}
		return errs
	})
	Eventually(t, "failed envelope delivered again", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return count[middle] >= 2
	})
	// Had the others not been acked, the queue could not empty before they
	// were delivered (and counted) a second time.
	eventuallyDepth(t, q, 0)
	c.Stop(t)
	mu.Lock()
	defer mu.Unlock()
	want := map[string]int{Envelope(0).DedupeKey: 1, middle: 2, Envelope(2).DedupeKey: 1}
	if !reflect.DeepEqual(count, want) {
		t.Errorf("deliveries per envelope = %v, want %v", count, want)
	}
}

func testWrongResultLength(t *testing.T, q Queue) {
	for i := range 2 {
		mustEnqueue(t, q, Envelope(i))
	}
	var (
		mu       sync.Mutex
		attempts = make(map[string][]int)
		calls    int
	)
	c := Start(t, q, 2, func(ctx context.Context, batch []inbox.Delivery) []error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		for _, d := range batch {
			attempts[d.Envelope.DedupeKey] = append(attempts[d.Envelope.DedupeKey], d.Attempt)
		}
		if calls == 1 {
			return nil // a buggy handler: no outcome at all
		}
		return make([]error, len(batch))
	})
	eventuallyDepth(t, q, 0)
	c.Stop(t)
	mu.Lock()
	defer mu.Unlock()
	want := map[string][]int{Envelope(0).DedupeKey: {1, 2}, Envelope(1).DedupeKey: {1, 2}}
	if !reflect.DeepEqual(attempts, want) {
		t.Errorf("attempts per envelope = %v, want %v", attempts, want)
	}
}

func testStats(t *testing.T, q Queue) {
	ctx := context.Background()
	if err := q.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if st := mustStats(t, q); st != (inbox.QueueStats{}) {
		t.Errorf("empty queue stats = %+v, want zero", st)
	}
	for i := range 3 {
		mustEnqueue(t, q, Envelope(i))
	}
	if st := mustStats(t, q); st.Depth != 3 || st.Dead != 0 {
		t.Errorf("stats = %+v, want depth 3 and dead 0", st)
	}
	Eventually(t, "oldest age to grow", func() bool {
		return mustStats(t, q).OldestAge >= 100*time.Millisecond
	})
	// A unit mix-up (seconds for milliseconds) would be far off.
	if age := mustStats(t, q).OldestAge; age > time.Minute {
		t.Errorf("oldest age = %v for an envelope queued seconds ago", age)
	}

	// A delivery in a handler is not acknowledged yet, so it still counts.
	held := make(chan struct{})
	release := make(chan struct{})
	first := true // only the one Consume loop touches it
	c := Start(t, q, 1, func(ctx context.Context, batch []inbox.Delivery) []error {
		if first {
			first = false
			held <- struct{}{}
			<-release
		}
		return make([]error, len(batch))
	})
	select {
	case <-held:
	case <-time.After(waitFor):
		t.Fatal("no delivery")
	}
	if st := mustStats(t, q); st.Depth != 3 || st.Pending < 1 || st.OldestPendingAge <= 0 || st.OldestPendingAge > time.Minute {
		t.Errorf("with one delivery in flight: depth %d (want 3), pending %d (want at least 1), oldest pending %v",
			st.Depth, st.Pending, st.OldestPendingAge)
	}
	close(release)
	eventuallyDepth(t, q, 0)
	c.Stop(t)
	if st := mustStats(t, q); st != (inbox.QueueStats{}) {
		t.Errorf("drained queue stats = %+v, want zero", st)
	}
}

// Envelope returns the i-th test envelope: every field set, non-ASCII text
// and a nanosecond timestamp in a non-UTC zone, so that a lossy encoding
// shows up.
func Envelope(i int) inbox.Envelope {
	return inbox.Envelope{
		DedupeKey:   fmt.Sprintf("api:test:%04d", i),
		ChannelID:   "test",
		ChannelType: inbox.ChannelAPI,
		Kind:        inbox.KindText,
		From: inbox.Contact{
			Name: "Иван Петров",
			Identities: []inbox.Identity{
				{Kind: inbox.IdentityPhone, Value: "+79123456789"},
				{Kind: inbox.IdentityEmail, Value: fmt.Sprintf("ivan%d@example.com", i)},
			},
		},
		Subject:     "Заявка",
		Text:        fmt.Sprintf("Здравствуйте! #%d \"quoted\" <b>&amp;</b>\n🙂", i),
		Attachments: []inbox.Attachment{{URL: "https://example.com/price.pdf", Name: "price.pdf", MIME: "application/pdf", Size: 1234}},
		Meta:        map[string]string{"utm_source": "test", "n": fmt.Sprint(i)},
		ExternalID:  fmt.Sprintf("ext-%d", i),
		ReceivedAt:  time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.FixedZone("MSK", 3*3600)),
	}
}

// SameEnvelope fails t unless got equals want field by field (times by
// instant, since an encoding may change the zone).
func SameEnvelope(t *testing.T, got, want inbox.Envelope) {
	t.Helper()
	if !got.ReceivedAt.Equal(want.ReceivedAt) {
		t.Errorf("%s: received at %v, want %v", want.DedupeKey, got.ReceivedAt, want.ReceivedAt)
	}
	got.ReceivedAt, want.ReceivedAt = time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("envelope round trip:\n got %+v\nwant %+v", got, want)
	}
}

// Consumer is a Consume loop running in its own goroutine.
type Consumer struct {
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// Start runs q.Consume(ctx, size, h) until Stop or the end of the test.
func Start(t *testing.T, q inbox.Queue, size int, h inbox.Handler) *Consumer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &Consumer{cancel: cancel, done: make(chan error, 1)}
	go func() { c.done <- q.Consume(ctx, size, h) }()
	t.Cleanup(func() { c.Stop(t) })
	return c
}

// Stop cancels the loop and waits for Consume to return context.Canceled.
func (c *Consumer) Stop(t *testing.T) {
	t.Helper()
	c.once.Do(func() {
		c.cancel()
		select {
		case err := <-c.done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Consume returned %v, want context.Canceled", err)
			}
		case <-time.After(waitFor):
			t.Errorf("Consume did not return within %v of cancel", waitFor)
		}
	})
}

// Eventually polls cond until it holds, failing t after 10 seconds.
func Eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", waitFor, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func eventuallyDepth(t *testing.T, q Queue, want int64) {
	t.Helper()
	Eventually(t, fmt.Sprintf("queue depth %d", want), func() bool { return mustStats(t, q).Depth == want })
}

func mustEnqueue(t *testing.T, q inbox.Queue, e inbox.Envelope) {
	t.Helper()
	if err := q.Enqueue(context.Background(), e); err != nil {
		t.Fatalf("Enqueue %s: %v", e.DedupeKey, err)
	}
}

func mustStats(t *testing.T, q Queue) inbox.QueueStats {
	t.Helper()
	st, err := q.Stats(context.Background())
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return st
}
