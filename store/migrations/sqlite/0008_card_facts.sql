-- Facts about a client learned from a channel rather than said by them
-- (inbox.ItemFact: a shared contact, permission to message given or
-- withdrawn). What a fact changes is on the card itself (an identity, an
-- unreachable mark); the row records when and where it was learned, and its
-- dedupe key turns a redelivered fact into a no-op. Outgoing messages and
-- call events keep their dedupe keys in messages.dedupe_key like inbound
-- ones.
CREATE TABLE card_facts (
    id         INTEGER PRIMARY KEY,
    client_id  INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    channel_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    value      TEXT NOT NULL DEFAULT '',
    dedupe_key TEXT UNIQUE, -- NULL once the client is erased
    created_at TEXT NOT NULL
);
CREATE INDEX card_facts_client_idx ON card_facts (client_id, id);
