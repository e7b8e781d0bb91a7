package sqlq

import (
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/leadhub/leadhub/inbox"
)

// Times are BIGINT unix milliseconds computed in Go, which reads and
// compares the same way in both dialects.
const schema = `
CREATE TABLE IF NOT EXISTS {t} (
	id          {id},
	payload     TEXT    NOT NULL,
	enqueued_at BIGINT  NOT NULL,
	visible_at  BIGINT  NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	lease       TEXT    NOT NULL DEFAULT '',
	last_error  TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS {t}_visible ON {t} (visible_at, id);
CREATE TABLE IF NOT EXISTS {t}_dead (
	id          {id},
	payload     TEXT    NOT NULL,
	enqueued_at BIGINT  NOT NULL,
	failed_at   BIGINT  NOT NULL,
	attempts    INTEGER NOT NULL,
	last_error  TEXT    NOT NULL
)`

// queries are the statements of one Queue, with its table name filled in
// and bind variables in its dialect (except ack, which goes through sqlx.In
// first).
type queries struct {
	bind       int
	schema     []string
	enqueue    string
	claim      string
	ack        string
	retry      string
	takeLeased string
	bury       string
	stats      string
	listDead   string
	takeDead   string
}

func newQueries(driver, table string) (queries, error) {
	var id, lock string
	var bind int
	switch driver {
	case "sqlite":
		// AUTOINCREMENT: ids are never reused, so a dead letter's id or a
		// stale ack can never point at a newer row.
		id, bind = "INTEGER PRIMARY KEY AUTOINCREMENT", sqlx.QUESTION
	case "pgx":
		// SKIP LOCKED lets concurrent claims pass each other instead of
		// queueing on the same rows. The claim is a CTE because a LIMIT
		// subquery inside IN may be re-run by the planner and lease more rows.
		id, bind, lock = "BIGSERIAL PRIMARY KEY", sqlx.DOLLAR, " FOR UPDATE SKIP LOCKED"
	default:
		return queries{}, inbox.Errorf(inbox.EINVALID, "sqlq: unsupported database driver %q (want sqlite or pgx)", driver)
	}
	r := strings.NewReplacer("{t}", table, "{id}", id, "{lock}", lock)
	q := func(s string) string { return sqlx.Rebind(bind, r.Replace(s)) }
	qs := queries{
		bind: bind,
		enqueue: q(`INSERT INTO {t} (payload, enqueued_at, visible_at, attempts, lease, last_error)
			VALUES (?, ?, ?, 0, '', '')`),
		claim: q(`WITH picked AS (
				SELECT id FROM {t} WHERE visible_at <= ? ORDER BY id LIMIT ?{lock}
			)
			UPDATE {t} SET visible_at = ?, lease = ?, attempts = attempts + 1
			WHERE id IN (SELECT id FROM picked)
			RETURNING id, payload, attempts`),
		ack:        r.Replace(`DELETE FROM {t} WHERE lease = ? AND id IN (?)`),
		retry:      q(`UPDATE {t} SET visible_at = ?, last_error = ? WHERE id = ? AND lease = ?`),
		takeLeased: q(`DELETE FROM {t} WHERE id = ? AND lease = ? RETURNING payload, enqueued_at, attempts`),
		bury: q(`INSERT INTO {t}_dead (payload, enqueued_at, failed_at, attempts, last_error)
			VALUES (?, ?, ?, ?, ?)`),
		stats: q(`SELECT
			(SELECT COUNT(*) FROM {t}) AS depth,
			(SELECT COALESCE(MIN(enqueued_at), 0) FROM {t}) AS oldest,
			(SELECT COUNT(*) FROM {t}_dead) AS dead,
			(SELECT COUNT(*) FROM {t} WHERE lease <> '') AS pending,
			(SELECT COALESCE(MIN(enqueued_at), 0) FROM {t} WHERE lease <> '') AS oldest_pending`),
		listDead: q(`SELECT id, payload, attempts, last_error, failed_at FROM {t}_dead ORDER BY id LIMIT ?`),
		takeDead: q(`DELETE FROM {t}_dead WHERE id = ? RETURNING payload`),
	}
	for _, stmt := range strings.Split(schema, ";") {
		qs.schema = append(qs.schema, r.Replace(stmt))
	}
	return qs, nil
}
