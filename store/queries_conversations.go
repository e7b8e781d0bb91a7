package store

// conversationQueries are the statements about conversations.
type conversationQueries struct {
	OpenConversations        string
	InsertConversations      string
	SaveConversations        string
	SaveReply                string
	SaveTimer                string
	LatestClosedConversation string
	ConversationByID         string
	ConversationForUpdate    string
	ListConversations        listStatement
	CountConversations       listStatement
	UpdateConversation       string
	ConversationsOfClient    string
	OpenConversationsOf      string
	SaveConversation         namedQuery[conversationSave]
	MoveConversations        string
	CloseConversationsOf     string
	VisibleConversations     string

	// visible is the condition under which a restricted operator sees the
	// conversation c (visibleConv), for building lists.
	visible string
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
			(client_id, channel_id, channel_type, status, first_status, unread, last_message_at, created_at)
			SELECT json_extract(j.value, '$.client_id'), json_extract(j.value, '$.channel_id'),
				json_extract(j.value, '$.channel_type'), json_extract(j.value, '$.status'), json_extract(j.value, '$.status'), 0,
				json_extract(j.value, '$.at'), json_extract(j.value, '$.at')
			FROM json_each(?) AS j WHERE true
			ON CONFLICT (client_id, channel_id) WHERE status <> 'closed' DO NOTHING
			RETURNING id, client_id, channel_id`,
		SaveConversations: `UPDATE conversations
			SET unread = json_extract(j.value, '$.unread'), last_message_at = json_extract(j.value, '$.last_message_at'),
				status = json_extract(j.value, '$.status'),
				waiting_since = json_extract(j.value, '$.waiting_since'), sla_kind = json_extract(j.value, '$.sla_kind'),
				sla_due_at = json_extract(j.value, '$.sla_due_at'), sla_warn_at = json_extract(j.value, '$.sla_warn_at'),
				sla_breached = json_extract(j.value, '$.sla_breached'), first_reply_at = json_extract(j.value, '$.first_reply_at')
			FROM json_each(?) AS j
			WHERE conversations.id = json_extract(j.value, '$.id')`,
		SaveTimer: `UPDATE conversations SET waiting_since = ?, sla_kind = ?, sla_due_at = ?, sla_warn_at = ?,
			sla_breached = ?, first_reply_at = ? WHERE id = ?`,
		// An operator's reply: nothing unread, the latest activity, the
		// timer stopped, the first reply and who wrote it kept.
		SaveReply: `UPDATE conversations SET unread = 0, last_message_at = ?, waiting_since = ?, sla_kind = ?,
			sla_due_at = ?, sla_warn_at = ?, sla_breached = ?, first_reply_at = ?,
			first_reply_by = COALESCE(first_reply_by, ?) WHERE id = ?`,
		LatestClosedConversation: `SELECT ` + conversationCols + conversationFrom + `
			WHERE c.client_id = ? AND c.channel_id = ? AND c.status = 'closed' ORDER BY c.id DESC LIMIT 1`,
		ConversationByID:      `SELECT ` + conversationCols + conversationFrom + ` WHERE c.id = ?`,
		ConversationForUpdate: `SELECT ` + conversationCols + conversationFrom + ` WHERE c.id = ?`,
		// Each filter is off when its first parameter is '' or 0. The cursor
		// is (last_message_at, id) of the last row of the previous page.
		// The inbox, newest activity first (listConversations adds the
		// filters).
		ListConversations: list(`SELECT `+conversationCols+conversationFrom+` WHERE true`,
			`ORDER BY c.last_message_at DESC, c.id DESC LIMIT ?`),
		// Parameters: the operator counted as "mine". Closed conversations
		// are not counted: they are most of a base and nobody's work.
		CountConversations: list(`SELECT
				COALESCE(SUM(CASE WHEN c.status = 'new' THEN 1 ELSE 0 END), 0) AS new,
				COALESCE(SUM(CASE WHEN c.status = 'open' THEN 1 ELSE 0 END), 0) AS open,
				COALESCE(SUM(CASE WHEN c.status = 'pending' THEN 1 ELSE 0 END), 0) AS pending,
				COALESCE(SUM(CASE WHEN c.assignee_id = ? THEN 1 ELSE 0 END), 0) AS mine,
				COALESCE(SUM(CASE WHEN c.assignee_id IS NULL THEN 1 ELSE 0 END), 0) AS unassigned
			FROM conversations c WHERE c.status <> 'closed'`, ``),
		UpdateConversation: `UPDATE conversations SET status = ?, assignee_id = ? WHERE id = ?`,
		ConversationsOfClient: `SELECT ` + conversationCols + conversationFrom + `
			WHERE c.client_id = ? ORDER BY c.last_message_at DESC, c.id DESC`,
		OpenConversationsOf: `SELECT ` + conversationCols + conversationFrom + `
			WHERE c.client_id = ? AND c.status <> 'closed' ORDER BY c.id`,
		SaveConversation: named[conversationSave](`UPDATE conversations SET status = :status, assignee_id = :assignee_id,
			unread = :unread, last_message_at = :last_message_at
			WHERE id = :id`),
		MoveConversations: `UPDATE conversations SET client_id = ? WHERE client_id = ?`,
		CloseConversationsOf: `UPDATE conversations SET status = 'closed', unread = 0, ` + timerStopped + `
			WHERE client_id = ? AND status <> 'closed'`,
		VisibleConversations: visibleConversations(sqliteSet),
		visible:              visibleConv("c", sqliteSet),
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
		(client_id, channel_id, channel_type, status, first_status, unread, last_message_at, created_at)
		SELECT r.client_id, r.channel_id, r.channel_type, r.status, r.status, 0, r.at, r.at
		FROM jsonb_to_recordset(?::jsonb) AS r(client_id bigint, channel_id text, channel_type text, status text,
			at timestamptz)
		WHERE true
		ON CONFLICT (client_id, channel_id) WHERE status <> 'closed' DO NOTHING
		RETURNING id, client_id, channel_id`
	q.SaveConversations = `UPDATE conversations AS c SET unread = r.unread, last_message_at = r.last_message_at,
			status = r.status, waiting_since = r.waiting_since, sla_kind = r.sla_kind, sla_due_at = r.sla_due_at,
			sla_warn_at = r.sla_warn_at, sla_breached = r.sla_breached, first_reply_at = r.first_reply_at
		FROM jsonb_to_recordset(?::jsonb) AS r(id bigint, unread int, last_message_at timestamptz, status text,
			waiting_since timestamptz, sla_kind text, sla_due_at timestamptz, sla_warn_at timestamptz,
			sla_breached boolean, first_reply_at timestamptz)
		WHERE c.id = r.id`
	q.ConversationForUpdate += ` FOR UPDATE OF c`
	q.visible = visibleConv("c", postgresSet)
	q.OpenConversationsOf += ` FOR UPDATE OF c`
	q.VisibleConversations = `SELECT c.id FROM conversations c WHERE c.id IN (` + postgresIDSet + `)
		AND ` + visibleConv("c", postgresSet)
}

