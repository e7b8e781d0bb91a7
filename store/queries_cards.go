package store

import "strconv"

// cardQueries are the statements about client cards: the card itself, its locks, search and lists.
type cardQueries struct {
	LockPersons         string
	InsertClients       string
	DeleteClient        string
	FillClientName      string
	LockCards           string
	SetRawPhones        string
	ClientByID          string
	ListClients         string
	SearchClients       string
	ClientsForUpdate    string
	AnalyzeCards        string
	SaveClient          namedQuery[clientSave]
	ClientsPage         string
	MarkMerged          string
	RepointTombstones   string
	EraseClient         string
	FillCompanies       string
	VisibleClients      string
	ListClientsScoped   string
	SearchClientsScoped string
}

func baseCardQueries() cardQueries {
	return cardQueries{
		// Multi-row inserts from a JSON array. "WHERE true" keeps SQLite from
		// reading ON CONFLICT as the ON of a join.
		InsertClients: `INSERT INTO clients (name, name_lower, created_at, updated_at)
			SELECT json_extract(j.value, '$.name'), json_extract(j.value, '$.name_lower'),
				json_extract(j.value, '$.at'), json_extract(j.value, '$.at')
			FROM json_each(?) AS j
			RETURNING id`,
		DeleteClient: `DELETE FROM clients WHERE id = ?`,
		FillClientName: `UPDATE clients SET name = ?, name_lower = ?, updated_at = ?
			WHERE id = ? AND name = ''`,
		// SQLite has one writer at a time: reading is enough. PostgreSQL
		// share-locks the cards (see FileBatch).
		LockCards: `SELECT id, spam, merged_into, raw_phones FROM clients
			WHERE id IN (SELECT j.value FROM json_each(?) AS j) ORDER BY id`,
		SetRawPhones: `UPDATE clients SET raw_phones = ? WHERE id = ?`,
		ClientByID:   `SELECT ` + clientCols + ` FROM clients c WHERE c.id = ?`,
		ListClients: `SELECT ` + clientCols + ` FROM clients c
			WHERE c.merged_into IS NULL AND (? = 0 OR c.id < ?)
			ORDER BY c.id DESC
			LIMIT ?`,
		// SQLite scans the narrow search index instead of the table: half
		// the time at 100,000 cards.
		SearchClients: searchClients(`clients c INDEXED BY clients_search_idx`, `instr`),
		ClientsForUpdate: `SELECT ` + clientCols + ` FROM clients c
			WHERE c.id IN (SELECT j.value FROM json_each(?) AS j) ORDER BY c.id`,
		SaveClient: named[clientSave](`UPDATE clients SET name = :name, name_lower = :name_lower, company = :company,
			company_lower = :company_lower, custom_fields = :custom_fields, raw_phones = :raw_phones,
			do_not_contact = :do_not_contact, dnc_reason = :dnc_reason, spam = :spam, updated_at = :at
			WHERE id = :id`),
		ClientsPage: `SELECT ` + clientCols + ` FROM clients c
			WHERE c.merged_into IS NULL AND c.id > ? ORDER BY c.id LIMIT ?`,
		MarkMerged:        `UPDATE clients SET merged_into = ?, updated_at = ? WHERE id = ?`,
		RepointTombstones: `UPDATE clients SET merged_into = ? WHERE merged_into = ?`,
		// The card keeps its id, dates, conversations and message skeletons,
		// so that counts and reports stay right; everything personal goes.
		EraseClient: `UPDATE clients SET name = 'Erased client #' || id, name_lower = 'erased client #' || id,
			company = '', company_lower = '', custom_fields = '', raw_phones = '', do_not_contact = FALSE,
			dnc_reason = '', erased_at = ?, updated_at = ?
			WHERE id = ? OR merged_into = ?`,
		FillCompanies: `UPDATE clients
			SET company = json_extract(j.value, '$.company'), company_lower = json_extract(j.value, '$.company_lower')
			FROM json_each(?) AS j
			WHERE clients.id = json_extract(j.value, '$.id') AND clients.company = ''`,
		VisibleClients: visibleClients(sqliteSet),
		ListClientsScoped: `SELECT ` + clientCols + ` FROM clients c
			WHERE c.merged_into IS NULL AND (? = 0 OR c.id < ?)
			AND c.id IN (SELECT v.client_id FROM conversations v WHERE ` + visibleConv("v", sqliteSet) + `)
			ORDER BY c.id DESC
			LIMIT ?`,
		SearchClientsScoped: searchClientsIn(`clients c INDEXED BY clients_search_idx`, `instr`,
			` AND c.id IN (SELECT v.client_id FROM conversations v WHERE `+visibleConv("v", sqliteSet)+`)`),
	}
}

