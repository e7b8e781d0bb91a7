package store

// callQueries are the statements about calls (one row per provider call,
// folding its events; filing_call.go) and about tasks as a list of their own
// (tasks.go).
type callQueries struct {
	CallEventKeys   string
	CallByProvider  string
	InsertCall      namedQuery[callInsert]
	UpdateCall      namedQuery[callUpdate]
	InsertCallEvent string
	BlankCallsOf    string
	ActiveOperator  string
	CloseCallbacks  namedQuery[callbackClose]
	TaskByID        string
	TaskForUpdate   string
	UpdateTask      namedQuery[taskUpdate]
	DeleteTask      string
	ListTasks       listStatement
	ClaimRecordings namedQuery[recordingClaim]
	CallForUpdate   string
	BumpUnread      string
	SetRecording    namedQuery[recordingUpdate]
	// visibleTask is the condition under which a restricted operator sees
	// task t: they see one of its card's conversations.
	visibleTask string
}

// taskCols are a task's columns, the table aliased t.
const taskCols = `t.id, t.client_id, t.title, t.due_at, t.done, t.assignee_id, t.created_by, t.created_at,
	t.kind, t.done_at, t.done_note`

func baseCallQueries() callQueries {
	return callQueries{
		CallEventKeys: `SELECT dedupe_key FROM call_events WHERE dedupe_key IN (` + sqliteSet + `)`,
		// The call's message may be in another conversation than the one
		// filing chose for the event (the first was closed meanwhile): the
		// call stays where it began.
		CallByProvider: `SELECT c.id, c.message_id, c.state, m.conversation_id FROM calls c
			JOIN messages m ON m.id = c.message_id
			WHERE c.channel_id = ? AND c.call_id = ?`,
		InsertCall: named[callInsert](`INSERT INTO calls (channel_id, call_id, message_id, state, recording_state,
				recording_due_at, created_at, updated_at)
			VALUES (:channel_id, :call_id, :message_id, :state, :recording_state, :recording_due_at, :at, :at)
			RETURNING id`),
		// A recording named for the first time becomes pending; one
		// pending, ready or failed already stays as it is.
		UpdateCall: named[callUpdate](`UPDATE calls SET state = :state, updated_at = :at,
				recording_state = CASE WHEN recording_state = '' THEN :recording_state ELSE recording_state END,
				recording_due_at = CASE WHEN recording_state = '' THEN :recording_due_at ELSE recording_due_at END
			WHERE id = :id`),
		InsertCallEvent: `INSERT INTO call_events (dedupe_key, call_id, created_at) VALUES (?, ?, ?)
			ON CONFLICT (dedupe_key) DO NOTHING RETURNING dedupe_key`,
		BlankCallsOf: `UPDATE calls SET state = '{}', recording_state = CASE WHEN recording_state = 'pending'
				THEN 'failed' ELSE recording_state END
			WHERE message_id IN (SELECT m.id FROM messages m JOIN conversations c ON c.id = m.conversation_id
				WHERE c.client_id = ?)`,
		ActiveOperator: `SELECT id FROM operators WHERE email = ? AND NOT disabled`,
		CloseCallbacks: named[callbackClose](`UPDATE tasks SET done = TRUE, done_at = :at, done_note = :note
			WHERE client_id = :client_id AND kind = 'callback' AND NOT done
				AND (call_id IS NULL OR call_id <> :call_id)
			RETURNING id, client_id, title, due_at, done, assignee_id, created_by, created_at, kind, done_at, done_note`),
		TaskByID:      `SELECT ` + taskCols + ` FROM tasks t WHERE t.id = ?`,
		TaskForUpdate: `SELECT ` + taskCols + ` FROM tasks t WHERE t.id = ?`,
		UpdateTask: named[taskUpdate](`UPDATE tasks SET title = :title, due_at = :due_at, assignee_id = :assignee_id,
				done = :done, done_at = :done_at, done_note = :done_note
			WHERE id = :id`),
		DeleteTask: `DELETE FROM tasks WHERE id = ?`,
		ListTasks: list(`SELECT `+taskCols+` FROM tasks t JOIN clients cl ON cl.id = t.client_id
			WHERE cl.merged_into IS NULL`,
			`ORDER BY t.id DESC LIMIT ?`),
		visibleTask: `t.client_id IN (SELECT v.client_id FROM conversations v WHERE ` + visibleConv("v", sqliteSet) + `)`,
		// A claimed recording is due again when its lease ends, so a
		// fetcher that dies leaves it to the next run.
		ClaimRecordings: named[recordingClaim](`WITH due AS (
				SELECT id FROM calls WHERE recording_state = 'pending' AND recording_due_at <= :now
				ORDER BY recording_due_at, id LIMIT :limit)
			UPDATE calls SET recording_due_at = :lease_until, recording_attempts = recording_attempts + 1
			WHERE id IN (SELECT id FROM due)
			RETURNING id, channel_id, state, recording_attempts`),
		CallForUpdate: `SELECT c.id, c.message_id, c.state, m.conversation_id FROM calls c
			JOIN messages m ON m.id = c.message_id WHERE c.id = ?`,
		// A call that turned missed needs action in its conversation.
		BumpUnread: `UPDATE conversations SET unread = unread + 1, last_message_at = ? WHERE id = ?`,
		SetRecording: named[recordingUpdate](`UPDATE calls SET recording_state = :state, recording_due_at = :due_at,
				recording_error = :error, updated_at = :at
			WHERE id = :id`),
	}
}

