package store

// erasureQueries are the statements about erasure tombstones: hashes of what an erased client's data was.
type erasureQueries struct {
	ErasedHashes   string
	InsertErasures string
}

func baseErasureQueries() erasureQueries {
	return erasureQueries{
		ErasedHashes: `SELECT hash FROM erasures WHERE hash IN (SELECT j.value FROM json_each(?) AS j)`,
		InsertErasures: `INSERT INTO erasures (hash, kind, created_at)
			SELECT json_extract(j.value, '$.hash'), json_extract(j.value, '$.kind'), json_extract(j.value, '$.at')
			FROM json_each(?) AS j WHERE true
			ON CONFLICT (hash) DO NOTHING`,
	}
}

// postgres replaces the statements PostgreSQL needs written its own way.
func (q *erasureQueries) postgres() {
	q.ErasedHashes = `SELECT hash FROM erasures WHERE hash IN (SELECT t.k FROM jsonb_array_elements_text(?::jsonb) AS t(k))`
	q.InsertErasures = `INSERT INTO erasures (hash, kind, created_at)
		SELECT r.hash, r.kind, r.at
		FROM jsonb_to_recordset(?::jsonb) AS r(hash text, kind text, at timestamptz)
		WHERE true
		ON CONFLICT (hash) DO NOTHING`
}
