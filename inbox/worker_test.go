package inbox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// batchFiler fails any batch that contains a poisoned dedupe key.
type batchFiler struct {
	mu     sync.Mutex
	poison string
	filed  []string
	calls  [][]string
}

func (f *batchFiler) FileBatch(ctx context.Context, envs []Envelope) ([]Filed, []Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var keys []string
	for _, e := range envs {
		keys = append(keys, e.DedupeKey)
	}
	f.calls = append(f.calls, keys)
	for _, k := range keys {
		if k == f.poison {
			return nil, nil, fmt.Errorf("poisoned %s", k)
		}
	}
	f.filed = append(f.filed, keys...)
	out := make([]Filed, len(envs))
	return out, []Event{{ID: int64(len(f.filed)), Type: EventMessageCreated}}, nil
}

type countPublisher struct {
	mu sync.Mutex
	n  int
}

func (p *countPublisher) Publish(ctx context.Context, evs []Event) {
	p.mu.Lock()
	p.n += len(evs)
	p.mu.Unlock()
}

func env(key string) Envelope {
	return Envelope{DedupeKey: key, ChannelID: "crm", From: Contact{Identities: []Identity{{Kind: IdentityPhone, Value: "+79123456789"}}}}
}

func TestWorkerIsolatesPoisonEnvelope(t *testing.T) {
	f := &batchFiler{poison: "b"}
	pub := &countPublisher{}
	var filedN int
	w := NewWorker(WorkerOptions{Filer: f, Publisher: pub, OnFiled: func(n int, d time.Duration) { filedN += n }})
	batch := []Delivery{{ID: "1", Envelope: env("a")}, {ID: "2", Envelope: env("b")}, {ID: "3", Envelope: env("c")},
		{ID: "4", Envelope: Envelope{DedupeKey: "d", ChannelID: "crm"}}}
	errs := w.Handle(context.Background(), batch)
	if len(errs) != 4 {
		t.Fatalf("got %d results for 4 deliveries", len(errs))
	}
	if errs[0] != nil || errs[2] != nil {
		t.Errorf("healthy envelopes failed: %v", errs)
	}
	if errs[1] == nil {
		t.Errorf("poisoned envelope acknowledged")
	}
	if ErrorCode(errs[3]) != EINVALID {
		t.Errorf("envelope without identity: %v, want EINVALID", errs[3])
	}
	if fmt.Sprint(f.filed) != "[a c]" {
		t.Errorf("filed %v, want [a c]", f.filed)
	}
	if len(f.calls[0]) != 3 {
		t.Errorf("first attempt was not one batch: %v", f.calls)
	}
	if filedN != 2 || pub.n != 2 {
		t.Errorf("OnFiled counted %d, published %d; want 2, 2", filedN, pub.n)
	}
}

func TestWorkerWholeBatchInOneCall(t *testing.T) {
	f := &batchFiler{}
	w := NewWorker(WorkerOptions{Filer: f})
	errs := w.Handle(context.Background(), []Delivery{{Envelope: env("a")}, {Envelope: env("b")}})
	if errs[0] != nil || errs[1] != nil || len(f.calls) != 1 {
		t.Fatalf("errs %v, calls %v; want one successful call", errs, f.calls)
	}
}

func TestBackoffIsCappedAndGrows(t *testing.T) {
	base, max := time.Second, 30*time.Second
	prev := time.Duration(0)
	for attempt := 1; attempt <= 12; attempt++ {
		d := Backoff(attempt, base, max)
		if d > max || d < base*8/10 {
			t.Fatalf("attempt %d: %v outside [0.8·base, max]", attempt, d)
		}
		if attempt <= 4 && d <= prev*8/10 {
			t.Fatalf("attempt %d: %v did not grow from %v", attempt, d, prev)
		}
		prev = d
	}
}

// memOutbox is an in-memory OutboundStore.
type memOutbox struct {
	mu      sync.Mutex
	pending []Outbound
	status  map[int64]string
	retries []time.Time
}

func (m *memOutbox) ClaimOutbound(ctx context.Context, limit int, lease time.Duration) ([]Outbound, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.pending
	m.pending = nil
	return out, nil
}

func (m *memOutbox) MarkSent(ctx context.Context, id int64, ext string) ([]Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.status[id] = "sent:" + ext
	return []Event{{ID: id}}, nil
}

func (m *memOutbox) MarkFailed(ctx context.Context, id int64, reason string) ([]Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.status[id] = "failed:" + reason
	return []Event{{ID: id}}, nil
}

func (m *memOutbox) RetryLater(ctx context.Context, id int64, at time.Time, reason string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.status[id] = "retry"
	m.retries = append(m.retries, at)
	return nil
}

type senderFunc func(ctx context.Context, o Outbound) (string, error)

func (f senderFunc) Send(ctx context.Context, o Outbound) (string, error) { return f(ctx, o) }

