package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"no store", Options{Sink: &fakeSink{}}},
		{"no sink", Options{Store: newFakeStore()}},
		{"bad public url", Options{Store: newFakeStore(), Sink: &fakeSink{}, PublicURL: "hub.example.com"}},
		{"negative rate", Options{Store: newFakeStore(), Sink: &fakeSink{}, HookRate: -1}},
		{"hook without webhook", Options{Store: newFakeStore(), Sink: &fakeSink{}, Hooks: map[string]Hook{"a": {Type: inbox.ChannelForm}}}},
	}
	for _, tt := range tests {
		if _, err := New(tt.opts); err == nil {
			t.Errorf("%s: New succeeded, want an error", tt.name)
		}
	}
}

func TestHealth(t *testing.T) {
	var readyErr error
	s := newTestServer(t, Options{Ready: func(ctx context.Context) error {
		if _, ok := ctx.Deadline(); !ok {
			return errors.New("no deadline")
		}
		return readyErr
	}})

	w := do(t, s.Handler(), "GET", "/healthz", "")
	if w.Code != 200 || strings.TrimSpace(w.Body.String()) != "ok" {
		t.Errorf("healthz = %d %q, want 200 ok", w.Code, w.Body.String())
	}
	w = do(t, s.Handler(), "GET", "/readyz", "")
	if w.Code != 200 {
		t.Errorf("readyz = %d %q, want 200", w.Code, w.Body.String())
	}
	readyErr = errors.New("database: connection refused")
	w = do(t, s.Handler(), "GET", "/readyz", "")
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("readyz = %d, want 503", w.Code)
	}
	if got := errorOf(t, w); !strings.Contains(got, "database: connection refused") {
		t.Errorf("readyz reason = %q, want the failing dependency", got)
	}
}

// TestReadyzWarnings: what an admin should fix though the hub works (Redis
// without AOF) is listed under "ok"; the instance stays ready.
func TestReadyzWarnings(t *testing.T) {
	s := newTestServer(t, Options{Warnings: func(context.Context) []string {
		return []string{"Redis runs without append-only persistence"}
	}})
	w := do(t, s.Handler(), "GET", "/readyz", "")
	if w.Code != 200 || w.Body.String() != "ok\nwarning: Redis runs without append-only persistence\n" {
		t.Errorf("readyz = %d %q", w.Code, w.Body.String())
	}
}

func TestMetricsEndpoint(t *testing.T) {
	s := newTestServer(t, Options{Hooks: map[string]Hook{
		"site": {Type: inbox.ChannelForm, Webhook: &fakeWebhook{}},
		"tg":   {Type: inbox.ChannelTelegram, Webhook: &fakeWebhook{err: inbox.Errorf(inbox.EUNAUTHORIZED, "bad secret")}},
	}})
	do(t, s.Handler(), "POST", "/hooks/form/site", "x")
	do(t, s.Handler(), "POST", "/hooks/telegram/tg", "x")
	m := s.Metrics()
	m.SetQueueStats(func(ctx context.Context) (inbox.QueueStats, error) {
		if _, ok := ctx.Deadline(); !ok {
			return inbox.QueueStats{}, errors.New("no deadline")
		}
		return inbox.QueueStats{Depth: 42, OldestAge: 3 * time.Second, Dead: 2, Pending: 5, OldestPendingAge: 2 * time.Second}, nil
	})
	m.ObserveFiling(64, 20*time.Millisecond)
	m.OutboundResult("tg", "sent")
	m.OutboundResult("tg", "retry")
	m.GroupRecreated()

	text := scrape(t, s)
	for _, want := range []string{
		`leadhub_inbound_total{channel="site",reason="",result="accepted"} 1`,
		`leadhub_inbound_total{channel="tg",reason="unauthorized",result="rejected"} 1`,
		`leadhub_queue_depth 42`,
		`leadhub_queue_oldest_age_seconds 3`,
		`leadhub_queue_dead 2`,
		`leadhub_queue_pending 5`,
		`leadhub_queue_oldest_pending_age_seconds 2`,
		`leadhub_filed_total 64`,
		`leadhub_filing_seconds_count 1`,
		`leadhub_outbound_total{channel="tg",outcome="sent"} 1`,
		`leadhub_outbound_total{channel="tg",outcome="retry"} 1`,
		`leadhub_queue_group_recreated_total 1`,
		`leadhub_ws_connections 0`,
		`go_goroutines `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}

	// A failing queue hides the gauges rather than reporting a false 0.
	m.SetQueueStats(func(context.Context) (inbox.QueueStats, error) {
		return inbox.QueueStats{}, errors.New("redis down")
	})
	if text := scrape(t, s); strings.Contains(text, "leadhub_queue_depth ") {
		t.Errorf("queue depth reported while the queue fails")
	}
}

func TestSecurityHeadersAndRequestID(t *testing.T) {
	s := newTestServer(t, Options{})
	for _, path := range []string{"/healthz", "/api/v1/conversations", "/nowhere"} {
		w := do(t, s.Handler(), "GET", path, "")
		want := map[string]string{
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "same-origin",
			"X-Frame-Options":         "DENY",
			"Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
		}
		for k, v := range want {
			if got := w.Header().Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", path, k, got, v)
			}
		}
		if w.Header().Get("X-Request-Id") == "" {
			t.Errorf("%s: no X-Request-Id", path)
		}
	}
	w := do(t, s.Handler(), "GET", "/healthz", "", "X-Request-Id", "abc-123")
	if got := w.Header().Get("X-Request-Id"); got != "abc-123" {
		t.Errorf("X-Request-Id = %q, want the caller's abc-123", got)
	}
	w = do(t, s.Handler(), "GET", "/healthz", "", "X-Request-Id", "bad id\x01")
	if got := w.Header().Get("X-Request-Id"); got == "" || strings.Contains(got, " ") {
		t.Errorf("X-Request-Id = %q, want a fresh id", got)
	}
}

func TestPanicRecovered(t *testing.T) {
	store := newFakeStore()
	store.GetConversationFn = func(context.Context, int64) (inbox.Conversation, error) {
		panic("boom")
	}
	s := newTestServer(t, Options{Store: store})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	get := func(path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	for range 3 {
		code, body := get("/api/v1/conversations/1")
		if code != 500 || body != `{"error":"internal error","code":"internal"}` {
			t.Errorf("panicking handler: %d %s, want 500 internal error", code, body)
		}
	}
	if code, _ := get("/api/v1/conversations"); code != 200 {
		t.Errorf("after panics: status %d, want 200", code)
	}
}

func TestStartingHandler(t *testing.T) {
	h := StartingHandler(func() string { return "the queue is unreachable (3 attempts over 2s)" })
	if w := do(t, h, "GET", "/healthz", ""); w.Code != 200 {
		t.Errorf("healthz while starting: %d, want 200", w.Code)
	}
	for _, path := range []string{"/readyz", "/api/v1/conversations", "/hooks/api/crm"} {
		w := do(t, h, "GET", path, "")
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" ||
			!strings.Contains(errorOf(t, w), "starting: the queue is unreachable") {
			t.Errorf("%s while starting: %d %s", path, w.Code, w.Body)
		}
	}
}
