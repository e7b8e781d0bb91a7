package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/leadhub/leadhub/inbox"
)

func testEnvelope(key string) inbox.Envelope {
	return inbox.Envelope{
		DedupeKey: key,
		Kind:      inbox.KindForm,
		From:      inbox.Contact{Identities: []inbox.Identity{{Kind: inbox.IdentityPhone, Value: "+79123456789"}}},
		Text:      "hello",
	}
}

func TestHookUnknownChannel(t *testing.T) {
	wh := &fakeWebhook{}
	sink := &fakeSink{}
	s := newTestServer(t, Options{Sink: sink, Hooks: map[string]Hook{"site": {Type: inbox.ChannelForm, Webhook: wh}}})
	tests := []struct {
		name, method, path string
	}{
		{"unknown channel", "POST", "/hooks/form/nope"},
		{"unknown channel GET", "GET", "/hooks/telephony/nope"},
		{"type mismatch", "POST", "/hooks/telegram/site"},
		{"unknown type", "POST", "/hooks/fax/site"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(t, s.Handler(), tt.method, tt.path, "name=x")
			if w.Code != http.StatusNotFound {
				t.Fatalf("status = %d, want 404", w.Code)
			}
			if got, want := errorOf(t, w), "unknown channel"; got != want {
				t.Errorf("error = %q, want %q", got, want)
			}
		})
	}
	if n := wh.calls.Load(); n != 0 {
		t.Errorf("webhook called %d times, want 0", n)
	}
	if n := len(sink.queued()); n != 0 {
		t.Errorf("sink got %d envelopes, want 0", n)
	}
}

func TestHookParseErrors(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantError  string
		wantReason string
	}{
		{"bad secret", inbox.Errorf(inbox.EUNAUTHORIZED, "bad secret token"), 401, "bad secret token", inbox.EUNAUTHORIZED},
		{"bad signature", inbox.Errorf(inbox.EFORBIDDEN, "signature mismatch"), 403, "signature mismatch", inbox.EFORBIDDEN},
		{"malformed", inbox.Errorf(inbox.EINVALID, "malformed JSON"), 400, "malformed JSON", inbox.EINVALID},
		{"wrapped", fmt.Errorf("telegram: parse: %w", inbox.Errorf(inbox.EINVALID, "no update_id")), 400, "no update_id", inbox.EINVALID},
		{"bug", errors.New("telegram: something broke with secret detail"), 500, "internal error", inbox.EINTERNAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &fakeSink{}
			wh := &fakeWebhook{envs: []inbox.Envelope{testEnvelope("k")}, err: tt.err}
			s := newTestServer(t, Options{Sink: sink, Hooks: map[string]Hook{"tg": {Type: inbox.ChannelTelegram, Webhook: wh}}})
			w := do(t, s.Handler(), "POST", "/hooks/telegram/tg", `{"update_id":1}`)
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d", w.Code, tt.wantStatus)
			}
			if got := errorOf(t, w); got != tt.wantError {
				t.Errorf("error = %q, want %q", got, tt.wantError)
			}
			if n := len(sink.queued()); n != 0 {
				t.Errorf("sink got %d envelopes, want 0", n)
			}
			want := `leadhub_inbound_total{channel="tg",reason="` + tt.wantReason + `",result="rejected"} 1`
			if m := scrape(t, s); !strings.Contains(m, want) {
				t.Errorf("metrics lack %s", want)
			}
		})
	}
}

func TestHookBodyLimit(t *testing.T) {
	tests := []struct {
		name       string
		maxBody    int64
		size       int
		wantStatus int
	}{
		{"default limit exceeded", 0, 1<<20 + 1, 413},
		{"default limit exactly", 0, 1 << 20, 200},
		{"custom limit exceeded", 100, 101, 413},
		{"custom limit exactly", 100, 100, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wh := &fakeWebhook{}
			s := newTestServer(t, Options{MaxBody: tt.maxBody, Hooks: map[string]Hook{"site": {Type: inbox.ChannelForm, Webhook: wh}}})
			w := do(t, s.Handler(), "POST", "/hooks/form/site", strings.Repeat("a", tt.size))
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d", w.Code, tt.wantStatus)
			}
			calls := wh.calls.Load()
			if tt.wantStatus == 413 {
				if calls != 0 {
					t.Errorf("webhook called %d times for an oversized body, want 0", calls)
				}
				return
			}
			if got, _ := wh.body.Load().([]byte); len(got) != tt.size {
				t.Errorf("webhook saw %d bytes, want %d", len(got), tt.size)
			}
		})
	}
}

func TestHookSinkUnavailable(t *testing.T) {
	sink := &fakeSink{err: fmt.Errorf("redisq: enqueue: %w", inbox.Errorf(inbox.EUNAVAILABLE, "queue unavailable"))}
	wh := &fakeWebhook{envs: []inbox.Envelope{testEnvelope("a")}, ack: []byte("ok")}
	s := newTestServer(t, Options{Sink: sink, Hooks: map[string]Hook{"vk": {Type: inbox.ChannelVK, Webhook: wh}}})
	w := do(t, s.Handler(), "POST", "/hooks/vk/vk", `{"type":"message_new"}`)
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", w.Code)
	}
	if got, want := errorOf(t, w), "queue unavailable"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	want := `leadhub_inbound_total{channel="vk",reason="unavailable",result="rejected"} 1`
	if m := scrape(t, s); !strings.Contains(m, want) {
		t.Errorf("metrics lack %s", want)
	}
}

