package sqlq

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// ListDead returns up to limit dead letters (100 if limit <= 0), oldest
// first. Their ids are the dead rows' ids in decimal. A payload that never
// decoded is listed with a zero Envelope so that the operator still sees it.
func (q *Queue) ListDead(ctx context.Context, limit int) ([]inbox.DeadLetter, error) {
	if limit <= 0 {
		limit = 100
	}
	var rows []struct {
		ID       int64  `db:"id"`
		Payload  string `db:"payload"`
		Attempts int    `db:"attempts"`
		Error    string `db:"last_error"`
		FailedAt int64  `db:"failed_at"`
	}
	if err := q.db.SelectContext(ctx, &rows, q.sql.listDead, limit); err != nil {
		return nil, fmt.Errorf("sqlq: list dead: %w", err)
	}
	out := make([]inbox.DeadLetter, 0, len(rows))
	for _, r := range rows {
		d := inbox.DeadLetter{
			ID:       strconv.FormatInt(r.ID, 10),
			Attempts: r.Attempts,
			Error:    r.Error,
			FailedAt: time.UnixMilli(r.FailedAt).UTC(),
		}
		_ = json.Unmarshal([]byte(r.Payload), &d.Envelope) // see the doc comment
		out = append(out, d)
	}
	return out, nil
}

// ReplayDead moves a dead letter back to the queue as a fresh row (attempt
// count zero, visible at once). An unknown id is ENOTFOUND.
func (q *Queue) ReplayDead(ctx context.Context, id string) error {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return inbox.Errorf(inbox.ENOTFOUND, "dead letter %q not found", id)
	}
	err = retryBusy(ctx, func() error {
		tx, err := q.db.BeginTxx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		// Delete first: of two concurrent replays only one gets the row.
		var payload string
		if err := tx.GetContext(ctx, &payload, q.sql.takeDead, n); err != nil {
			return err
		}
		now := time.Now().UnixMilli()
		if _, err := tx.ExecContext(ctx, q.sql.enqueue, payload, now, now); err != nil {
			return err
		}
		return tx.Commit()
	})
	if errors.Is(err, sql.ErrNoRows) {
		return inbox.Errorf(inbox.ENOTFOUND, "dead letter %q not found", id)
	}
	if err != nil {
		return fmt.Errorf("sqlq: replay dead %s: %w", id, err)
	}
	q.signal()
	return nil
}
