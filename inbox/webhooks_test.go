package inbox

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestCheckWebhookURL: a subscription's URL is an http(s) URL that does not
// point at the hub itself.
func TestCheckWebhookURL(t *testing.T) {
	public := WebhookSelf{PublicURL: "https://Hub.Example.com", Addr: ":8080"}
	local := WebhookSelf{PublicURL: "http://localhost:8080", Addr: "127.0.0.1:8080"}
	for _, c := range []struct {
		url  string
		self WebhookSelf
		ok   bool
	}{
		{"https://erp.example.com/leadhub", public, true},
		{"http://10.0.0.5:9000/in", public, true},
		{"http://127.0.0.1:9000/in", public, true}, // a local receiver on another port
		{"ftp://erp.example.com/in", public, false},
		{"erp.example.com/in", public, false},
		{"https:///in", public, false},
		{"javascript:alert(1)", public, false},
		{"https://user:pw@erp.example.com/in", public, false},
		{"https://hub.example.com/api/v1/webhooks", public, false},
		{"http://HUB.example.com.:8443/x", public, false},
		{"http://localhost:8080/hooks/api/crm", public, false},
		{"http://127.0.0.1:8080/", public, false},
		{"http://[::1]:8080/", public, false},
		{"http://0.0.0.0:8080/", public, false},
		{"http://app.localhost:8080/", public, false},
		{"http://localhost:8080/", local, false},
		{"http://127.0.0.1:8080/", local, false},
		{"http://localhost:9999/", local, true},
	} {
		err := CheckWebhookURL(c.url, c.self)
		if (err == nil) != c.ok {
			t.Errorf("CheckWebhookURL(%q, %+v) = %v, want ok=%v", c.url, c.self, err, c.ok)
		}
		if err != nil && ErrorCode(err) != EINVALID {
			t.Errorf("CheckWebhookURL(%q): code %s", c.url, ErrorCode(err))
		}
	}
}

func TestWebhookPatterns(t *testing.T) {
	for _, p := range []string{"*", "message.created", "conversation.*", "client.*", "call.*", "task.*", "sla.*", "sla.breached"} {
		if !WebhookPatternValid(p) {
			t.Errorf("%q refused", p)
		}
	}
	for _, p := range []string{"", "message", "operator.*", "conversation.read", "team.updated", "*.created", "mess*", ".*"} {
		if WebhookPatternValid(p) {
			t.Errorf("%q accepted", p)
		}
	}
	if err := CheckWebhookPatterns(nil); ErrorCode(err) != EINVALID {
		t.Errorf("no patterns: %v", err)
	}
	for _, c := range []struct {
		ps  []string
		typ string
		ok  bool
	}{
		{[]string{"message.created"}, "message.created", true},
		{[]string{"message.created"}, "message.updated", false},
		{[]string{"conversation.*"}, "conversation.updated", true},
		{[]string{"conversation.*"}, "conversation.read", false}, // internal
		{[]string{"*"}, "operator.credentials_revoked", false},
		{[]string{"*"}, "task.overdue", true},
		{[]string{"task.*", "sla.*"}, "sla.warning", true},
	} {
		if got := WebhookMatches(c.ps, c.typ); got != c.ok {
			t.Errorf("WebhookMatches(%v, %s) = %v", c.ps, c.typ, got)
		}
	}
}

func TestWebhookBackoff(t *testing.T) {
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute,
		16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour}
	for i, w := range want {
		if got := WebhookBackoff(i + 1); got != w {
			t.Errorf("WebhookBackoff(%d) = %s, want %s", i+1, got, w)
		}
	}
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	if d := retryAfter("120", now); d != 2*time.Minute {
		t.Errorf("Retry-After 120 = %s", d)
	}
	if d := retryAfter(now.Add(5*time.Minute).Format(http.TimeFormat), now); d != 5*time.Minute {
		t.Errorf("Retry-After date = %s", d)
	}
	if d := retryAfter("soon", now); d != 0 {
		t.Errorf("Retry-After soon = %s", d)
	}
}

func TestSignWebhook(t *testing.T) {
	body := []byte(`{"id":1}`)
	sig := SignWebhook("k", body)
	if !VerifyWebhook("k", body, sig) || VerifyWebhook("k2", body, sig) || VerifyWebhook("k", []byte(`{"id":2}`), sig) {
		t.Error("verification is wrong")
	}
	// Known value: printf '{"id":1}' | openssl dgst -sha256 -hmac k
	if sig != "sha256=d55075a07b6d07e8b1016ffdb5efd6903196f7da9530cc505c9ba788c070ca96" {
		t.Errorf("signature %q", sig)
	}
}

// oneJobStore hands the worker one job and keeps the result.
type oneJobStore struct {
	job    *WebhookJob
	result WebhookResult
}

func (s *oneJobStore) WebhookSubscriptions(context.Context) ([]Webhook, error)  { return nil, nil }
func (s *oneJobStore) EventsAfter(context.Context, int64, int) ([]Event, error) { return nil, nil }
func (s *oneJobStore) AdvanceWebhook(context.Context, int64, int64, int64, []NewWebhookDelivery) (bool, error) {
	return false, nil
}

func (s *oneJobStore) ClaimWebhookDeliveries(context.Context, int, time.Duration) ([]WebhookJob, error) {
	if s.job == nil {
		return nil, nil
	}
	j := *s.job
	s.job = nil
	return []WebhookJob{j}, nil
}

func (s *oneJobStore) FinishWebhookAttempts(_ context.Context, rs []WebhookResult) error {
	s.result = rs[0]
	return nil
}

// TestWebhookNetworkError: a receiver that cannot be reached is retried
// after the backoff; a redirect is not followed and fails the delivery.
func TestWebhookNetworkError(t *testing.T) {
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	clock := NewFakeClock(time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC))
	st := &oneJobStore{job: &WebhookJob{DeliveryID: 1, URL: gone.URL, Secret: "k", Attempt: 3, FirstAttemptAt: clock.Now(),
		Event: Event{ID: 5, Type: EventMessageCreated, Data: []byte(`{}`)}}}
	w := NewWebhookWorker(WebhookOptions{Store: st, Clock: clock})
	if _, err := w.Deliver(t.Context()); err != nil {
		t.Fatal(err)
	}
	if r := st.result; r.State != WebhookPending || r.Error == "" || r.Status != 0 || !r.RetryAt.Equal(clock.Now().Add(2*time.Minute)) {
		t.Errorf("unreachable receiver: %+v", r)
	}

	moved := httptest.NewServer(http.RedirectHandler("http://127.0.0.1:8080/", http.StatusFound))
	defer moved.Close()
	st.job = &WebhookJob{DeliveryID: 2, URL: moved.URL, Secret: "k", Attempt: 1,
		Event: Event{ID: 6, Type: EventMessageCreated, Data: []byte(`{}`)}}
	if _, err := w.Deliver(t.Context()); err != nil {
		t.Fatal(err)
	}
	if r := st.result; r.State != WebhookFailed || r.Status != http.StatusFound {
		t.Errorf("redirect: %+v", r)
	}
}
