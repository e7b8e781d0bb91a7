-- Which messages carry which stored file (/files/<id>/<name>), so that a file
-- is served only to operators who see one of those messages. Triggers keep
-- it in step with every way a message's attachments are written (filing,
-- replies, edits, erasure), so no code path can forget it.
CREATE TABLE message_files (
    file_id    TEXT NOT NULL,
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    PRIMARY KEY (file_id, message_id)
);
CREATE INDEX message_files_message_idx ON message_files (message_id);

-- rest is what follows "/files/" in an attachment's URL: "<id>/<name>".
CREATE TRIGGER message_files_insert AFTER INSERT ON messages
WHEN NEW.attachments LIKE '%/files/%'
BEGIN
    INSERT INTO message_files (file_id, message_id)
    SELECT DISTINCT CASE WHEN instr(rest, '/') > 0 THEN substr(rest, 1, instr(rest, '/') - 1) ELSE rest END, NEW.id
    FROM (SELECT substr(json_extract(a.value, '$.url'), 8) AS rest FROM json_each(NEW.attachments) AS a
          WHERE json_extract(a.value, '$.url') LIKE '/files/%')
    WHERE rest <> ''
    ON CONFLICT DO NOTHING;
END;

CREATE TRIGGER message_files_update AFTER UPDATE OF attachments ON messages
BEGIN
    DELETE FROM message_files WHERE message_id = NEW.id;
    INSERT INTO message_files (file_id, message_id)
    SELECT DISTINCT CASE WHEN instr(rest, '/') > 0 THEN substr(rest, 1, instr(rest, '/') - 1) ELSE rest END, NEW.id
    FROM (SELECT substr(json_extract(a.value, '$.url'), 8) AS rest
          FROM json_each(CASE WHEN NEW.attachments LIKE '%/files/%' THEN NEW.attachments ELSE '[]' END) AS a
          WHERE json_extract(a.value, '$.url') LIKE '/files/%')
    WHERE rest <> ''
    ON CONFLICT DO NOTHING;
END;

INSERT INTO message_files (file_id, message_id)
SELECT DISTINCT CASE WHEN instr(rest, '/') > 0 THEN substr(rest, 1, instr(rest, '/') - 1) ELSE rest END, id
FROM (SELECT m.id, substr(json_extract(a.value, '$.url'), 8) AS rest
      FROM messages m, json_each(m.attachments) AS a
      WHERE m.attachments LIKE '%/files/%' AND json_extract(a.value, '$.url') LIKE '/files/%')
WHERE rest <> ''
ON CONFLICT DO NOTHING;
