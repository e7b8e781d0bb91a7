package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/leadhub/leadhub/inbox"
)

// segmentArgsOf checks f and works out its parameters for now.
func (s *Store) segmentArgsOf(f inbox.ClientFilter) (segmentArgs, error) {
	r, err := f.Resolve(s.now())
	if err != nil {
		return segmentArgs{}, err
	}
	a := segmentArgs{Channel: r.Channel, FirstSource: r.FirstSource, FirstCampaign: r.FirstCampaign,
		LastSource: r.LastSource, LastCampaign: r.LastCampaign, Open: r.Open, DoNotContact: r.DoNotContact,
		Consent: r.Consent}
	for _, t := range r.Tags {
		// Tags are stored trimmed and cleaned; lower case is their key.
		if t = strings.ToLower(clean(strings.TrimSpace(t))); t != "" && !slices.Contains(a.Tags, t) {
			a.Tags = append(a.Tags, t)
		}
	}
	at := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return dbTime(t)
	}
	a.ContactedBefore, a.ContactedAfter = at(r.ContactedBefore), at(r.ContactedAfter)
	a.CreatedFrom, a.CreatedTo = at(r.CreatedFrom), at(r.CreatedTo)
	return a, nil
}

// CountClients counts the live cards f picks (see inbox.ClientFilter). A
// filter that does not check is EINVALID.
func (s *Store) CountClients(ctx context.Context, f inbox.ClientFilter) (int, error) {
	a, err := s.segmentArgsOf(f)
	if err != nil {
		return 0, fmt.Errorf("store: count clients: %w", err)
	}
	query, args := s.q.segmentFilter(a, false, 0, 0)
	var n int
	if err := s.db.GetContext(ctx, &n, query, args...); err != nil {
		return 0, fmt.Errorf("store: count clients: %w", err)
	}
	return n, nil
}

