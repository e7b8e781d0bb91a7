package store

// threadQueries are the statements that put a reply into the conversation
// it answers (inbox.Envelope.Thread).
type threadQueries struct {
	// ThreadConversations lists the open conversations of a channel that
	// hold messages with the given external ids. Parameters: channel, the
	// ids as a JSON array.
	ThreadConversations string
}

func baseThreadQueries() threadQueries {
	return threadQueries{
		ThreadConversations: threadConversations(sqliteSet),
	}
}

func threadConversations(set string) string {
	return `SELECT c.client_id, m.external_id FROM messages m JOIN conversations c ON c.id = m.conversation_id
		WHERE c.channel_id = ? AND c.status <> 'closed' AND m.external_id <> '' AND m.external_id IN (` + set + `)`
}

func (q *threadQueries) postgres() {
	q.ThreadConversations = threadConversations(postgresSet)
}
