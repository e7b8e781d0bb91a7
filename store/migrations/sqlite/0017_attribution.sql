-- Reports and segments (issue 16) read attribution and outcomes from
-- columns, kept by the transactions that file and answer, never dug out of
-- messages' JSON at report time.

-- A card's first and last campaign marks, and when the client was last in
-- touch (either way). A table of its own, not columns of clients: on
-- PostgreSQL filing holds a share lock on the card's row, and every batch
-- writing the row would turn two batches of one card into a deadlock.
CREATE TABLE client_activity (
    client_id          INTEGER PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
    first_utm_source   TEXT NOT NULL DEFAULT '',
    first_utm_campaign TEXT NOT NULL DEFAULT '',
    last_utm_source    TEXT NOT NULL DEFAULT '',
    last_utm_campaign  TEXT NOT NULL DEFAULT '',
    first_touch_at     TEXT, -- of the first marked message: the first marks are set once
    last_contact_at    TEXT
);

-- How a conversation began (new: an unknown sender to triage), how its
-- triage ended (accepted, linked, spam), and who answered first.
ALTER TABLE conversations ADD COLUMN first_status TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN triage TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN first_reply_by INTEGER REFERENCES operators (id) ON DELETE SET NULL;
UPDATE conversations SET first_status = status;

-- What was there before: the last contact from the conversations, the
-- marks from the form messages, first and last by message id.
INSERT INTO client_activity (client_id, last_contact_at)
SELECT c.client_id, MAX(c.last_message_at) FROM conversations c GROUP BY c.client_id;
CREATE TEMP TABLE marked AS
SELECT c.client_id, m.id, m.created_at,
    COALESCE(json_extract(m.meta, '$.utm_source'), '') AS source,
    COALESCE(json_extract(m.meta, '$.utm_campaign'), '') AS campaign
FROM messages m JOIN conversations c ON c.id = m.conversation_id
WHERE m.direction = 'in' AND json_valid(m.meta) AND (m.meta LIKE '%"utm_source"%' OR m.meta LIKE '%"utm_campaign"%');
UPDATE client_activity SET
    first_utm_source = (SELECT k.source FROM marked k WHERE k.client_id = client_activity.client_id ORDER BY k.id LIMIT 1),
    first_utm_campaign = (SELECT k.campaign FROM marked k WHERE k.client_id = client_activity.client_id ORDER BY k.id LIMIT 1),
    first_touch_at = (SELECT k.created_at FROM marked k WHERE k.client_id = client_activity.client_id ORDER BY k.id LIMIT 1),
    last_utm_source = (SELECT k.source FROM marked k WHERE k.client_id = client_activity.client_id ORDER BY k.id DESC LIMIT 1),
    last_utm_campaign = (SELECT k.campaign FROM marked k WHERE k.client_id = client_activity.client_id ORDER BY k.id DESC LIMIT 1)
WHERE client_id IN (SELECT client_id FROM marked);
DROP TABLE marked;

CREATE INDEX client_activity_last_contact_idx ON client_activity (last_contact_at);
CREATE INDEX client_activity_first_utm_idx ON client_activity (first_utm_source, first_utm_campaign);
CREATE INDEX client_activity_last_utm_idx ON client_activity (last_utm_source, last_utm_campaign);
CREATE INDEX clients_created_idx ON clients (created_at);
CREATE INDEX conversations_created_idx ON conversations (created_at, channel_id);
