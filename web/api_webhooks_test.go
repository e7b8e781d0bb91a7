package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/leadhub/leadhub/inbox"
)

// The webhook part of fakeStore: the API tests of webhooks run on the real
// store (newFixture).
func (f *fakeStore) ListWebhooks(context.Context) ([]inbox.Webhook, error) { return nil, nil }

func (f *fakeStore) CreateWebhook(context.Context, int64, inbox.Webhook) (inbox.Webhook, error) {
	return inbox.Webhook{}, inbox.Errorf(inbox.EUNAVAILABLE, "not in the fake")
}

func (f *fakeStore) UpdateWebhook(context.Context, int64, int64, string, []string, string) (inbox.Webhook, error) {
	return inbox.Webhook{}, inbox.Errorf(inbox.ENOTFOUND, "not in the fake")
}

func (f *fakeStore) GetWebhook(context.Context, int64) (inbox.Webhook, error) {
	return inbox.Webhook{}, inbox.Errorf(inbox.ENOTFOUND, "not in the fake")
}

func (f *fakeStore) DeleteWebhook(context.Context, int64, int64) error {
	return inbox.Errorf(inbox.ENOTFOUND, "not in the fake")
}

func (f *fakeStore) ListWebhookDeliveries(context.Context, inbox.DeliveryFilter) ([]inbox.WebhookDelivery, error) {
	return nil, nil
}

func (f *fakeStore) ReplayWebhookDelivery(context.Context, int64, int64) (inbox.WebhookDelivery, error) {
	return inbox.WebhookDelivery{}, inbox.Errorf(inbox.ENOTFOUND, "not in the fake")
}

// webhook adds an API subscription straight in the store.
func (fx *fixture) webhook() inbox.Webhook {
	fx.t.Helper()
	h, err := fx.st.CreateWebhook(context.Background(), 0, inbox.Webhook{
		URL: fmt.Sprintf("https://erp%d.example.com/in", fx.seq.Add(1)), Events: []string{"*"}, Secret: "0123456789abcdef"})
	if err != nil {
		fx.t.Fatal(err)
	}
	return h
}

// delivery makes a pending delivery: a subscription, a new conversation,
// one dispatch.
func (fx *fixture) delivery() inbox.WebhookDelivery {
	fx.t.Helper()
	h := fx.webhook()
	fx.conv("shop")
	if _, err := inbox.NewWebhookWorker(inbox.WebhookOptions{Store: fx.st}).Dispatch(context.Background()); err != nil {
		fx.t.Fatal(err)
	}
	ds, err := fx.st.ListWebhookDeliveries(context.Background(), inbox.DeliveryFilter{WebhookID: h.ID})
	if err != nil || len(ds) == 0 {
		fx.t.Fatalf("deliveries = %v, %v", ds, err)
	}
	return ds[0]
}