// timerStopped sets the answer timer's columns of a conversation nobody
// waits on any more.
const timerStopped = `waiting_since = NULL, sla_kind = '', sla_due_at = NULL, sla_warn_at = NULL, sla_breached = FALSE`

// conversationList is what the inbox is filtered by; a zero field is off.
type conversationList struct {
	Status     string
	ChannelID  string
	AssigneeID int64
	Unassigned bool
	// Restricted lists only what OperatorID sees: what is theirs, or
	// nobody's outside the Hidden channels (a JSON array).
	Restricted bool
	OperatorID int64
	Hidden     string
	// Like is a LIKE pattern matched against the client's name and
	// identity values.
	Like string
	// After is the (last_message_at, id) of the previous page's last row.
	After activityCursor
	Limit int
}

// listConversations builds ListConversations for f.
func (q *conversationQueries) listConversations(f conversationList) (string, []any) {
	l := q.ListConversations.start()
	if f.Status != "" {
		l.and(`c.status = ?`, f.Status)
	}
	if f.ChannelID != "" {
		l.and(`c.channel_id = ?`, f.ChannelID)
	}
	if f.AssigneeID != 0 {
		l.and(`c.assignee_id = ?`, f.AssigneeID)
	}
	if f.Unassigned {
		l.and(`c.assignee_id IS NULL`)
	}
	if f.Restricted {
		l.and(q.visible, f.OperatorID, f.Hidden)
	}
	if f.Like != "" {
		l.and(`cl.name_lower LIKE ? ESCAPE '\' OR EXISTS (
			SELECT 1 FROM identities i WHERE i.client_id = c.client_id AND lower(i.value) LIKE ? ESCAPE '\')`,
			f.Like, f.Like)
	}
	if f.After.id != 0 {
		at := dbTime(f.After.at)
		l.and(`c.last_message_at < ? OR (c.last_message_at = ? AND c.id < ?)`, at, at, f.After.id)
	}
	return l.end(f.Limit)
}

// countConversations builds CountConversations for f (its Status, Like,
// After and Limit are not used).
func (q *conversationQueries) countConversations(f conversationList) (string, []any) {
	l := q.CountConversations.start()
	l.args = append(l.args, f.OperatorID)
	if f.ChannelID != "" {
		l.and(`c.channel_id = ?`, f.ChannelID)
	}
	if f.Restricted {
		l.and(q.visible, f.OperatorID, f.Hidden)
	}
	return l.end()
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
