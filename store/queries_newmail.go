package store

// newMailQueries are the statements of an operator starting a conversation
// (a new mail to an address on a card).
type newMailQueries struct {
	// InsertStartedMessage stores the first, queued message of a
	// conversation an operator starts: unlike a reply it has a subject and
	// meta (the address it goes to).
	InsertStartedMessage namedQuery[startedInsert]
}

func baseNewMailQueries() newMailQueries {
	return newMailQueries{
		InsertStartedMessage: named[startedInsert](`INSERT INTO messages
			(conversation_id, direction, kind, subject, text, attachments, meta, author_id, external_id,
			 delivery, error, created_at)
			VALUES (:conversation_id, 'out', :kind, :subject, :text, '', :meta, :author_id, '', 'queued', '', :at)
			RETURNING ` + messageCols),
	}
}

type startedInsert struct {
	ConversationID int64  `db:"conversation_id"`
	Kind           string `db:"kind"`
	Subject        string `db:"subject"`
	Text           string `db:"text"`
	Meta           string `db:"meta"`
	AuthorID       any    `db:"author_id"` // nil: started by a script
	At             string `db:"at"`
}
