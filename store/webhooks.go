package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/leadhub/leadhub/inbox"
)

var _ inbox.WebhookStore = (*Store)(nil)

type webhookRow struct {
	ID        int64   `db:"id"`
	URL       string  `db:"url"`
	Events    string  `db:"events"`
	Secret    string  `db:"secret"`
	Source    string  `db:"source"`
	Position  int64   `db:"position"`
	CreatedAt sqlTime `db:"created_at"`
}

func (r webhookRow) webhook() (inbox.Webhook, error) {
	h := inbox.Webhook{ID: r.ID, URL: r.URL, Secret: r.Secret, Source: r.Source, Position: r.Position,
		CreatedAt: r.CreatedAt.Time}
	if err := json.Unmarshal([]byte(r.Events), &h.Events); err != nil {
		return h, fmt.Errorf("webhook %d events: %w", r.ID, err)
	}
	return h, nil
}

type deliveryRow struct {
	ID            int64   `db:"id"`
	WebhookID     int64   `db:"webhook_id"`
	EventID       int64   `db:"event_id"`
	EventType     string  `db:"event_type"`
	State         string  `db:"state"`
	Attempts      int     `db:"attempts"`
	LastStatus    int     `db:"last_status"`
	LastError     string  `db:"last_error"`
	NextAttemptAt sqlTime `db:"next_attempt_at"`
	DeliveredAt   sqlTime `db:"delivered_at"`
	CreatedAt     sqlTime `db:"created_at"`
}

func (r deliveryRow) delivery() inbox.WebhookDelivery {
	d := inbox.WebhookDelivery{ID: r.ID, WebhookID: r.WebhookID, EventID: r.EventID, EventType: r.EventType,
		State: r.State, Attempts: r.Attempts, LastStatus: r.LastStatus, LastError: r.LastError,
		DeliveredAt: r.DeliveredAt.ptr(), CreatedAt: r.CreatedAt.Time}
	if r.State == inbox.WebhookPending {
		d.NextAttemptAt = r.NextAttemptAt.ptr()
	}
	return d
}

// WebhookSubscriptions returns every subscription with its secret and
// dispatch position (inbox.WebhookStore).
func (s *Store) WebhookSubscriptions(ctx context.Context) ([]inbox.Webhook, error) {
	var rows []webhookRow
	if err := s.db.SelectContext(ctx, &rows, s.q.ListWebhooks); err != nil {
		return nil, fmt.Errorf("store: webhooks: %w", err)
	}
	out := make([]inbox.Webhook, 0, len(rows))
	for _, r := range rows {
		h, err := r.webhook()
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		out = append(out, h)
	}
	return out, nil
}

// ListWebhooks returns every subscription without its secret, for the
// admin API.
func (s *Store) ListWebhooks(ctx context.Context) ([]inbox.Webhook, error) {
	hs, err := s.WebhookSubscriptions(ctx)
	for i := range hs {
		hs[i].Secret = ""
	}
	return hs, err
}

// GetWebhook returns one subscription without its secret.
func (s *Store) GetWebhook(ctx context.Context, id int64) (inbox.Webhook, error) {
	var r webhookRow
	err := s.db.GetContext(ctx, &r, s.q.WebhookByID, id)
	if errors.Is(err, sql.ErrNoRows) {
		return inbox.Webhook{}, inbox.Errorf(inbox.ENOTFOUND, "webhook not found")
	}
	if err != nil {
		return inbox.Webhook{}, fmt.Errorf("store: webhook %d: %w", id, err)
	}
	h, err := r.webhook()
	h.Secret = ""
	return h, err
}

// CreateWebhook adds an API subscription on behalf of actorID (audited);
// it starts after the newest event, so no history is sent. The URL,
// patterns and secret are the caller's to check.
func (s *Store) CreateWebhook(ctx context.Context, actorID int64, h inbox.Webhook) (inbox.Webhook, error) {
	events, err := json.Marshal(h.Events)
	if err != nil {
		return inbox.Webhook{}, fmt.Errorf("store: webhook events: %w", err)
	}
	var id int64
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		at := s.now()
		if err := tx.GetContext(ctx, &id, s.q.InsertWebhook, h.URL, string(events), h.Secret, inbox.WebhookSourceAPI,
			dbTime(at)); err != nil {
			return err
		}
		return s.audit(ctx, tx, actorID, "webhook.create", "webhook", id, map[string]any{"url": h.URL, "events": h.Events}, at)
	})
	if err != nil {
		return inbox.Webhook{}, fmt.Errorf("store: create webhook: %w", err)
	}
	return s.GetWebhook(ctx, id)
}

