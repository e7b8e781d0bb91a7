-- Outgoing webhooks (issue 16): subscriptions and their deliveries.

-- A subscription of a URL to event patterns (a JSON array). position is the
-- id of the last event turned into deliveries: it is advanced in the
-- transaction that inserts them, so one event is dispatched once whatever
-- the number of instances. Subscriptions from the config file are synced
-- in at start (source 'config', one per URL).
CREATE TABLE webhooks (
    id         INTEGER PRIMARY KEY,
    url        TEXT NOT NULL,
    events     TEXT NOT NULL,
    secret     TEXT NOT NULL,
    source     TEXT NOT NULL CHECK (source IN ('api', 'config')),
    position   INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX webhooks_config_url_idx ON webhooks (url) WHERE source = 'config';

-- One event sent to one subscription. A pending delivery is due at
-- next_attempt_at; lease_until keeps another instance off it while one
-- sends it. order_key (the conversation, else the card) holds later
-- deliveries back until the pending one of an earlier event of the key is
-- done (event ids, not delivery ids, are the order).
CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY,
    webhook_id       INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id         INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    event_type       TEXT NOT NULL,
    order_key        TEXT NOT NULL,
    state            TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    lease_until      TEXT,
    first_attempt_at TEXT,
    last_status      INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    delivered_at     TEXT,
    created_at       TEXT NOT NULL,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_order_idx ON webhook_deliveries (webhook_id, order_key, event_id) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_log_idx ON webhook_deliveries (webhook_id, state, id);
