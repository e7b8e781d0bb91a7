package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// TestHookChannelRateLimit: many addresses together cannot flood one
// channel; other channels are not affected.
func TestHookChannelRateLimit(t *testing.T) {
	wh := &fakeWebhook{}
	// Burst 1 and no refill within the test, whatever the timing.
	s := newTestServer(t, Options{HookChannelRate: 0.001, Hooks: map[string]Hook{
		"a": {Type: inbox.ChannelForm, Webhook: wh},
		"b": {Type: inbox.ChannelForm, Webhook: wh},
	}})
	send := func(path, ip string) int {
		r := httptest.NewRequest("POST", path, strings.NewReader("x"))
		r.RemoteAddr = ip + ":5555"
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, r)
		return w.Code
	}
	steps := []struct {
		path, ip string
		want     int
	}{
		{"/hooks/form/a", "192.0.2.1", 200},
		{"/hooks/form/a", "192.0.2.2", 429}, // another address, the same channel
		{"/hooks/form/b", "192.0.2.2", 200}, // another channel
	}
	for i, st := range steps {
		if got := send(st.path, st.ip); got != st.want {
			t.Errorf("step %d %s from %s: status %d, want %d", i, st.path, st.ip, got, st.want)
		}
	}
}

// TestSlowLoris: a client that trickles its headers is cut off after
// Timeouts.ReadHeader instead of holding its connection forever.
func TestSlowLoris(t *testing.T) {
	s := newTestServer(t, Options{Timeouts: Timeouts{ReadHeader: time.Second}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The headers never end: a byte every 200 ms, for as long as the
	// server listens. Only the server can end this.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		head := []byte("GET /healthz HTTP/1.1\r\nHost: hub\r\nX-Slow: ")
		for i := 0; ; i++ {
			b := byte('a' + i%26)
			if i < len(head) {
				b = head[i]
			}
			if _, err := conn.Write([]byte{b}); err != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	got, err := io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server still holds the connection after 15 s (read %q)", got)
	}
	if bytes.Contains(got, []byte("200 OK")) {
		t.Fatalf("the server answered a request whose headers never ended: %q", got)
	}
}

// TestSecurityHeadersEverywhere: every route's answer, whoever asks,
// carries the headers that keep browsers from sniffing, framing or leaking
// referrers; API answers are never cached.
func TestSecurityHeadersEverywhere(t *testing.T) {
	fx := newFixture(t, Options{PublicURL: "https://hub.example.com"})
	adm := fx.login("admin@example.com")
	for _, rt := range fx.srv.routeTable() {
		e, ok := matrix[rt.pattern]
		if !ok {
			continue // TestRoleRouteMatrix reports it
		}
		for _, hdr := range [][]string{nil, adm.header()} {
			fx.t = t
			req := e.req(fx, creds{op: fx.admin})
			w := do(t, fx.h, req.method, req.path, req.body, append(req.header, hdr...)...)
			h := w.Header()
			for k, want := range map[string]string{
				"X-Content-Type-Options":    "nosniff",
				"X-Frame-Options":           "DENY",
				"Referrer-Policy":           "same-origin",
				"Strict-Transport-Security": "max-age=31536000",
			} {
				if got := h.Get(k); got != want {
					t.Errorf("%s %s (%d): %s = %q, want %q", req.method, req.path, w.Code, k, got, want)
				}
			}
			if h.Get("X-Request-Id") == "" {
				t.Errorf("%s %s: no X-Request-Id", req.method, req.path)
			}
			if !strings.HasPrefix(req.path, "/hooks/") && !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
				t.Errorf("%s %s: CSP %q", req.method, req.path, h.Get("Content-Security-Policy"))
			}
			if strings.HasPrefix(req.path, "/api/") && w.Code != http.StatusNoContent && h.Get("Cache-Control") != "no-store" {
				t.Errorf("%s %s (%d): Cache-Control %q, want no-store", req.method, req.path, w.Code, h.Get("Cache-Control"))
			}
		}
	}
}

// TestJSONBodyLimit: no API route reads more than 1 MiB of JSON.
func TestJSONBodyLimit(t *testing.T) {
	fx := newFixture(t, Options{})
	adm := fx.login("admin@example.com")
	big := `{"text":"` + strings.Repeat("я", maxJSONBody) + `"}`
	for _, path := range []string{convPath(fx.conv("shop")) + "/messages", "/api/v1/teams", "/api/v1/session"} {
		w := do(t, fx.h, "POST", path, big, adm.header()...)
		if w.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("POST %s with 2 MiB: %d, want 413", path, w.Code)
		}
	}
}