// UpdateWebhook changes an API subscription's URL, patterns and, when
// secret is not empty, its secret, on behalf of actorID (audited; the
// secret never is). A config file's subscription is ECONFLICT: the file is
// its truth.
func (s *Store) UpdateWebhook(ctx context.Context, actorID, id int64, url string, events []string, secret string) (inbox.Webhook, error) {
	b, err := json.Marshal(events)
	if err != nil {
		return inbox.Webhook{}, fmt.Errorf("store: webhook events: %w", err)
	}
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		cur, err := s.webhookIn(ctx, tx, id)
		if err != nil {
			return err
		}
		if secret == "" {
			secret = cur.Secret
		}
		if _, err := tx.ExecContext(ctx, s.q.UpdateWebhook, url, string(b), secret, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, actorID, "webhook.update", "webhook", id,
			map[string]any{"url": url, "events": events, "secret_changed": secret != cur.Secret}, s.now())
	})
	if err != nil {
		return inbox.Webhook{}, fmt.Errorf("store: update webhook %d: %w", id, err)
	}
	return s.GetWebhook(ctx, id)
}

// DeleteWebhook removes an API subscription and its delivery log on behalf
// of actorID (audited).
func (s *Store) DeleteWebhook(ctx context.Context, actorID, id int64) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		cur, err := s.webhookIn(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q.DeleteWebhook, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, actorID, "webhook.delete", "webhook", id, map[string]any{"url": cur.URL}, s.now())
	})
	if err != nil {
		return fmt.Errorf("store: delete webhook %d: %w", id, err)
	}
	return nil
}

// webhookIn reads an API subscription in tx: ENOTFOUND, or ECONFLICT for
// one from the config file.
func (s *Store) webhookIn(ctx context.Context, tx *sqlx.Tx, id int64) (webhookRow, error) {
	var cur webhookRow
	err := tx.GetContext(ctx, &cur, s.q.WebhookByID, id)
	if errors.Is(err, sql.ErrNoRows) {
		return cur, inbox.Errorf(inbox.ENOTFOUND, "webhook not found")
	}
	if err != nil {
		return cur, err
	}
	if cur.Source != inbox.WebhookSourceAPI {
		return cur, inbox.Errorf(inbox.ECONFLICT, "this webhook comes from the config file; change it there")
	}
	return cur, nil
}

// SyncConfigWebhooks makes the config file's subscriptions (one per URL)
// the table's: new ones start after the newest event, changed ones take
// their new patterns and secret and keep their position and log, and those
// gone from the file are deleted with their log.
func (s *Store) SyncConfigWebhooks(ctx context.Context, hs []inbox.Webhook) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var rows []webhookRow
		if err := tx.SelectContext(ctx, &rows, s.q.ConfigWebhooks); err != nil {
			return err
		}
		have := make(map[string]int64, len(rows))
		for _, r := range rows {
			have[r.URL] = r.ID
		}
		for _, h := range hs {
			events, err := json.Marshal(h.Events)
			if err != nil {
				return err
			}
			if id, ok := have[h.URL]; ok {
				delete(have, h.URL)
				if _, err := tx.ExecContext(ctx, s.q.UpdateConfigHook, string(events), h.Secret, id); err != nil {
					return err
				}
				continue
			}
			if _, err := tx.ExecContext(ctx, s.q.InsertConfigHook, h.URL, string(events), h.Secret, dbTime(s.now())); err != nil {
				return err
			}
		}
		for _, id := range have {
			if _, err := tx.ExecContext(ctx, s.q.DeleteConfigHook, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: sync config webhooks: %w", err)
	}
	return nil
}

// AdvanceWebhook moves subscription id's position from from to to and
// inserts ds, in one transaction; false when another instance moved it
// first (inbox.WebhookStore).
func (s *Store) AdvanceWebhook(ctx context.Context, id, from, to int64, ds []inbox.NewWebhookDelivery) (bool, error) {
	won := false
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		won, err = claimed(tx.ExecContext(ctx, s.q.AdvanceWebhook, to, id, from))
		if err != nil || !won {
			return err
		}
		if len(ds) == 0 {
			return nil
		}
		type row struct {
			EventID   int64  `json:"event_id"`
			EventType string `json:"event_type"`
			OrderKey  string `json:"order_key"`
		}
		rows := make([]row, len(ds))
		for i, d := range ds {
			rows[i] = row{EventID: d.EventID, EventType: d.EventType, OrderKey: d.OrderKey}
		}
		arg, err := jsonArg(rows)
		if err != nil {
			return err
		}
		now := dbTime(s.now())
		if _, err := tx.ExecContext(ctx, s.q.InsertDelivery, id, now, now, arg); err != nil {
			return fmt.Errorf("insert deliveries: %w", err)
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: advance webhook %d: %w", id, err)
	}
	return won, nil
}

