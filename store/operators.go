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

// CreateOperator stores an operator with the given password hash and returns
// it with its id. The email is trimmed and lower-cased. An empty email or an
// unknown role is EINVALID; an email already taken is ECONFLICT.
func (s *Store) CreateOperator(ctx context.Context, op inbox.Operator, passwordHash string) (inbox.Operator, error) {
	op.Email = strings.ToLower(strings.TrimSpace(op.Email))
	op.Name = clean(strings.TrimSpace(op.Name))
	switch {
	case op.Email == "":
		return inbox.Operator{}, fmt.Errorf("store: create operator: %w", inbox.Errorf(inbox.EINVALID, "empty email"))
	case !op.Role.Valid():
		return inbox.Operator{}, fmt.Errorf("store: create operator: %w", inbox.Errorf(inbox.EINVALID, "invalid role %q", op.Role))
	}
	op.CreatedAt = s.now()
	err := s.db.GetContext(ctx, &op.ID, s.q.InsertOperator,
		clean(op.Email), op.Name, string(op.Role), passwordHash, op.Disabled, dbTime(op.CreatedAt))
	if err != nil {
		if isUniqueViolation(err) {
			return inbox.Operator{}, fmt.Errorf("store: create operator: %w",
				inbox.Errorf(inbox.ECONFLICT, "an operator with this email exists"))
		}
		return inbox.Operator{}, fmt.Errorf("store: create operator: %w", err)
	}
	return op, nil
}

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

// CreateToken stores an API token's hash for an operator. An unknown
// operator is ENOTFOUND; a hash stored already is ECONFLICT.
func (s *Store) CreateToken(ctx context.Context, operatorID int64, name, tokenHash string) error {
	if tokenHash == "" {
		return fmt.Errorf("store: create token: %w", inbox.Errorf(inbox.EINVALID, "empty token hash"))
	}
	_, err := s.db.ExecContext(ctx, s.q.InsertToken, operatorID, clean(name), tokenHash, dbTime(s.now()))
	switch {
	case err == nil:
		return nil
	case isForeignKeyViolation(err):
		return fmt.Errorf("store: create token: %w", inbox.Errorf(inbox.ENOTFOUND, "operator not found"))
	case isUniqueViolation(err):
		return fmt.Errorf("store: create token: %w", inbox.Errorf(inbox.ECONFLICT, "token exists"))
	}
	return fmt.Errorf("store: create token: %w", err)
}

// OperatorByToken returns the operator an API token hash belongs to, and
// records the token's use (at most once a minute). ENOTFOUND if the token is
// unknown or its operator disabled.
func (s *Store) OperatorByToken(ctx context.Context, tokenHash string) (inbox.Operator, error) {
	var row struct {
		operatorRow
		TokenID    int64   `db:"token_id"`
		LastUsedAt sqlTime `db:"last_used_at"`
	}
	err := s.db.GetContext(ctx, &row, s.q.OperatorByToken, tokenHash)
	if errors.Is(err, sql.ErrNoRows) {
		return inbox.Operator{}, fmt.Errorf("store: operator by token: %w", inbox.Errorf(inbox.ENOTFOUND, "token not found"))
	}
	if err != nil {
		return inbox.Operator{}, fmt.Errorf("store: operator by token: %w", err)
	}
	if at := s.now(); at.Sub(row.LastUsedAt.Time) >= tokenTouchEvery {
		if _, err := s.db.ExecContext(ctx, s.q.TouchToken, dbTime(at), row.TokenID); err != nil {
			// The caller is authenticated either way; a missed
			// timestamp is not worth failing the request for.
			s.log.Warn("touch api token", "token_id", row.TokenID, "err", err)
		}
	}
	return row.operator(), nil
}
