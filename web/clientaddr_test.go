package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

func prefixes(t *testing.T, s ...string) []netip.Prefix {
	t.Helper()
	out := make([]netip.Prefix, len(s))
	for i, p := range s {
		out[i] = netip.MustParsePrefix(p)
	}
	return out
}

func TestClientAddress(t *testing.T) {
	proxies := prefixes(t, "10.0.0.0/8", "2001:db8:1::/48")
	tests := []struct {
		name    string
		peer    string
		trusted []netip.Prefix
		xff     []string // X-Forwarded-For lines
		realIP  string
		want    string
	}{
		{"no proxies: the peer", "203.0.113.7:5000", nil, nil, "", "203.0.113.7"},
		{"no proxies: headers ignored", "203.0.113.7:5000", nil, []string{"198.51.100.1"}, "198.51.100.2", "203.0.113.7"},
		{"untrusted peer spoofing X-Forwarded-For", "203.0.113.7:5000", proxies, []string{"10.1.1.1"}, "", "203.0.113.7"},
		{"untrusted peer spoofing X-Real-IP", "203.0.113.7:5000", proxies, nil, "198.51.100.2", "203.0.113.7"},
		{"trusted proxy", "10.0.0.2:40000", proxies, []string{"198.51.100.1"}, "", "198.51.100.1"},
		{"trusted proxy, client's forged entries to the left", "10.0.0.2:40000", proxies, []string{"1.2.3.4, 5.6.7.8, 198.51.100.1"}, "", "198.51.100.1"},
		{"chained proxies", "10.0.0.2:40000", proxies, []string{"198.51.100.1, 10.9.9.9, 10.0.0.3"}, "", "198.51.100.1"},
		{"chained proxies over several lines", "10.0.0.2:40000", proxies, []string{"6.6.6.6, 198.51.100.1", "10.9.9.9"}, "", "198.51.100.1"},
		{"an untrusted proxy in the chain is the client", "10.0.0.2:40000", proxies, []string{"198.51.100.1, 192.0.2.50"}, "", "192.0.2.50"},
		{"X-Real-IP when there is no X-Forwarded-For", "10.0.0.2:40000", proxies, nil, "198.51.100.9", "198.51.100.9"},
		{"X-Forwarded-For wins over X-Real-IP", "10.0.0.2:40000", proxies, []string{"198.51.100.1"}, "198.51.100.9", "198.51.100.1"},
		{"trusted proxy without headers", "10.0.0.2:40000", proxies, nil, "", "10.0.0.2"},
		{"garbage in X-Real-IP", "10.0.0.2:40000", proxies, nil, "unknown", "10.0.0.2"},
		{"garbage left of our hops stops the walk", "10.0.0.2:40000", proxies, []string{"evil, 10.0.0.3"}, "", "10.0.0.3"},
		{"every hop is ours: the left-most", "10.0.0.2:40000", proxies, []string{"10.5.5.5, 10.0.0.3"}, "", "10.5.5.5"},
		{"entries with ports", "10.0.0.2:40000", proxies, []string{"198.51.100.1:6000, [2001:db8:1::5]:443"}, "", "198.51.100.1"},
		{"IPv6 proxy and client", "[2001:db8:1::2]:40000", proxies, []string{"2001:db8:ffff::1"}, "", "2001:db8:ffff::1"},
		{"IPv4-mapped peer", "[::ffff:10.0.0.2]:40000", proxies, []string{"198.51.100.1"}, "", "198.51.100.1"},
		{"not an address", "@unix", proxies, []string{"198.51.100.1"}, "", "@unix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if tt.realIP != "" {
				r.Header.Set("X-Real-IP", tt.realIP)
			}
			if got := clientAddress(r, tt.trusted); got != tt.want {
				t.Errorf("clientAddress = %q, want %q", got, tt.want)
			}
		})
	}
}

// addrWebhook records the client address its requests carry, as the form
// connector reads it for consent records.
type addrWebhook struct {
	mu    sync.Mutex
	addrs []string
}

func (h *addrWebhook) Parse(r *http.Request, _ []byte) ([]inbox.Envelope, []byte, error) {
	h.mu.Lock()
	h.addrs = append(h.addrs, inbox.ClientAddr(r.Context()))
	h.mu.Unlock()
	return nil, nil, nil
}

