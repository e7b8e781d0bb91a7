package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/leadhub/leadhub/inbox"
)

// audit writes an audit entry in tx. operatorID 0 is "no operator" (the
// command line). detail is encoded as a JSON object and must never carry
// personal data: ids, counts, flags, field names.
func (s *Store) audit(ctx context.Context, tx *sqlx.Tx, operatorID int64, action, entity string, entityID int64, detail any, at time.Time) error {
	if detail == nil {
		detail = map[string]any{}
	}
	b, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("encode audit detail: %w", err)
	}
	if _, err := s.q.InsertAudit.exec(ctx, tx, auditInsert{OperatorID: optionalID(operatorID), Action: action,
		Entity: entity, EntityID: entityID, Detail: string(b), At: dbTime(at)}); err != nil {
		if isForeignKeyViolation(err) {
			return inbox.Errorf(inbox.EINVALID, "unknown operator %d", operatorID)
		}
		return fmt.Errorf("write audit entry: %w", err)
	}
	return nil
}

// AuditOfClient returns the audit entries about a card and its
// conversations, oldest first.
func (s *Store) AuditOfClient(ctx context.Context, clientID int64) ([]inbox.AuditEntry, error) {
	out, err := s.auditOfClient(ctx, s.db, clientID)
	if err != nil {
		return nil, fmt.Errorf("store: audit of client %d: %w", clientID, err)
	}
	return out, nil
}

func (s *Store) auditOfClient(ctx context.Context, q queryer, clientID int64) ([]inbox.AuditEntry, error) {
	var rows []auditRow
	if err := q.SelectContext(ctx, &rows, s.q.AuditOfClient, clientID, clientID); err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	out := make([]inbox.AuditEntry, len(rows))
	for i, r := range rows {
		out[i] = r.entry()
	}
	return out, nil
}
