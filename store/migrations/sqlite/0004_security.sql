-- Operators, roles and security (issue 4): teams, browser sessions, API
-- token scopes and the login lockout.

CREATE TABLE teams (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

CREATE TABLE team_members (
    team_id     INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    operator_id INTEGER NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, operator_id)
);
CREATE INDEX team_members_operator_idx ON team_members (operator_id);

-- A signed-in browser. The cookie carries a random value; only its SHA-256
-- is stored, so a copy of the database signs nobody in.
CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY,
    operator_id  INTEGER NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL UNIQUE,
    csrf_token   TEXT NOT NULL,
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE INDEX sessions_operator_idx ON sessions (operator_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- Tokens made before scopes existed could do everything but admin routes.
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'write' CHECK (scope IN ('read', 'write', 'admin'));

-- Failed logins per key ("account:<email>", "ip:<address>"), counted within
-- a window; too many lock the key until locked_until.
CREATE TABLE login_failures (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    window_start TEXT NOT NULL,
    locked_until TEXT
);

-- The channels of the configuration the hub last started with, so that a
-- change of the file is on record (audit entries "channel.*").
CREATE TABLE channel_config (
    id          TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    team        TEXT NOT NULL DEFAULT '',
    fingerprint TEXT NOT NULL, -- of the settings that are not secrets
    updated_at  TEXT NOT NULL
);

CREATE INDEX audit_log_operator_idx ON audit_log (operator_id, id);
CREATE INDEX audit_log_action_idx ON audit_log (action, id);
