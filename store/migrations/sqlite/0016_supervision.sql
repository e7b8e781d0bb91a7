-- Supervision (issue 15): answer timers, alerts, presence, round-robin.

-- The answer a client waits for: since when (the oldest unanswered
-- message), which target (first answer or a later one), when it is due,
-- when the assignee is warned (NULL once warned) and whether it is late.
ALTER TABLE conversations ADD COLUMN waiting_since TEXT;
ALTER TABLE conversations ADD COLUMN sla_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN sla_due_at TEXT;
ALTER TABLE conversations ADD COLUMN sla_warn_at TEXT;
ALTER TABLE conversations ADD COLUMN sla_breached INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN first_reply_at TEXT;
CREATE INDEX conversations_sla_warn_idx ON conversations (sla_warn_at) WHERE sla_warn_at IS NOT NULL;
CREATE INDEX conversations_sla_due_idx ON conversations (sla_due_at) WHERE sla_due_at IS NOT NULL AND NOT sla_breached;
CREATE INDEX conversations_assignee_open_idx ON conversations (assignee_id) WHERE status <> 'closed';
CREATE INDEX conversations_waiting_idx ON conversations (channel_id, id) WHERE assignee_id IS NULL AND status IN ('new', 'open');

-- Every missed target, for reports.
CREATE TABLE sla_breaches (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    channel_id      TEXT NOT NULL,
    assignee_id     INTEGER REFERENCES operators (id) ON DELETE SET NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('first', 'next')),
    waiting_since   TEXT NOT NULL,
    due_at          TEXT NOT NULL,
    breached_at     TEXT NOT NULL
);
CREATE INDEX sla_breaches_at_idx ON sla_breaches (breached_at);

-- A task's reminder to its assignee and its alert to supervisors, once each.
ALTER TABLE tasks ADD COLUMN reminded_at TEXT;
ALTER TABLE tasks ADD COLUMN overdue_alerted_at TEXT;

-- Alerts, with who they are for. Supervisors' alerts are also sent out
-- (Telegram, email) once: dispatch_after leases a send to one instance.
CREATE TABLE alerts (
    id                INTEGER PRIMARY KEY,
    kind              TEXT NOT NULL,
    for_whom          TEXT NOT NULL CHECK (for_whom IN ('operator', 'team', 'supervisors')),
    operator_id       INTEGER REFERENCES operators (id) ON DELETE CASCADE,
    conversation_id   INTEGER REFERENCES conversations (id) ON DELETE CASCADE,
    client_id         INTEGER NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    channel_id        TEXT NOT NULL DEFAULT '',
    task_id           INTEGER REFERENCES tasks (id) ON DELETE CASCADE,
    task_title        TEXT NOT NULL DEFAULT '',
    assignee_id       INTEGER REFERENCES operators (id) ON DELETE SET NULL,
    due_at            TEXT NOT NULL,
    late_seconds      INTEGER NOT NULL,
    created_at        TEXT NOT NULL,
    dispatch_state    TEXT NOT NULL DEFAULT 'none' CHECK (dispatch_state IN ('none', 'due', 'sent', 'failed')),
    dispatch_after    TEXT,
    dispatch_attempts INTEGER NOT NULL DEFAULT 0,
    dispatch_error    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alerts_operator_idx ON alerts (operator_id, id);
CREATE INDEX alerts_dispatch_idx ON alerts (dispatch_after) WHERE dispatch_state = 'due';

-- How far each operator has read their alerts.
CREATE TABLE alert_reads (
    operator_id  INTEGER PRIMARY KEY REFERENCES operators (id) ON DELETE CASCADE,
    last_read_id INTEGER NOT NULL
);

-- Operators with a socket open on some instance, refreshed while it stays
-- open; last_assigned_at makes round-robin fair.
CREATE TABLE operator_presence (
    operator_id      INTEGER PRIMARY KEY REFERENCES operators (id) ON DELETE CASCADE,
    seen_at          TEXT,
    last_assigned_at TEXT
);
