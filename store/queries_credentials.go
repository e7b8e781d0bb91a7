package store

// credentialQueries are the statements about what signs an operator in: sessions, API tokens, login lockout.
type credentialQueries struct {
	TouchToken         string
	InsertSession      namedQuery[sessionInsert]
	SessionByHash      string
	TouchSession       string
	ListSessions       string
	DeleteSession      string
	DeleteSessionsOf   string
	DeleteExpired      string
	InsertScopedToken  namedQuery[tokenInsert]
	TokenByHash        string
	ListTokens         string
	DeleteToken        string
	DeleteTokensOf     string
	LoginLocks         string
	CountLoginFailure  namedQuery[loginFailure]
	LockLogin          string
	ClearLoginFailures string
	PurgeLoginFailures string
}

func baseCredentialQueries() credentialQueries {
	return credentialQueries{
		TouchToken: `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`,
		InsertSession: named[sessionInsert](`INSERT INTO sessions
			(operator_id, token_hash, csrf_token, ip, user_agent, created_at, last_seen_at, expires_at)
			VALUES (:operator_id, :token_hash, :csrf_token, :ip, :user_agent, :at, :at, :expires_at) RETURNING id`),
		SessionByHash: `SELECT ` + sessionCols + `, o.email, o.name, o.role, o.disabled, o.created_at AS operator_created_at
			FROM sessions s JOIN operators o ON o.id = s.operator_id
			WHERE s.token_hash = ? AND s.expires_at > ? AND o.disabled = FALSE`,
		TouchSession: `UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id = ?`,
		ListSessions: `SELECT ` + sessionCols + ` FROM sessions s WHERE s.operator_id = ? AND s.expires_at > ? ORDER BY s.id DESC`,
		// The second parameter 0 deletes anyone's session (an admin).
		DeleteSession:    `DELETE FROM sessions WHERE id = ? AND (? = 0 OR operator_id = ?) RETURNING operator_id`,
		DeleteSessionsOf: `DELETE FROM sessions WHERE operator_id = ? AND id <> ?`,
		DeleteExpired:    `DELETE FROM sessions WHERE expires_at <= ?`,
		InsertScopedToken: named[tokenInsert](`INSERT INTO api_tokens (operator_id, name, token_hash, scope, created_at)
			VALUES (:operator_id, :name, :token_hash, :scope, :at) RETURNING id`),
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
		// The upsert locks the row, so concurrent failures count one by one;
		// failures before since are forgotten.
		CountLoginFailure: named[loginFailure](`INSERT INTO login_failures (key, failures, window_start, locked_until)
			VALUES (:key, 1, :at, NULL)
			ON CONFLICT (key) DO UPDATE SET
				failures = CASE WHEN login_failures.window_start < :since THEN 1 ELSE login_failures.failures + 1 END,
				window_start = CASE WHEN login_failures.window_start < :since THEN excluded.window_start
					ELSE login_failures.window_start END
			RETURNING failures`),
		LockLogin:          `UPDATE login_failures SET failures = 0, window_start = ?, locked_until = ? WHERE key = ?`,
		ClearLoginFailures: `DELETE FROM login_failures WHERE key = ?`,
		PurgeLoginFailures: `DELETE FROM login_failures WHERE window_start < ? AND (locked_until IS NULL OR locked_until < ?)`,
	}
}

// postgres replaces the statements PostgreSQL needs written its own way.
func (q *credentialQueries) postgres() {
	q.LoginLocks = `SELECT locked_until FROM login_failures
		WHERE key IN (` + postgresSet + `) AND locked_until > ?`
}

// sessionInsert is a new session; it was last seen when it was created.
type sessionInsert struct {
	OperatorID int64  `db:"operator_id"`
	TokenHash  string `db:"token_hash"`
	CSRFToken  string `db:"csrf_token"`
	IP         string `db:"ip"`
	UserAgent  string `db:"user_agent"`
	At         string `db:"at"`
	ExpiresAt  string `db:"expires_at"`
}

// tokenInsert is a new API token.
type tokenInsert struct {
	OperatorID int64  `db:"operator_id"`
	Name       string `db:"name"`
	TokenHash  string `db:"token_hash"`
	Scope      string `db:"scope"`
	At         string `db:"at"`
}

// loginFailure counts one failed sign-in under key at at, forgetting the
// failures before since.
type loginFailure struct {
	Key   string `db:"key"`
	At    string `db:"at"`
	Since string `db:"since"`
}
