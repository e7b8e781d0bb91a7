-- Reply templates. A personal one has an owner, a team's one a team; one
-- with neither is everyone's.
CREATE TABLE canned_replies (
    id         INTEGER PRIMARY KEY,
    owner_id   INTEGER REFERENCES operators (id) ON DELETE CASCADE,
    team_id    INTEGER REFERENCES teams (id) ON DELETE CASCADE,
    title      TEXT NOT NULL,
    text       TEXT NOT NULL,
    created_by INTEGER REFERENCES operators (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (owner_id IS NULL OR team_id IS NULL)
);
CREATE INDEX canned_replies_owner_idx ON canned_replies (owner_id);
CREATE INDEX canned_replies_team_idx ON canned_replies (team_id);