// ClaimWebhookDeliveries returns up to limit due deliveries, each the
// oldest pending one of its order key, leased for lease
// (inbox.WebhookStore).
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, limit int, lease time.Duration) ([]inbox.WebhookJob, error) {
	now := s.now()
	var ids []int64
	if err := s.db.SelectContext(ctx, &ids, s.q.DueDeliveries, dbTime(now), dbTime(now), limit); err != nil {
		return nil, fmt.Errorf("store: due webhook deliveries: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	// One transaction for the batch: one commit instead of one per claim.
	// On PostgreSQL a claimed row stays locked until the commit, and
	// another instance's claim of it then finds the lease taken.
	var out []inbox.WebhookJob
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		out = out[:0]
		for _, id := range ids {
			won, err := claimed(tx.ExecContext(ctx, s.q.ClaimDelivery, dbTime(now.Add(lease)), dbTime(now), id,
				dbTime(now), dbTime(now)))
			if err != nil {
				return fmt.Errorf("claim webhook delivery %d: %w", id, err)
			}
			if !won {
				continue // another instance has it
			}
			var r struct {
				ID             int64   `db:"id"`
				WebhookID      int64   `db:"webhook_id"`
				Attempts       int     `db:"attempts"`
				FirstAttemptAt sqlTime `db:"first_attempt_at"`
				URL            string  `db:"url"`
				Secret         string  `db:"secret"`
				EventID        int64   `db:"event_id"`
				Type           string  `db:"type"`
				Data           string  `db:"data"`
				CreatedAt      sqlTime `db:"created_at"`
			}
			if err := tx.GetContext(ctx, &r, s.q.DeliveryJob, id); err != nil {
				return fmt.Errorf("webhook delivery %d: %w", id, err)
			}
			out = append(out, inbox.WebhookJob{DeliveryID: r.ID, WebhookID: r.WebhookID, URL: r.URL, Secret: r.Secret,
				Attempt: r.Attempts, FirstAttemptAt: r.FirstAttemptAt.Time,
				Event: inbox.Event{ID: r.EventID, Type: r.Type, Data: json.RawMessage(r.Data), CreatedAt: r.CreatedAt.Time}})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim webhook deliveries: %w", err)
	}
	return out, nil
}

// FinishWebhookAttempts records attempts' results in one transaction
// (inbox.WebhookStore).
func (s *Store) FinishWebhookAttempts(ctx context.Context, rs []inbox.WebhookResult) error {
	if len(rs) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		for _, r := range rs {
			next := r.At
			if r.State == inbox.WebhookPending {
				next = r.RetryAt
			}
			var delivered any
			if r.State == inbox.WebhookDelivered {
				delivered = dbTime(r.At)
			}
			if _, err := tx.ExecContext(ctx, s.q.FinishDelivery, r.State, r.Status, clean(r.Error), dbTime(next), delivered,
				r.DeliveryID, r.Attempt); err != nil {
				return fmt.Errorf("delivery %d: %w", r.DeliveryID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: finish webhook attempts: %w", err)
	}
	return nil
}

// ListWebhookDeliveries returns a page of a subscription's delivery log,
// newest first.
func (s *Store) ListWebhookDeliveries(ctx context.Context, f inbox.DeliveryFilter) ([]inbox.WebhookDelivery, error) {
	if _, err := s.GetWebhook(ctx, f.WebhookID); err != nil {
		return nil, err
	}
	limit := clampLimit(f.Limit, 50, 500)
	var rows []deliveryRow
	if err := s.db.SelectContext(ctx, &rows, s.q.ListDeliveries, f.WebhookID, f.State, f.State, f.Before, f.Before,
		limit); err != nil {
		return nil, fmt.Errorf("store: webhook %d deliveries: %w", f.WebhookID, err)
	}
	out := make([]inbox.WebhookDelivery, len(rows))
	for i, r := range rows {
		out[i] = r.delivery()
	}
	return out, nil
}

// ReplayWebhookDelivery makes a delivery due now on behalf of actorID
// (audited), as a new attempt with the same id and a fresh retry window.
// One being sent right now is ECONFLICT.
func (s *Store) ReplayWebhookDelivery(ctx context.Context, actorID, id int64) (inbox.WebhookDelivery, error) {
	var r deliveryRow
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		at := s.now()
		won, err := claimed(tx.ExecContext(ctx, s.q.ReplayDelivery, dbTime(at), id, dbTime(at)))
		if err != nil {
			return err
		}
		err = tx.GetContext(ctx, &r, s.q.DeliveryByID, id)
		if errors.Is(err, sql.ErrNoRows) {
			return inbox.Errorf(inbox.ENOTFOUND, "delivery not found")
		}
		if err != nil {
			return err
		}
		if !won {
			return inbox.Errorf(inbox.ECONFLICT, "the delivery is being sent now; try again in a minute")
		}
		return s.audit(ctx, tx, actorID, "webhook.replay", "webhook", r.WebhookID, map[string]any{"delivery_id": id}, at)
	})
	if err != nil {
		return inbox.WebhookDelivery{}, fmt.Errorf("store: replay webhook delivery %d: %w", id, err)
	}
	return r.delivery(), nil
}
