package store

import (
	"reflect"
	"strconv"
)

// queries is every statement the store runs, in one place so that a test can
// prepare each of them on both dialects. baseQueries is written for SQLite
// and, wherever the two agree, for PostgreSQL too: '?' placeholders (rebound
// to $n for pgx), explicit column lists, ON CONFLICT, RETURNING. Where the
// dialects differ, postgresOverrides replaces the text. An empty text means
// "nothing to run on this dialect" (the PostgreSQL advisory locks on SQLite).
//
// Lists of values travel as one JSON array parameter (json_each on SQLite,
// jsonb_array_elements / jsonb_to_recordset on PostgreSQL), so that batched
// look-ups and multi-row inserts are still single, preparable statements.
type queries struct {
	// migrations
	LockMigrations        string
	CreateMigrationsTable string
	MigrationApplied      string
	InsertMigration       string

	// filing
	LockPersons          string
	MessagesByDedupeKeys string
	IdentitiesByKeys     string
	InsertClients        string
	ClaimIdentities      string
	MoveIdentities       string
	DeleteClient         string
	FillClientName       string
	OpenConversations    string
	InsertConversations  string
	InsertInboundBatch   string
	SaveConversations    string
	SetConversationState string

	// conversations and messages
	ConversationByID        string
	ConversationForUpdate   string
	ListConversations       string
	UpdateConversation      string
	OperatorExists          string
	ListMessages            string
	InsertOutboundMessage   string
	InsertOutbox            string
	ClientByID              string
	ListClients             string
	IdentitiesOfClient      string
	IdentitiesOfClients     string
	ConversationsOfClient   string
	LatestMessagesOfClient  string
	MessageByID             string
	LatestInboundExternalID string

	// events
	LockEvents   string
	InsertEvents string
	EventsAfter  string

	// operators and tokens
	InsertOperator  string
	OperatorByEmail string
	InsertToken     string
	OperatorByToken string
	TouchToken      string

	// outbox
	ClaimOutbound string
	MarkSent      string
	MarkFailed    string
	DeleteOutbox  string
	RetryOutbox   string
}

// Column lists shared by several queries. Conversations are always read
// joined with their client (alias cl) for client_name.
const (
	conversationCols = `c.id, c.client_id, cl.name AS client_name, c.channel_id, c.channel_type, c.status,
	c.assignee_id, c.unread, c.last_message_at, c.created_at`
	conversationFrom = ` FROM conversations c JOIN clients cl ON cl.id = c.client_id`
	messageCols      = `id, conversation_id, direction, kind, subject, text, attachments, meta, author_id,
	external_id, delivery, error, created_at`
	messageColsM = `m.id, m.conversation_id, m.direction, m.kind, m.subject, m.text, m.attachments, m.meta,
	m.author_id, m.external_id, m.delivery, m.error, m.created_at`
	operatorCols = `id, email, name, role, disabled, created_at`
)

