package store

// webhookQueries are the statements about outgoing webhooks: subscriptions,
// their dispatch position and their deliveries.
type webhookQueries struct {
	ListWebhooks     string
	WebhookByID      string
	InsertWebhook    string
	UpdateWebhook    string
	DeleteWebhook    string
	AdvanceWebhook   string
	InsertDelivery   string
	DueDeliveries    string
	ClaimDelivery    string
	DeliveryJob      string
	FinishDelivery   string
	ListDeliveries   string
	DeliveryByID     string
	ReplayDelivery   string
	ConfigWebhooks   string
	UpdateConfigHook string
	DeleteConfigHook string
	InsertConfigHook string
}

const (
	webhookCols  = `id, url, events, secret, source, position, created_at`
	deliveryCols = `id, webhook_id, event_id, event_type, state, attempts, last_status, last_error, next_attempt_at,
	delivered_at, created_at`
)

// postgres replaces the statements PostgreSQL needs written its own way.
func (q *webhookQueries) postgres() {
	q.InsertDelivery = `INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, order_key, next_attempt_at,
			created_at)
		SELECT CAST(? AS bigint), r.event_id, r.event_type, r.order_key, CAST(? AS timestamptz), CAST(? AS timestamptz)
		FROM jsonb_to_recordset(?::jsonb) AS r(event_id bigint, event_type text, order_key text)
		ON CONFLICT (webhook_id, event_id) DO NOTHING`
}

func baseWebhookQueries() webhookQueries {
	return webhookQueries{
		ListWebhooks: `SELECT ` + webhookCols + ` FROM webhooks ORDER BY id`,
		WebhookByID:  `SELECT ` + webhookCols + ` FROM webhooks WHERE id = ?`,
		InsertWebhook: `INSERT INTO webhooks (url, events, secret, source, position, created_at)
			VALUES (?, ?, ?, ?, (SELECT COALESCE(MAX(id), 0) FROM events), ?) RETURNING id`,
		UpdateWebhook:  `UPDATE webhooks SET url = ?, events = ?, secret = ? WHERE id = ? AND source = 'api'`,
		DeleteWebhook:  `DELETE FROM webhooks WHERE id = ? AND source = 'api'`,
		AdvanceWebhook: `UPDATE webhooks SET position = ? WHERE id = ? AND position = ?`,
		// One statement inserts a dispatch's deliveries, from a JSON array
		// of {event_id, event_type, order_key}.
		InsertDelivery: `INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, order_key, next_attempt_at,
				created_at)
			SELECT ?, json_extract(j.value, '$.event_id'), json_extract(j.value, '$.event_type'),
				json_extract(j.value, '$.order_key'), ?, ?
			FROM json_each(?) AS j WHERE true
			ON CONFLICT (webhook_id, event_id) DO NOTHING`,
		// The pending delivery of the oldest event of each order key, when it is due
		// and nobody holds it.
		DueDeliveries: `SELECT d.id FROM webhook_deliveries d
			WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND (d.lease_until IS NULL OR d.lease_until <= ?)
			AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.webhook_id = d.webhook_id
				AND p.order_key = d.order_key AND p.state = 'pending' AND p.event_id < d.event_id)
			ORDER BY d.next_attempt_at, d.id LIMIT ?`,
		// The conditional UPDATE is the claim: of two instances that saw
		// the delivery due, one changes the row.
		ClaimDelivery: `UPDATE webhook_deliveries SET lease_until = ?, attempts = attempts + 1,
				first_attempt_at = COALESCE(first_attempt_at, ?)
			WHERE id = ? AND state = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)`,
		DeliveryJob: `SELECT d.id, d.webhook_id, d.attempts, d.first_attempt_at, w.url, w.secret,
				e.id AS event_id, e.type, e.data, e.created_at
			FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id JOIN events e ON e.id = d.event_id
			WHERE d.id = ?`,
		// attempts fences a late result: a worker whose lease ran out and
		// whose delivery was claimed again does not overwrite the newer
		// attempt's result.
		FinishDelivery: `UPDATE webhook_deliveries SET state = ?, last_status = ?, last_error = ?, next_attempt_at = ?,
				delivered_at = ?, lease_until = NULL
			WHERE id = ? AND attempts = ? AND state = 'pending'`,
		ListDeliveries: `SELECT ` + deliveryCols + ` FROM webhook_deliveries
			WHERE webhook_id = ? AND (? = '' OR state = ?) AND (? = 0 OR id < ?)
			ORDER BY id DESC LIMIT ?`,
		DeliveryByID: `SELECT ` + deliveryCols + ` FROM webhook_deliveries WHERE id = ?`,
		// A replay is a new attempt of the same delivery, with a fresh
		// retry window; one being sent right now is left alone.
		ReplayDelivery: `UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = ?, first_attempt_at = NULL,
				lease_until = NULL, delivered_at = NULL
			WHERE id = ? AND NOT (state = 'pending' AND lease_until IS NOT NULL AND lease_until > ?)`,
		ConfigWebhooks:   `SELECT ` + webhookCols + ` FROM webhooks WHERE source = 'config'`,
		UpdateConfigHook: `UPDATE webhooks SET events = ?, secret = ? WHERE id = ?`,
		DeleteConfigHook: `DELETE FROM webhooks WHERE id = ? AND source = 'config'`,
		// Two instances starting at once may both add a config URL: the
		// second insert is a no-op.
		InsertConfigHook: `INSERT INTO webhooks (url, events, secret, source, position, created_at)
			VALUES (?, ?, ?, 'config', (SELECT COALESCE(MAX(id), 0) FROM events), ?)
			ON CONFLICT (url) WHERE source = 'config' DO NOTHING`,
	}
}
