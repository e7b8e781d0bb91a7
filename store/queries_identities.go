package store

// identityQueries are the statements about identities: the ways a card is recognised, and whether replies reach them.
type identityQueries struct {
	IdentitiesByKeys    string
	ClaimIdentities     string
	MoveIdentities      string
	IdentitiesOfClient  string
	IdentitiesOfClients string
	DeleteIdentities    string
	MarkUnreachable     namedQuery[unreachableMark]
	ClearUnreachable    string
}

func baseIdentityQueries() identityQueries {
	return identityQueries{
		// Keys are a JSON array of [kind, value] pairs.
		IdentitiesByKeys: `SELECT i.client_id, i.kind, i.value, i.unreachable, cl.name AS client_name
			FROM identities i JOIN clients cl ON cl.id = i.client_id
			WHERE (i.kind, i.value) IN (
				SELECT json_extract(j.value, '$[0]'), json_extract(j.value, '$[1]') FROM json_each(?) AS j)`,
		ClaimIdentities: `INSERT INTO identities (client_id, kind, value, rev, created_at)
			SELECT json_extract(j.value, '$.client_id'), json_extract(j.value, '$.kind'),
				json_extract(j.value, '$.value'), json_extract(j.value, '$.rev'), json_extract(j.value, '$.at')
			FROM json_each(?) AS j WHERE true
			ON CONFLICT (kind, value) DO NOTHING
			RETURNING kind, value`,
		MoveIdentities: `UPDATE identities SET client_id = ? WHERE client_id = ?`,
		IdentitiesOfClient: `SELECT client_id, kind, value, unreachable, unreachable_at FROM identities
			WHERE client_id = ? ORDER BY id`,
		IdentitiesOfClients: `SELECT client_id, kind, value, unreachable, unreachable_at FROM identities
			WHERE client_id IN (SELECT j.value FROM json_each(?) AS j) ORDER BY id`,
		DeleteIdentities: `DELETE FROM identities WHERE client_id = ?`,
		MarkUnreachable: named[unreachableMark](`UPDATE identities SET unreachable = :reason, unreachable_at = :at
			WHERE client_id = :client_id AND kind = :kind AND value = :value`),
		ClearUnreachable: `UPDATE identities SET unreachable = '', unreachable_at = NULL
			WHERE kind = ? AND value = ? AND unreachable <> ''`,
	}
}

// postgres replaces the statements PostgreSQL needs written its own way.
func (q *identityQueries) postgres() {
	q.IdentitiesByKeys = `SELECT i.client_id, i.kind, i.value, i.unreachable, cl.name AS client_name
		FROM identities i JOIN clients cl ON cl.id = i.client_id
		WHERE (i.kind, i.value) IN (SELECT t.j ->> 0, t.j ->> 1 FROM jsonb_array_elements(?::jsonb) AS t(j))`
	q.ClaimIdentities = `INSERT INTO identities (client_id, kind, value, rev, created_at)
		SELECT r.client_id, r.kind, r.value, r.rev, r.at
		FROM jsonb_to_recordset(?::jsonb) AS r(client_id bigint, kind text, value text, rev text, at timestamptz)
		WHERE true
		ON CONFLICT (kind, value) DO NOTHING
		RETURNING kind, value`
	q.IdentitiesOfClients = `SELECT client_id, kind, value, unreachable, unreachable_at FROM identities
		WHERE client_id IN (SELECT t.k::bigint FROM jsonb_array_elements_text(?::jsonb) AS t(k)) ORDER BY id`
}

// unreachableMark marks one identity of a card unreachable.
type unreachableMark struct {
	ClientID int64  `db:"client_id"`
	Kind     string `db:"kind"`
	Value    string `db:"value"`
	Reason   string `db:"reason"`
	At       string `db:"at"`
}