func baseQueries() queries {
	return queries{
		CreateMigrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
			name       TEXT PRIMARY KEY,
			applied_at TEXT NOT NULL)`,
		MigrationApplied: `SELECT count(*) FROM schema_migrations WHERE name = ?`,
		InsertMigration:  `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`,

		MessagesByDedupeKeys: `SELECT dedupe_key, ` + messageCols + ` FROM messages
			WHERE dedupe_key IN (SELECT j.value FROM json_each(?) AS j)`,
		// Keys are a JSON array of [kind, value] pairs.
		IdentitiesByKeys: `SELECT i.client_id, i.kind, i.value, cl.name AS client_name
			FROM identities i JOIN clients cl ON cl.id = i.client_id
			WHERE (i.kind, i.value) IN (
				SELECT json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]') FROM json_each(?) AS j)`,
		// Multi-row inserts from a JSON array. "WHERE true" keeps SQLite from
		// reading ON CONFLICT as the ON of a join.
		InsertClients: `INSERT INTO clients (name, name_lower, created_at, updated_at)
			SELECT json_extract(j.value, '$.name'), json_extract(j.value, '$.name_lower'),
				json_extract(j.value, '$.at'), json_extract(j.value, '$.at')
			FROM json_each(?) AS j
			RETURNING id`,
		ClaimIdentities: `INSERT INTO identities (client_id, kind, value, created_at)
			SELECT json_extract(j.value, '$.client_id'), json_extract(j.value, '$.kind'),
				json_extract(j.value, '$.value'), json_extract(j.value, '$.at')
			FROM json_each(?) AS j WHERE true
			ON CONFLICT (kind, value) DO NOTHING
			RETURNING kind, value`,
		MoveIdentities: `UPDATE identities SET client_id = ? WHERE client_id = ?`,
		DeleteClient:   `DELETE FROM clients WHERE id = ?`,
		FillClientName: `UPDATE clients SET name = ?, name_lower = ?, updated_at = ?
			WHERE id = ? AND name = ''`,
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
		InsertInboundBatch: `INSERT INTO messages
			(conversation_id, direction, kind, subject, text, attachments, meta, external_id, dedupe_key, created_at)
			SELECT json_extract(j.value, '$.conversation_id'), 'in', json_extract(j.value, '$.kind'),
				json_extract(j.value, '$.subject'), json_extract(j.value, '$.text'),
				json_extract(j.value, '$.attachments'), json_extract(j.value, '$.meta'),
				json_extract(j.value, '$.external_id'), json_extract(j.value, '$.dedupe_key'),
				json_extract(j.value, '$.created_at')
			FROM json_each(?) AS j WHERE true
			ON CONFLICT (dedupe_key) DO NOTHING
			RETURNING id, dedupe_key`,
		SaveConversations: `UPDATE conversations
			SET unread = json_extract(j.value, '$.unread'), last_message_at = json_extract(j.value, '$.last_message_at')
			FROM json_each(?) AS j
			WHERE conversations.id = json_extract(j.value, '$.id')`,
		SetConversationState: `UPDATE conversations SET unread = ?, last_message_at = ? WHERE id = ?`,

		ConversationByID:      `SELECT ` + conversationCols + conversationFrom + ` WHERE c.id = ?`,
		ConversationForUpdate: `SELECT ` + conversationCols + conversationFrom + ` WHERE c.id = ?`,
		// Each filter is off when its first parameter is '' or 0. The cursor
		// is (last_message_at, id) of the last row of the previous page.
		ListConversations: `SELECT ` + conversationCols + conversationFrom + `
			WHERE (? = '' OR c.status = ?)
			AND (? = '' OR c.channel_id = ?)
			AND (? = 0 OR c.assignee_id = ?)
			AND (? = 0 OR c.assignee_id IS NULL)
			AND (? = '' OR cl.name_lower LIKE ? ESCAPE '\' OR EXISTS (
				SELECT 1 FROM identities i WHERE i.client_id = c.client_id AND lower(i.value) LIKE ? ESCAPE '\'))
			AND (? = 0 OR c.last_message_at < ? OR (c.last_message_at = ? AND c.id < ?))
			ORDER BY c.last_message_at DESC, c.id DESC
			LIMIT ?`,
		UpdateConversation: `UPDATE conversations SET status = ?, assignee_id = ? WHERE id = ?`,
		OperatorExists:     `SELECT count(*) FROM operators WHERE id = ?`,
		ListMessages: `SELECT ` + messageCols + ` FROM messages
			WHERE conversation_id = ? AND id > ? ORDER BY id LIMIT ?`,
		InsertOutboundMessage: `INSERT INTO messages
			(conversation_id, direction, kind, subject, text, attachments, meta, author_id, external_id,
			 delivery, error, created_at)
			VALUES (?, 'out', ?, '', ?, '', '', ?, '', 'queued', '', ?)
			RETURNING ` + messageCols,
		InsertOutbox: `INSERT INTO outbox (message_id, attempts, due_at, last_error) VALUES (?, 0, ?, '')`,
		ClientByID:   `SELECT id, name, created_at, updated_at FROM clients WHERE id = ?`,
		ListClients: `SELECT c.id, c.name, c.created_at, c.updated_at FROM clients c
			WHERE (? = '' OR c.name_lower LIKE ? ESCAPE '\' OR EXISTS (
				SELECT 1 FROM identities i WHERE i.client_id = c.id AND lower(i.value) LIKE ? ESCAPE '\'))
			AND (? = 0 OR c.id < ?)
			ORDER BY c.id DESC
			LIMIT ?`,
		IdentitiesOfClient: `SELECT client_id, kind, value FROM identities WHERE client_id = ? ORDER BY id`,
		IdentitiesOfClients: `SELECT client_id, kind, value FROM identities
			WHERE client_id IN (SELECT j.value FROM json_each(?) AS j) ORDER BY id`,
		ConversationsOfClient: `SELECT ` + conversationCols + conversationFrom + `
			WHERE c.client_id = ? ORDER BY c.last_message_at DESC, c.id DESC`,
		LatestMessagesOfClient: `SELECT ` + messageColsM + ` FROM messages m
			JOIN conversations c ON c.id = m.conversation_id
			WHERE c.client_id = ? ORDER BY m.id DESC LIMIT ?`,
		MessageByID: `SELECT ` + messageCols + ` FROM messages WHERE id = ?`,
		LatestInboundExternalID: `SELECT external_id FROM messages
			WHERE conversation_id = ? AND direction = 'in' AND external_id <> ''
			ORDER BY id DESC LIMIT 1`,

		InsertEvents: `INSERT INTO events (type, data, created_at)
			SELECT json_extract(j.value, '$.type'), json_extract(j.value, '$.data'), json_extract(j.value, '$.created_at')
			FROM json_each(?) AS j
			RETURNING id`,
		EventsAfter: `SELECT id, type, data, created_at FROM events WHERE id > ? ORDER BY id LIMIT ?`,

		InsertOperator: `INSERT INTO operators (email, name, role, password_hash, disabled, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		OperatorByEmail: `SELECT ` + operatorCols + `, password_hash FROM operators WHERE email = ?`,
		InsertToken: `INSERT INTO api_tokens (operator_id, name, token_hash, created_at)
			VALUES (?, ?, ?, ?)`,
		OperatorByToken: `SELECT o.id, o.email, o.name, o.role, o.disabled, o.created_at,
				t.id AS token_id, t.last_used_at
			FROM api_tokens t JOIN operators o ON o.id = t.operator_id
			WHERE t.token_hash = ? AND o.disabled = FALSE`,
		TouchToken: `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`,

		// Parameters: now, now, limit, lease_until (the same order on both dialects).
		ClaimOutbound: `WITH due AS (
				SELECT o.message_id FROM outbox o JOIN messages m ON m.id = o.message_id
				WHERE m.delivery = 'queued' AND o.due_at <= ? AND (o.lease_until IS NULL OR o.lease_until < ?)
				ORDER BY o.due_at, o.message_id
				LIMIT ?)
			UPDATE outbox SET attempts = attempts + 1, lease_until = ?
			WHERE message_id IN (SELECT message_id FROM due)
			RETURNING message_id, attempts`,
		MarkSent: `UPDATE messages SET delivery = 'sent', external_id = ?, error = ''
			WHERE id = ? AND direction = 'out' RETURNING ` + messageCols,
		MarkFailed: `UPDATE messages SET delivery = 'failed', error = ?
			WHERE id = ? AND direction = 'out' RETURNING ` + messageCols,
		DeleteOutbox: `DELETE FROM outbox WHERE message_id = ?`,
		RetryOutbox:  `UPDATE outbox SET due_at = ?, last_error = ?, lease_until = NULL WHERE message_id = ?`,
	}
}

// postgresOverrides replaces the statements PostgreSQL needs written its own
// way: advisory locks, row locks, JSON functions and typed columns.
func postgresOverrides(q *queries) {
	q.LockMigrations = `SELECT pg_advisory_xact_lock(` + strconv.FormatInt(lockKeyMigrations, 10) + `)`
	q.LockEvents = `SELECT pg_advisory_xact_lock(` + strconv.FormatInt(lockKeyEvents, 10) + `)`
	// One int4 lock per key hash, taken in the order given (sorted by the
	// caller), so that two batches touching the same people queue instead of
	// deadlocking on each other's identity, conversation and message rows.
	q.LockPersons = `SELECT pg_advisory_xact_lock(` + strconv.Itoa(lockClassPersons) + `, t.k::int)
		FROM jsonb_array_elements_text(?::jsonb) AS t(k)`

	q.CreateMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
		name       TEXT PRIMARY KEY,
		applied_at TIMESTAMPTZ NOT NULL)`
	q.MessagesByDedupeKeys = `SELECT dedupe_key, ` + messageCols + ` FROM messages
		WHERE dedupe_key IN (SELECT t.k FROM jsonb_array_elements_text(?::jsonb) AS t(k))`
	q.IdentitiesByKeys = `SELECT i.client_id, i.kind, i.value, cl.name AS client_name
		FROM identities i JOIN clients cl ON cl.id = i.client_id
		WHERE (i.kind, i.value) IN (SELECT t.j ->> 0, t.j ->> 1 FROM jsonb_array_elements(?::jsonb) AS t(j))`
	q.InsertClients = `INSERT INTO clients (name, name_lower, created_at, updated_at)
		SELECT r.name, r.name_lower, r.at, r.at
		FROM jsonb_to_recordset(?::jsonb) AS r(name text, name_lower text, at timestamptz)
		RETURNING id`
	q.ClaimIdentities = `INSERT INTO identities (client_id, kind, value, created_at)
		SELECT r.client_id, r.kind, r.value, r.at
		FROM jsonb_to_recordset(?::jsonb) AS r(client_id bigint, kind text, value text, at timestamptz)
		WHERE true
		ON CONFLICT (kind, value) DO NOTHING
		RETURNING kind, value`
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
	q.InsertInboundBatch = `INSERT INTO messages
		(conversation_id, direction, kind, subject, text, attachments, meta, external_id, dedupe_key, created_at)
		SELECT r.conversation_id, 'in', r.kind, r.subject, r.text, r.attachments, r.meta, r.external_id,
			r.dedupe_key, r.created_at
		FROM jsonb_to_recordset(?::jsonb) AS r(conversation_id bigint, kind text, subject text, text text,
			attachments text, meta text, external_id text, dedupe_key text, created_at timestamptz)
		WHERE true
		ON CONFLICT (dedupe_key) DO NOTHING
		RETURNING id, dedupe_key`
	q.IdentitiesOfClients = `SELECT client_id, kind, value FROM identities
		WHERE client_id IN (SELECT t.k::bigint FROM jsonb_array_elements_text(?::jsonb) AS t(k)) ORDER BY id`
	q.InsertEvents = `INSERT INTO events (type, data, created_at)
		SELECT r.type, r.data, r.created_at
		FROM jsonb_to_recordset(?::jsonb) AS r(type text, data text, created_at timestamptz)
		RETURNING id`
	// SKIP LOCKED: concurrent claimers pass over each other's rows instead
	// of waiting for them, and never take the same message.
	q.ClaimOutbound = `WITH due AS (
			SELECT o.message_id FROM outbox o JOIN messages m ON m.id = o.message_id
			WHERE m.delivery = 'queued' AND o.due_at <= ? AND (o.lease_until IS NULL OR o.lease_until < ?)
			ORDER BY o.due_at, o.message_id
			LIMIT ?
			FOR UPDATE OF o SKIP LOCKED)
		UPDATE outbox SET attempts = outbox.attempts + 1, lease_until = ?
		FROM due WHERE outbox.message_id = due.message_id
		RETURNING outbox.message_id, outbox.attempts`
}

// newQueries returns the statements for dialect with placeholders rebound.
func newQueries(dialect string, rebind func(string) string) queries {
	q := baseQueries()
	if dialect == DialectPostgres {
		postgresOverrides(&q)
	}
	v := reflect.ValueOf(&q).Elem()
	for i := 0; i < v.NumField(); i++ {
		v.Field(i).SetString(rebind(v.Field(i).String()))
	}
	return q
}

// all returns every statement by field name, skipping the empty ones.
func (q *queries) all() map[string]string {
	m := make(map[string]string)
	v := reflect.ValueOf(q).Elem()
	for i := 0; i < v.NumField(); i++ {
		if text := v.Field(i).String(); text != "" {
			m[v.Type().Field(i).Name] = text
		}
	}
	return m
}
