package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/jmoiron/sqlx"

	"github.com/leadhub/leadhub/inbox"
)

// CannedReplies returns the canned replies operatorID may use: their own,
// their teams' and everyone's, by title.
func (s *Store) CannedReplies(ctx context.Context, operatorID int64) ([]inbox.CannedReply, error) {
	var rows []cannedRow
	if err := s.db.SelectContext(ctx, &rows, s.q.CannedFor, operatorID, operatorID); err != nil {
		return nil, fmt.Errorf("store: canned replies: %w", err)
	}
	out := make([]inbox.CannedReply, len(rows))
	for i, r := range rows {
		out[i] = r.canned()
	}
	return out, nil
}

// CreateCannedReply adds a canned reply for the operator (role) as c.Scope
// says: theirs, a team's or everyone's (inbox.CanEditCanned decides who may).
func (s *Store) CreateCannedReply(ctx context.Context, operatorID int64, role inbox.Role, c inbox.CannedReply) (inbox.CannedReply, error) {
	if err := c.Check(); err != nil {
		return inbox.CannedReply{}, fmt.Errorf("store: create canned reply: %w", err)
	}
	if c.Scope == inbox.CannedPersonal {
		c.OwnerID = &operatorID
	}
	var out inbox.CannedReply
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		teams, err := s.teamsOf(ctx, tx, operatorID)
		if err != nil {
			return err
		}
		if !inbox.CanEditCanned(c, operatorID, role, teams[operatorID]) {
			return inbox.Errorf(inbox.EFORBIDDEN, "only supervisors and admins share replies with everyone or another team")
		}
		var teamID any
		if c.Scope == inbox.CannedTeam {
			var id int64
			if err := tx.GetContext(ctx, &id, s.q.TeamIDByName, c.Team); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					return inbox.Errorf(inbox.EINVALID, "no team %q", c.Team)
				}
				return fmt.Errorf("find team: %w", err)
			}
			teamID = id
		}
		var owner any
		if c.OwnerID != nil {
			owner = *c.OwnerID
		}
		var id int64
		if err := s.q.InsertCanned.get(ctx, tx, &id, cannedInsert{OwnerID: owner, TeamID: teamID, Title: c.Title,
			Text: c.Text, CreatedBy: optionalID(operatorID), At: dbTime(s.now())}); err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		out, err = s.cannedByID(ctx, tx, id)
		return err
	})
	if err != nil {
		return inbox.CannedReply{}, fmt.Errorf("store: create canned reply: %w", err)
	}
	return out, nil
}

// UpdateCannedReply changes a canned reply's title or text. One the
// operator cannot use is ENOTFOUND; one they may use but not change
// EFORBIDDEN.
func (s *Store) UpdateCannedReply(ctx context.Context, operatorID int64, role inbox.Role, id int64, p inbox.CannedPatch) (inbox.CannedReply, error) {
	var out inbox.CannedReply
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		c, err := s.editableCanned(ctx, tx, operatorID, role, id)
		if err != nil {
			return err
		}
		if p.Title != nil {
			c.Title = *p.Title
		}
		if p.Text != nil {
			c.Text = *p.Text
		}
		if err := c.Check(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q.UpdateCanned, c.Title, c.Text, dbTime(s.now()), id); err != nil {
			return fmt.Errorf("update: %w", err)
		}
		out, err = s.cannedByID(ctx, tx, id)
		return err
	})
	if err != nil {
		return inbox.CannedReply{}, fmt.Errorf("store: update canned reply %d: %w", id, err)
	}
	return out, nil
}

// DeleteCannedReply deletes a canned reply, under UpdateCannedReply's rules.
func (s *Store) DeleteCannedReply(ctx context.Context, operatorID int64, role inbox.Role, id int64) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := s.editableCanned(ctx, tx, operatorID, role, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q.DeleteCanned, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete canned reply %d: %w", id, err)
	}
	return nil
}

// editableCanned reads a canned reply the operator may change.
func (s *Store) editableCanned(ctx context.Context, tx *sqlx.Tx, operatorID int64, role inbox.Role, id int64) (inbox.CannedReply, error) {
	c, err := s.cannedByID(ctx, tx, id)
	if err != nil {
		return c, err
	}
	teams, err := s.teamsOf(ctx, tx, operatorID)
	if err != nil {
		return c, err
	}
	usable := c.Scope == inbox.CannedEveryone || (c.Scope == inbox.CannedTeam && slices.Contains(teams[operatorID], c.Team)) ||
		(c.OwnerID != nil && *c.OwnerID == operatorID)
	switch {
	case inbox.CanEditCanned(c, operatorID, role, teams[operatorID]):
		return c, nil
	case usable:
		return c, inbox.Errorf(inbox.EFORBIDDEN, "only supervisors and admins change replies shared with everyone")
	default:
		return c, inbox.Errorf(inbox.ENOTFOUND, "canned reply not found")
	}
}

func (s *Store) cannedByID(ctx context.Context, q queryer, id int64) (inbox.CannedReply, error) {
	var r cannedRow
	if err := q.GetContext(ctx, &r, s.q.CannedByID, id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return inbox.CannedReply{}, inbox.Errorf(inbox.ENOTFOUND, "canned reply not found")
		}
		return inbox.CannedReply{}, fmt.Errorf("read canned reply: %w", err)
	}
	return r.canned(), nil
}
