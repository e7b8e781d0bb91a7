package store

// searchQueries are the statements of the full-text search over messages.
type searchQueries struct {
	// SearchMessages takes the dialect's query text (see ftsQuery), then
	// the filters, then the limit; newest first.
	SearchMessages     listStatement
	ConversationsByIDs string
}

func baseSearchQueries() searchQueries {
	return searchQueries{
		SearchMessages: list(`SELECT `+messageColsM+` FROM messages_fts f
				JOIN messages m ON m.id = f.rowid
				JOIN conversations c ON c.id = m.conversation_id
			WHERE messages_fts MATCH ?`,
			`ORDER BY m.id DESC LIMIT ?`),
		ConversationsByIDs: `SELECT ` + conversationCols + conversationFrom + `
			WHERE c.id IN (` + sqliteSet + `)`,
	}
}

func (q *searchQueries) postgres() {
	q.SearchMessages = list(`SELECT `+messageColsM+` FROM messages m
			JOIN conversations c ON c.id = m.conversation_id
		WHERE m.search @@ websearch_to_tsquery('russian', ?)`,
		`ORDER BY m.id DESC LIMIT ?`)
	q.ConversationsByIDs = `SELECT ` + conversationCols + conversationFrom + `
		WHERE c.id IN (` + postgresIDSet + `)`
}