// TestHooksBehindProxy: the webhook rate limit counts clients, not the
// proxy, and connectors see the client's address; a spoofed header from
// an untrusted peer changes neither.
func TestHooksBehindProxy(t *testing.T) {
	wh := &addrWebhook{}
	s := newTestServer(t, Options{HookRate: 0.001, TrustedProxies: prefixes(t, "10.0.0.2/32"),
		Hooks: map[string]Hook{"site": {Type: inbox.ChannelForm, Webhook: wh}}})
	send := func(peer, xff string) int {
		r := httptest.NewRequest("POST", "/hooks/form/site", strings.NewReader("x"))
		r.RemoteAddr = peer + ":5555"
		if xff != "" {
			r.Header.Set("X-Forwarded-For", xff)
		}
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, r)
		return w.Code
	}
	steps := []struct {
		peer, xff string
		want      int
	}{
		{"10.0.0.2", "198.51.100.1", 200},
		{"10.0.0.2", "198.51.100.1", 429}, // the same client again
		{"10.0.0.2", "198.51.100.2", 200}, // another client through the same proxy
		{"192.0.2.9", "198.51.100.3", 200},
		{"192.0.2.9", "198.51.100.4", 429}, // untrusted: a new header is not a new client
	}
	for i, st := range steps {
		if got := send(st.peer, st.xff); got != st.want {
			t.Errorf("step %d (%s via %s): %d, want %d", i, st.xff, st.peer, got, st.want)
		}
	}
	want := []string{"198.51.100.1", "198.51.100.2", "192.0.2.9"}
	if fmt.Sprint(wh.addrs) != fmt.Sprint(want) {
		t.Errorf("connector saw %v, want %v", wh.addrs, want)
	}
}

// TestLoginLockoutBehindProxy is the scenario: behind a proxy,
// 20 failed logins with invented emails from one client lock out that
// client's address only — not another client, not the admin.
func TestLoginLockoutBehindProxy(t *testing.T) {
	fx := newFixture(t, Options{TrustedProxies: prefixes(t, "10.0.0.0/8"),
		Auth: AuthOptions{MaxFailures: 5, MaxIPFailures: 20, Lockout: 15 * time.Minute}})
	try := func(client, email, password string) *httptest.ResponseRecorder {
		r := newRequest("POST", "/api/v1/session", loginBodyOf(email, password), "Content-Type", "application/json",
			"X-Forwarded-For", client)
		r.RemoteAddr = "10.0.0.2:40000" // every request comes from the proxy
		return serveReq(fx.h, r)
	}
	for i := range 20 {
		if w := try("198.51.100.66", fmt.Sprintf("nobody%d@example.com", i), "guess"); w.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d %s", i+1, w.Code, w.Body)
		}
	}
	if w := try("198.51.100.66", "admin@example.com", fxPassword); w.Code != http.StatusTooManyRequests {
		t.Errorf("the guessing client: %d, want 429", w.Code)
	}
	if w := try("198.51.100.7", "admin@example.com", fxPassword); w.Code != http.StatusOK {
		t.Errorf("the admin from another address: %d %s, want 200", w.Code, w.Body)
	}
	if w := try("198.51.100.8", "olga@example.com", fxPassword); w.Code != http.StatusOK {
		t.Errorf("another operator: %d %s, want 200", w.Code, w.Body)
	}
	// Sessions and the audit log name the client, not the proxy.
	sessions, err := fx.st.ListSessions(context.Background(), fx.admin.ID)
	if err != nil || len(sessions) != 1 || sessions[0].IP != "198.51.100.7" {
		t.Errorf("admin's sessions = %+v (%v), want one from 198.51.100.7", sessions, err)
	}
	failed, _, _ := fx.st.ListAudit(context.Background(), inbox.AuditFilter{Action: "login.failed"})
	if len(failed) != 20 || !strings.Contains(string(failed[0].Detail), `"ip":"198.51.100.66"`) {
		t.Errorf("%d login.failed entries, the last %s; want 20 naming the client", len(failed), failed[0].Detail)
	}
	logins, _, _ := fx.st.ListAudit(context.Background(), inbox.AuditFilter{Action: "login"})
	if len(logins) != 2 || !strings.Contains(string(logins[1].Detail), `"ip":"198.51.100.7"`) {
		t.Errorf("login entries = %+v, want the admin's from 198.51.100.7", logins)
	}
}

