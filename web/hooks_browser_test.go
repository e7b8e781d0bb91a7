package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/leadhub/leadhub/inbox"
)

// browserHook is a webhook that also speaks to browsers: CORS, its own
// answer and an embed script, like the form connector.
type browserHook struct {
	fakeWebhook
	responded int
}

func (h *browserHook) CORS(r *http.Request, hd http.Header) {
	if r.Header.Get("Origin") == "https://shop.example" {
		hd.Set("Access-Control-Allow-Origin", "https://shop.example")
	}
}

func (h *browserHook) Respond(w http.ResponseWriter, r *http.Request, envs []inbox.Envelope) {
	h.responded += len(envs)
	http.Redirect(w, r, "https://shop.example/thanks", http.StatusSeeOther)
}

func (h *browserHook) MaxBody() int64 { return 64 }

func (h *browserHook) ServeEmbed(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/javascript")
	w.Write([]byte("/* embed */"))
}

func TestHookBrowserInterfaces(t *testing.T) {
	bh := &browserHook{fakeWebhook: fakeWebhook{envs: []inbox.Envelope{testEnvelope("form:site:1")}}}
	sink := &fakeSink{}
	s := newTestServer(t, Options{Sink: sink, Hooks: map[string]Hook{
		"site": {Type: inbox.ChannelForm, Webhook: bh},
		"crm":  {Type: inbox.ChannelAPI, Webhook: &fakeWebhook{}},
	}})

	req := func(method, path, origin string) *http.Response {
		r := httptest.NewRequest(method, path, http.NoBody)
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		return serve(s.Handler(), r)
	}

	// Success: the connector answers, after the envelope was queued.
	resp := req("POST", "/hooks/form/site", "https://shop.example")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "https://shop.example/thanks" {
		t.Fatalf("POST: %d %q, want the connector's 303", resp.StatusCode, resp.Header.Get("Location"))
	}
	if bh.responded != 1 || len(sink.queued()) != 1 {
		t.Fatalf("responded %d, queued %d; want 1, 1", bh.responded, len(sink.queued()))
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != "https://shop.example" {
		t.Errorf("CORS header missing on success")
	}

	// The connector's own body limit replaces the server's.
	big := httptest.NewRequest("POST", "/hooks/form/site", strings.NewReader(strings.Repeat("x", 65)))
	if resp := serve(s.Handler(), big); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("body over the connector's limit: %d, want 413", resp.StatusCode)
	}

	// Errors carry CORS headers too, so the page can show them.
	bh.err = inbox.Errorf(inbox.EINVALID, "a phone or an email is required")
	resp = req("POST", "/hooks/form/site", "https://shop.example")
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Access-Control-Allow-Origin") != "https://shop.example" {
		t.Errorf("error: %d, CORS %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	if bh.responded != 1 {
		t.Errorf("Respond called for a rejected request")
	}

	// Preflight: 204 for a CORS channel, 404 for one without.
	if resp := req("OPTIONS", "/hooks/form/site", "https://shop.example"); resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") == "" {
		t.Errorf("preflight: %d", resp.StatusCode)
	}
	if resp := req("OPTIONS", "/hooks/api/crm", "https://shop.example"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("preflight on a channel without CORS: %d, want 404", resp.StatusCode)
	}
	if resp := req("OPTIONS", "/hooks/form/nope", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("preflight on an unknown channel: %d, want 404", resp.StatusCode)
	}

	// The embed script: served for embedders, 404 otherwise.
	if resp := req("GET", "/hooks/form/site/embed.js", ""); resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/javascript" {
		t.Errorf("embed.js: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp := req("GET", "/hooks/api/crm/embed.js", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("embed.js of a channel without one: %d, want 404", resp.StatusCode)
	}
}

func serve(h http.Handler, r *http.Request) *http.Response {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}
