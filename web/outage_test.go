package web

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// lockedBuffer is a log destination safe for concurrent handlers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := strings.TrimSpace(l.b.String())
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestOutageLogOneLinePerMinute(t *testing.T) {
	var buf lockedBuffer
	o := newOutageLog(slog.New(slog.NewTextHandler(&buf, nil)))
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	o.succeeded(t0) // nothing failing: nothing to say
	for i := range 100 {
		o.failed(t0.Add(time.Duration(i)*500*time.Millisecond), inbox.Errorf(inbox.EUNAVAILABLE, "queue unreachable"))
	}
	o.failed(t0.Add(61*time.Second), inbox.Errorf(inbox.EUNAVAILABLE, "queue unreachable"))
	o.succeeded(t0.Add(70 * time.Second))
	o.succeeded(t0.Add(71 * time.Second))
	lines := buf.lines()
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3 (first, a minute's summary, recovery):\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for i, want := range []string{"webhooks refused", "refused=100 over=1m1s", "refused=101 over=1m10s"} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d = %q, want it to say %q", i, lines[i], want)
		}
	}
}

// TestQueueOutageLogsOnce: fifty webhooks refused while the queue fails
// make one log line, and the first accepted after it one more with the
// count; each request is still answered 503 and counted in metrics.
func TestQueueOutageLogsOnce(t *testing.T) {
	var buf lockedBuffer
	sink := &fakeSink{err: inbox.Errorf(inbox.EUNAVAILABLE, "queue unavailable")}
	wh := &fakeWebhook{envs: []inbox.Envelope{{DedupeKey: "api:crm:1", Text: "hi",
		From: inbox.Contact{Identities: []inbox.Identity{{Kind: inbox.IdentityPhone, Value: "+79990000000"}}}}}}
	s := newTestServer(t, Options{Sink: sink, Logger: slog.New(slog.NewTextHandler(&buf, nil)),
		Hooks: map[string]Hook{"crm": {Type: inbox.ChannelAPI, Webhook: wh}}})
	post := func() int {
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, httptest.NewRequest("POST", "/hooks/api/crm", strings.NewReader("{}")))
		return w.Code
	}
	for i := range 50 {
		if code := post(); code != http.StatusServiceUnavailable {
			t.Fatalf("request %d during the outage: %d, want 503", i, code)
		}
	}
	if lines := buf.lines(); len(lines) != 1 || !strings.Contains(lines[0], "webhooks refused") {
		t.Fatalf("during the outage the log has:\n%s\nwant one line", strings.Join(lines, "\n"))
	}
	sink.mu.Lock()
	sink.err = nil
	sink.mu.Unlock()
	if code := post(); code != http.StatusOK {
		t.Fatalf("after the outage: %d", code)
	}
	lines := buf.lines()
	if len(lines) != 2 || !strings.Contains(lines[1], "refused=50") {
		t.Fatalf("after the outage the log has:\n%s\nwant a second line with refused=50", strings.Join(lines, "\n"))
	}
	w := do(t, s.Handler(), "GET", "/metrics", "")
	if !strings.Contains(w.Body.String(), `reason="unavailable",result="rejected"} 50`) {
		t.Errorf("metrics do not count the 50 refused requests")
	}
}
