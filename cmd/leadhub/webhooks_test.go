package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/leadhub/leadhub/config"
	"github.com/leadhub/leadhub/inbox"
)

// TestWebhooksThroughTheHub: with a [[webhooks]] table in the config, a
// signed API message reaches the integration's receiver as a signed
// message.created delivery that the receiver verifies with the secret.
// (The hub runs on the system clock and polls every 2 s; retries, order
// and once-only are the store's tests on a fake clock.)
func TestWebhooksThroughTheHub(t *testing.T) {
	const secret = "erp-secret-0123456789"
	var (
		mu  sync.Mutex
		got []inbox.WebhookPayload
	)
	erp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !inbox.VerifyWebhook(secret, body, r.Header.Get(inbox.WebhookSignatureHeader)) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var p inbox.WebhookPayload
		if err := json.Unmarshal(body, &p); err != nil || r.Header.Get(inbox.WebhookEventHeader) != p.Event.Type {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, p)
		mu.Unlock()
	}))
	defer erp.Close()
	cfg := testConfig(t, false, false, "")
	cfg.HTTP.PublicURL = "https://hub.example.com"
	cfg.Webhooks = []config.Webhook{{URL: erp.URL + "/leadhub", Events: []string{"message.created"}, Secret: secret}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	hub := startHub(t, cfg)
	body := `{"id":"wh-1","from":{"name":"Иван Петров","phone":"8 912 345-67-89"},"text":"Нужна смета"}`
	resp := signedPost(t, hub.base+"/hooks/api/crm", body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("post: status %d", resp.StatusCode)
	}
	waitFor(t, "a message.created delivery", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) > 0
	})
	mu.Lock()
	p := got[0]
	mu.Unlock()
	var data inbox.MessagePayload
	if p.Event.Type != inbox.EventMessageCreated || json.Unmarshal(p.Event.Data, &data) != nil || data.Message.Text != "Нужна смета" ||
		data.Conversation == nil || p.ID == 0 {
		t.Errorf("delivery = %+v", p)
	}
	waitFor(t, "the delivery in /metrics", func() bool {
		resp, err := http.Get(hub.base + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), `leadhub_webhook_deliveries_total{outcome="delivered"} 1`)
	})
}

// TestWebhookConfigPointingAtTheHub: a [[webhooks]] URL on the hub's own
// public host is refused at start, naming the key.
func TestWebhookConfigPointingAtTheHub(t *testing.T) {
	cfg := testConfig(t, false, false, "")
	cfg.HTTP.PublicURL = "https://hub.example.com"
	cfg.Webhooks = []config.Webhook{{URL: "https://hub.example.com/hooks/api/crm", Events: []string{"*"}, Secret: "0123456789abcdef"},
		{URL: "https://erp.example.com/in", Events: []string{"operator.*"}, Secret: "0123456789abcdef"}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	_, err := build(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "webhooks[0].url") || !strings.Contains(err.Error(), "webhooks[1].events") {
		t.Fatalf("build = %v, want webhooks[0].url and webhooks[1].events refused", err)
	}
}
