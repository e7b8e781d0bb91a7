-- Client cards (issue 3): card contents, tags, notes, consents, tasks,
-- duplicate suggestions, the audit log, erasure tombstones, and what phone
-- search and erasure need.

ALTER TABLE clients ADD COLUMN company TEXT NOT NULL DEFAULT '';
-- company lower-cased by Go, like name_lower
ALTER TABLE clients ADD COLUMN company_lower TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN custom_fields TEXT NOT NULL DEFAULT ''; -- JSON object, '' when none
ALTER TABLE clients ADD COLUMN raw_phones TEXT NOT NULL DEFAULT '';    -- JSON array, '' when none
ALTER TABLE clients ADD COLUMN do_not_contact INTEGER NOT NULL DEFAULT 0 CHECK (do_not_contact IN (0, 1));
ALTER TABLE clients ADD COLUMN dnc_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN spam INTEGER NOT NULL DEFAULT 0 CHECK (spam IN (0, 1));
-- set on the tombstone of a card merged into another
ALTER TABLE clients ADD COLUMN merged_into INTEGER REFERENCES clients (id);
ALTER TABLE clients ADD COLUMN erased_at TEXT;
-- Search scans this index rather than the table: it is narrow and holds
-- live cards only.
CREATE INDEX clients_search_idx ON clients (name_lower, company_lower) WHERE merged_into IS NULL;

-- The digits of a phone identity reversed, so that "the number ending in
-- 4567" is a prefix range on an index; '' for other kinds.
ALTER TABLE identities ADD COLUMN rev TEXT NOT NULL DEFAULT '';
-- E.164 is '+' and at most 15 digits.
UPDATE identities SET rev =
    substr(value, 16, 1) || substr(value, 15, 1) || substr(value, 14, 1) || substr(value, 13, 1) ||
    substr(value, 12, 1) || substr(value, 11, 1) || substr(value, 10, 1) || substr(value, 9, 1) ||
    substr(value, 8, 1) || substr(value, 7, 1) || substr(value, 6, 1) || substr(value, 5, 1) ||
    substr(value, 4, 1) || substr(value, 3, 1) || substr(value, 2, 1)
WHERE kind = 'phone';
CREATE INDEX identities_rev_idx ON identities (rev);
-- Set when a reply could not reach the client through this identity for
-- good (a blocked bot); cleared when the client writes from it again.
ALTER TABLE identities ADD COLUMN unreachable TEXT NOT NULL DEFAULT '';
ALTER TABLE identities ADD COLUMN unreachable_at TEXT;

CREATE TABLE client_tags (
    client_id INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    tag       TEXT NOT NULL,
    tag_lower TEXT NOT NULL,
    PRIMARY KEY (client_id, tag_lower)
);
CREATE INDEX client_tags_tag_idx ON client_tags (tag_lower, client_id);

CREATE TABLE client_notes (
    id         INTEGER PRIMARY KEY,
    client_id  INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    author_id  INTEGER REFERENCES operators (id) ON DELETE SET NULL,
    text       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX client_notes_client_idx ON client_notes (client_id, id);

CREATE TABLE consents (
    id           INTEGER PRIMARY KEY,
    client_id    INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    text_version TEXT NOT NULL DEFAULT '',
    given_at     TEXT NOT NULL,
    ip           TEXT NOT NULL DEFAULT '',
    source       TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL
);
CREATE INDEX consents_client_idx ON consents (client_id, id);

CREATE TABLE tasks (
    id          INTEGER PRIMARY KEY,
    client_id   INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    title       TEXT NOT NULL,
    due_at      TEXT,
    done        INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1)),
    assignee_id INTEGER REFERENCES operators (id) ON DELETE SET NULL,
    created_by  INTEGER REFERENCES operators (id) ON DELETE SET NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX tasks_client_idx ON tasks (client_id, id);

-- A message filed to client_id also carried an identity of other_client_id.
-- One row per pair and identity, ever: a dismissed suggestion stays
-- dismissed.
CREATE TABLE duplicate_suggestions (
    id              INTEGER PRIMARY KEY,
    client_id       INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    other_client_id INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    value           TEXT NOT NULL,
    resolved        INTEGER NOT NULL DEFAULT 0 CHECK (resolved IN (0, 1)),
    created_at      TEXT NOT NULL,
    UNIQUE (client_id, other_client_id, kind, value)
);
CREATE INDEX duplicate_suggestions_other_idx ON duplicate_suggestions (other_client_id);
CREATE INDEX duplicate_suggestions_open_idx ON duplicate_suggestions (id) WHERE resolved = 0;

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    operator_id INTEGER REFERENCES operators (id) ON DELETE SET NULL,
    action      TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   INTEGER NOT NULL,
    detail      TEXT NOT NULL DEFAULT '{}', -- JSON object; never personal data
    created_at  TEXT NOT NULL
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id, id);

-- SHA-256 of what an erasure removed: identities (for the record) and the
-- dedupe keys of the erased messages, so that a provider retry or a mailbox
-- re-scan of an old message is a duplicate and does not bring it back.
CREATE TABLE erasures (
    hash       TEXT PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('identity', 'dedupe')),
    created_at TEXT NOT NULL
);

-- The card an event is about, so that erasing a card can blank its events.
ALTER TABLE events ADD COLUMN client_id INTEGER;
UPDATE events SET client_id = COALESCE(
    json_extract(data, '$.client.id'),
    json_extract(data, '$.conversation.client_id'),
    (SELECT c.client_id FROM conversations c WHERE c.id = json_extract(events.data, '$.message.conversation_id')));
CREATE INDEX events_client_idx ON events (client_id) WHERE client_id IS NOT NULL;
