package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"

	"github.com/leadhub/leadhub/inbox"
)

// WebhookStore is what the outgoing webhooks' admin API needs of the
// store. Lists never carry secrets; changes are audited as actorID's.
type WebhookStore interface {
	ListWebhooks(ctx context.Context) ([]inbox.Webhook, error)
	CreateWebhook(ctx context.Context, actorID int64, h inbox.Webhook) (inbox.Webhook, error)
	// UpdateWebhook changes an API subscription (secret "": kept); a
	// config file's one is ECONFLICT.
	UpdateWebhook(ctx context.Context, actorID, id int64, url string, events []string, secret string) (inbox.Webhook, error)
	GetWebhook(ctx context.Context, id int64) (inbox.Webhook, error)
	DeleteWebhook(ctx context.Context, actorID, id int64) error
	ListWebhookDeliveries(ctx context.Context, f inbox.DeliveryFilter) ([]inbox.WebhookDelivery, error)
	ReplayWebhookDelivery(ctx context.Context, actorID, id int64) (inbox.WebhookDelivery, error)
}

// minWebhookSecret is the shortest secret an admin may choose: shorter
// ones are guessable offline from one signed delivery.
const minWebhookSecret = 16

// webhookBody is what POST and PATCH /api/v1/webhooks take; PATCH leaves
// out what it does not change.
type webhookBody struct {
	URL    *string  `json:"url"`
	Events []string `json:"events"`
	Secret *string  `json:"secret"`
}

// checkWebhook validates a subscription's URL and patterns.
func (a *apiHandler) checkWebhook(url string, events []string) error {
	if err := inbox.CheckWebhookURL(url, a.webhookSelf); err != nil {
		return err
	}
	return inbox.CheckWebhookPatterns(events)
}

// listWebhooks answers GET /api/v1/webhooks: every subscription, those from
// the config file too (source "config", read-only), without secrets.
func (a *apiHandler) listWebhooks(w http.ResponseWriter, r *http.Request) {
	hs, err := a.store.ListWebhooks(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	if hs == nil {
		hs = []inbox.Webhook{}
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"items": hs})
}

// createWebhook answers POST /api/v1/webhooks {"url", "events", "secret"}:
// without a secret one is generated. The answer is the only time the
// secret is shown.
func (a *apiHandler) createWebhook(w http.ResponseWriter, r *http.Request) {
	var body webhookBody
	if err := decodeJSON(w, r, &body); err != nil {
		writeError(w, r, err)
		return
	}
	if body.URL == nil {
		writeError(w, r, inbox.Errorf(inbox.EINVALID, "url is required"))
		return
	}
	if err := a.checkWebhook(*body.URL, body.Events); err != nil {
		writeError(w, r, err)
		return
	}
	secret, err := webhookSecret(body.Secret)
	if err != nil {
		writeError(w, r, err)
		return
	}
	h, err := a.store.CreateWebhook(r.Context(), operatorID(r), inbox.Webhook{URL: *body.URL, Events: body.Events, Secret: secret})
	if err != nil {
		writeError(w, r, err)
		return
	}
	h.Secret = secret
	writeJSON(w, r, http.StatusCreated, h)
}

// webhookSecret is the admin's secret, checked, or a new random one.
func webhookSecret(given *string) (string, error) {
	if given != nil && *given != "" {
		if len(*given) < minWebhookSecret {
			return "", inbox.Errorf(inbox.EINVALID, "secret must be at least %d characters", minWebhookSecret)
		}
		return *given, nil
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", inbox.Errorf(inbox.EINTERNAL, "generate a secret: %v", err)
	}
	return hex.EncodeToString(b), nil
}

// patchWebhook answers PATCH /api/v1/webhooks/{id} {"url", "events",
// "secret"}: each given field is replaced.
func (a *apiHandler) patchWebhook(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var body webhookBody
	if err := decodeJSON(w, r, &body); err != nil {
		writeError(w, r, err)
		return
	}
	cur, err := a.store.GetWebhook(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	url, events, secret := cur.URL, cur.Events, ""
	if body.URL != nil {
		url = *body.URL
	}
	if body.Events != nil {
		events = body.Events
	}
	if body.Secret != nil {
		if len(*body.Secret) < minWebhookSecret {
			writeError(w, r, inbox.Errorf(inbox.EINVALID, "secret must be at least %d characters", minWebhookSecret))
			return
		}
		secret = *body.Secret
	}
	if err := a.checkWebhook(url, events); err != nil {
		writeError(w, r, err)
		return
	}
	h, err := a.store.UpdateWebhook(r.Context(), operatorID(r), id, url, events, secret)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, h)
}

// deleteWebhook answers DELETE /api/v1/webhooks/{id}: the subscription and
// its delivery log go.
func (a *apiHandler) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if err := a.store.DeleteWebhook(r.Context(), operatorID(r), id); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// deliveryList is a page of a delivery log; next is the cursor of the next
// page ("" on the last).
type deliveryList struct {
	Items []inbox.WebhookDelivery `json:"items"`
	Next  string                  `json:"next"`
}

// listDeliveries answers GET /api/v1/webhooks/{id}/deliveries?state=&cursor=&limit=:
// the subscription's deliveries, newest first.
func (a *apiHandler) listDeliveries(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	limit, err := parseLimit(q)
	if err != nil {
		writeError(w, r, err)
		return
	}
	f := inbox.DeliveryFilter{WebhookID: id, State: q.Get("state"), Limit: limit}
	switch f.State {
	case "", inbox.WebhookPending, inbox.WebhookDelivered, inbox.WebhookFailed:
	default:
		writeError(w, r, inbox.Errorf(inbox.EINVALID, "state must be pending, delivered or failed"))
		return
	}
	if c := q.Get("cursor"); c != "" {
		if f.Before, err = strconv.ParseInt(c, 10, 64); err != nil || f.Before <= 0 {
			writeError(w, r, inbox.Errorf(inbox.EINVALID, "cursor is not one this list gave"))
			return
		}
	}
	ds, err := a.store.ListWebhookDeliveries(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := deliveryList{Items: ds}
	if ds == nil {
		out.Items = []inbox.WebhookDelivery{}
	}
	if n := len(ds); n > 0 && (limit == 0 && n >= 50 || limit > 0 && n >= limit) {
		out.Next = strconv.FormatInt(ds[n-1].ID, 10)
	}
	writeJSON(w, r, http.StatusOK, out)
}

// replayDelivery answers POST /api/v1/webhooks/deliveries/{id}/replay: the
// delivery is sent again as a new attempt with the same id.
func (a *apiHandler) replayDelivery(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	d, err := a.store.ReplayWebhookDelivery(r.Context(), operatorID(r), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, d)
}
