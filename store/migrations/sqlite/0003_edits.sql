-- A customer's edit of a message they sent (Telegram's edited_message)
-- changes that message; the edit's own dedupe key is kept here so a retried
-- edit is recognised.
CREATE TABLE message_edits (
    dedupe_key TEXT PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL
);
CREATE INDEX messages_external_id_idx ON messages (external_id) WHERE external_id <> '';
