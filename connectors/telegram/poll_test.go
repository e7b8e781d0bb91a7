package telegram

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// TestRunResumesFromSavedOffset: the offset lives in the pollers' store, so
// a restarted process asks Telegram from where the last one got to, even
// for updates Telegram has not seen confirmed yet (the process died between
// saving the offset and its next getUpdates).
func TestRunResumesFromSavedOffset(t *testing.T) {
	f := newFake(t)
	f.addUpdates(readFile(t, "constructed-start-payload.json"), readFile(t, "constructed-location.json"))
	pollers := newMemPollers(inbox.SystemClock{})
	// The previous process queued update 800000101 and saved the offset
	// past it, then died.
	pollers.SaveCheckpoint(context.Background(), "telegram:tg", "800000102")

	first := &sink{}
	stop := runInBackground(t, pollingChannel(t, f), first, pollers)
	waitFor(t, "the offset past 800000103", func() bool { return pollers.checkpoint("telegram:tg") == "800000104" })
	stop()
	if got, _ := first.keys(); !reflect.DeepEqual(got, []string{"tg:tg:800000103"}) {
		t.Errorf("enqueued %v, want only tg:tg:800000103 (800000101 was queued before the restart)", got)
	}
	if offs := f.offsetsSeen(); len(offs) == 0 || offs[0] != 800000102 {
		t.Errorf("offsets = %v, want the saved 800000102 first", offs)
	}

	// Restarted again: a new update arrived meanwhile.
	f.addUpdates(readFile(t, "constructed-contact-own.json"))
	n := len(f.offsetsSeen())
	second := &sink{}
	stop = runInBackground(t, pollingChannel(t, f), second, pollers)
	waitFor(t, "the new update", func() bool { got, _ := second.keys(); return len(got) == 1 })
	stop()
	if got, _ := second.keys(); !reflect.DeepEqual(got, []string{"tg:tg:800000105"}) {
		t.Errorf("after restart enqueued %v, want only tg:tg:800000105", got)
	}
	if offs := f.offsetsSeen()[n:]; len(offs) == 0 || offs[0] != 800000104 {
		t.Errorf("offsets after restart = %v, want the saved 800000104 first", offs)
	}
}

func TestRunIgnoresUnreadableCheckpoint(t *testing.T) {
	f := newFake(t)
	f.addUpdates(readFile(t, "constructed-start-payload.json"))
	pollers := newMemPollers(inbox.SystemClock{})
	pollers.SaveCheckpoint(context.Background(), "telegram:tg", "not-a-number")
	c, logs := newChannel(t, f.srv.URL, func(o *Options) { o.Mode = ModePolling; o.Secret = "" })
	s := &sink{}
	stop := runInBackground(t, c, s, pollers)
	waitFor(t, "the update", func() bool { got, _ := s.keys(); return len(got) == 1 })
	stop()
	// Telegram keeps what was confirmed: asking from its start loses
	// nothing and repeats nothing.
	if offs := f.offsetsSeen(); offs[0] != 0 {
		t.Errorf("first offset = %d, want 0", offs[0])
	}
	if !strings.Contains(logs.String(), "unreadable checkpoint") {
		t.Errorf("the bad checkpoint is not logged: %s", logs.String())
	}
}

// pollCounter counts the getUpdates one instance makes.
type pollCounter struct {
	n    atomic.Int64
	base http.RoundTripper
}

func (p *pollCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/getUpdates") {
		p.n.Add(1)
	}
	return p.base.RoundTrip(r)
}

// TestTwoInstancesOnePollsAndTheOtherTakesOver: two instances of the hub
// share a store and a bot; only the lease holder polls (Telegram would
// answer a second poller 409). When it dies without releasing, the other
// polls once the lease has run out, from the dead one's offset.
func TestTwoInstancesOnePollsAndTheOtherTakesOver(t *testing.T) {
	f := newFake(t)
	f.addUpdates(readFile(t, "constructed-start-payload.json"))
	clock := inbox.NewFakeClock(time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC))
	pollers := newMemPollers(clock)
	const ttl = 400 * time.Millisecond // real-time retries every ttl/4; expiry by the fake clock

	instance := func(holder string) (*Channel, *pollCounter) {
		pc := &pollCounter{base: http.DefaultTransport}
		c, _ := newChannel(t, f.srv.URL, func(o *Options) {
			o.Mode, o.Secret, o.Holder = ModePolling, "", holder
			o.Clock, o.LeaseTTL = clock, ttl
			o.HTTPClient = &http.Client{Transport: pc}
		})
		return c, pc
	}
	a, aPolls := instance("host-a:100:aa")
	b, bPolls := instance("host-b:200:bb")
	aSink, bSink := &sink{}, &sink{}
	stopA := runInBackground(t, a, aSink, killed{pollers})
	waitFor(t, "a to enqueue the first update and save the offset past it", func() bool {
		got, _ := aSink.keys()
		return len(got) == 1 && pollers.checkpoint("telegram:tg") == "800000102"
	})
	stopB := runInBackground(t, b, bSink, pollers)
	defer stopB()
	// Several of b's acquire attempts (every ttl/4) pass.
	time.Sleep(3 * ttl / 2)
	if n := bPolls.n.Load(); n != 0 {
		t.Fatalf("b made %d getUpdates while a held the lease", n)
	}
	if h := pollers.holder("telegram:tg"); h != "host-a:100:aa" {
		t.Fatalf("lease holder = %q, want a", h)
	}

	// a dies; a new update arrives; nobody polls until the lease runs out.
	stopA()
	aCount := aPolls.n.Load()
	f.addUpdates(readFile(t, "constructed-location.json"))
	time.Sleep(3 * ttl / 2)
	if got, _ := bSink.keys(); len(got) != 0 || bPolls.n.Load() != 0 {
		t.Fatalf("b polled (%d) and enqueued %v before a's lease ran out", bPolls.n.Load(), got)
	}
	clock.Advance(ttl)
	waitFor(t, "b to enqueue the new update", func() bool { got, _ := bSink.keys(); return len(got) == 1 })
	if got, _ := bSink.keys(); !reflect.DeepEqual(got, []string{"tg:tg:800000103"}) {
		t.Errorf("b enqueued %v, want only tg:tg:800000103", got)
	}
	if aPolls.n.Load() != aCount {
		t.Errorf("a polled after it died")
	}
	if h := pollers.holder("telegram:tg"); h != "host-b:200:bb" {
		t.Errorf("lease holder = %q, want b", h)
	}
	waitFor(t, "b to save the offset", func() bool { return pollers.checkpoint("telegram:tg") == "800000104" })
}

func TestPollingNeedsAHolder(t *testing.T) {
	f := newFake(t)
	_, err := New(context.Background(), Options{ChannelID: "tg", Token: testToken, Mode: ModePolling, APIURL: f.srv.URL})
	if err == nil || !strings.Contains(err.Error(), "holder") {
		t.Fatalf("New without a holder in polling mode = %v, want an error naming the holder", err)
	}
}
