package store

// messageQueries are the statements about messages, inbound and outbound, and edits of them.
type messageQueries struct {
	MessagesByDedupeKeys   string
	InsertMessages         string
	MessageByExternalID    string
	InsertEdit             string
	EditMessage            string
	ListMessages           string
	InsertOutboundMessage  namedQuery[replyInsert]
	LatestMessagesOfClient string
	LastMessages           string
	MessageByID            string
	FileVisible            string
	LatestInbound          string
	MoveMessages           string
	AllMessagesOfClient    string
	DedupeKeysOfClient     string
	BlankMessages          string
	CancelQueuedReplies    string
}

func baseMessageQueries() messageQueries {
	return messageQueries{
		MessagesByDedupeKeys: `SELECT dedupe_key, ` + messageCols + ` FROM messages
			WHERE dedupe_key IN (SELECT j.value FROM json_each(?) AS j)`,
		// Parameters: channel, external id, direction.
		MessageByExternalID: `SELECT ` + messageColsM + ` FROM messages m
			JOIN conversations c ON c.id = m.conversation_id
			WHERE c.channel_id = ? AND m.external_id = ? AND m.direction = ?
			ORDER BY m.id LIMIT 1`,
		InsertEdit: `INSERT INTO message_edits (dedupe_key, message_id, created_at) VALUES (?, ?, ?)
			ON CONFLICT (dedupe_key) DO NOTHING`,
		EditMessage: `UPDATE messages SET subject = ?, text = ?, attachments = ?, meta = ? WHERE id = ?`,
		// Every kind of item that files a message (filing_message.go); each
		// row says its direction and delivery (null when not a reply).
		InsertMessages: `INSERT INTO messages
			(conversation_id, direction, kind, subject, text, attachments, meta, external_id, delivery, dedupe_key,
			 created_at)
			SELECT json_extract(j.value, '$.conversation_id'), json_extract(j.value, '$.direction'),
				json_extract(j.value, '$.kind'), json_extract(j.value, '$.subject'), json_extract(j.value, '$.text'),
				json_extract(j.value, '$.attachments'), json_extract(j.value, '$.meta'),
				json_extract(j.value, '$.external_id'), json_extract(j.value, '$.delivery'),
				json_extract(j.value, '$.dedupe_key'), json_extract(j.value, '$.created_at')
			FROM json_each(?) AS j WHERE true
			ON CONFLICT (dedupe_key) DO NOTHING
			RETURNING id, dedupe_key`,
		ListMessages: `SELECT ` + messageCols + ` FROM messages
			WHERE conversation_id = ? AND id > ? ORDER BY id LIMIT ?`,
		// An operator's reply.
		InsertOutboundMessage: named[replyInsert](`INSERT INTO messages
			(conversation_id, direction, kind, subject, text, attachments, meta, author_id, external_id,
			 delivery, error, created_at)
			VALUES (:conversation_id, :direction, :kind, '', :text, :attachments, :meta, :author_id, '', :delivery, '', :at)
			RETURNING ` + messageCols),
		LatestMessagesOfClient: `SELECT ` + messageColsM + ` FROM messages m
			JOIN conversations c ON c.id = m.conversation_id
			WHERE c.client_id = ? ORDER BY m.id DESC LIMIT ?`,
		FileVisible: fileVisible(sqliteSet),
		// The newest message of each conversation in a JSON array of ids,
		// each found through the (conversation_id, id) index.
		LastMessages: `SELECT ` + messageCols + ` FROM messages WHERE id IN (
			SELECT (SELECT MAX(m.id) FROM messages m WHERE m.conversation_id = s.id)
			FROM (SELECT j.value AS id FROM json_each(?) AS j) AS s)`,
		MessageByID: `SELECT ` + messageCols + ` FROM messages WHERE id = ?`,
		// Parameters: conversation, direction (inbound: what a reply answers).
		LatestInbound: `SELECT ` + messageCols + ` FROM messages
			WHERE conversation_id = ? AND direction = ? AND external_id <> ''
			ORDER BY id DESC LIMIT 1`,
		MoveMessages: `UPDATE messages SET conversation_id = ? WHERE conversation_id = ?`,
		AllMessagesOfClient: `SELECT ` + messageColsM + ` FROM messages m
			JOIN conversations c ON c.id = m.conversation_id
			WHERE c.client_id = ? ORDER BY m.id`,
		DedupeKeysOfClient: `SELECT m.dedupe_key FROM messages m JOIN conversations c ON c.id = m.conversation_id
			WHERE c.client_id = ? AND m.dedupe_key IS NOT NULL`,
		BlankMessages: `UPDATE messages SET subject = '', text = '', attachments = '', meta = '', external_id = '',
			error = '', dedupe_key = NULL
			WHERE conversation_id IN (` + ofClient + `)`,
		CancelQueuedReplies: `UPDATE messages SET delivery = 'failed', error = 'client erased'
			WHERE delivery = 'queued' AND conversation_id IN (` + ofClient + `)`,
	}
}

// postgres replaces the statements PostgreSQL needs written its own way.
func (q *messageQueries) postgres() {
	q.FileVisible = fileVisible(postgresSet)
	q.LastMessages = `SELECT ` + messageCols + ` FROM messages WHERE id IN (
		SELECT (SELECT MAX(m.id) FROM messages m WHERE m.conversation_id = s.id)
		FROM (` + postgresIDSet + `) AS s(id))`
	q.MessagesByDedupeKeys = `SELECT dedupe_key, ` + messageCols + ` FROM messages
		WHERE dedupe_key IN (SELECT t.k FROM jsonb_array_elements_text(?::jsonb) AS t(k))`
	q.InsertMessages = `INSERT INTO messages
		(conversation_id, direction, kind, subject, text, attachments, meta, external_id, delivery, dedupe_key,
		 created_at)
		SELECT r.conversation_id, r.direction, r.kind, r.subject, r.text, r.attachments, r.meta, r.external_id,
			r.delivery, r.dedupe_key, r.created_at
		FROM jsonb_to_recordset(?::jsonb) AS r(conversation_id bigint, direction text, kind text, subject text,
			text text, attachments text, meta text, external_id text, delivery text, dedupe_key text,
			created_at timestamptz)
		WHERE true
		ON CONFLICT (dedupe_key) DO NOTHING
		RETURNING id, dedupe_key`
}

// fileVisible counts (0 or 1) the conversations the scope sees that hold a
// message carrying the file. Parameters: the file id, then scopeArgs.
func fileVisible(set string) string {
	return `SELECT count(*) FROM (SELECT 1 FROM message_files f
		JOIN messages m ON m.id = f.message_id
		JOIN conversations c ON c.id = m.conversation_id
		WHERE f.file_id = ? AND (? = 0 OR ` + visibleConv("c", set) + `)
		LIMIT 1) AS v`
}

// replyInsert is an operator's reply as it is first stored.
type replyInsert struct {
	ConversationID int64  `db:"conversation_id"`
	Direction      string `db:"direction"`
	Kind           string `db:"kind"`
	Text           string `db:"text"`
	Attachments    string `db:"attachments"` // "" or a JSON array
	Meta           string `db:"meta"`        // "" or a JSON object
	AuthorID       any    `db:"author_id"`   // nil: sent by a script
	Delivery       string `db:"delivery"`
	At             string `db:"at"`
}
