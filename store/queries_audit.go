package store

// auditQueries are the statements about the audit log.
type auditQueries struct {
	InsertAudit   string
	AuditOfClient string
	ListAudit     string
}

func baseAuditQueries() auditQueries {
	return auditQueries{
		InsertAudit: `INSERT INTO audit_log (operator_id, action, entity, entity_id, detail, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`,
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
