package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// The store keeps the pollers' checkpoints and leases (inbox.PollerStore),
// so that instances sharing a database agree on who polls each source and
// from where.
var _ inbox.PollerStore = (*Store)(nil)

// LoadCheckpoint returns the position last saved for source, "" when none
// was.
func (s *Store) LoadCheckpoint(ctx context.Context, source string) (string, error) {
	var pos string
	err := s.db.GetContext(ctx, &pos, s.q.LoadCheckpoint, source)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: load checkpoint %s: %w", source, err)
	}
	return pos, nil
}

// SaveCheckpoint records source's position, replacing the previous one.
func (s *Store) SaveCheckpoint(ctx context.Context, source, position string) error {
	if source == "" {
		return inbox.Errorf(inbox.EINVALID, "checkpoint source is required")
	}
	if _, err := s.db.ExecContext(ctx, s.q.SaveCheckpoint, source, position, dbTime(s.now())); err != nil {
		return fmt.Errorf("store: save checkpoint %s: %w", source, err)
	}
	return nil
}

// AcquireLease takes the named lease for holder until now+ttl, by the
// store's clock, if it is free, expired or holder's already; otherwise ok is
// false and l names the current holder. Of several instances racing for an
// expired lease, exactly one gets it (see the AcquireLease query).
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (l inbox.Lease, ok bool, err error) {
	return s.takeLease(ctx, "acquire", &s.q.AcquireLease, name, holder, ttl)
}

// RenewLease extends holder's unexpired lease to now+ttl. ok is false when
// holder no longer holds it: it expired or another holder took it.
func (s *Store) RenewLease(ctx context.Context, name, holder string, ttl time.Duration) (l inbox.Lease, ok bool, err error) {
	return s.takeLease(ctx, "renew", &s.q.RenewLease, name, holder, ttl)
}

// takeLease runs an acquiring or renewing statement for holder until
// now+ttl. When it takes nothing, it reads who holds the lease, for the log;
// it may have been released in between, and then the next attempt takes it.
func (s *Store) takeLease(ctx context.Context, op string, q *namedQuery[leaseParams], name, holder string, ttl time.Duration) (l inbox.Lease, ok bool, err error) {
	if err := checkLease(name, holder, ttl); err != nil {
		return inbox.Lease{}, false, err
	}
	now := s.now()
	p := leaseParams{Name: name, Holder: holder, Now: dbTime(now), ExpiresAt: dbTime(now.Add(ttl))}
	l, ok, err = s.leaseRow(ctx, name, q.text, q.args(p)...)
	if err != nil || ok {
		return l, ok, wrapLease(op, name, err)
	}
	l, _, err = s.leaseRow(ctx, name, s.q.LeaseByName, name)
	return l, false, wrapLease(op, name, err)
}

// ReleaseLease ends holder's lease now; a lease held by another, or by
// nobody, is left alone.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := s.db.ExecContext(ctx, s.q.ReleaseLease, name, holder); err != nil {
		return fmt.Errorf("store: release lease %s: %w", name, err)
	}
	return nil
}

// leaseRow runs a query returning (holder, expires_at); found is false when
// it returned no row.
func (s *Store) leaseRow(ctx context.Context, name, query string, args ...any) (l inbox.Lease, found bool, err error) {
	var exp sqlTime
	l.Name = name
	err = s.db.QueryRowxContext(ctx, query, args...).Scan(&l.Holder, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return l, false, nil
	}
	if err != nil {
		return l, false, err
	}
	l.ExpiresAt = exp.Time
	return l, true, nil
}

func checkLease(name, holder string, ttl time.Duration) error {
	switch {
	case name == "" || holder == "":
		return inbox.Errorf(inbox.EINVALID, "lease name and holder are required")
	case ttl <= 0:
		return inbox.Errorf(inbox.EINVALID, "lease ttl must be positive")
	}
	return nil
}

func wrapLease(op, name string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("store: %s lease %s: %w", op, name, err)
}
