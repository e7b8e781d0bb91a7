package store

// auditQueries are the statements about the audit log.
type auditQueries struct {
	InsertAudit   namedQuery[auditInsert]
	AuditOfClient string
	ListAudit     string
}

func baseAuditQueries() auditQueries {
	return auditQueries{
		InsertAudit: named[auditInsert](`INSERT INTO audit_log (operator_id, action, entity, entity_id, detail, created_at)
			VALUES (:operator_id, :action, :entity, :entity_id, :detail, :at)`),
		AuditOfClient: `SELECT id, operator_id, action, entity, entity_id, detail, created_at FROM audit_log
			WHERE (entity = 'client' AND entity_id = ?)
			OR (entity = 'conversation' AND entity_id IN (` + ofClient + `))
			ORDER BY id`,
		// Newest first; each filter is off when its first parameter is '' or 0.
		ListAudit: `SELECT id, operator_id, action, entity, entity_id, detail, created_at FROM audit_log
			WHERE (? = '' OR entity = ?) AND (? = 0 OR entity_id = ?) AND (? = 0 OR operator_id = ?)
			AND (? = '' OR action = ?) AND (? = 0 OR id < ?)
			ORDER BY id DESC LIMIT ?`,
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
