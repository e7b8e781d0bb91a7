package store

// outboxQueries are the statements about the outbox: replies waiting to be sent.
type outboxQueries struct {
	InsertOutbox         string
	DeleteOutboxOfClient string
	ClaimOutbound        string
	MarkSent             string
	MarkFailed           string
	DeleteOutbox         string
	RetryOutbox          string
}

func baseOutboxQueries() outboxQueries {
	return outboxQueries{
		InsertOutbox: `INSERT INTO outbox (message_id, attempts, due_at, last_error) VALUES (?, 0, ?, '')`,
		DeleteOutboxOfClient: `DELETE FROM outbox WHERE message_id IN (
			SELECT m.id FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE c.client_id = ?)`,
		// Parameters: now, now, limit, lease_until (the same order on both dialects).
		ClaimOutbound: `WITH due AS (
				SELECT o.message_id FROM outbox o JOIN messages m ON m.id = o.message_id
				WHERE m.delivery = 'queued' AND o.due_at <= ? AND (o.lease_until IS NULL OR o.lease_until < ?)
				ORDER BY o.due_at, o.message_id
				LIMIT ?)
			UPDATE outbox SET attempts = attempts + 1, lease_until = ?
			WHERE message_id IN (SELECT message_id FROM due)
			RETURNING message_id, attempts`,
		MarkSent: `UPDATE messages SET delivery = 'sent', external_id = ?, error = ''
			WHERE id = ? AND direction = 'out' RETURNING ` + messageCols,
		MarkFailed: `UPDATE messages SET delivery = 'failed', error = ?
			WHERE id = ? AND direction = 'out' RETURNING ` + messageCols,
		DeleteOutbox: `DELETE FROM outbox WHERE message_id = ?`,
		RetryOutbox:  `UPDATE outbox SET due_at = ?, last_error = ?, lease_until = NULL WHERE message_id = ?`,
	}
}

// postgres replaces the statements PostgreSQL needs written its own way.
func (q *outboxQueries) postgres() {
	// SKIP LOCKED: concurrent claimers pass over each other's rows instead
	// of waiting for them, and never take the same message.
	q.ClaimOutbound = `WITH due AS (
			SELECT o.message_id FROM outbox o JOIN messages m ON m.id = o.message_id
			WHERE m.delivery = 'queued' AND o.due_at <= ? AND (o.lease_until IS NULL OR o.lease_until < ?)
			ORDER BY o.due_at, o.message_id
			LIMIT ?
			FOR UPDATE OF o SKIP LOCKED)
		UPDATE outbox SET attempts = outbox.attempts + 1, lease_until = ?
		FROM due WHERE outbox.message_id = due.message_id
		RETURNING outbox.message_id, outbox.attempts`
}
