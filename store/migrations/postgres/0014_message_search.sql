-- Full-text search over messages' subjects and texts (the inbox search
-- box), with the Russian configuration: "кухни" finds "кухня". The vector
-- is a generated column, so that no code path (filing, edits, erasure) can
-- forget it.
ALTER TABLE messages ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('russian', subject || ' ' || text)) STORED;
CREATE INDEX messages_search_idx ON messages USING gin (search);