// TestLoginSpoofedHeaderIgnored: without trusted proxies, a client cannot
// dodge the address lockout by inventing X-Forwarded-For values.
func TestLoginSpoofedHeaderIgnored(t *testing.T) {
	fx := newFixture(t, Options{Auth: AuthOptions{MaxFailures: 5, MaxIPFailures: 3, Lockout: 15 * time.Minute}})
	for i := range 3 {
		r := newRequest("POST", "/api/v1/session", loginBodyOf(fmt.Sprintf("x%d@example.com", i), "guess"),
			"Content-Type", "application/json", "X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i+1))
		r.RemoteAddr = "203.0.113.5:1000"
		if w := serveReq(fx.h, r); w.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, w.Code)
		}
	}
	r := newRequest("POST", "/api/v1/session", loginBodyOf("admin@example.com", fxPassword),
		"Content-Type", "application/json", "X-Forwarded-For", "198.51.100.200")
	r.RemoteAddr = "203.0.113.5:1000"
	if w := serveReq(fx.h, r); w.Code != http.StatusTooManyRequests {
		t.Errorf("locked address with a new X-Forwarded-For: %d, want 429", w.Code)
	}
}

// TestUnlockAPI: an admin ends an operator's lockout and an address's
// through the API; nothing stores the text typed into the email field.
func TestUnlockAPI(t *testing.T) {
	var logs lockedBuffer
	fx := newFixture(t, Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Auth: AuthOptions{MaxFailures: 2, MaxIPFailures: 3, Lockout: 15 * time.Minute}})
	try := func(ip, email, password string) int {
		r := newRequest("POST", "/api/v1/session", loginBodyOf(email, password), "Content-Type", "application/json")
		r.RemoteAddr = ip + ":1234"
		return serveReq(fx.h, r).Code
	}
	adm := fx.login("admin@example.com") // before the locks: the admin's session is how they act
	try("198.51.100.1", "olga@example.com", "wrong")
	try("198.51.100.2", "olga@example.com", "wrong")
	const typed = "MySecretPassw0rd"
	for i := range 3 {
		try("198.51.100.3", fmt.Sprint(typed, i), "x")
	}
	if c := try("198.51.100.4", "olga@example.com", fxPassword); c != http.StatusTooManyRequests {
		t.Fatalf("olga locked: %d, want 429", c)
	}
	if c := try("198.51.100.3", "petr@example.com", fxPassword); c != http.StatusTooManyRequests {
		t.Fatalf("address locked: %d, want 429", c)
	}
	var n int
	if err := fx.st.DB().Get(&n, `SELECT count(*) FROM login_failures WHERE lower(key) LIKE '%olga%' OR lower(key) LIKE '%mysecret%'`); err != nil || n != 0 {
		t.Errorf("%d login_failures rows carry what was typed (%v)", n, err)
	}
	if err := fx.st.DB().Get(&n, `SELECT count(*) FROM audit_log WHERE lower(detail) LIKE '%mysecret%' OR lower(detail) LIKE '%olga%'`); err != nil || n != 0 {
		t.Errorf("%d audit entries carry what was typed (%v)", n, err)
	}

	if l := strings.ToLower(strings.Join(logs.lines(), "\n")); strings.Contains(l, "mysecret") || strings.Contains(l, "olga@") {
		t.Errorf("the log carries what was typed:\n%s", l)
	}
	w := do(t, fx.h, "POST", fmt.Sprintf("/api/v1/operators/%d/unlock", fx.olga.ID), "", adm.header()...)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"unlocked":true`) {
		t.Fatalf("unlock olga: %d %s", w.Code, w.Body)
	}
	if c := try("198.51.100.4", "olga@example.com", fxPassword); c != http.StatusOK {
		t.Errorf("olga after unlock: %d, want 200", c)
	}
	if w := do(t, fx.h, "DELETE", "/api/v1/login-locks", "", adm.header()...); w.Code != http.StatusBadRequest {
		t.Errorf("unlock without ip: %d, want 400", w.Code)
	}
	if w := do(t, fx.h, "DELETE", "/api/v1/login-locks?ip=nope", "", adm.header()...); w.Code != http.StatusBadRequest {
		t.Errorf("unlock a bad ip: %d, want 400", w.Code)
	}
	w = do(t, fx.h, "DELETE", "/api/v1/login-locks?ip=198.51.100.3", "", adm.header()...)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"unlocked":true`) {
		t.Fatalf("unlock address: %d %s", w.Code, w.Body)
	}
	if c := try("198.51.100.3", "petr@example.com", fxPassword); c != http.StatusOK {
		t.Errorf("address after unlock: %d, want 200", c)
	}
	entries, _, _ := fx.st.ListAudit(context.Background(), inbox.AuditFilter{})
	var unlocks []string
	for _, e := range entries {
		if strings.HasSuffix(e.Action, ".unlock") && e.OperatorID != nil && *e.OperatorID == fx.admin.ID {
			unlocks = append(unlocks, e.Action)
		}
	}
	if fmt.Sprint(unlocks) != "[login.unlock operator.unlock]" {
		t.Errorf("unlock audit entries by the admin = %v", unlocks)
	}
}
