-- Pollers (issue 10): each polled source's position, and the leases that let
-- one instance poll each source.

-- The position a poller resumes from, opaque to the store: a Telegram bot's
-- next update_id, an IMAP mailbox's "<uidvalidity>:<last uid>".
CREATE TABLE poller_checkpoints (
    source     TEXT PRIMARY KEY, -- "telegram:<channel>", "email:<channel>:<mailbox>"
    position   TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- A named lease: holder may act until expires_at, then anyone may take it.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    acquired_at TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