func TestHookSuccess(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		typ       inbox.ChannelType
		ack       []byte
		wantBody  string
		wantCType string
	}{
		{"default ack", "POST", inbox.ChannelAPI, nil, `{"ok":true}`, "application/json; charset=utf-8"},
		{"text ack", "POST", inbox.ChannelVK, []byte("ok"), "ok", "text/plain; charset=utf-8"},
		{"confirmation code", "POST", inbox.ChannelVK, []byte("1234567"), "1234567", "text/plain; charset=utf-8"},
		{"json ack", "POST", inbox.ChannelTelephony, []byte(`{"status":"ok"}`), `{"status":"ok"}`, "application/json; charset=utf-8"},
		{"telephony GET", "GET", inbox.ChannelTelephony, []byte("zd_echo_abc"), "zd_echo_abc", "text/plain; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &fakeSink{}
			e1, e2 := testEnvelope("k1"), testEnvelope("k2")
			e2.ChannelID, e2.ChannelType = "other", inbox.ChannelForm // a connector's own values are kept
			wh := &fakeWebhook{envs: []inbox.Envelope{e1, e2}, ack: tt.ack}
			s := newTestServer(t, Options{Sink: sink, Hooks: map[string]Hook{"ch1": {Type: tt.typ, Webhook: wh}}})
			w := do(t, s.Handler(), tt.method, "/hooks/"+string(tt.typ)+"/ch1?sig=secret", "body")
			if w.Code != http.StatusOK {
				t.Fatalf("status = %d, want 200 (body %q)", w.Code, w.Body.String())
			}
			if got := strings.TrimSpace(w.Body.String()); got != tt.wantBody {
				t.Errorf("body = %q, want %q", got, tt.wantBody)
			}
			if got := w.Header().Get("Content-Type"); got != tt.wantCType {
				t.Errorf("Content-Type = %q, want %q", got, tt.wantCType)
			}
			got := sink.queued()
			if len(got) != 2 {
				t.Fatalf("sink got %d envelopes, want 2", len(got))
			}
			if got[0].DedupeKey != "k1" || got[0].ChannelID != "ch1" || got[0].ChannelType != tt.typ {
				t.Errorf("envelope 0 = %q %q %q, want k1 ch1 %s", got[0].DedupeKey, got[0].ChannelID, got[0].ChannelType, tt.typ)
			}
			if got[1].ChannelID != "other" || got[1].ChannelType != inbox.ChannelForm {
				t.Errorf("envelope 1 channel = %q %q, want the connector's own", got[1].ChannelID, got[1].ChannelType)
			}
			want := `leadhub_inbound_total{channel="ch1",reason="",result="accepted"} 1`
			if m := scrape(t, s); !strings.Contains(m, want) {
				t.Errorf("metrics lack %s", want)
			}
		})
	}
}

func TestHookRateLimit(t *testing.T) {
	wh := &fakeWebhook{}
	// A tiny rate: burst 1 and no refill within the test, whatever the timing.
	s := newTestServer(t, Options{HookRate: 0.001, Hooks: map[string]Hook{
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
		{"/hooks/form/a", "192.0.2.1", 429},
		{"/hooks/form/a", "192.0.2.2", 200}, // another caller
		{"/hooks/form/b", "192.0.2.1", 200}, // another channel
		{"/hooks/form/b", "192.0.2.1", 429},
	}
	for i, st := range steps {
		if got := send(st.path, st.ip); got != st.want {
			t.Errorf("step %d %s from %s: status %d, want %d", i, st.path, st.ip, got, st.want)
		}
	}
	if n := wh.calls.Load(); n != 3 {
		t.Errorf("webhook called %d times, want 3", n)
	}
	want := `leadhub_inbound_total{channel="a",reason="rate_limited",result="rejected"} 1`
	if m := scrape(t, s); !strings.Contains(m, want) {
		t.Errorf("metrics lack %s", want)
	}
}

func TestHookHeaders(t *testing.T) {
	s := newTestServer(t, Options{Hooks: map[string]Hook{"site": {Type: inbox.ChannelForm, Webhook: &fakeWebhook{}}}})
	w := do(t, s.Handler(), "POST", "/hooks/form/site", "x")
	if got := w.Header().Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
	}
	if got := w.Header().Get("Content-Security-Policy"); got != "" {
		t.Errorf("hook response has CSP %q, want none", got)
	}
}

func TestLooksLikeJSON(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{`{"ok":true}`, true},
		{` [1,2] `, true},
		{`ok`, false},
		{`12345`, false},
		{`"str"`, false},
		{`{broken`, false},
		{``, false},
	}
	for _, tt := range tests {
		if got := looksLikeJSON([]byte(tt.in)); got != tt.want {
			t.Errorf("looksLikeJSON(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
