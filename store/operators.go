package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// tokenTouchEvery bounds how often a token's last_used_at is written: a
// script polling the API must not turn every read into a write.
const tokenTouchEvery = time.Minute

// OperatorByEmail returns the operator with the email (matched lower-cased)
// and their password hash, disabled or not; ENOTFOUND if there is none.
func (s *Store) OperatorByEmail(ctx context.Context, email string) (inbox.Operator, string, error) {
	var row struct {
		operatorRow
		PasswordHash string `db:"password_hash"`
	}
	err := s.db.GetContext(ctx, &row, s.q.OperatorByEmail, strings.ToLower(strings.TrimSpace(email)))
	if errors.Is(err, sql.ErrNoRows) {
		return inbox.Operator{}, "", fmt.Errorf("store: operator by email: %w", inbox.Errorf(inbox.ENOTFOUND, "operator not found"))
	}
	if err != nil {
		return inbox.Operator{}, "", fmt.Errorf("store: operator by email: %w", err)
	}
	return row.operator(), row.PasswordHash, nil
}
