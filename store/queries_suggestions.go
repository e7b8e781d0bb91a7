package store

// suggestionQueries are the statements about duplicate suggestions between cards.
type suggestionQueries struct {
	InsertSuggestions    string
	SuggestionsOfClient  string
	ListSuggestions      listStatement
	ResolveSuggestion    string
	ResolveSuggestionsOf string
	DeleteSuggestionsOf  string
}

func baseSuggestionQueries() suggestionQueries {
	return suggestionQueries{
		InsertSuggestions: `INSERT INTO duplicate_suggestions (client_id, other_client_id, kind, value, resolved, created_at)
			SELECT json_extract(j.value, '$.client_id'), json_extract(j.value, '$.other_client_id'),
				json_extract(j.value, '$.kind'), json_extract(j.value, '$.value'), FALSE, json_extract(j.value, '$.at')
			FROM json_each(?) AS j WHERE true
			ON CONFLICT (client_id, other_client_id, kind, value) DO NOTHING
			RETURNING ` + suggestionCols,
		SuggestionsOfClient: `SELECT ` + suggestionCols + ` FROM duplicate_suggestions
			WHERE resolved = FALSE AND (client_id = ? OR other_client_id = ?) ORDER BY id`,
		// Newest first (listSuggestions adds the filters).
		ListSuggestions: list(`SELECT `+suggestionCols+` FROM duplicate_suggestions WHERE resolved = FALSE`,
			`ORDER BY id DESC LIMIT ?`),
		ResolveSuggestion: `UPDATE duplicate_suggestions SET resolved = TRUE WHERE id = ?
			RETURNING ` + suggestionCols,
		ResolveSuggestionsOf: `UPDATE duplicate_suggestions SET resolved = TRUE WHERE client_id = ? OR other_client_id = ?`,
		DeleteSuggestionsOf:  `DELETE FROM duplicate_suggestions WHERE client_id = ? OR other_client_id = ?`,
	}
}

// postgres replaces the statements PostgreSQL needs written its own way.
func (q *suggestionQueries) postgres() {
	q.InsertSuggestions = `INSERT INTO duplicate_suggestions (client_id, other_client_id, kind, value, resolved, created_at)
		SELECT r.client_id, r.other_client_id, r.kind, r.value, FALSE, r.at
		FROM jsonb_to_recordset(?::jsonb) AS r(client_id bigint, other_client_id bigint, kind text, value text,
			at timestamptz)
		WHERE true
		ON CONFLICT (client_id, other_client_id, kind, value) DO NOTHING
		RETURNING ` + suggestionCols
}

// listSuggestions builds ListSuggestions: the open suggestions involving
// clientID (all of them when 0), before the id before (from the start when
// 0).
func (q *suggestionQueries) listSuggestions(clientID, before int64, limit int) (string, []any) {
	l := q.ListSuggestions.start()
	if clientID != 0 {
		l.and(`client_id = ? OR other_client_id = ?`, clientID, clientID)
	}
	if before != 0 {
		l.and(`id < ?`, before)
	}
	return l.end(limit)
}
