-- Calls (issue 13). Every event of one provider call (channel, call id)
-- folds into one "call" message: calls holds the call as folded so far
-- (state: inbox.Call as JSON) and the message it shows in; call_events
-- holds each event's dedupe key, so a redelivered event is a no-op
-- whichever event of the call it is. A call's recording, once downloaded,
-- is an attachment of its message, so message_files (0007) covers it like
-- any attachment: its update trigger fires on UPDATE OF attachments.
CREATE TABLE calls (
    id                 INTEGER PRIMARY KEY,
    channel_id         TEXT NOT NULL,
    call_id            TEXT NOT NULL,
    message_id         INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    state              TEXT NOT NULL, -- JSON, '{}' once its client is erased
    -- recording download: '' none, pending (due at recording_due_at), ready, failed (for good)
    recording_state    TEXT NOT NULL DEFAULT '' CHECK (recording_state IN ('', 'pending', 'ready', 'failed')),
    recording_attempts INTEGER NOT NULL DEFAULT 0,
    recording_due_at   TEXT,
    recording_error    TEXT NOT NULL DEFAULT '',
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    UNIQUE (channel_id, call_id)
);
CREATE INDEX calls_message_idx ON calls (message_id);
CREATE INDEX calls_recording_due_idx ON calls (recording_due_at) WHERE recording_state = 'pending';

CREATE TABLE call_events (
    dedupe_key TEXT PRIMARY KEY,
    call_id    INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL
);
CREATE INDEX call_events_call_idx ON call_events (call_id);

-- Tasks get a kind (DESIGN.md §3: callback, meeting, follow_up), when they
-- were done and, when leadhub closed one by itself, why; a callback task
-- names the missed call it is for.
ALTER TABLE tasks ADD COLUMN kind TEXT NOT NULL DEFAULT 'follow_up' CHECK (kind IN ('callback', 'meeting', 'follow_up'));
ALTER TABLE tasks ADD COLUMN done_at TEXT;
ALTER TABLE tasks ADD COLUMN done_note TEXT NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN call_id INTEGER REFERENCES calls (id) ON DELETE SET NULL;
CREATE INDEX tasks_open_idx ON tasks (client_id, kind) WHERE done = 0;
CREATE INDEX tasks_due_idx ON tasks (due_at) WHERE done = 0;
CREATE INDEX tasks_assignee_idx ON tasks (assignee_id, due_at);
