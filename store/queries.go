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
	LockPersons              string
	MessagesByDedupeKeys     string
	IdentitiesByKeys         string
	InsertClients            string
	ClaimIdentities          string
	MoveIdentities           string
	DeleteClient             string
	FillClientName           string
	OpenConversations        string
	InsertConversations      string
	InsertMessages           string
	SaveConversations        string
	SetConversationState     string
	LockCards                string
	ErasedHashes             string
	SetRawPhones             string
	InsertSuggestions        string
	InsertConsents           string
	LatestClosedConversation string
	MessageByExternalID      string
	InsertEdit               string
	EditMessage              string
	InsertFacts              string
	FactsByDedupeKeys        string

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
	SearchClients           string
	IdentitiesOfClient      string
	IdentitiesOfClients     string
	ConversationsOfClient   string
	LatestMessagesOfClient  string
	MessageByID             string
	LatestInboundExternalID string

	// client cards
	ClientsForUpdate     string
	AnalyzeCards         string
	SaveClient           string
	TagsOfClients        string
	DeleteTags           string
	InsertTags           string
	InsertNotes          string
	NotesOfClient        string
	ConsentsOfClient     string
	InsertTask           string
	TasksOfClient        string
	SuggestionsOfClient  string
	ListSuggestions      string
	ResolveSuggestion    string
	ClientsPage          string
	OpenConversationsOf  string
	MoveMessages         string
	SaveConversation     string
	MoveConversations    string
	MoveTags             string
	MoveNotes            string
	MoveConsents         string
	MoveTasks            string
	ResolveSuggestionsOf string
	MarkMerged           string
	RepointTombstones    string
	MoveEvents           string
	InsertAudit          string
	AuditOfClient        string
	AllMessagesOfClient  string
	DedupeKeysOfClient   string
	FactKeysOfClient     string
	DeleteFactsOf        string
	MoveFacts            string
	InsertErasures       string
	BlankMessages        string
	CancelQueuedReplies  string
	DeleteOutboxOfClient string
	DeleteIdentities     string
	DeleteNotes          string
	DeleteTasks          string
	BlankConsents        string
	DeleteSuggestionsOf  string
	EraseClient          string
	EraseTombstones      string
	BlankEvents          string
	CloseConversationsOf string
	MarkUnreachable      string
	ClearUnreachable     string
	FillCompanies        string

	// events
	LockEvents         string
	InsertEvents       string
	EventsAfter        string
	EventsFor          string
	ConversationPlaces string

	// operators and tokens
	InsertOperator  string
	OperatorByEmail string
	TouchToken      string

	// access: who sees what (issue 4)
	VisibleConversations string
	VisibleClients       string
	FileVisible          string
	ListClientsScoped    string
	SearchClientsScoped  string
	LastEventID          string

	// operators, teams, sessions, tokens, login lockout, audit (issue 4)
	OperatorByID       string
	ListOperators      string
	SaveOperator       string
	SetPassword        string
	OtherActiveAdmins  string
	TeamsOfOperators   string
	DeleteMemberships  string
	InsertMembership   string
	InsertTeam         string
	ListTeams          string
	TeamByID           string
	TeamByName         string
	RenameTeam         string
	DeleteTeam         string
	MembersOfTeams     string
	InsertSession      string
	SessionByHash      string
	TouchSession       string
	ListSessions       string
	DeleteSession      string
	DeleteSessionsOf   string
	DeleteExpired      string
	InsertScopedToken  string
	TokenByHash        string
	ListTokens         string
	DeleteToken        string
	DeleteTokensOf     string
	LoginLocks         string
	CountLoginFailure  string
	LockLogin          string
	ClearLoginFailures string
	PurgeLoginFailures string
	ListAudit          string
	LockChannels       string
	ChannelConfigs     string
	UpsertChannel      string
	DeleteChannel      string

	// outbox
	ClaimOutbound string
	MarkSent      string
	MarkFailed    string
	DeleteOutbox  string
	RetryOutbox   string

	// pollers
	LoadCheckpoint string
	SaveCheckpoint string
	AcquireLease   string
	RenewLease     string
	LeaseByName    string
	ReleaseLease   string
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
	sessionCols  = `s.id, s.operator_id, s.csrf_token, s.ip, s.user_agent, s.created_at, s.last_seen_at, s.expires_at`
	clientCols   = `c.id, c.name, c.company, c.custom_fields, c.raw_phones, c.do_not_contact, c.dnc_reason, c.spam,
	c.merged_into, c.erased_at, c.created_at, c.updated_at`
	suggestionCols = `id, client_id, other_client_id, kind, value, resolved, created_at`
	// ofClient is the conversations of the client given as the parameter.
	ofClient = `SELECT id FROM conversations WHERE client_id = ?`
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
		IdentitiesByKeys: `SELECT i.client_id, i.kind, i.value, i.unreachable, cl.name AS client_name
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
		ClaimIdentities: `INSERT INTO identities (client_id, kind, value, rev, created_at)
			SELECT json_extract(j.value, '$.client_id'), json_extract(j.value, '$.kind'),
				json_extract(j.value, '$.value'), json_extract(j.value, '$.rev'), json_extract(j.value, '$.at')
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
		InsertFacts: `INSERT INTO card_facts (client_id, channel_id, name, value, dedupe_key, created_at)
			SELECT json_extract(j.value, '$.client_id'), json_extract(j.value, '$.channel_id'),
				json_extract(j.value, '$.name'), json_extract(j.value, '$.value'),
				json_extract(j.value, '$.dedupe_key'), json_extract(j.value, '$.at')
			FROM json_each(?) AS j WHERE true
			ON CONFLICT (dedupe_key) DO NOTHING
			RETURNING dedupe_key`,
		FactsByDedupeKeys: `SELECT dedupe_key FROM card_facts WHERE dedupe_key IN (` + sqliteSet + `)`,
		SaveConversations: `UPDATE conversations
			SET unread = json_extract(j.value, '$.unread'), last_message_at = json_extract(j.value, '$.last_message_at')
			FROM json_each(?) AS j
			WHERE conversations.id = json_extract(j.value, '$.id')`,
		SetConversationState: `UPDATE conversations SET unread = ?, last_message_at = ? WHERE id = ?`,
		// SQLite has one writer at a time: reading is enough. PostgreSQL
		// share-locks the cards (see FileBatch).
		LockCards: `SELECT id, spam, merged_into, raw_phones FROM clients
			WHERE id IN (SELECT j.value FROM json_each(?) AS j) ORDER BY id`,
		ErasedHashes: `SELECT hash FROM erasures WHERE hash IN (SELECT j.value FROM json_each(?) AS j)`,
		SetRawPhones: `UPDATE clients SET raw_phones = ? WHERE id = ?`,
		InsertSuggestions: `INSERT INTO duplicate_suggestions (client_id, other_client_id, kind, value, resolved, created_at)
			SELECT json_extract(j.value, '$.client_id'), json_extract(j.value, '$.other_client_id'),
				json_extract(j.value, '$.kind'), json_extract(j.value, '$.value'), FALSE, json_extract(j.value, '$.at')
			FROM json_each(?) AS j WHERE true
			ON CONFLICT (client_id, other_client_id, kind, value) DO NOTHING
			RETURNING ` + suggestionCols,
		InsertConsents: `INSERT INTO consents (client_id, kind, text_version, given_at, ip, source, created_at)
			SELECT json_extract(j.value, '$.client_id'), json_extract(j.value, '$.kind'),
				json_extract(j.value, '$.text_version'), json_extract(j.value, '$.given_at'),
				json_extract(j.value, '$.ip'), json_extract(j.value, '$.source'), json_extract(j.value, '$.at')
			FROM json_each(?) AS j
			RETURNING id`,
		LatestClosedConversation: `SELECT ` + conversationCols + conversationFrom + `
			WHERE c.client_id = ? AND c.channel_id = ? AND c.status = 'closed' ORDER BY c.id DESC LIMIT 1`,

		ConversationByID:      `SELECT ` + conversationCols + conversationFrom + ` WHERE c.id = ?`,
		ConversationForUpdate: `SELECT ` + conversationCols + conversationFrom + ` WHERE c.id = ?`,
		// Each filter is off when its first parameter is '' or 0. The cursor
		// is (last_message_at, id) of the last row of the previous page.
		ListConversations:  listConversations(sqliteSet),
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
		ClientByID:   `SELECT ` + clientCols + ` FROM clients c WHERE c.id = ?`,
		ListClients: `SELECT ` + clientCols + ` FROM clients c
			WHERE c.merged_into IS NULL AND (? = 0 OR c.id < ?)
			ORDER BY c.id DESC
			LIMIT ?`,
		// SQLite scans the narrow search index instead of the table: half
		// the time at 100,000 cards.
		SearchClients: searchClients(`clients c INDEXED BY clients_search_idx`, `instr`),
		IdentitiesOfClient: `SELECT client_id, kind, value, unreachable, unreachable_at FROM identities
			WHERE client_id = ? ORDER BY id`,
		IdentitiesOfClients: `SELECT client_id, kind, value, unreachable, unreachable_at FROM identities
			WHERE client_id IN (SELECT j.value FROM json_each(?) AS j) ORDER BY id`,
		ConversationsOfClient: `SELECT ` + conversationCols + conversationFrom + `
			WHERE c.client_id = ? ORDER BY c.last_message_at DESC, c.id DESC`,
		LatestMessagesOfClient: `SELECT ` + messageColsM + ` FROM messages m
			JOIN conversations c ON c.id = m.conversation_id
			WHERE c.client_id = ? ORDER BY m.id DESC LIMIT ?`,
		MessageByID: `SELECT ` + messageCols + ` FROM messages WHERE id = ?`,
		// Parameters: conversation, direction (inbound: what a reply answers).
		LatestInboundExternalID: `SELECT external_id FROM messages
			WHERE conversation_id = ? AND direction = ? AND external_id <> ''
			ORDER BY id DESC LIMIT 1`,

		ClientsForUpdate: `SELECT ` + clientCols + ` FROM clients c
			WHERE c.id IN (SELECT j.value FROM json_each(?) AS j) ORDER BY c.id`,
		SaveClient: `UPDATE clients SET name = ?, name_lower = ?, company = ?, company_lower = ?, custom_fields = ?,
			raw_phones = ?, do_not_contact = ?, dnc_reason = ?, spam = ?, updated_at = ?
			WHERE id = ?`,
		TagsOfClients: `SELECT client_id, tag FROM client_tags
			WHERE client_id IN (SELECT j.value FROM json_each(?) AS j) ORDER BY client_id, tag_lower`,
		DeleteTags: `DELETE FROM client_tags WHERE client_id = ?`,
		InsertTags: `INSERT INTO client_tags (client_id, tag, tag_lower)
			SELECT json_extract(j.value, '$.client_id'), json_extract(j.value, '$.tag'), json_extract(j.value, '$.tag_lower')
			FROM json_each(?) AS j WHERE true
			ON CONFLICT (client_id, tag_lower) DO NOTHING`,
		InsertNotes: `INSERT INTO client_notes (client_id, author_id, text, created_at)
			SELECT json_extract(j.value, '$.client_id'), json_extract(j.value, '$.author_id'),
				json_extract(j.value, '$.text'), json_extract(j.value, '$.at')
			FROM json_each(?) AS j
			RETURNING id`,
		NotesOfClient: `SELECT id, client_id, author_id, text, created_at FROM client_notes
			WHERE client_id = ? ORDER BY id`,
		ConsentsOfClient: `SELECT id, client_id, kind, text_version, given_at, ip, source FROM consents
			WHERE client_id = ? ORDER BY id`,
		InsertTask: `INSERT INTO tasks (client_id, title, due_at, done, assignee_id, created_by, created_at)
			VALUES (?, ?, ?, FALSE, ?, ?, ?) RETURNING id`,
		TasksOfClient: `SELECT id, client_id, title, due_at, done, assignee_id, created_by, created_at FROM tasks
			WHERE client_id = ? ORDER BY id`,
		SuggestionsOfClient: `SELECT ` + suggestionCols + ` FROM duplicate_suggestions
			WHERE resolved = FALSE AND (client_id = ? OR other_client_id = ?) ORDER BY id`,
		// Newest first; the first filter is off when its parameter is 0.
		ListSuggestions: `SELECT ` + suggestionCols + ` FROM duplicate_suggestions
			WHERE resolved = FALSE AND (? = 0 OR client_id = ? OR other_client_id = ?)
			AND (? = 0 OR id < ?)
			ORDER BY id DESC LIMIT ?`,
		ResolveSuggestion: `UPDATE duplicate_suggestions SET resolved = TRUE WHERE id = ?
			RETURNING ` + suggestionCols,
		ClientsPage: `SELECT ` + clientCols + ` FROM clients c
			WHERE c.merged_into IS NULL AND c.id > ? ORDER BY c.id LIMIT ?`,
		OpenConversationsOf: `SELECT ` + conversationCols + conversationFrom + `
			WHERE c.client_id = ? AND c.status <> 'closed' ORDER BY c.id`,
		MoveMessages: `UPDATE messages SET conversation_id = ? WHERE conversation_id = ?`,
		SaveConversation: `UPDATE conversations SET status = ?, assignee_id = ?, unread = ?, last_message_at = ?
			WHERE id = ?`,
		MoveConversations: `UPDATE conversations SET client_id = ? WHERE client_id = ?`,
		MoveTags: `INSERT INTO client_tags (client_id, tag, tag_lower)
			SELECT CAST(? AS BIGINT), tag, tag_lower FROM client_tags WHERE client_id = ?
			ON CONFLICT (client_id, tag_lower) DO NOTHING`,
		MoveNotes:            `UPDATE client_notes SET client_id = ? WHERE client_id = ?`,
		MoveConsents:         `UPDATE consents SET client_id = ? WHERE client_id = ?`,
		MoveTasks:            `UPDATE tasks SET client_id = ? WHERE client_id = ?`,
		ResolveSuggestionsOf: `UPDATE duplicate_suggestions SET resolved = TRUE WHERE client_id = ? OR other_client_id = ?`,
		MarkMerged:           `UPDATE clients SET merged_into = ?, updated_at = ? WHERE id = ?`,
		RepointTombstones:    `UPDATE clients SET merged_into = ? WHERE merged_into = ?`,
		MoveEvents:           `UPDATE events SET client_id = ? WHERE client_id = ?`,
		InsertAudit: `INSERT INTO audit_log (operator_id, action, entity, entity_id, detail, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`,
		AuditOfClient: `SELECT id, operator_id, action, entity, entity_id, detail, created_at FROM audit_log
			WHERE (entity = 'client' AND entity_id = ?)
			OR (entity = 'conversation' AND entity_id IN (` + ofClient + `))
			ORDER BY id`,
		AllMessagesOfClient: `SELECT ` + messageColsM + ` FROM messages m
			JOIN conversations c ON c.id = m.conversation_id
			WHERE c.client_id = ? ORDER BY m.id`,
		DedupeKeysOfClient: `SELECT m.dedupe_key FROM messages m JOIN conversations c ON c.id = m.conversation_id
			WHERE c.client_id = ? AND m.dedupe_key IS NOT NULL`,
		FactKeysOfClient: `SELECT dedupe_key FROM card_facts WHERE client_id = ? AND dedupe_key IS NOT NULL`,
		DeleteFactsOf:    `DELETE FROM card_facts WHERE client_id = ?`,
		MoveFacts:        `UPDATE card_facts SET client_id = ? WHERE client_id = ?`,
		InsertErasures: `INSERT INTO erasures (hash, kind, created_at)
			SELECT json_extract(j.value, '$.hash'), json_extract(j.value, '$.kind'), json_extract(j.value, '$.at')
			FROM json_each(?) AS j WHERE true
			ON CONFLICT (hash) DO NOTHING`,
		BlankMessages: `UPDATE messages SET subject = '', text = '', attachments = '', meta = '', external_id = '',
			error = '', dedupe_key = NULL
			WHERE conversation_id IN (` + ofClient + `)`,
		CancelQueuedReplies: `UPDATE messages SET delivery = 'failed', error = 'client erased'
			WHERE delivery = 'queued' AND conversation_id IN (` + ofClient + `)`,
		DeleteOutboxOfClient: `DELETE FROM outbox WHERE message_id IN (
			SELECT m.id FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE c.client_id = ?)`,
		DeleteIdentities:    `DELETE FROM identities WHERE client_id = ?`,
		DeleteNotes:         `DELETE FROM client_notes WHERE client_id = ?`,
		DeleteTasks:         `DELETE FROM tasks WHERE client_id = ?`,
		BlankConsents:       `UPDATE consents SET ip = '' WHERE client_id = ?`,
		DeleteSuggestionsOf: `DELETE FROM duplicate_suggestions WHERE client_id = ? OR other_client_id = ?`,
		// The card keeps its id, dates, conversations and message skeletons,
		// so that counts and reports stay right; everything personal goes.
		EraseClient: `UPDATE clients SET name = 'Erased client #' || id, name_lower = 'erased client #' || id,
			company = '', company_lower = '', custom_fields = '', raw_phones = '', do_not_contact = FALSE,
			dnc_reason = '', erased_at = ?, updated_at = ?
			WHERE id = ? OR merged_into = ?`,
		BlankEvents: `UPDATE events SET data = ? WHERE client_id = ?`,
		FillCompanies: `UPDATE clients
			SET company = json_extract(j.value, '$.company'), company_lower = json_extract(j.value, '$.company_lower')
			FROM json_each(?) AS j
			WHERE clients.id = json_extract(j.value, '$.id') AND clients.company = ''`,
		MarkUnreachable: `UPDATE identities SET unreachable = ?, unreachable_at = ?
			WHERE client_id = ? AND kind = ? AND value = ?`,
		ClearUnreachable: `UPDATE identities SET unreachable = '', unreachable_at = NULL
			WHERE kind = ? AND value = ? AND unreachable <> ''`,
		CloseConversationsOf: `UPDATE conversations SET status = 'closed', unread = 0 WHERE client_id = ? AND status <> 'closed'`,

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
		EventsFor:   eventsFor(sqliteSet),
		FileVisible: fileVisible(sqliteSet),
		ConversationPlaces: `SELECT client_id, channel_id, assignee_id FROM conversations
			WHERE client_id IN (` + sqliteSet + `)`,

		InsertOperator: `INSERT INTO operators (email, name, role, password_hash, disabled, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		OperatorByEmail: `SELECT ` + operatorCols + `, password_hash FROM operators WHERE email = ?`,
		TouchToken:      `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`,

		VisibleConversations: visibleConversations(sqliteSet),
		VisibleClients:       visibleClients(sqliteSet),
		ListClientsScoped: `SELECT ` + clientCols + ` FROM clients c
			WHERE c.merged_into IS NULL AND (? = 0 OR c.id < ?)
			AND c.id IN (SELECT v.client_id FROM conversations v WHERE ` + visibleConv("v", sqliteSet) + `)
			ORDER BY c.id DESC
			LIMIT ?`,
		SearchClientsScoped: searchClientsIn(`clients c INDEXED BY clients_search_idx`, `instr`,
			` AND c.id IN (SELECT v.client_id FROM conversations v WHERE `+visibleConv("v", sqliteSet)+`)`),
		LastEventID: `SELECT COALESCE(MAX(id), 0) FROM events`,

		OperatorByID:      `SELECT ` + operatorCols + ` FROM operators WHERE id = ?`,
		ListOperators:     `SELECT ` + operatorCols + ` FROM operators ORDER BY id`,
		SaveOperator:      `UPDATE operators SET name = ?, role = ?, disabled = ? WHERE id = ?`,
		SetPassword:       `UPDATE operators SET password_hash = ? WHERE id = ?`,
		OtherActiveAdmins: `SELECT count(*) FROM operators WHERE role = 'admin' AND disabled = FALSE AND id <> ?`,
		// The first parameter 0 reads every operator's teams.
		TeamsOfOperators: `SELECT m.operator_id, t.name FROM team_members m JOIN teams t ON t.id = m.team_id
			WHERE ? = 0 OR m.operator_id = ? ORDER BY m.operator_id, t.name`,
		DeleteMemberships: `DELETE FROM team_members WHERE operator_id = ?`,
		InsertMembership: `INSERT INTO team_members (team_id, operator_id) VALUES (?, ?)
			ON CONFLICT (team_id, operator_id) DO NOTHING`,
		InsertTeam:     `INSERT INTO teams (name, created_at) VALUES (?, ?) RETURNING id`,
		ListTeams:      `SELECT id, name, created_at FROM teams ORDER BY name`,
		TeamByID:       `SELECT id, name, created_at FROM teams WHERE id = ?`,
		TeamByName:     `SELECT id, name, created_at FROM teams WHERE name = ?`,
		RenameTeam:     `UPDATE teams SET name = ? WHERE id = ?`,
		DeleteTeam:     `DELETE FROM teams WHERE id = ?`,
		MembersOfTeams: `SELECT team_id, operator_id FROM team_members WHERE ? = 0 OR team_id = ? ORDER BY team_id, operator_id`,
		InsertSession: `INSERT INTO sessions (operator_id, token_hash, csrf_token, ip, user_agent, created_at, last_seen_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		SessionByHash: `SELECT ` + sessionCols + `, o.email, o.name, o.role, o.disabled, o.created_at AS operator_created_at
			FROM sessions s JOIN operators o ON o.id = s.operator_id
			WHERE s.token_hash = ? AND s.expires_at > ? AND o.disabled = FALSE`,
		TouchSession: `UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id = ?`,
		ListSessions: `SELECT ` + sessionCols + ` FROM sessions s WHERE s.operator_id = ? AND s.expires_at > ? ORDER BY s.id DESC`,
		// The second parameter 0 deletes anyone's session (an admin).
		DeleteSession:    `DELETE FROM sessions WHERE id = ? AND (? = 0 OR operator_id = ?) RETURNING operator_id`,
		DeleteSessionsOf: `DELETE FROM sessions WHERE operator_id = ? AND id <> ?`,
		DeleteExpired:    `DELETE FROM sessions WHERE expires_at <= ?`,
		InsertScopedToken: `INSERT INTO api_tokens (operator_id, name, token_hash, scope, created_at)
			VALUES (?, ?, ?, ?, ?) RETURNING id`,
		TokenByHash: `SELECT o.id, o.email, o.name, o.role, o.disabled, o.created_at,
				t.id AS token_id, t.name AS token_name, t.scope, t.created_at AS token_created_at, t.last_used_at
			FROM api_tokens t JOIN operators o ON o.id = t.operator_id
			WHERE t.token_hash = ? AND o.disabled = FALSE`,
		ListTokens: `SELECT id, operator_id, name, scope, created_at, last_used_at FROM api_tokens
			WHERE operator_id = ? ORDER BY id`,
		DeleteToken:    `DELETE FROM api_tokens WHERE id = ? AND (? = 0 OR operator_id = ?) RETURNING operator_id`,
		DeleteTokensOf: `DELETE FROM api_tokens WHERE operator_id = ?`,
		LoginLocks: `SELECT locked_until FROM login_failures
			WHERE key IN (SELECT j.value FROM json_each(?) AS j) AND locked_until > ?`,
		// Parameters: key, now, window start (failures before it are
		// forgotten), the same again. The upsert locks the row, so
		// concurrent failures count one by one.
		CountLoginFailure: `INSERT INTO login_failures (key, failures, window_start, locked_until) VALUES (?, 1, ?, NULL)
			ON CONFLICT (key) DO UPDATE SET
				failures = CASE WHEN login_failures.window_start < ? THEN 1 ELSE login_failures.failures + 1 END,
				window_start = CASE WHEN login_failures.window_start < ? THEN excluded.window_start
					ELSE login_failures.window_start END
			RETURNING failures`,
		LockLogin:          `UPDATE login_failures SET failures = 0, window_start = ?, locked_until = ? WHERE key = ?`,
		ClearLoginFailures: `DELETE FROM login_failures WHERE key = ?`,
		PurgeLoginFailures: `DELETE FROM login_failures WHERE window_start < ? AND (locked_until IS NULL OR locked_until < ?)`,
		// Newest first; each filter is off when its first parameter is '' or 0.
		ListAudit: `SELECT id, operator_id, action, entity, entity_id, detail, created_at FROM audit_log
			WHERE (? = '' OR entity = ?) AND (? = 0 OR entity_id = ?) AND (? = 0 OR operator_id = ?)
			AND (? = '' OR action = ?) AND (? = 0 OR id < ?)
			ORDER BY id DESC LIMIT ?`,

		ChannelConfigs: `SELECT id, type, team, fingerprint FROM channel_config ORDER BY id`,
		UpsertChannel: `INSERT INTO channel_config (id, type, team, fingerprint, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET type = excluded.type, team = excluded.team,
				fingerprint = excluded.fingerprint, updated_at = excluded.updated_at`,
		DeleteChannel: `DELETE FROM channel_config WHERE id = ?`,

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

		LoadCheckpoint: `SELECT position FROM poller_checkpoints WHERE source = ?`,
		SaveCheckpoint: `INSERT INTO poller_checkpoints (source, position, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (source) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at`,
		// One statement decides who holds a lease, so that racing instances
		// need no transaction of their own: the insert takes a free lease;
		// on conflict the update takes it only if it has expired (its end is
		// not after now, which is the new row's acquired_at) or is the
		// caller's already. On PostgreSQL the update locks the row and checks
		// the condition against the winner's version, so of several racers
		// exactly one gets a row back; SQLite serializes writers anyway.
		// Parameters: name, holder, now, expires_at.
		AcquireLease: `INSERT INTO leases (name, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
				acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at
					ELSE excluded.acquired_at END
			WHERE leases.expires_at <= excluded.acquired_at OR leases.holder = excluded.holder
			RETURNING holder, expires_at`,
		// Never revives an expired lease: a holder that missed its renewal
		// must acquire again, which fails if another took over meanwhile.
		// Parameters: expires_at, name, holder, now.
		RenewLease: `UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ? AND expires_at > ?
			RETURNING holder, expires_at`,
		LeaseByName:  `SELECT holder, expires_at FROM leases WHERE name = ?`,
		ReleaseLease: `DELETE FROM leases WHERE name = ? AND holder = ?`,
	}
}

