package store

import "strconv"

// eventQueries are the statements about events and who they are for.
type eventQueries struct {
	MoveEvents         string
	BlankEvents        string
	LockEvents         string
	InsertEvents       string
	EventsAfter        string
	EventsFor          namedQuery[eventsForParams]
	ConversationPlaces string
	LastEventID        string
}

func baseEventQueries() eventQueries {
	return eventQueries{
		MoveEvents:  `UPDATE events SET client_id = ? WHERE client_id = ?`,
		BlankEvents: `UPDATE events SET data = ? WHERE client_id = ?`,
		InsertEvents: `INSERT INTO events (type, data, audience, conversation_id, client_id, channel_id, assignee_id,
				operator_id, created_at)
			SELECT json_extract(j.value, '$.type'), json_extract(j.value, '$.data'),
				json_extract(j.value, '$.audience'), json_extract(j.value, '$.conversation_id'),
				json_extract(j.value, '$.client_id'), json_extract(j.value, '$.channel_id'),
				json_extract(j.value, '$.assignee_id'), json_extract(j.value, '$.operator_id'),
				json_extract(j.value, '$.created_at')
			FROM json_each(?) AS j
			RETURNING id`,
		EventsAfter: `SELECT ` + eventCols + ` FROM events e WHERE e.id > ? ORDER BY e.id LIMIT ?`,
		EventsFor:   named[eventsForParams](eventsFor(`SELECT j.value FROM json_each(:hidden) AS j`)),
		ConversationPlaces: `SELECT client_id, channel_id, assignee_id FROM conversations
			WHERE client_id IN (` + sqliteSet + `)`,
		LastEventID: `SELECT COALESCE(MAX(id), 0) FROM events`,
	}
}

// postgres replaces the statements PostgreSQL needs written its own way.
func (q *eventQueries) postgres() {
	q.LockEvents = `SELECT pg_advisory_xact_lock(` + strconv.FormatInt(lockKeyEvents, 10) + `)`
	q.InsertEvents = `INSERT INTO events (type, data, audience, conversation_id, client_id, channel_id, assignee_id,
			operator_id, created_at)
		SELECT r.type, r.data, r.audience, r.conversation_id, r.client_id, r.channel_id, r.assignee_id, r.operator_id,
			r.created_at
		FROM jsonb_to_recordset(?::jsonb) AS r(type text, data text, audience text, conversation_id bigint,
			client_id bigint, channel_id text, assignee_id bigint, operator_id bigint, created_at timestamptz)
		RETURNING id`
	q.EventsFor = named[eventsForParams](eventsFor(`SELECT t.k FROM jsonb_array_elements_text(CAST(:hidden AS jsonb)) AS t(k)`))
	q.ConversationPlaces = `SELECT client_id, channel_id, assignee_id FROM conversations
		WHERE client_id IN (` + postgresIDSet + `)`
}

// eventCols are an event's columns: what it says and who it is for.
const eventCols = `e.id, e.type, e.data, e.created_at, e.audience, e.conversation_id, e.client_id, e.channel_id,
	e.assignee_id, e.operator_id`

// eventsFor is a websocket's replay: the events in (after, up_to] its
// operator may see now (inbox.Viewer.Sees, with the conversations and
// cards as they are now). hidden is the dialect's set of the operator's
// hidden channels, read from the JSON array :hidden.
func eventsFor(hidden string) string {
	return `SELECT ` + eventCols + ` FROM events e
		WHERE e.id > :after AND e.id <= :up_to
		AND e.audience <> 'nobody'
		AND (e.audience <> 'self' OR e.operator_id = :operator)
		AND (e.audience <> 'admins' OR :admin = 1)
		AND (e.audience <> 'supervisors' OR :supervisor = 1)
		AND (:sees_all = 1
			OR e.audience IN ('admins', 'supervisors', 'self')
			OR (e.audience = 'conversation' AND EXISTS (
				SELECT 1 FROM conversations c WHERE c.id = e.conversation_id AND ` + visibleTo("c", ":operator", hidden) + `))
			OR (e.audience = 'card' AND EXISTS (
				SELECT 1 FROM conversations c WHERE c.client_id = e.client_id AND ` + visibleTo("c", ":operator", hidden) + `))
			OR (e.audience = 'channel' AND e.channel_id NOT IN (` + hidden + `))
			OR (e.audience = 'operator' AND e.operator_id = :operator))
		ORDER BY e.id
		LIMIT :limit`
}

// eventsForParams are EventsFor's parameters. The flags are 0 or 1.
type eventsForParams struct {
	After      int64  `db:"after"`
	UpTo       int64  `db:"up_to"`
	Admin      int    `db:"admin"`      // admins see admins' events
	Supervisor int    `db:"supervisor"` // supervisors and admins see supervisors' events
	SeesAll    int    `db:"sees_all"`   // the scope sees every conversation and card
	Operator   int64  `db:"operator"`
	Hidden     string `db:"hidden"` // JSON array of channel ids
	Limit      int    `db:"limit"`
}