func (q *callQueries) postgres() {
	q.CallEventKeys = `SELECT dedupe_key FROM call_events WHERE dedupe_key IN (` + postgresSet + `)`
	// Events of one call filed by concurrent batches take turns on its row.
	q.CallByProvider = `SELECT c.id, c.message_id, c.state, m.conversation_id FROM calls c
		JOIN messages m ON m.id = c.message_id
		WHERE c.channel_id = ? AND c.call_id = ? FOR UPDATE OF c`
	q.TaskForUpdate = `SELECT ` + taskCols + ` FROM tasks t WHERE t.id = ? FOR UPDATE`
	q.ClaimRecordings = named[recordingClaim](`WITH due AS (
			SELECT id FROM calls WHERE recording_state = 'pending' AND recording_due_at <= :now
			ORDER BY recording_due_at, id LIMIT :limit FOR UPDATE SKIP LOCKED)
		UPDATE calls SET recording_due_at = :lease_until, recording_attempts = recording_attempts + 1
		WHERE id IN (SELECT id FROM due)
		RETURNING id, channel_id, state, recording_attempts`)
	q.CallForUpdate = `SELECT c.id, c.message_id, c.state, m.conversation_id FROM calls c
		JOIN messages m ON m.id = c.message_id WHERE c.id = ? FOR UPDATE OF c`
	q.visibleTask = `t.client_id IN (SELECT v.client_id FROM conversations v WHERE ` + visibleConv("v", postgresSet) + `)`
}

// callInsert is a new call.
type callInsert struct {
	ChannelID      string `db:"channel_id"`
	CallID         string `db:"call_id"`
	MessageID      int64  `db:"message_id"`
	State          string `db:"state"`
	RecordingState string `db:"recording_state"`
	RecordingDueAt any    `db:"recording_due_at"`
	At             string `db:"at"`
}

// callUpdate is a call an event folded into.
type callUpdate struct {
	ID             int64  `db:"id"`
	State          string `db:"state"`
	RecordingState string `db:"recording_state"`
	RecordingDueAt any    `db:"recording_due_at"`
	At             string `db:"at"`
}

// callbackClose closes a card's open callback tasks but the call's own.
type callbackClose struct {
	ClientID int64  `db:"client_id"`
	CallID   int64  `db:"call_id"`
	Note     string `db:"note"`
	At       string `db:"at"`
}

// taskUpdate is a task's changeable columns; nullable ones take nil.
type taskUpdate struct {
	ID         int64  `db:"id"`
	Title      string `db:"title"`
	DueAt      any    `db:"due_at"`
	AssigneeID any    `db:"assignee_id"`
	Done       bool   `db:"done"`
	DoneAt     any    `db:"done_at"`
	DoneNote   string `db:"done_note"`
}

// recordingClaim claims due recordings.
type recordingClaim struct {
	Now        string `db:"now"`
	Limit      int    `db:"limit"`
	LeaseUntil string `db:"lease_until"`
}

// recordingUpdate is a recording's new state.
type recordingUpdate struct {
	ID    int64  `db:"id"`
	State string `db:"state"`
	DueAt any    `db:"due_at"`
	Error string `db:"error"`
	At    string `db:"at"`
}
