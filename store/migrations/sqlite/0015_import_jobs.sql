-- CSV imports run in the background; the page follows their progress here
-- (from whichever instance it asks).
CREATE TABLE import_jobs (
    id           INTEGER PRIMARY KEY,
    operator_id  INTEGER REFERENCES operators (id) ON DELETE SET NULL,
    state        TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    total        INTEGER NOT NULL DEFAULT 0,
    done         INTEGER NOT NULL DEFAULT 0,
    imported     INTEGER NOT NULL DEFAULT 0,
    merged       INTEGER NOT NULL DEFAULT 0,
    rejected     INTEGER NOT NULL DEFAULT 0,
    rejected_csv TEXT NOT NULL DEFAULT '',
    error        TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL, -- the last sign of life: a stale running job is dead
    finished_at  TEXT
);
