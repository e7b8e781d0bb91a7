package store

// readQueries are the statements about what each operator has read.
type readQueries struct {
	MarkRead   namedQuery[readMark]
	MarkUnread namedQuery[readMark]
	ReadsOf    string
}

func baseReadQueries() readQueries {
	return readQueries{
		// Read up to the conversation's newest message, whatever came
		// before; a mark "unread" is lifted.
		MarkRead: named[readMark](`INSERT INTO conversation_reads
				(conversation_id, operator_id, read_upto, marked_unread, read_at)
			VALUES (:conversation_id, :operator_id,
				(SELECT COALESCE(MAX(id), 0) FROM messages WHERE conversation_id = :conversation_id), :marked, :at)
			ON CONFLICT (operator_id, conversation_id) DO UPDATE SET read_upto = excluded.read_upto,
				marked_unread = excluded.marked_unread, read_at = excluded.read_at`),
		// Marked unread, what was read stays read: a new message still
		// counts on top of the mark.
		MarkUnread: named[readMark](`INSERT INTO conversation_reads
				(conversation_id, operator_id, read_upto, marked_unread, read_at)
			VALUES (:conversation_id, :operator_id,
				(SELECT COALESCE(MAX(id), 0) FROM messages WHERE conversation_id = :conversation_id), :marked, :at)
			ON CONFLICT (operator_id, conversation_id) DO UPDATE SET marked_unread = excluded.marked_unread,
				read_at = excluded.read_at`),
		// Parameters: the operator, then a JSON array of conversation ids.
		// after counts the client's messages past what the operator read,
		// through the (conversation_id, id) index.
		ReadsOf: readsOf(sqliteSet),
	}
}

func (q *readQueries) postgres() {
	q.ReadsOf = readsOf(postgresIDSet)
}

func readsOf(set string) string {
	return `SELECT r.conversation_id, r.marked_unread,
			(SELECT COUNT(*) FROM messages m WHERE m.conversation_id = r.conversation_id
				AND m.direction = 'in' AND m.id > r.read_upto) AS after
		FROM conversation_reads r
		WHERE r.operator_id = ? AND r.conversation_id IN (` + set + `)`
}

// readMark is one operator's mark on one conversation.
type readMark struct {
	ConversationID int64  `db:"conversation_id"`
	OperatorID     int64  `db:"operator_id"`
	Marked         bool   `db:"marked"`
	At             string `db:"at"`
}
