package store

// conversationQueries are the statements about conversations.
type conversationQueries struct {
	OpenConversations        string
	InsertConversations      string
	SaveConversations        string
	SetConversationState     string
	LatestClosedConversation string
	ConversationByID         string
	ConversationForUpdate    string
	ListConversations        string
	UpdateConversation       string
	ConversationsOfClient    string
	OpenConversationsOf      string
	SaveConversation         namedQuery[conversationSave]
	MoveConversations        string
	CloseConversationsOf     string
	VisibleConversations     string
}

func baseConversationQueries() conversationQueries {
	return conversationQueries{
		// Pairs are a JSON array of [client_id, channel_id], sorted by the
		// caller; rows come back (and are locked, on PostgreSQL) in that order.
		OpenConversations: `SELECT ` + conversationCols + conversationFrom + `
			WHERE c.status <> 'closed' AND (c.client_id, c.channel_id) IN (
				SELECT json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]') FROM json_each(?) AS j)
			ORDER BY c.client_id, c.channel_id`,
		InsertConversations: `INSERT INTO conversations
			(client_id, channel_id, channel_type, status, unread, last_message_at, created_at)
			SELECT json_extract(j.value, '$.client_id'), json_extract(j.value, '$.channel_id'),
				json_extract(j.value, '$.channel_type'), json_extract(j.value, '$.status'), 0,
				json_extract(j.value, '$.at'), json_extract(j.value, '$.at')
			FROM json_each(?) AS j WHERE true
			ON CONFLICT (client_id, channel_id) WHERE status <> 'closed' DO NOTHING
			RETURNING id, client_id, channel_id`,
		SaveConversations: `UPDATE conversations
			SET unread = json_extract(j.value, '$.unread'), last_message_at = json_extract(j.value, '$.last_message_at')
			FROM json_each(?) AS j
			WHERE conversations.id = json_extract(j.value, '$.id')`,
		SetConversationState: `UPDATE conversations SET unread = ?, last_message_at = ? WHERE id = ?`,
		LatestClosedConversation: `SELECT ` + conversationCols + conversationFrom + `
			WHERE c.client_id = ? AND c.channel_id = ? AND c.status = 'closed' ORDER BY c.id DESC LIMIT 1`,
		ConversationByID:      `SELECT ` + conversationCols + conversationFrom + ` WHERE c.id = ?`,
		ConversationForUpdate: `SELECT ` + conversationCols + conversationFrom + ` WHERE c.id = ?`,
		// Each filter is off when its first parameter is '' or 0. The cursor
		// is (last_message_at, id) of the last row of the previous page.
		ListConversations:  listConversations(sqliteSet),
		UpdateConversation: `UPDATE conversations SET status = ?, assignee_id = ? WHERE id = ?`,
		ConversationsOfClient: `SELECT ` + conversationCols + conversationFrom + `
			WHERE c.client_id = ? ORDER BY c.last_message_at DESC, c.id DESC`,
		OpenConversationsOf: `SELECT ` + conversationCols + conversationFrom + `
			WHERE c.client_id = ? AND c.status <> 'closed' ORDER BY c.id`,
		SaveConversation: named[conversationSave](`UPDATE conversations SET status = :status, assignee_id = :assignee_id,
			unread = :unread, last_message_at = :last_message_at
			WHERE id = :id`),
		MoveConversations:    `UPDATE conversations SET client_id = ? WHERE client_id = ?`,
		CloseConversationsOf: `UPDATE conversations SET status = 'closed', unread = 0 WHERE client_id = ? AND status <> 'closed'`,
		VisibleConversations: visibleConversations(sqliteSet),
	}
}

// postgres replaces the statements PostgreSQL needs written its own way.
func (q *conversationQueries) postgres() {
	q.OpenConversations = `SELECT ` + conversationCols + conversationFrom + `
		WHERE c.status <> 'closed' AND (c.client_id, c.channel_id) IN (
			SELECT (t.j ->> 0)::bigint, t.j ->> 1 FROM jsonb_array_elements(?::jsonb) AS t(j))
		ORDER BY c.client_id, c.channel_id
		FOR UPDATE OF c`
	q.InsertConversations = `INSERT INTO conversations
		(client_id, channel_id, channel_type, status, unread, last_message_at, created_at)
		SELECT r.client_id, r.channel_id, r.channel_type, r.status, 0, r.at, r.at
		FROM jsonb_to_recordset(?::jsonb) AS r(client_id bigint, channel_id text, channel_type text, status text,
			at timestamptz)
		WHERE true
		ON CONFLICT (client_id, channel_id) WHERE status <> 'closed' DO NOTHING
		RETURNING id, client_id, channel_id`
	q.SaveConversations = `UPDATE conversations AS c SET unread = r.unread, last_message_at = r.last_message_at
		FROM jsonb_to_recordset(?::jsonb) AS r(id bigint, unread int, last_message_at timestamptz)
		WHERE c.id = r.id`
	q.ConversationForUpdate += ` FOR UPDATE OF c`
	q.ListConversations = listConversations(postgresSet)
	q.OpenConversationsOf += ` FOR UPDATE OF c`
	q.VisibleConversations = `SELECT c.id FROM conversations c WHERE c.id IN (` + postgresIDSet + `)
		AND ` + visibleConv("c", postgresSet)
}

// listConversations is the inbox. Each filter is off when its first
// parameter is ” or 0; the scope filter (restricted flag, operator, hidden
// channels) is off for admins and supervisors. The cursor is
// (last_message_at, id) of the last row of the previous page.
func listConversations(set string) string {
	return `SELECT ` + conversationCols + conversationFrom + `
			WHERE (? = '' OR c.status = ?)
			AND (? = '' OR c.channel_id = ?)
			AND (? = 0 OR c.assignee_id = ?)
			AND (? = 0 OR c.assignee_id IS NULL)
			AND (? = 0 OR ` + visibleConv("c", set) + `)
			AND (? = '' OR cl.name_lower LIKE ? ESCAPE '\' OR EXISTS (
				SELECT 1 FROM identities i WHERE i.client_id = c.client_id AND lower(i.value) LIKE ? ESCAPE '\'))
			AND (? = 0 OR c.last_message_at < ? OR (c.last_message_at = ? AND c.id < ?))
			ORDER BY c.last_message_at DESC, c.id DESC
			LIMIT ?`
}

// visibleConversations keeps the ids (a JSON array, the first parameter)
// of the conversations a restricted operator sees.
func visibleConversations(set string) string {
	return `SELECT c.id FROM conversations c WHERE c.id IN (` + set + `)
		AND ` + visibleConv("c", set)
}

// conversationSave is what SaveConversation writes of a conversation.
type conversationSave struct {
	ID            int64  `db:"id"`
	Status        string `db:"status"`
	AssigneeID    any    `db:"assignee_id"` // nil: nobody's
	Unread        int    `db:"unread"`
	LastMessageAt string `db:"last_message_at"`
}