// ListClientsByFilter returns a page of the live cards f picks, oldest card
// first (the CSV export's order), with identities, tags and activity, and
// the cursor of the next page ("" after the last). Limit defaults to 50, at
// most 200. A bad filter or cursor is EINVALID.
func (s *Store) ListClientsByFilter(ctx context.Context, f inbox.ClientFilter, cursor string, limit int) ([]inbox.SegmentClient, string, error) {
	a, err := s.segmentArgsOf(f)
	if err != nil {
		return nil, "", fmt.Errorf("store: filter clients: %w", err)
	}
	after, err := parseIDCursor(cursor)
	if err != nil {
		return nil, "", fmt.Errorf("store: filter clients: %w", err)
	}
	limit = clampLimit(limit, 50, 200)
	rows, err := s.filterPage(ctx, a, after, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("store: filter clients: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = idCursor(rows[limit-1].ID)
	}
	cards, err := s.cards(ctx, s.db, rows)
	if err != nil {
		return nil, "", fmt.Errorf("store: filter clients: %w", err)
	}
	act, err := s.activityOf(ctx, cards)
	if err != nil {
		return nil, "", fmt.Errorf("store: filter clients: %w", err)
	}
	out := make([]inbox.SegmentClient, len(cards))
	for i, c := range cards {
		out[i] = inbox.SegmentClient{Client: c, Activity: act[c.ID]}
	}
	return out, next, nil
}

func (s *Store) filterPage(ctx context.Context, a segmentArgs, after int64, limit int) ([]clientRow, error) {
	query, args := s.q.segmentFilter(a, true, after, limit)
	var rows []clientRow
	if err := s.db.SelectContext(ctx, &rows, query, args...); err != nil {
		return nil, err
	}
	return rows, nil
}

// activityRow is a row of client_activity.
type activityRow struct {
	ClientID      int64   `db:"client_id"`
	FirstSource   string  `db:"first_utm_source"`
	FirstCampaign string  `db:"first_utm_campaign"`
	LastSource    string  `db:"last_utm_source"`
	LastCampaign  string  `db:"last_utm_campaign"`
	FirstTouchAt  sqlTime `db:"first_touch_at"`
	LastContactAt sqlTime `db:"last_contact_at"`
}

// activityOf reads the activity of a page of cards, one query.
func (s *Store) activityOf(ctx context.Context, cards []inbox.Client) (map[int64]inbox.ClientActivity, error) {
	out := make(map[int64]inbox.ClientActivity, len(cards))
	if len(cards) == 0 {
		return out, nil
	}
	ids := make([]int64, len(cards))
	for i, c := range cards {
		ids[i] = c.ID
	}
	arg, err := jsonArg(ids)
	if err != nil {
		return nil, err
	}
	var rows []activityRow
	if err := s.db.SelectContext(ctx, &rows, s.q.ActivityOf, arg); err != nil {
		return nil, fmt.Errorf("activity: %w", err)
	}
	for _, r := range rows {
		out[r.ClientID] = inbox.ClientActivity{FirstSource: r.FirstSource, FirstCampaign: r.FirstCampaign,
			LastSource: r.LastSource, LastCampaign: r.LastCampaign,
			FirstTouchAt: r.FirstTouchAt.ptr(), LastContactAt: r.LastContactAt.ptr()}
	}
	return out, nil
}

// WriteFilteredClientsCSV is WriteClientsCSV of the cards f picks: the same
// columns, order and escaping, written by the same code.
func (s *Store) WriteFilteredClientsCSV(ctx context.Context, w io.Writer, sep rune, f inbox.ClientFilter) error {
	a, err := s.segmentArgsOf(f)
	if err != nil {
		return fmt.Errorf("store: write clients CSV: %w", err)
	}
	return s.writeClientsCSV(ctx, w, sep, func(after int64) ([]clientRow, error) {
		return s.filterPage(ctx, a, after, 1000)
	})
}

// segmentRow is a saved segment as read.
type segmentRow struct {
	ID        int64   `db:"id"`
	Name      string  `db:"name"`
	Filter    string  `db:"filter"`
	OwnerID   int64   `db:"owner_id"`
	Team      string  `db:"team"`
	CreatedAt sqlTime `db:"created_at"`
	UpdatedAt sqlTime `db:"updated_at"`
}

func (r segmentRow) segment() (inbox.Segment, error) {
	g := inbox.Segment{ID: r.ID, Name: r.Name, OwnerID: r.OwnerID, Team: r.Team,
		CreatedAt: r.CreatedAt.Time, UpdatedAt: r.UpdatedAt.Time}
	if err := json.Unmarshal([]byte(r.Filter), &g.Filter); err != nil {
		return inbox.Segment{}, fmt.Errorf("segment %d: filter: %w", r.ID, err)
	}
	return g, nil
}

// Segments returns the segments the operator sees: their own and those
// shared with a team they are in (an admin's: all), by name.
func (s *Store) Segments(ctx context.Context, operatorID int64, role inbox.Role) ([]inbox.Segment, error) {
	var rows []segmentRow
	if err := s.db.SelectContext(ctx, &rows, s.q.SegmentsFor, flag(role == inbox.RoleAdmin), operatorID, operatorID); err != nil {
		return nil, fmt.Errorf("store: segments: %w", err)
	}
	out := make([]inbox.Segment, 0, len(rows))
	for _, r := range rows {
		g, err := r.segment()
		if err != nil {
			return nil, fmt.Errorf("store: segments: %w", err)
		}
		out = append(out, g)
	}
	return out, nil
}

// Segment returns a segment the operator sees; another is ENOTFOUND.
func (s *Store) Segment(ctx context.Context, operatorID int64, role inbox.Role, id int64) (inbox.Segment, error) {
	g, _, err := s.visibleSegment(ctx, s.db, operatorID, role, id)
	if err != nil {
		return inbox.Segment{}, fmt.Errorf("store: segment: %w", err)
	}
	return g, nil
}

// visibleSegment reads segment id if the operator sees it, and whether
// they may change it (its owner, an admin).
func (s *Store) visibleSegment(ctx context.Context, q queryer, operatorID int64, role inbox.Role, id int64) (inbox.Segment, bool, error) {
	var r segmentRow
	if err := q.GetContext(ctx, &r, s.q.SegmentByID, id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return inbox.Segment{}, false, inbox.Errorf(inbox.ENOTFOUND, "segment not found")
		}
		return inbox.Segment{}, false, err
	}
	g, err := r.segment()
	if err != nil {
		return inbox.Segment{}, false, err
	}
	owner := g.OwnerID == operatorID || role == inbox.RoleAdmin
	if owner {
		return g, true, nil
	}
	if g.Team != "" {
		teams, err := s.teamsOf(ctx, q, operatorID)
		if err != nil {
			return inbox.Segment{}, false, err
		}
		if slices.Contains(teams[operatorID], g.Team) {
			return g, false, nil
		}
	}
	return inbox.Segment{}, false, inbox.Errorf(inbox.ENOTFOUND, "segment not found")
}

