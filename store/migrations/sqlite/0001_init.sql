-- leadhub schema, SQLite. Times are TEXT in one fixed-width UTC form,
-- 2006-01-02T15:04:05.000000Z, so that text order is time order.

CREATE TABLE clients (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL DEFAULT '',
    -- name lower-cased by Go (SQLite's lower() folds ASCII only), for search
    name_lower TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE identities (
    id         INTEGER PRIMARY KEY,
    client_id  INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    value      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (kind, value)
);
CREATE INDEX identities_client_id_idx ON identities (client_id);

CREATE TABLE operators (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'operator')),
    password_hash TEXT NOT NULL DEFAULT '',
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    TEXT NOT NULL
);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    operator_id  INTEGER NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    name         TEXT NOT NULL DEFAULT '',
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    last_used_at TEXT
);
CREATE INDEX api_tokens_operator_id_idx ON api_tokens (operator_id);

CREATE TABLE conversations (
    id              INTEGER PRIMARY KEY,
    client_id       INTEGER NOT NULL REFERENCES clients (id),
    channel_id      TEXT NOT NULL,
    channel_type    TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('new', 'open', 'pending', 'closed')),
    assignee_id     INTEGER REFERENCES operators (id) ON DELETE SET NULL,
    unread          INTEGER NOT NULL DEFAULT 0,
    last_message_at TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
-- One conversation per client and channel that is not closed.
CREATE UNIQUE INDEX conversations_open_uniq ON conversations (client_id, channel_id) WHERE status <> 'closed';
CREATE INDEX conversations_activity_idx ON conversations (last_message_at DESC, id DESC);
CREATE INDEX conversations_status_idx ON conversations (status, last_message_at DESC, id DESC);
CREATE INDEX conversations_assignee_idx ON conversations (assignee_id, last_message_at DESC, id DESC);
CREATE INDEX conversations_channel_idx ON conversations (channel_id, last_message_at DESC, id DESC);
CREATE INDEX conversations_client_idx ON conversations (client_id);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    direction       TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    kind            TEXT NOT NULL,
    subject         TEXT NOT NULL DEFAULT '',
    text            TEXT NOT NULL DEFAULT '',
    attachments     TEXT NOT NULL DEFAULT '', -- JSON array, '' when none
    meta            TEXT NOT NULL DEFAULT '', -- JSON object, '' when none
    author_id       INTEGER REFERENCES operators (id) ON DELETE SET NULL,
    external_id     TEXT NOT NULL DEFAULT '',
    dedupe_key      TEXT UNIQUE,              -- inbound only
    delivery        TEXT CHECK (delivery IN ('queued', 'sent', 'delivered', 'failed')), -- outbound only
    error           TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL
);
CREATE INDEX messages_conversation_idx ON messages (conversation_id, id);

-- Outbound messages waiting to be sent; a row leaves when the message is
-- sent or failed for good.
CREATE TABLE outbox (
    message_id  INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    attempts    INTEGER NOT NULL DEFAULT 0,
    due_at      TEXT NOT NULL,
    lease_until TEXT,
    last_error  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due_idx ON outbox (due_at);

-- AUTOINCREMENT: an event id is never reused, even after the newest rows
-- are deleted, so "after <id>" stays meaningful forever.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    type       TEXT NOT NULL,
    data       TEXT NOT NULL, -- JSON
    created_at TEXT NOT NULL
);
