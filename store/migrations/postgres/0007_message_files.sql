-- Which messages carry which stored file (/files/<id>/<name>), so that a file
-- is served only to operators who see one of those messages. A trigger keeps
-- it in step with every way a message's attachments are written (filing,
-- replies, edits, erasure), so no code path can forget it.
CREATE TABLE message_files (
    file_id    TEXT NOT NULL,
    message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    PRIMARY KEY (file_id, message_id)
);
CREATE INDEX message_files_message_idx ON message_files (message_id);

CREATE FUNCTION message_files_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.attachments IS NOT DISTINCT FROM OLD.attachments THEN
            RETURN NULL;
        END IF;
        DELETE FROM message_files WHERE message_id = NEW.id;
    END IF;
    IF NEW.attachments LIKE '%/files/%' THEN
        INSERT INTO message_files (file_id, message_id)
        SELECT DISTINCT split_part(substr(a ->> 'url', 8), '/', 1), NEW.id
        FROM jsonb_array_elements(NEW.attachments::jsonb) AS a
        WHERE a ->> 'url' LIKE '/files/_%'
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER message_files_sync AFTER INSERT OR UPDATE OF attachments ON messages
    FOR EACH ROW EXECUTE FUNCTION message_files_sync();

INSERT INTO message_files (file_id, message_id)
SELECT DISTINCT split_part(substr(a ->> 'url', 8), '/', 1), m.id
FROM messages m, jsonb_array_elements(m.attachments::jsonb) AS a
WHERE m.attachments LIKE '%/files/%' AND a ->> 'url' LIKE '/files/_%'
ON CONFLICT DO NOTHING;
