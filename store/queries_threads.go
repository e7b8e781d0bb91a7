package store

// threadQueries are the statements that put a reply into the conversation
// it answers (inbox.Envelope.Thread).
type threadQueries struct {
	// ThreadConversations lists the conversations of a channel that hold
	// messages with the given external ids. Parameters: channel, the ids
	// as a JSON array.
	ThreadConversations string
	// ReopenConversation opens a closed conversation again (a reply to
	// it); the unique index of open conversations refuses a second one.
	ReopenConversation string
}

func baseThreadQueries() threadQueries {
	return threadQueries{
		ThreadConversations: threadConversations(sqliteSet),
		ReopenConversation:  `UPDATE conversations SET status = 'open' WHERE id = ? AND status = 'closed'`,
	}
}

func threadConversations(set string) string {
	return `SELECT c.id, c.client_id, c.status, m.external_id FROM messages m JOIN conversations c ON c.id = m.conversation_id
		WHERE c.channel_id = ? AND m.external_id <> '' AND m.external_id IN (` + set + `)`
}

func (q *threadQueries) postgres() {
	q.ThreadConversations = threadConversations(postgresSet)
}
