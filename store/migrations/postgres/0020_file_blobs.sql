-- Attachments kept in the database (files.storage = "database"), so that
-- every instance of a cluster serves every file. Content-addressed like the
-- local folder: the id is the SHA-256 of the bytes.
CREATE TABLE file_blobs (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    mime       TEXT NOT NULL,
    size       BIGINT NOT NULL,
    data       BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
