package store

// recordQueries are the statements about a card's records: tags, notes, consents, tasks and facts.
type recordQueries struct {
	InsertConsents    string
	InsertFacts       string
	FactsByDedupeKeys string
	TagsOfClients     string
	DeleteTags        string
	InsertTags        string
	InsertNotes       string
	InsertNewNotes    string
	NotesOfClient     string
	ConsentsOfClient  string
	InsertTask        namedQuery[taskInsert]
	TasksOfClient     string
	MoveTags          string
	MoveNotes         string
	MoveConsents      string
	MoveTasks         string
	FactKeysOfClient  string
	DeleteFactsOf     string
	MoveFacts         string
	DeleteNotes       string
	DeleteTasks       string
	BlankConsents     string
}

func baseRecordQueries() recordQueries {
	return recordQueries{
		InsertFacts: `INSERT INTO card_facts (client_id, channel_id, name, value, dedupe_key, created_at)
			SELECT json_extract(j.value, '$.client_id'), json_extract(j.value, '$.channel_id'),
				json_extract(j.value, '$.name'), json_extract(j.value, '$.value'),
				json_extract(j.value, '$.dedupe_key'), json_extract(j.value, '$.at')
			FROM json_each(?) AS j WHERE true
			ON CONFLICT (dedupe_key) DO NOTHING
			RETURNING dedupe_key`,
		FactsByDedupeKeys: `SELECT dedupe_key FROM card_facts WHERE dedupe_key IN (` + sqliteSet + `)`,
		InsertConsents: `INSERT INTO consents (client_id, kind, text_version, given_at, ip, source, created_at)
			SELECT json_extract(j.value, '$.client_id'), json_extract(j.value, '$.kind'),
				json_extract(j.value, '$.text_version'), json_extract(j.value, '$.given_at'),
				json_extract(j.value, '$.ip'), json_extract(j.value, '$.source'), json_extract(j.value, '$.at')
			FROM json_each(?) AS j
			RETURNING id`,
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
		// An import's notes: a note the card already has, word for word,
		// is not added again, so that importing a file twice adds nothing.
		InsertNewNotes: `INSERT INTO client_notes (client_id, author_id, text, created_at)
			SELECT json_extract(j.value, '$.client_id'), json_extract(j.value, '$.author_id'),
				json_extract(j.value, '$.text'), json_extract(j.value, '$.at')
			FROM json_each(?) AS j
			WHERE NOT EXISTS (SELECT 1 FROM client_notes n
				WHERE n.client_id = json_extract(j.value, '$.client_id') AND n.text = json_extract(j.value, '$.text'))`,
		NotesOfClient: `SELECT id, client_id, author_id, text, created_at FROM client_notes
			WHERE client_id = ? ORDER BY id`,
		ConsentsOfClient: `SELECT id, client_id, kind, text_version, given_at, ip, source FROM consents
			WHERE client_id = ? ORDER BY id`,
		InsertTask: named[taskInsert](`INSERT INTO tasks (client_id, title, due_at, done, assignee_id, created_by, created_at,
				kind, call_id)
			VALUES (:client_id, :title, :due_at, FALSE, :assignee_id, :created_by, :at, :kind, :call_id) RETURNING id`),
		TasksOfClient: `SELECT ` + taskCols + ` FROM tasks t WHERE t.client_id = ? ORDER BY t.id`,
		MoveTags: `INSERT INTO client_tags (client_id, tag, tag_lower)
			SELECT CAST(? AS BIGINT), tag, tag_lower FROM client_tags WHERE client_id = ?
			ON CONFLICT (client_id, tag_lower) DO NOTHING`,
		MoveNotes:        `UPDATE client_notes SET client_id = ? WHERE client_id = ?`,
		MoveConsents:     `UPDATE consents SET client_id = ? WHERE client_id = ?`,
		MoveTasks:        `UPDATE tasks SET client_id = ? WHERE client_id = ?`,
		FactKeysOfClient: `SELECT dedupe_key FROM card_facts WHERE client_id = ? AND dedupe_key IS NOT NULL`,
		DeleteFactsOf:    `DELETE FROM card_facts WHERE client_id = ?`,
		MoveFacts:        `UPDATE card_facts SET client_id = ? WHERE client_id = ?`,
		DeleteNotes:      `DELETE FROM client_notes WHERE client_id = ?`,
		DeleteTasks:      `DELETE FROM tasks WHERE client_id = ?`,
		BlankConsents:    `UPDATE consents SET ip = '' WHERE client_id = ?`,
	}
}

// postgres replaces the statements PostgreSQL needs written its own way.
func (q *recordQueries) postgres() {
	q.InsertConsents = `INSERT INTO consents (client_id, kind, text_version, given_at, ip, source, created_at)
		SELECT r.client_id, r.kind, r.text_version, r.given_at, r.ip, r.source, r.at
		FROM jsonb_to_recordset(?::jsonb) AS r(client_id bigint, kind text, text_version text, given_at timestamptz,
			ip text, source text, at timestamptz)
		RETURNING id`
	q.InsertFacts = `INSERT INTO card_facts (client_id, channel_id, name, value, dedupe_key, created_at)
		SELECT r.client_id, r.channel_id, r.name, r.value, r.dedupe_key, r.at
		FROM jsonb_to_recordset(?::jsonb) AS r(client_id bigint, channel_id text, name text, value text,
			dedupe_key text, at timestamptz)
		WHERE true
		ON CONFLICT (dedupe_key) DO NOTHING
		RETURNING dedupe_key`
	q.FactsByDedupeKeys = `SELECT dedupe_key FROM card_facts WHERE dedupe_key IN (` + postgresSet + `)`
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
	q.InsertNewNotes = `INSERT INTO client_notes (client_id, author_id, text, created_at)
		SELECT r.client_id, r.author_id, r.text, r.at
		FROM jsonb_to_recordset(?::jsonb) AS r(client_id bigint, author_id bigint, text text, at timestamptz)
		WHERE NOT EXISTS (SELECT 1 FROM client_notes n WHERE n.client_id = r.client_id AND n.text = r.text)`
}

// taskInsert is a new task; the nullable columns take nil.
type taskInsert struct {
	ClientID   int64  `db:"client_id"`
	Title      string `db:"title"`
	DueAt      any    `db:"due_at"`
	AssigneeID any    `db:"assignee_id"`
	CreatedBy  any    `db:"created_by"`
	At         string `db:"at"`
	Kind       string `db:"kind"`
	CallID     any    `db:"call_id"` // the missed call of a callback task
}