// checkSegment checks a segment's name, filter and team before it is
// written: the team must be one the operator is in (an admin: any team).
func (s *Store) checkSegment(ctx context.Context, q queryer, operatorID int64, role inbox.Role, g *inbox.Segment) error {
	name, err := inbox.CheckSegmentName(g.Name)
	if err != nil {
		return err
	}
	g.Name = name
	if _, err := g.Filter.Resolve(s.now()); err != nil {
		return err
	}
	g.Team = strings.TrimSpace(g.Team)
	if g.Team == "" {
		return nil
	}
	if role == inbox.RoleAdmin {
		var id int64
		if err := q.GetContext(ctx, &id, s.q.TeamIDByName, g.Team); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return inbox.Errorf(inbox.EINVALID, "no team %q", g.Team)
			}
			return fmt.Errorf("find team: %w", err)
		}
		return nil
	}
	teams, err := s.teamsOf(ctx, q, operatorID)
	if err != nil {
		return err
	}
	if !slices.Contains(teams[operatorID], g.Team) {
		return inbox.Errorf(inbox.EINVALID, "you are not in team %q", g.Team)
	}
	return nil
}

// CreateSegment saves a filter under a name for the operator, private or
// shared with one of their teams. It is audited.
func (s *Store) CreateSegment(ctx context.Context, operatorID int64, role inbox.Role, g inbox.Segment) (inbox.Segment, error) {
	var out inbox.Segment
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.checkSegment(ctx, tx, operatorID, role, &g); err != nil {
			return err
		}
		filter, err := json.Marshal(g.Filter)
		if err != nil {
			return err
		}
		at := dbTime(s.now())
		var id int64
		if err := tx.GetContext(ctx, &id, s.q.InsertSegment, g.Name, string(filter), operatorID, g.Team, at, at); err != nil {
			return fmt.Errorf("insert: %w", err)
		}
		if out, _, err = s.visibleSegment(ctx, tx, operatorID, role, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, operatorID, "segment.create", "segment", id,
			map[string]any{"name": g.Name, "team": g.Team, "filter": g.Filter}, s.now())
	})
	if err != nil {
		return inbox.Segment{}, fmt.Errorf("store: create segment: %w", err)
	}
	return out, nil
}

// UpdateSegment renames a segment, changes its filter or whom it is
// shared with. Only its owner or an admin may: a team member gets
// EFORBIDDEN, anyone else ENOTFOUND.
func (s *Store) UpdateSegment(ctx context.Context, operatorID int64, role inbox.Role, id int64, p inbox.SegmentPatch) (inbox.Segment, error) {
	var out inbox.Segment
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		g, mine, err := s.visibleSegment(ctx, tx, operatorID, role, id)
		if err != nil {
			return err
		}
		if !mine {
			return inbox.Errorf(inbox.EFORBIDDEN, "only the segment's owner or an admin may change it")
		}
		if p.Name != nil {
			g.Name = *p.Name
		}
		if p.Filter != nil {
			g.Filter = *p.Filter
		}
		if p.Team != nil {
			g.Team = *p.Team
		}
		if err := s.checkSegment(ctx, tx, operatorID, role, &g); err != nil {
			return err
		}
		filter, err := json.Marshal(g.Filter)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q.UpdateSegment, g.Name, string(filter), g.Team, dbTime(s.now()), id); err != nil {
			return fmt.Errorf("update: %w", err)
		}
		if out, _, err = s.visibleSegment(ctx, tx, operatorID, role, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, operatorID, "segment.update", "segment", id,
			map[string]any{"name": g.Name, "team": g.Team, "filter": g.Filter}, s.now())
	})
	if err != nil {
		return inbox.Segment{}, fmt.Errorf("store: update segment: %w", err)
	}
	return out, nil
}

// DeleteSegment deletes a segment, as UpdateSegment's rules say.
func (s *Store) DeleteSegment(ctx context.Context, operatorID int64, role inbox.Role, id int64) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		g, mine, err := s.visibleSegment(ctx, tx, operatorID, role, id)
		if err != nil {
			return err
		}
		if !mine {
			return inbox.Errorf(inbox.EFORBIDDEN, "only the segment's owner or an admin may delete it")
		}
		if _, err := tx.ExecContext(ctx, s.q.DeleteSegment, id); err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		return s.audit(ctx, tx, operatorID, "segment.delete", "segment", id, map[string]any{"name": g.Name}, s.now())
	})
	if err != nil {
		return fmt.Errorf("store: delete segment: %w", err)
	}
	return nil
}
