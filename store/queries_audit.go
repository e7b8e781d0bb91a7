package store

import "github.com/leadhub/leadhub/inbox"

// auditQueries are the statements about the audit log.
type auditQueries struct {
	InsertAudit   namedQuery[auditInsert]
	AuditOfClient string
	ListAudit     listStatement
}

func baseAuditQueries() auditQueries {
	return auditQueries{
		InsertAudit: named[auditInsert](`INSERT INTO audit_log (operator_id, action, entity, entity_id, detail, created_at)
			VALUES (:operator_id, :action, :entity, :entity_id, :detail, :at)`),
		AuditOfClient: `SELECT id, operator_id, action, entity, entity_id, detail, created_at FROM audit_log
			WHERE (entity = 'client' AND entity_id = ?)
			OR (entity = 'conversation' AND entity_id IN (` + ofClient + `))
			ORDER BY id`,
		// Newest first (listAudit adds the filters).
		ListAudit: list(`SELECT id, operator_id, action, entity, entity_id, detail, created_at FROM audit_log
			WHERE true`, `ORDER BY id DESC LIMIT ?`),
	}
}

// auditInsert is an audit entry to write.
type auditInsert struct {
	OperatorID any    `db:"operator_id"` // nil: the system
	Action     string `db:"action"`
	Entity     string `db:"entity"`
	EntityID   int64  `db:"entity_id"`
	Detail     string `db:"detail"`
	At         string `db:"at"`
}

// listAudit builds ListAudit for f (its zero fields are off), before the
// entry id before (from the newest when 0).
func (q *auditQueries) listAudit(f inbox.AuditFilter, before int64, limit int) (string, []any) {
	l := q.ListAudit.start()
	if f.Entity != "" {
		l.and(`entity = ?`, f.Entity)
	}
	if f.EntityID != 0 {
		l.and(`entity_id = ?`, f.EntityID)
	}
	if f.OperatorID != 0 {
		l.and(`operator_id = ?`, f.OperatorID)
	}
	if f.Action != "" {
		l.and(`action = ?`, f.Action)
	}
	if before != 0 {
		l.and(`id < ?`, before)
	}
	return l.end(limit)
}