// postgres replaces the statements PostgreSQL needs written its own way.
func (q *cardQueries) postgres() {
	// Refreshes the planner's statistics after a big import (csv.go).
	q.AnalyzeCards = `ANALYZE clients, identities, client_tags`
	// One int4 lock per key hash, taken in the order given (sorted by the
	// caller), so that two batches touching the same people queue instead of
	// deadlocking on each other's identity, conversation and message rows.
	q.LockPersons = `SELECT pg_advisory_xact_lock(` + strconv.Itoa(lockClassPersons) + `, t.k::int)
		FROM jsonb_array_elements_text(?::jsonb) AS t(k)`
	q.InsertClients = `INSERT INTO clients (name, name_lower, created_at, updated_at)
		SELECT r.name, r.name_lower, r.at, r.at
		FROM jsonb_to_recordset(?::jsonb) AS r(name text, name_lower text, at timestamptz)
		RETURNING id`
	q.LockCards = `SELECT id, spam, merged_into, raw_phones FROM clients
		WHERE id IN (SELECT t.k::bigint FROM jsonb_array_elements_text(?::jsonb) AS t(k)) ORDER BY id
		FOR SHARE`
	q.SearchClients = searchClients(`clients c`, `strpos`)
	q.ClientsForUpdate = `SELECT ` + clientCols + ` FROM clients c
		WHERE c.id IN (SELECT t.k::bigint FROM jsonb_array_elements_text(?::jsonb) AS t(k)) ORDER BY c.id
		FOR UPDATE OF c`
	q.FillCompanies = `UPDATE clients AS c SET company = r.company, company_lower = r.company_lower
		FROM jsonb_to_recordset(?::jsonb) AS r(id bigint, company text, company_lower text)
		WHERE c.id = r.id AND c.company = ''`
	q.VisibleClients = `SELECT DISTINCT c.client_id FROM conversations c WHERE c.client_id IN (` + postgresIDSet + `)
		AND ` + visibleConv("c", postgresSet)
	q.ListClientsScoped = `SELECT ` + clientCols + ` FROM clients c
		WHERE c.merged_into IS NULL AND (? = 0 OR c.id < ?)
		AND c.id IN (SELECT v.client_id FROM conversations v WHERE ` + visibleConv("v", postgresSet) + `)
		ORDER BY c.id DESC
		LIMIT ?`
	q.SearchClientsScoped = searchClientsIn(`clients c`, `strpos`,
		` AND c.id IN (SELECT v.client_id FROM conversations v WHERE `+visibleConv("v", postgresSet)+`)`)
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

// clientSave is what SaveClient writes of a card.
type clientSave struct {
	ID           int64  `db:"id"`
	Name         string `db:"name"`
	NameLower    string `db:"name_lower"`
	Company      string `db:"company"`
	CompanyLower string `db:"company_lower"`
	CustomFields string `db:"custom_fields"` // JSON object, '' when none
	RawPhones    string `db:"raw_phones"`    // JSON array, '' when none
	DoNotContact bool   `db:"do_not_contact"`
	DNCReason    string `db:"dnc_reason"`
	Spam         bool   `db:"spam"`
	At           string `db:"at"`
}