// TestWebhooksAPI: an admin subscribes a URL and sees the secret once;
// bad URLs (not http(s), the hub itself) and unknown patterns are 400;
// the delivery log pages and filters; a replay makes a delivery due.
func TestWebhooksAPI(t *testing.T) {
	fx := newFixture(t, Options{PublicURL: "https://hub.example.com", Addr: ":8080"})
	admin := fx.login("admin@example.com")
	h := admin.header()
	for _, bad := range []string{
		`{"url":"ftp://erp.example.com/in","events":["client.*"]}`,
		`{"url":"erp.example.com","events":["client.*"]}`,
		`{"url":"https://hub.example.com/api/v1/conversations","events":["client.*"]}`,
		`{"url":"http://localhost:8080/hooks/api/crm","events":["client.*"]}`,
		`{"url":"http://127.0.0.1:8080/","events":["client.*"]}`,
		`{"url":"https://erp.example.com/in","events":["operator.*"]}`,
		`{"url":"https://erp.example.com/in","events":["messages.created"]}`,
		`{"url":"https://erp.example.com/in","events":[]}`,
		`{"url":"https://erp.example.com/in","events":["*"],"secret":"short"}`,
		`{"events":["*"]}`,
	} {
		if w := do(t, fx.h, "POST", "/api/v1/webhooks", bad, h...); w.Code != http.StatusBadRequest {
			t.Errorf("POST %s = %d %s, want 400", bad, w.Code, w.Body)
		}
	}
	w := do(t, fx.h, "POST", "/api/v1/webhooks", `{"url":"https://erp.example.com/in","events":["message.created","sla.*"]}`, h...)
	var created inbox.Webhook
	if w.Code != http.StatusCreated || json.Unmarshal(w.Body.Bytes(), &created) != nil || len(created.Secret) != 64 ||
		created.Source != inbox.WebhookSourceAPI {
		t.Fatalf("create = %d %s", w.Code, w.Body)
	}
	w = do(t, fx.h, "GET", "/api/v1/webhooks", "", h...)
	if w.Code != http.StatusOK || strings.Contains(w.Body.String(), created.Secret) || strings.Contains(w.Body.String(), `"secret"`) {
		t.Fatalf("list = %d %s: the secret is shown once", w.Code, w.Body)
	}
	path := fmt.Sprintf("/api/v1/webhooks/%d", created.ID)
	if w := do(t, fx.h, "PATCH", path, `{"url":"https://hub.example.com:8443/x"}`, h...); w.Code != http.StatusBadRequest {
		t.Errorf("PATCH to the hub = %d %s", w.Code, w.Body)
	}
	w = do(t, fx.h, "PATCH", path, `{"events":["conversation.*"],"secret":"a-new-secret-of-length"}`, h...)
	if w.Code != http.StatusOK || strings.Contains(w.Body.String(), "a-new-secret") || !strings.Contains(w.Body.String(), "conversation.*") {
		t.Errorf("PATCH = %d %s", w.Code, w.Body)
	}
	if w := do(t, fx.h, "GET", path+"/deliveries?state=lost", "", h...); w.Code != http.StatusBadRequest {
		t.Errorf("unknown state = %d", w.Code)
	}
	if w := do(t, fx.h, "GET", "/api/v1/webhooks/999999/deliveries", "", h...); w.Code != http.StatusNotFound {
		t.Errorf("deliveries of no webhook = %d", w.Code)
	}

	d := fx.delivery()
	for range 2 {
		fx.conv("help")
	}
	if _, err := inbox.NewWebhookWorker(inbox.WebhookOptions{Store: fx.st}).Dispatch(context.Background()); err != nil {
		t.Fatal(err)
	}
	dpath := fmt.Sprintf("/api/v1/webhooks/%d/deliveries", d.WebhookID)
	var page deliveryList
	w = do(t, fx.h, "GET", dpath+"?limit=2&state=pending", "", h...)
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &page) != nil || len(page.Items) != 2 || page.Next == "" {
		t.Fatalf("first page = %d %s", w.Code, w.Body)
	}
	w = do(t, fx.h, "GET", dpath+"?limit=100&cursor="+page.Next, "", h...)
	var rest deliveryList
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &rest) != nil || len(rest.Items) == 0 ||
		rest.Items[0].ID >= page.Items[1].ID || rest.Next != "" {
		t.Fatalf("next page = %d %s", w.Code, w.Body)
	}
	w = do(t, fx.h, "POST", fmt.Sprintf("/api/v1/webhooks/deliveries/%d/replay", d.ID), "", h...)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"state":"pending"`) {
		t.Errorf("replay = %d %s", w.Code, w.Body)
	}
	if w := do(t, fx.h, "POST", "/api/v1/webhooks/deliveries/999999/replay", "", h...); w.Code != http.StatusNotFound {
		t.Errorf("replay of nothing = %d", w.Code)
	}
	if w := do(t, fx.h, "DELETE", path, "", h...); w.Code != http.StatusNoContent {
		t.Errorf("DELETE = %d %s", w.Code, w.Body)
	}
	w = do(t, fx.h, "GET", "/api/v1/audit?entity=webhook", "", h...)
	for _, action := range []string{"webhook.create", "webhook.update", "webhook.replay", "webhook.delete"} {
		if !strings.Contains(w.Body.String(), action) {
			t.Errorf("audit lacks %s: %s", action, w.Body)
		}
	}
	if strings.Contains(w.Body.String(), "a-new-secret") {
		t.Errorf("the audit log shows a secret: %s", w.Body)
	}
	// A supervisor is not an admin.
	if w := do(t, fx.h, "GET", "/api/v1/webhooks", "", fx.login("super@example.com").header()...); w.Code != http.StatusForbidden {
		t.Errorf("a supervisor's list = %d", w.Code)
	}
}
