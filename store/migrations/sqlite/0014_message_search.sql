-- Full-text search over messages' subjects and texts (the inbox search
-- box). An external-content FTS5 index kept in step by triggers, so that no
-- code path (filing, edits, erasure) can forget it.
CREATE VIRTUAL TABLE messages_fts USING fts5(
    subject, text,
    content = 'messages', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, subject, text) VALUES (NEW.id, NEW.subject, NEW.text);
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, subject, text) VALUES ('delete', OLD.id, OLD.subject, OLD.text);
END;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF subject, text ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, subject, text) VALUES ('delete', OLD.id, OLD.subject, OLD.text);
    INSERT INTO messages_fts (rowid, subject, text) VALUES (NEW.id, NEW.subject, NEW.text);
END;

INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