// JSON arrays of strings or ids as a set, for "IN (...)": the first is
// SQLite's, the second PostgreSQL's.
const (
	sqliteSet   = `SELECT j.value FROM json_each(?) AS j`
	postgresSet = `SELECT t.k FROM jsonb_array_elements_text(?::jsonb) AS t(k)`
	// postgresIDSet is postgresSet for bigint columns.
	postgresIDSet = `SELECT t.k::bigint FROM jsonb_array_elements_text(?::jsonb) AS t(k)`
)

// visibleConv is the condition under which a restricted operator sees the
// conversation aliased a (inbox.Scope.Sees): it is assigned to them, or
// nobody has it and its channel is not hidden from them. Parameters: the
// operator's id, the hidden channels as a JSON array.
func visibleConv(a, set string) string {
	return `(` + a + `.assignee_id = ? OR (` + a + `.assignee_id IS NULL AND ` + a + `.channel_id NOT IN (` + set + `)))`
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

// eventCols are an event's columns: what it says and who it is for.
const eventCols = `e.id, e.type, e.data, e.created_at, e.audience, e.conversation_id, e.client_id, e.channel_id,
	e.assignee_id, e.operator_id`

// eventsFor is a websocket's replay: the events in (after, upTo] its
// operator may see now (inbox.Viewer.Sees, with the conversations and
// cards as they are now). Parameters: after, upTo, is admin, is supervisor
// or admin, sees all (0/1), then the operator and hidden channels for the
// conversation audience, again for the card audience, the hidden channels
// for the channel audience, the operator for the operator audience, limit.
func eventsFor(set string) string {
	return `SELECT ` + eventCols + ` FROM events e
		WHERE e.id > ? AND e.id <= ?
		AND e.audience <> 'nobody'
		AND (e.audience <> 'admins' OR ? = 1)
		AND (e.audience <> 'supervisors' OR ? = 1)
		AND (? = 1
			OR e.audience IN ('admins', 'supervisors')
			OR (e.audience = 'conversation' AND EXISTS (
				SELECT 1 FROM conversations c WHERE c.id = e.conversation_id AND ` + visibleConv("c", set) + `))
			OR (e.audience = 'card' AND EXISTS (
				SELECT 1 FROM conversations c WHERE c.client_id = e.client_id AND ` + visibleConv("c", set) + `))
			OR (e.audience = 'channel' AND e.channel_id NOT IN (` + set + `))
			OR (e.audience = 'operator' AND e.operator_id = ?))
		ORDER BY e.id
		LIMIT ?`
}

// fileVisible counts (0 or 1) the conversations the scope sees that hold a
// message carrying the file. Parameters: the file id, sees all (0/1), the
// operator, the hidden channels.
func fileVisible(set string) string {
	return `SELECT count(*) FROM (SELECT 1 FROM message_files f
		JOIN messages m ON m.id = f.message_id
		JOIN conversations c ON c.id = m.conversation_id
		WHERE f.file_id = ? AND (? = 1 OR ` + visibleConv("c", set) + `)
		LIMIT 1) AS v`
}

// visibleConversations keeps the ids (a JSON array, the first parameter)
// of the conversations a restricted operator sees.
func visibleConversations(set string) string {
	return `SELECT c.id FROM conversations c WHERE c.id IN (` + set + `)
		AND ` + visibleConv("c", set)
}

// visibleClients keeps the ids of the cards a restricted operator sees:
// those with a conversation they see.
func visibleClients(set string) string {
	return `SELECT DISTINCT c.client_id FROM conversations c WHERE c.client_id IN (` + set + `)
		AND ` + visibleConv("c", set)
}

// searchClients is the search query. Two branches, each newest first and cut
// at the page size, merged. Names and companies are a literal substring scan
// (contains(haystack, needle) > 0, instr on SQLite, strpos on PostgreSQL);
// identities and tags are index look-ups: an exact E.164 phone, a prefix of
// any identity value, a prefix of a phone's digits, the phone's last digits
// (a prefix of the reversed digits), an exact tag. A filter whose parameters
// are ” matches nothing (an empty range).
func searchClients(from, contains string) string {
	return searchClientsIn(from, contains, "")
}

// searchClientsIn is searchClients with a further condition on the card c
// in both branches (its parameters come last in each branch).
func searchClientsIn(from, contains, and string) string {
	return `SELECT * FROM (
			SELECT ` + clientCols + ` FROM ` + from + `
			WHERE c.merged_into IS NULL
			AND (` + contains + `(c.name_lower, ?) > 0 OR ` + contains + `(c.company_lower, ?) > 0)
			AND (? = 0 OR c.id < ?)` + and + `
			ORDER BY c.id DESC LIMIT ?) AS by_name
		UNION
		SELECT * FROM (
			SELECT ` + clientCols + ` FROM clients c
			WHERE c.id IN (
				SELECT i.client_id FROM identities i WHERE i.kind = 'phone' AND i.value = ?
				UNION SELECT i.client_id FROM identities i
					WHERE i.kind IN ('phone', 'email', 'telegram', 'vk', 'external') AND i.value >= ? AND i.value < ?
				UNION SELECT i.client_id FROM identities i WHERE i.kind = 'phone' AND i.value >= ? AND i.value < ?
				UNION SELECT i.client_id FROM identities i WHERE i.rev >= ? AND i.rev < ?
				UNION SELECT t.client_id FROM client_tags t WHERE t.tag_lower = ?)
			AND c.merged_into IS NULL AND (? = 0 OR c.id < ?)` + and + `
			ORDER BY c.id DESC LIMIT ?) AS by_identity
		ORDER BY id DESC
		LIMIT ?`
}

// postgresOverrides replaces the statements PostgreSQL needs written its own
// way: advisory locks, row locks, JSON functions and typed columns.
func postgresOverrides(q *queries) {
	q.AnalyzeCards = `ANALYZE clients, identities, client_tags`
	q.LockMigrations = `SELECT pg_advisory_xact_lock(` + strconv.FormatInt(lockKeyMigrations, 10) + `)`
	q.LockEvents = `SELECT pg_advisory_xact_lock(` + strconv.FormatInt(lockKeyEvents, 10) + `)`
	q.LockChannels = `SELECT pg_advisory_xact_lock(` + strconv.FormatInt(lockKeyChannels, 10) + `)`
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
	q.IdentitiesByKeys = `SELECT i.client_id, i.kind, i.value, i.unreachable, cl.name AS client_name
		FROM identities i JOIN clients cl ON cl.id = i.client_id
		WHERE (i.kind, i.value) IN (SELECT t.j ->> 0, t.j ->> 1 FROM jsonb_array_elements(?::jsonb) AS t(j))`
	q.InsertClients = `INSERT INTO clients (name, name_lower, created_at, updated_at)
		SELECT r.name, r.name_lower, r.at, r.at
		FROM jsonb_to_recordset(?::jsonb) AS r(name text, name_lower text, at timestamptz)
		RETURNING id`
	q.ClaimIdentities = `INSERT INTO identities (client_id, kind, value, rev, created_at)
		SELECT r.client_id, r.kind, r.value, r.rev, r.at
		FROM jsonb_to_recordset(?::jsonb) AS r(client_id bigint, kind text, value text, rev text, at timestamptz)
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
	q.InsertFacts = `INSERT INTO card_facts (client_id, channel_id, name, value, dedupe_key, created_at)
		SELECT r.client_id, r.channel_id, r.name, r.value, r.dedupe_key, r.at
		FROM jsonb_to_recordset(?::jsonb) AS r(client_id bigint, channel_id text, name text, value text,
			dedupe_key text, at timestamptz)
		WHERE true
		ON CONFLICT (dedupe_key) DO NOTHING
		RETURNING dedupe_key`
	q.FactsByDedupeKeys = `SELECT dedupe_key FROM card_facts WHERE dedupe_key IN (` + postgresSet + `)`
	q.IdentitiesOfClients = `SELECT client_id, kind, value, unreachable, unreachable_at FROM identities
		WHERE client_id IN (SELECT t.k::bigint FROM jsonb_array_elements_text(?::jsonb) AS t(k)) ORDER BY id`
	q.InsertEvents = `INSERT INTO events (type, data, audience, conversation_id, client_id, channel_id, assignee_id,
			operator_id, created_at)
		SELECT r.type, r.data, r.audience, r.conversation_id, r.client_id, r.channel_id, r.assignee_id, r.operator_id,
			r.created_at
		FROM jsonb_to_recordset(?::jsonb) AS r(type text, data text, audience text, conversation_id bigint,
			client_id bigint, channel_id text, assignee_id bigint, operator_id bigint, created_at timestamptz)
		RETURNING id`
	q.EventsFor = eventsFor(postgresSet)
	q.FileVisible = fileVisible(postgresSet)
	q.ConversationPlaces = `SELECT client_id, channel_id, assignee_id FROM conversations
		WHERE client_id IN (` + postgresIDSet + `)`
	q.LockCards = `SELECT id, spam, merged_into, raw_phones FROM clients
		WHERE id IN (SELECT t.k::bigint FROM jsonb_array_elements_text(?::jsonb) AS t(k)) ORDER BY id
		FOR SHARE`
	q.ErasedHashes = `SELECT hash FROM erasures WHERE hash IN (SELECT t.k FROM jsonb_array_elements_text(?::jsonb) AS t(k))`
	q.InsertSuggestions = `INSERT INTO duplicate_suggestions (client_id, other_client_id, kind, value, resolved, created_at)
		SELECT r.client_id, r.other_client_id, r.kind, r.value, FALSE, r.at
		FROM jsonb_to_recordset(?::jsonb) AS r(client_id bigint, other_client_id bigint, kind text, value text,
			at timestamptz)
		WHERE true
		ON CONFLICT (client_id, other_client_id, kind, value) DO NOTHING
		RETURNING ` + suggestionCols
	q.InsertConsents = `INSERT INTO consents (client_id, kind, text_version, given_at, ip, source, created_at)
		SELECT r.client_id, r.kind, r.text_version, r.given_at, r.ip, r.source, r.at
		FROM jsonb_to_recordset(?::jsonb) AS r(client_id bigint, kind text, text_version text, given_at timestamptz,
			ip text, source text, at timestamptz)
		RETURNING id`
	q.ClientsForUpdate = `SELECT ` + clientCols + ` FROM clients c
		WHERE c.id IN (SELECT t.k::bigint FROM jsonb_array_elements_text(?::jsonb) AS t(k)) ORDER BY c.id
		FOR UPDATE OF c`
	q.TagsOfClients = `SELECT client_id, tag FROM client_tags
		WHERE client_id IN (SELECT t.k::bigint FROM jsonb_array_elements_text(?::jsonb) AS t(k))
		ORDER BY client_id, tag_lower`
	q.InsertTags = `INSERT INTO client_tags (client_id, tag, tag_lower)
		SELECT r.client_id, r.tag, r.tag_lower
		FROM jsonb_to_recordset(?::jsonb) AS r(client_id bigint, tag text, tag_lower text)
		WHERE true
		ON CONFLICT (client_id, tag_lower) DO NOTHING`
	q.InsertNotes = `INSERT INTO client_notes (client_id, author_id, text, created_at)
		SELECT r.client_id, r.author_id, r.text, r.at
		FROM jsonb_to_recordset(?::jsonb) AS r(client_id bigint, author_id bigint, text text, at timestamptz)
		RETURNING id`
	q.InsertErasures = `INSERT INTO erasures (hash, kind, created_at)
		SELECT r.hash, r.kind, r.at
		FROM jsonb_to_recordset(?::jsonb) AS r(hash text, kind text, at timestamptz)
		WHERE true
		ON CONFLICT (hash) DO NOTHING`
	q.OpenConversationsOf += ` FOR UPDATE OF c`
	q.SearchClients = searchClients(`clients c`, `strpos`)
	q.ListConversations = listConversations(postgresSet)
	q.VisibleConversations = `SELECT c.id FROM conversations c WHERE c.id IN (` + postgresIDSet + `)
		AND ` + visibleConv("c", postgresSet)
	q.VisibleClients = `SELECT DISTINCT c.client_id FROM conversations c WHERE c.client_id IN (` + postgresIDSet + `)
		AND ` + visibleConv("c", postgresSet)
	q.ListClientsScoped = `SELECT ` + clientCols + ` FROM clients c
		WHERE c.merged_into IS NULL AND (? = 0 OR c.id < ?)
		AND c.id IN (SELECT v.client_id FROM conversations v WHERE ` + visibleConv("v", postgresSet) + `)
		ORDER BY c.id DESC
		LIMIT ?`
	q.SearchClientsScoped = searchClientsIn(`clients c`, `strpos`,
		` AND c.id IN (SELECT v.client_id FROM conversations v WHERE `+visibleConv("v", postgresSet)+`)`)
	q.LoginLocks = `SELECT locked_until FROM login_failures
		WHERE key IN (` + postgresSet + `) AND locked_until > ?`
	q.FillCompanies = `UPDATE clients AS c SET company = r.company, company_lower = r.company_lower
		FROM jsonb_to_recordset(?::jsonb) AS r(id bigint, company text, company_lower text)
		WHERE c.id = r.id AND c.company = ''`
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
