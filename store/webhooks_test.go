package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/inbox/inboxtest"
	"github.com/leadhub/leadhub/store"
)

func TestWebhooksSQLite(t *testing.T)   { testWebhooks(t, store.DialectSQLite) }
func TestWebhooksPostgres(t *testing.T) { testWebhooks(t, store.DialectPostgres) }

func testWebhooks(t *testing.T, dialect string) {
	for name, fn := range map[string]func(*testing.T, string){
		"signed":   testWebhookSigned,
		"retry":    testWebhookRetry,
		"refused":  testWebhookRefused,
		"give_up":  testWebhookGiveUp,
		"order":    testWebhookOrder,
		"once":     testWebhookOnce,
		"replay":   testWebhookReplay,
		"config":   testWebhookConfig,
		"patterns": testWebhookPatterns,
	} {
		t.Run(name, func(t *testing.T) { fn(t, dialect) })
	}
}

// received is one request at the fake receiver.
type received struct {
	Delivery  string
	Event     string
	Timestamp string
	Signature string
	Body      []byte
	Payload   inbox.WebhookPayload
}

// receiver is an integration's endpoint: it records every request and
// answers what answer says (200 when nil).
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received
	answer func(r received) (int, http.Header)
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		g := received{Delivery: r.Header.Get(inbox.WebhookDeliveryHeader), Event: r.Header.Get(inbox.WebhookEventHeader),
			Timestamp: r.Header.Get(inbox.WebhookTimestampHeader), Signature: r.Header.Get(inbox.WebhookSignatureHeader),
			Body: body}
		if err := json.Unmarshal(body, &g.Payload); err != nil {
			t.Errorf("delivery body %s: %v", body, err)
		}
		rc.mu.Lock()
		rc.got = append(rc.got, g)
		answer := rc.answer
		rc.mu.Unlock()
		code := http.StatusOK
		if answer != nil {
			var h http.Header
			code, h = answer(g)
			for k, v := range h {
				w.Header()[k] = v
			}
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func (rc *receiver) setAnswer(f func(r received) (int, http.Header)) {
	rc.mu.Lock()
	rc.answer = f
	rc.mu.Unlock()
}

// hookFixture is a store on a fake clock with one subscription to a fake
// receiver, and the worker that sends to it.
type hookFixture struct {
	s     *store.Store
	clock *inbox.FakeClock
	rc    *receiver
	hook  inbox.Webhook
	w     *inbox.WebhookWorker
}

const hookSecret = "s3cret-of-the-erp"

func newHookFixture(t *testing.T, dialect string, events ...string) *hookFixture {
	return newHookFixtureAt(t, dialect, "", events...)
}

// newHookFixtureAt is newHookFixture on the database at url ("": a new
// one).
func newHookFixtureAt(t *testing.T, dialect, url string, events ...string) *hookFixture {
	clock := inbox.NewFakeClock(superviseStart)
	s := openSupervised(t, dialect, url, clock)
	rc := newReceiver(t)
	if len(events) == 0 {
		events = []string{inbox.EventMessageCreated}
	}
	h, err := s.CreateWebhook(ctxT(t), 0, inbox.Webhook{URL: rc.srv.URL + "/leadhub", Events: events, Secret: hookSecret})
	if err != nil {
		t.Fatal(err)
	}
	w := inbox.NewWebhookWorker(inbox.WebhookOptions{Store: s, Clock: clock, Client: rc.srv.Client()})
	return &hookFixture{s: s, clock: clock, rc: rc, hook: h, w: w}
}

// run works off everything due now.
func (fx *hookFixture) run(t *testing.T) {
	t.Helper()
	for range 20 {
		n, err := fx.w.RunOnce(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("the worker never ran out of work")
}

func (fx *hookFixture) deliveries(t *testing.T, state string) []inbox.WebhookDelivery {
	t.Helper()
	ds, err := fx.s.ListWebhookDeliveries(ctxT(t), inbox.DeliveryFilter{WebhookID: fx.hook.ID, State: state})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// testWebhookSigned: a new message reaches the receiver once, signed so
// that the receiver can verify it with the secret, and the log says
// delivered. Events from before the subscription are not sent.
func testWebhookSigned(t *testing.T, dialect string) {
	clock := inbox.NewFakeClock(superviseStart)
	s := openSupervised(t, dialect, "", clock)
	file(t, s, envelope("before", "crm", "Old", "before the hook", phone("+79123450100")))
	rc := newReceiver(t)
	h, err := s.CreateWebhook(ctxT(t), 0, inbox.Webhook{URL: rc.srv.URL, Events: []string{"message.*"}, Secret: hookSecret})
	if err != nil {
		t.Fatal(err)
	}
	if h.Secret != "" || h.Source != inbox.WebhookSourceAPI {
		t.Errorf("created webhook = %+v: the store never hands the secret back", h)
	}
	fx := &hookFixture{s: s, clock: clock, rc: rc, hook: h,
		w: inbox.NewWebhookWorker(inbox.WebhookOptions{Store: s, Clock: clock, Client: rc.srv.Client()})}
	filed, _ := file(t, s, envelope("m1", "crm", "Елена", "Сколько стоит кухня?", phone("+79123450101")))
	fx.run(t)
	got := rc.requests()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests, want 1: %+v", len(got), got)
	}
	g := got[0]
	if g.Event != inbox.EventMessageCreated || g.Payload.Event.Type != inbox.EventMessageCreated ||
		g.Delivery != strconv.FormatInt(g.Payload.ID, 10) || g.Payload.Event.ID == 0 || !g.Payload.SentAt.Equal(clock.Now().UTC()) {
		t.Errorf("delivery = %+v", g)
	}
	if !inbox.VerifyWebhook(hookSecret, g.Body, g.Signature) {
		t.Errorf("signature %q over %s does not verify", g.Signature, g.Body)
	}
	if inbox.VerifyWebhook("another secret", g.Body, g.Signature) || inbox.VerifyWebhook(hookSecret, append(g.Body, ' '), g.Signature) {
		t.Error("a wrong secret or a changed body verified")
	}
	var data inbox.MessagePayload
	if err := json.Unmarshal(g.Payload.Event.Data, &data); err != nil || data.Message.ID != filed[0].Message.ID ||
		data.Message.Text != "Сколько стоит кухня?" {
		t.Errorf("data = %s (%v)", g.Payload.Event.Data, err)
	}
	ds := fx.deliveries(t, "")
	if len(ds) != 1 || ds[0].State != inbox.WebhookDelivered || ds[0].Attempts != 1 || ds[0].LastStatus != 200 ||
		ds[0].DeliveredAt == nil || ds[0].NextAttemptAt != nil {
		t.Errorf("log = %+v", ds)
	}
	fx.clock.Advance(time.Hour)
	fx.run(t)
	if n := len(rc.requests()); n != 1 {
		t.Errorf("a delivered delivery was sent again: %d requests", n)
	}
}

// testWebhookRetry: 5xx and network-level refusals are retried after
// growing pauses (or what Retry-After asks, capped), then delivered with
// the same delivery id.
func testWebhookRetry(t *testing.T, dialect string) {
	fx := newHookFixture(t, dialect)
	answers := []struct {
		code  int
		retry string
	}{{500, ""}, {503, ""}, {429, "120"}, {408, "999999"}, {200, ""}}
	fx.rc.setAnswer(func(received) (int, http.Header) {
		n := len(fx.rc.got) - 1 // called under the receiver's lock
		a := answers[min(n, len(answers)-1)]
		h := http.Header{}
		if a.retry != "" {
			h.Set("Retry-After", a.retry)
		}
		return a.code, h
	})
	file(t, fx.s, envelope("r1", "crm", "Client", "hi", phone("+79123450201")))
	// The pauses: backoff 30 s, 1 min; Retry-After 120 s; Retry-After
	// 999999 s capped at an hour.
	for i, pause := range []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, time.Hour} {
		fx.run(t)
		if n := len(fx.rc.requests()); n != i+1 {
			t.Fatalf("after %d pauses: %d requests", i, n)
		}
		ds := fx.deliveries(t, inbox.WebhookPending)
		if len(ds) != 1 || ds[0].NextAttemptAt == nil || !ds[0].NextAttemptAt.Equal(fx.clock.Now().Add(pause)) ||
			ds[0].LastStatus != answers[i].code || ds[0].Attempts != i+1 {
			t.Fatalf("attempt %d: log = %+v, want the next attempt in %s", i+1, ds, pause)
		}
		fx.clock.Advance(pause - time.Second)
		fx.run(t)
		if n := len(fx.rc.requests()); n != i+1 {
			t.Fatalf("attempt %d: sent again before its pause ran out", i+1)
		}
		fx.clock.Advance(time.Second)
	}
	fx.run(t)
	got := fx.rc.requests()
	if len(got) != 5 {
		t.Fatalf("%d requests, want 5", len(got))
	}
	for _, g := range got {
		if g.Delivery != got[0].Delivery {
			t.Errorf("delivery ids %s and %s: a retry keeps its id", got[0].Delivery, g.Delivery)
		}
	}
	if ds := fx.deliveries(t, inbox.WebhookDelivered); len(ds) != 1 || ds[0].Attempts != 5 {
		t.Errorf("delivered = %+v", ds)
	}
}

// testWebhookRefused: a 4xx other than 408/429 fails the delivery at once,
// with the status in the log, and it is not tried again.
func testWebhookRefused(t *testing.T, dialect string) {
	fx := newHookFixture(t, dialect)
	fx.rc.setAnswer(func(received) (int, http.Header) { return http.StatusUnprocessableEntity, nil })
	file(t, fx.s, envelope("f1", "crm", "Client", "hi", phone("+79123450301")))
	fx.run(t)
	fx.clock.Advance(25 * time.Hour)
	fx.run(t)
	if n := len(fx.rc.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	ds := fx.deliveries(t, inbox.WebhookFailed)
	if len(ds) != 1 || ds[0].LastStatus != 422 || ds[0].LastError == "" || ds[0].Attempts != 1 {
		t.Errorf("failed = %+v", ds)
	}
}

// testWebhookGiveUp: a receiver that is down for good has the delivery
// retried for 24 hours after its first attempt, then failed.
func testWebhookGiveUp(t *testing.T, dialect string) {
	fx := newHookFixture(t, dialect)
	fx.rc.setAnswer(func(received) (int, http.Header) { return http.StatusBadGateway, nil })
	file(t, fx.s, envelope("g1", "crm", "Client", "hi", phone("+79123450401")))
	start := fx.clock.Now()
	for fx.clock.Now().Sub(start) < 30*time.Hour {
		fx.run(t)
		fx.clock.Advance(10 * time.Minute)
	}
	ds := fx.deliveries(t, "")
	if len(ds) != 1 || ds[0].State != inbox.WebhookFailed || ds[0].LastStatus != 502 {
		t.Fatalf("log = %+v", ds)
	}
	got := fx.rc.requests()
	last, _ := strconv.ParseInt(got[len(got)-1].Timestamp, 10, 64)
	if d := time.Unix(last, 0).Sub(start); d > 24*time.Hour || d < 23*time.Hour {
		t.Errorf("the last attempt was %s after the first, want within the last hour of 24 h", d)
	}
	// 30 s doubling to an hour: 8 pauses take about 2 h, then hourly.
	if len(got) < 25 || len(got) > 35 || ds[0].Attempts != len(got) {
		t.Errorf("%d attempts (log says %d)", len(got), ds[0].Attempts)
	}
}

// testWebhookOrder: while the first delivery of a conversation keeps
// failing, the conversation's next one waits, and another conversation's
// go through; once the first is delivered the rest follow in order.
func testWebhookOrder(t *testing.T, dialect string) {
	fx := newHookFixture(t, dialect)
	a1, _ := file(t, fx.s, envelope("a1", "crm", "Анна", "first", phone("+79123450501")))
	blocked := a1[0].Message.ID
	var failing sync.Map
	failing.Store(blocked, true)
	fx.rc.setAnswer(func(g received) (int, http.Header) {
		var data inbox.MessagePayload
		_ = json.Unmarshal(g.Payload.Event.Data, &data)
		if _, ok := failing.Load(data.Message.ID); ok {
			return http.StatusServiceUnavailable, nil
		}
		return http.StatusOK, nil
	})
	file(t, fx.s, envelope("a2", "crm", "Анна", "second", phone("+79123450501")))
	file(t, fx.s, envelope("b1", "crm", "Борис", "other", phone("+79123450502")))
	file(t, fx.s, envelope("a3", "crm", "Анна", "third", phone("+79123450501")))
	texts := func() []string {
		var out []string
		for _, g := range fx.rc.requests() {
			var data inbox.MessagePayload
			_ = json.Unmarshal(g.Payload.Event.Data, &data)
			out = append(out, data.Message.Text)
		}
		return out
	}
	for range 5 {
		fx.run(t)
		fx.clock.Advance(5 * time.Minute)
	}
	got := texts()
	for _, txt := range got {
		if txt == "second" || txt == "third" {
			t.Fatalf("a later message of the conversation went out while the first was failing: %v", got)
		}
	}
	if !containsText(got, "first") || !containsText(got, "other") {
		t.Fatalf("requests = %v: the other conversation should not wait", got)
	}
	failing.Delete(blocked)
	fx.clock.Advance(time.Hour)
	fx.run(t)
	got = texts()
	n := len(got)
	if n < 3 || got[n-3] != "first" || got[n-2] != "second" || got[n-1] != "third" {
		t.Errorf("requests = %v, want first, second, third at the end", got)
	}
}

func containsText(ts []string, want string) bool {
	for _, t := range ts {
		if t == want {
			return true
		}
	}
	return false
}

// testWebhookOnce: two instances (two stores on one database, each with
// its worker) dispatch and send concurrently; every delivery reaches the
// receiver once.
func testWebhookOnce(t *testing.T, dialect string) {
	if dialect == store.DialectSQLite {
		t.Skip("one process owns an embedded database: instances share PostgreSQL")
	}
	url := inboxtest.PostgresURL(t)
	fx := newHookFixtureAt(t, dialect, url)
	s2 := openSupervised(t, dialect, url, fx.clock)
	w2 := inbox.NewWebhookWorker(inbox.WebhookOptions{Store: s2, Clock: fx.clock, Client: fx.rc.srv.Client()})
	const n = 40
	for i := range n {
		file(t, fx.s, envelope(fmt.Sprintf("once%d", i), "crm", "Client", "hi", phone(fmt.Sprintf("+7912345%04d", 600+i%7))))
	}
	var wg sync.WaitGroup
	for _, w := range []*inbox.WebhookWorker{fx.w, w2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 30 {
				if _, err := w.RunOnce(context.Background()); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	count := map[string]int{}
	for _, g := range fx.rc.requests() {
		count[g.Delivery]++
	}
	if len(count) != n {
		t.Errorf("%d deliveries reached the receiver, want %d", len(count), n)
	}
	for id, c := range count {
		if c != 1 {
			t.Errorf("delivery %s sent %d times", id, c)
		}
	}
}

// testWebhookReplay: an admin replays a delivered delivery; it goes out
// again with the same id as a new attempt.
func testWebhookReplay(t *testing.T, dialect string) {
	fx := newHookFixture(t, dialect)
	file(t, fx.s, envelope("p1", "crm", "Client", "hi", phone("+79123450701")))
	fx.run(t)
	ds := fx.deliveries(t, inbox.WebhookDelivered)
	if len(ds) != 1 {
		t.Fatalf("delivered = %+v", ds)
	}
	d, err := fx.s.ReplayWebhookDelivery(ctxT(t), 0, ds[0].ID)
	if err != nil || d.State != inbox.WebhookPending {
		t.Fatalf("replay = %+v, %v", d, err)
	}
	fx.run(t)
	got := fx.rc.requests()
	if len(got) != 2 || got[1].Delivery != got[0].Delivery {
		t.Fatalf("requests = %+v", got)
	}
	if ds := fx.deliveries(t, inbox.WebhookDelivered); len(ds) != 1 || ds[0].Attempts != 2 {
		t.Errorf("after replay: %+v", ds)
	}
	if _, err := fx.s.ReplayWebhookDelivery(ctxT(t), 0, 999999); inbox.ErrorCode(err) != inbox.ENOTFOUND {
		t.Errorf("replay of no delivery: %v", err)
	}
}

// testWebhookConfig: the config file's subscriptions are synced in by URL,
// read-only through the API's methods, and removed when gone from the file.
func testWebhookConfig(t *testing.T, dialect string) {
	ctx := ctxT(t)
	s := openSupervised(t, dialect, "", inbox.NewFakeClock(superviseStart))
	cfg := []inbox.Webhook{{URL: "https://erp.example.com/in", Events: []string{"client.*"}, Secret: "a"}}
	if err := s.SyncConfigWebhooks(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	cfg[0].Events = []string{"client.*", "task.*"}
	if err := s.SyncConfigWebhooks(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	hs, err := s.ListWebhooks(ctx)
	if err != nil || len(hs) != 1 || hs[0].Source != inbox.WebhookSourceConfig || len(hs[0].Events) != 2 || hs[0].Secret != "" {
		t.Fatalf("webhooks = %+v, %v", hs, err)
	}
	if _, err := s.UpdateWebhook(ctx, 0, hs[0].ID, "https://x.example.com", []string{"*"}, ""); inbox.ErrorCode(err) != inbox.ECONFLICT {
		t.Errorf("update of a config webhook: %v", err)
	}
	if err := s.DeleteWebhook(ctx, 0, hs[0].ID); inbox.ErrorCode(err) != inbox.ECONFLICT {
		t.Errorf("delete of a config webhook: %v", err)
	}
	if err := s.SyncConfigWebhooks(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if hs, _ := s.ListWebhooks(ctx); len(hs) != 0 {
		t.Errorf("after the file dropped it: %+v", hs)
	}
}

// testWebhookPatterns: a subscription gets the types its patterns match
// and never the internal ones (a read mark).
func testWebhookPatterns(t *testing.T, dialect string) {
	fx := newHookFixture(t, dialect, "conversation.*")
	filed, _ := file(t, fx.s, envelope("c1", "crm", "Client", "hi", phone("+79123450801")))
	anna := opID(t, fx.s, "anna@example.com", inbox.RoleOperator)
	if _, _, err := fx.s.MarkRead(ctxT(t), filed[0].Message.ConversationID, anna, false); err != nil {
		t.Fatal(err)
	}
	fx.run(t)
	for _, g := range fx.rc.requests() {
		if g.Event != inbox.EventConversationCreated && g.Event != inbox.EventConversationUpdated {
			t.Errorf("a conversation.* subscription got %s", g.Event)
		}
	}
	if len(fx.rc.requests()) == 0 {
		t.Error("no conversation.created went out")
	}
}
