package store

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/jmoiron/sqlx/reflectx"
)

// queries is every statement the store runs, grouped by the noun it is
// about: each group is a struct in queries_<noun>.go, embedded here so that
// call sites say s.q.Name whatever the group, and a test can walk them all
// and prepare each statement on both dialects. A group's base is written
// for SQLite and, wherever the two agree, for PostgreSQL too: '?'
// placeholders (rebound to $n for pgx), explicit column lists, ON CONFLICT,
// RETURNING. Where the dialects differ, the group's postgres method
// replaces the text. An empty text means
// "nothing to run on this dialect" (the PostgreSQL advisory locks on SQLite).
//
// Lists of values travel as one JSON array parameter (json_each on SQLite,
// jsonb_array_elements / jsonb_to_recordset on PostgreSQL), so that batched
// look-ups and multi-row inserts are still single, preparable statements.
type queries struct {
	migrationQueries
	cardQueries
	identityQueries
	recordQueries
	suggestionQueries
	erasureQueries
	conversationQueries
	messageQueries
	outboxQueries
	eventQueries
	operatorQueries
	teamQueries
	credentialQueries
	auditQueries
	channelQueries
	pollerQueries
	newMailQueries
	threadQueries
	readQueries
	cannedQueries
	searchQueries
	callQueries
	importQueries
	supervisionQueries
	contactQueries
	reportQueries
	webhookQueries
	segmentQueries
}

// Column lists shared by several queries. Conversations are always read
// joined with their client (alias cl) for client_name.
const (
	conversationCols = `c.id, c.client_id, cl.name AS client_name, c.channel_id, c.channel_type, c.status,
	c.assignee_id, c.unread, c.last_message_at, c.created_at,
	c.waiting_since, c.sla_kind, c.sla_due_at, c.sla_warn_at, c.sla_breached, c.first_reply_at`
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
		migrationQueries:    baseMigrationQueries(),
		cardQueries:         baseCardQueries(),
		identityQueries:     baseIdentityQueries(),
		recordQueries:       baseRecordQueries(),
		suggestionQueries:   baseSuggestionQueries(),
		erasureQueries:      baseErasureQueries(),
		conversationQueries: baseConversationQueries(),
		messageQueries:      baseMessageQueries(),
		outboxQueries:       baseOutboxQueries(),
		eventQueries:        baseEventQueries(),
		operatorQueries:     baseOperatorQueries(),
		teamQueries:         baseTeamQueries(),
		credentialQueries:   baseCredentialQueries(),
		auditQueries:        baseAuditQueries(),
		channelQueries:      baseChannelQueries(),
		pollerQueries:       basePollerQueries(),
		newMailQueries:      baseNewMailQueries(),
		threadQueries:       baseThreadQueries(),
		readQueries:         baseReadQueries(),
		cannedQueries:       baseCannedQueries(),
		searchQueries:       baseSearchQueries(),
		importQueries:       baseImportQueries(),
		callQueries:         baseCallQueries(),
		supervisionQueries:  baseSupervisionQueries(),
		contactQueries:      baseContactQueries(),
		reportQueries:       baseReportQueries(),
		webhookQueries:      baseWebhookQueries(),
		segmentQueries:      baseSegmentQueries(),
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
	return visibleTo(a, "?", set)
}

// visibleTo is visibleConv with the operator's parameter spelled out (a
// named statement's ":operator").
func visibleTo(a, operator, set string) string {
	return `(` + a + `.assignee_id = ` + operator + ` OR (` + a + `.assignee_id IS NULL AND ` + a +
		`.channel_id NOT IN (` + set + `)))`
}

// postgresOverrides replaces the statements PostgreSQL needs written its own
// way: advisory locks, row locks, JSON functions and typed columns.
func postgresOverrides(q *queries) {
	q.migrationQueries.postgres()
	q.cardQueries.postgres()
	q.identityQueries.postgres()
	q.recordQueries.postgres()
	q.suggestionQueries.postgres()
	q.erasureQueries.postgres()
	q.conversationQueries.postgres()
	q.messageQueries.postgres()
	q.outboxQueries.postgres()
	q.eventQueries.postgres()
	q.credentialQueries.postgres()
	q.channelQueries.postgres()
	q.threadQueries.postgres()
	q.readQueries.postgres()
	q.searchQueries.postgres()
	q.callQueries.postgres()
	q.supervisionQueries.postgres()
	q.contactQueries.postgres()
	q.reportQueries.postgres()
	q.webhookQueries.postgres()
	q.segmentQueries.postgres()
}

// newQueries returns the statements for dialect with placeholders rebound,
// the named ones compiled with m (the pool's mapper: db tags) and the lists
// told how to rebind once built.
func newQueries(dialect string, rebind func(string) string, m *reflectx.Mapper) (queries, error) {
	q := baseQueries()
	if dialect == DialectPostgres {
		postgresOverrides(&q)
	}
	var errs []error
	eachStatement(reflect.ValueOf(&q).Elem(),
		func(_ string, text *string) { *text = rebind(*text) },
		func(name string, n compiledStatement) {
			if err := n.compile(m, rebind); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
		})
	return q, errors.Join(errs...)
}

// all returns every statement by field name, skipping the empty ones.
func (q *queries) all() map[string]string {
	m := make(map[string]string)
	add := func(name, text string) {
		if text != "" {
			m[name] = text
		}
	}
	eachStatement(reflect.ValueOf(q).Elem(),
		func(name string, text *string) { add(name, *text) },
		func(name string, n compiledStatement) { add(name, n.sql()) })
	return m
}

// eachStatement calls plain or compiled with every statement of the struct
// v, walking into the embedded per-noun groups.
func eachStatement(v reflect.Value, plain func(name string, text *string), compiled func(name string, n compiledStatement)) {
	for i := 0; i < v.NumField(); i++ {
		f, sf := v.Field(i), v.Type().Field(i)
		if sf.Anonymous && f.Kind() == reflect.Struct {
			// A group: its own value is unexported, its statements are not.
			eachStatement(f, plain, compiled)
			continue
		}
		if !sf.IsExported() {
			continue // a fragment that statements are built from, not one
		}
		if n, ok := f.Addr().Interface().(compiledStatement); ok {
			compiled(sf.Name, n)
		} else if f.Kind() == reflect.String {
			plain(sf.Name, f.Addr().Interface().(*string))
		}
	}
}