func TestOutboundOutcomes(t *testing.T) {
	tests := []struct {
		name    string
		attempt int
		err     error
		want    string
		minWait time.Duration
	}{
		{"sent", 1, nil, "sent:ext-1", 0},
		{"transient is retried", 1, errors.New("503"), "retry", 0},
		{"4xx fails at once", 1, Permanent(errors.New("api: callback answered 400")), "failed:api: callback answered 400", 0},
		{"gives up after max attempts", 3, errors.New("timeout"), "failed:timeout", 0},
		{"retry-after honoured", 1, &SendError{Err: errors.New("429"), RetryAfter: time.Hour}, "retry", 59 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &memOutbox{status: map[int64]string{}, pending: []Outbound{{Message: Message{ID: 1}, ChannelID: "crm", Attempt: tt.attempt}}}
			pub := &countPublisher{}
			var outcomes []string
			w := NewOutboundWorker(OutboundOptions{
				Store: store, Publisher: pub, MaxAttempts: 3,
				Senders:  map[string]Sender{"crm": senderFunc(func(context.Context, Outbound) (string, error) { return "ext-1", tt.err })},
				OnResult: func(ch, outcome string) { outcomes = append(outcomes, ch+"/"+outcome) },
			})
			start := time.Now()
			if _, err := w.drain(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := store.status[1]; got != tt.want {
				t.Fatalf("status = %q, want %q", got, tt.want)
			}
			if tt.minWait > 0 && (len(store.retries) != 1 || store.retries[0].Sub(start) < tt.minWait) {
				t.Fatalf("retry scheduled at %v, want ≥ %v from now", store.retries, tt.minWait)
			}
			if len(outcomes) != 1 {
				t.Fatalf("outcomes = %v", outcomes)
			}
			if tt.want != "retry" && pub.n != 1 {
				t.Fatalf("delivery change not published")
			}
		})
	}
}

func TestOutboundUnknownChannelFails(t *testing.T) {
	store := &memOutbox{status: map[int64]string{}, pending: []Outbound{{Message: Message{ID: 9}, ChannelID: "gone", Attempt: 1}}}
	w := NewOutboundWorker(OutboundOptions{Store: store})
	if _, err := w.drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if store.status[9] != "failed:channel cannot send replies" {
		t.Fatalf("status = %q", store.status[9])
	}
}

func TestOutboundRunStopsAndKicks(t *testing.T) {
	store := &memOutbox{status: map[int64]string{}}
	sent := make(chan struct{}, 1)
	w := NewOutboundWorker(OutboundOptions{Store: store, Poll: time.Hour,
		Senders: map[string]Sender{"crm": senderFunc(func(context.Context, Outbound) (string, error) { sent <- struct{}{}; return "", nil })}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	store.mu.Lock()
	store.pending = []Outbound{{Message: Message{ID: 2}, ChannelID: "crm", Attempt: 1}}
	store.mu.Unlock()
	w.Kick()
	select {
	case <-sent:
	case <-time.After(10 * time.Second):
		t.Fatal("Kick did not wake the worker")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}
}

type resolverFunc func(ctx context.Context, e *Envelope)

func (f resolverFunc) Resolve(ctx context.Context, e *Envelope) { f(ctx, e) }

func TestWorkerResolvesAttachmentsBeforeFiling(t *testing.T) {
	var got []Envelope
	filer := filerFunc(func(ctx context.Context, envs []Envelope) ([]Filed, []Event, error) {
		got = append(got, envs...)
		return make([]Filed, len(envs)), nil, nil
	})
	w := NewWorker(WorkerOptions{Filer: filer, Resolvers: map[string]Resolver{"tg": resolverFunc(func(ctx context.Context, e *Envelope) {
		e.Attachments[0].URL = "/files/abc/photo.jpg"
	})}})
	withFile := env("a")
	withFile.ChannelID = "tg"
	withFile.Attachments = []Attachment{{URL: "tg-file:XYZ"}}
	other := env("b") // channel without a resolver: untouched
	other.Attachments = []Attachment{{URL: "https://example.com/x.pdf"}}
	if errs := w.Handle(context.Background(), []Delivery{{Envelope: withFile}, {Envelope: other}}); errs[0] != nil || errs[1] != nil {
		t.Fatal(errs)
	}
	if got[0].Attachments[0].URL != "/files/abc/photo.jpg" || got[1].Attachments[0].URL != "https://example.com/x.pdf" {
		t.Fatalf("filed attachments %v, %v", got[0].Attachments, got[1].Attachments)
	}
}

type filerFunc func(ctx context.Context, envs []Envelope) ([]Filed, []Event, error)

func (f filerFunc) FileBatch(ctx context.Context, envs []Envelope) ([]Filed, []Event, error) {
	return f(ctx, envs)
}

type markingOutbox struct {
	memOutbox
	marked []Identity
}

func (m *markingOutbox) MarkUnreachable(ctx context.Context, clientID int64, id Identity, reason string) ([]Event, error) {
	m.marked = append(m.marked, id)
	return []Event{{ID: 99}}, nil
}

func TestOutboundMarksUnreachable(t *testing.T) {
	tg := Identity{Kind: IdentityTelegram, Value: "42"}
	store := &markingOutbox{memOutbox: memOutbox{status: map[int64]string{}, pending: []Outbound{{Message: Message{ID: 5}, ChannelID: "tg", Attempt: 1}}}}
	w := NewOutboundWorker(OutboundOptions{Store: store, Senders: map[string]Sender{"tg": senderFunc(func(context.Context, Outbound) (string, error) {
		return "", &SendError{Err: errors.New("Forbidden: bot was blocked by the user"), Unreachable: true, Identity: tg}
	})}})
	if _, err := w.drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(store.marked) != 1 || store.marked[0] != tg {
		t.Fatalf("marked %v, want the telegram identity", store.marked)
	}
	if got := store.status[5]; got != "failed:Forbidden: bot was blocked by the user" {
		t.Fatalf("status = %q, want failed without retry", got)
	}
}
