package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/leadhub/leadhub/inbox"
)

// sessionTouchEvery bounds how often a session's last use is written, like
// tokenTouchEvery for API tokens.
const sessionTouchEvery = time.Minute

// ---- operators ----

// Operator returns an operator with their teams; ENOTFOUND if there is
// none.
func (s *Store) Operator(ctx context.Context, id int64) (inbox.OperatorDetail, error) {
	d, err := s.operatorDetail(ctx, s.db, id)
	if err != nil {
		return inbox.OperatorDetail{}, fmt.Errorf("store: operator %d: %w", id, err)
	}
	return d, nil
}

func (s *Store) operatorDetail(ctx context.Context, q queryer, id int64) (inbox.OperatorDetail, error) {
	var row operatorRow
	err := q.GetContext(ctx, &row, s.q.OperatorByID, id)
	if errors.Is(err, sql.ErrNoRows) {
		return inbox.OperatorDetail{}, inbox.Errorf(inbox.ENOTFOUND, "operator not found")
	}
	if err != nil {
		return inbox.OperatorDetail{}, fmt.Errorf("read operator: %w", err)
	}
	teams, err := s.teamsOf(ctx, q, id)
	if err != nil {
		return inbox.OperatorDetail{}, err
	}
	return inbox.OperatorDetail{Operator: row.operator(), Teams: teams[id]}, nil
}

// teamsOf returns the team names of one operator, or of everyone when id
// is 0, by operator id. Every requested operator has a non-nil list.
func (s *Store) teamsOf(ctx context.Context, q queryer, id int64) (map[int64][]string, error) {
	var rows []struct {
		OperatorID int64  `db:"operator_id"`
		Name       string `db:"name"`
	}
	if err := q.SelectContext(ctx, &rows, s.q.TeamsOfOperators, id, id); err != nil {
		return nil, fmt.Errorf("read teams: %w", err)
	}
	out := map[int64][]string{}
	if id != 0 {
		out[id] = []string{}
	}
	for _, r := range rows {
		out[r.OperatorID] = append(out[r.OperatorID], r.Name)
	}
	return out, nil
}

// OperatorTeams returns the names of the teams an operator is in.
func (s *Store) OperatorTeams(ctx context.Context, operatorID int64) ([]string, error) {
	teams, err := s.teamsOf(ctx, s.db, operatorID)
	if err != nil {
		return nil, fmt.Errorf("store: teams of operator %d: %w", operatorID, err)
	}
	return teams[operatorID], nil
}

// ListOperators returns every operator, disabled ones too, with their
// teams, oldest first.
func (s *Store) ListOperators(ctx context.Context) ([]inbox.OperatorDetail, error) {
	var rows []operatorRow
	if err := s.db.SelectContext(ctx, &rows, s.q.ListOperators); err != nil {
		return nil, fmt.Errorf("store: list operators: %w", err)
	}
	teams, err := s.teamsOf(ctx, s.db, 0)
	if err != nil {
		return nil, fmt.Errorf("store: list operators: %w", err)
	}
	out := make([]inbox.OperatorDetail, len(rows))
	for i, r := range rows {
		out[i] = inbox.OperatorDetail{Operator: r.operator(), Teams: nonNilStrings(teams[r.ID])}
	}
	return out, nil
}

// AddOperator creates an operator in the given teams, on behalf of actorID
// (0: the command line), and audits it. An invalid email or role, or an
// unknown team, is EINVALID; an email taken already is ECONFLICT.
func (s *Store) AddOperator(ctx context.Context, actorID int64, op inbox.Operator, passwordHash string, teams []string) (inbox.OperatorDetail, []inbox.Event, error) {
	op.Email = strings.ToLower(strings.TrimSpace(op.Email))
	op.Name = clean(strings.TrimSpace(op.Name))
	switch {
	case op.Email == "" || len(op.Email) > inbox.MaxIdentityLen || !strings.Contains(op.Email, "@"):
		return inbox.OperatorDetail{}, nil, fmt.Errorf("store: add operator: %w", inbox.Errorf(inbox.EINVALID, "email must be an email address"))
	case !op.Role.Valid():
		return inbox.OperatorDetail{}, nil, fmt.Errorf("store: add operator: %w", inbox.Errorf(inbox.EINVALID, "role must be admin, supervisor or operator"))
	case len(op.Name) > inbox.MaxNameLen:
		return inbox.OperatorDetail{}, nil, fmt.Errorf("store: add operator: %w", inbox.Errorf(inbox.EINVALID, "name is longer than %d characters", inbox.MaxNameLen))
	}
	var (
		d   inbox.OperatorDetail
		evs []inbox.Event
	)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		at := s.now()
		op.CreatedAt = at
		err := s.q.InsertOperator.get(ctx, tx, &op.ID, operatorInsert{Email: clean(op.Email), Name: op.Name,
			Role: string(op.Role), PasswordHash: passwordHash, Disabled: op.Disabled, At: dbTime(at)})
		if err != nil {
			if isUniqueViolation(err) {
				return inbox.Errorf(inbox.ECONFLICT, "an operator with this email exists")
			}
			return fmt.Errorf("insert operator: %w", err)
		}
		names, err := s.setTeams(ctx, tx, op.ID, teams)
		if err != nil {
			return err
		}
		d = inbox.OperatorDetail{Operator: op, Teams: names}
		detail := map[string]any{"role": op.Role, "teams": names, "disabled": op.Disabled}
		if err := s.audit(ctx, tx, actorID, "operator.create", "operator", op.ID, detail, at); err != nil {
			return err
		}
		evs, err = s.writeEvents(ctx, tx, at, []inbox.PendingEvent{inbox.OperatorUpdated(d)})
		return err
	})
	if err != nil {
		return inbox.OperatorDetail{}, nil, fmt.Errorf("store: add operator: %w", err)
	}
	return d, evs, nil
}

// setTeams makes the operator's teams exactly names; an unknown team is
// EINVALID. It returns the names sorted.
func (s *Store) setTeams(ctx context.Context, tx *sqlx.Tx, operatorID int64, names []string) ([]string, error) {
	names = slices.Clone(names)
	slices.Sort(names)
	names = slices.Compact(names)
	if _, err := tx.ExecContext(ctx, s.q.DeleteMemberships, operatorID); err != nil {
		return nil, fmt.Errorf("clear teams: %w", err)
	}
	for _, name := range names {
		var t teamRow
		err := tx.GetContext(ctx, &t, s.q.TeamByName, name)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, inbox.Errorf(inbox.EINVALID, "unknown team %q", clean(name))
		}
		if err != nil {
			return nil, fmt.Errorf("find team: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.q.InsertMembership, t.ID, operatorID); err != nil {
			return nil, fmt.Errorf("join team: %w", err)
		}
	}
	return nonNilStrings(names), nil
}

// UpdateOperator changes an operator on behalf of actorID and audits it.
// Disabling ends the operator's sessions and deletes their API tokens in
// the same transaction; a new password ends their sessions. The last
// enabled admin can be neither demoted nor disabled (ECONFLICT). An unknown
// operator is ENOTFOUND; an unknown role or team EINVALID.
func (s *Store) UpdateOperator(ctx context.Context, actorID, id int64, p inbox.OperatorPatch) (inbox.OperatorDetail, []inbox.Event, error) {
	var (
		d   inbox.OperatorDetail
		evs []inbox.Event
	)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		if d, err = s.operatorDetail(ctx, tx, id); err != nil {
			return err
		}
		wasAdmin := d.Role == inbox.RoleAdmin && !d.Disabled
		var changed []string
		if p.Name != nil && clean(strings.TrimSpace(*p.Name)) != d.Name {
			name := clean(strings.TrimSpace(*p.Name))
			if len(name) > inbox.MaxNameLen {
				return inbox.Errorf(inbox.EINVALID, "name is longer than %d characters", inbox.MaxNameLen)
			}
			d.Name = name
			changed = append(changed, "name")
		}
		if p.Role != nil && *p.Role != d.Role {
			if !p.Role.Valid() {
				return inbox.Errorf(inbox.EINVALID, "role must be admin, supervisor or operator")
			}
			d.Role = *p.Role
			changed = append(changed, "role")
		}
		if p.Disabled != nil && *p.Disabled != d.Disabled {
			d.Disabled = *p.Disabled
			changed = append(changed, "disabled")
		}
		if wasAdmin && (d.Role != inbox.RoleAdmin || d.Disabled) {
			var others int
			if err := tx.GetContext(ctx, &others, s.q.OtherActiveAdmins, id); err != nil {
				return fmt.Errorf("count admins: %w", err)
			}
			if others == 0 {
				return inbox.Errorf(inbox.ECONFLICT, "the last admin can be neither demoted nor disabled")
			}
		}
		if _, err := tx.ExecContext(ctx, s.q.SaveOperator, d.Name, string(d.Role), d.Disabled, id); err != nil {
			return fmt.Errorf("save operator: %w", err)
		}
		if p.Teams != nil {
			names, err := s.setTeams(ctx, tx, id, *p.Teams)
			if err != nil {
				return err
			}
			if !slices.Equal(names, d.Teams) {
				changed = append(changed, "teams")
			}
			d.Teams = names
		}
		endSessions := false
		if p.PasswordHash != nil {
			if _, err := tx.ExecContext(ctx, s.q.SetPassword, *p.PasswordHash, id); err != nil {
				return fmt.Errorf("set password: %w", err)
			}
			changed = append(changed, "password")
			endSessions = true
		}
		detail := map[string]any{"changed": nonNilStrings(changed), "role": d.Role, "disabled": d.Disabled, "teams": d.Teams}
		if d.Disabled && slices.Contains(changed, "disabled") {
			endSessions = true
			res, err := tx.ExecContext(ctx, s.q.DeleteTokensOf, id)
			if err != nil {
				return fmt.Errorf("delete tokens: %w", err)
			}
			n, _ := res.RowsAffected()
			detail["tokens_deleted"] = n
		}
		if endSessions {
			res, err := tx.ExecContext(ctx, s.q.DeleteSessionsOf, id, 0)
			if err != nil {
				return fmt.Errorf("end sessions: %w", err)
			}
			n, _ := res.RowsAffected()
			detail["sessions_ended"] = n
		}
		at := s.now()
		if err := s.audit(ctx, tx, actorID, "operator.update", "operator", id, detail, at); err != nil {
			return err
		}
		evs, err = s.writeEvents(ctx, tx, at, []inbox.PendingEvent{inbox.OperatorUpdated(d)})
		return err
	})
	if err != nil {
		return inbox.OperatorDetail{}, nil, fmt.Errorf("store: update operator %d: %w", id, err)
	}
	return d, evs, nil
}

// ---- teams ----

type teamRow struct {
	ID        int64   `db:"id"`
	Name      string  `db:"name"`
	CreatedAt sqlTime `db:"created_at"`
}

// ListTeams returns every team with its members' ids, by name.
func (s *Store) ListTeams(ctx context.Context) ([]inbox.Team, error) {
	var rows []teamRow
	if err := s.db.SelectContext(ctx, &rows, s.q.ListTeams); err != nil {
		return nil, fmt.Errorf("store: list teams: %w", err)
	}
	members, err := s.members(ctx, s.db, 0)
	if err != nil {
		return nil, fmt.Errorf("store: list teams: %w", err)
	}
	out := make([]inbox.Team, len(rows))
	for i, r := range rows {
		out[i] = inbox.Team{ID: r.ID, Name: r.Name, Members: nonNilIDs(members[r.ID]), CreatedAt: r.CreatedAt.Time}
	}
	return out, nil
}

func (s *Store) members(ctx context.Context, q queryer, teamID int64) (map[int64][]int64, error) {
	var rows []struct {
		TeamID     int64 `db:"team_id"`
		OperatorID int64 `db:"operator_id"`
	}
	if err := q.SelectContext(ctx, &rows, s.q.MembersOfTeams, teamID, teamID); err != nil {
		return nil, fmt.Errorf("read members: %w", err)
	}
	out := map[int64][]int64{}
	for _, r := range rows {
		out[r.TeamID] = append(out[r.TeamID], r.OperatorID)
	}
	return out, nil
}

func nonNilIDs(s []int64) []int64 {
	if s == nil {
		return []int64{}
	}
	return s
}

// CreateTeam creates an empty team on behalf of actorID and audits it. A
// name that is not a slug is EINVALID; a name taken already ECONFLICT.
func (s *Store) CreateTeam(ctx context.Context, actorID int64, name string) (inbox.Team, []inbox.Event, error) {
	if !inbox.ValidTeamName(name) {
		return inbox.Team{}, nil, fmt.Errorf("store: create team: %w",
			inbox.Errorf(inbox.EINVALID, "a team name is lower-case letters, digits, - and _ (at most %d)", inbox.MaxTeamNameLen))
	}
	var (
		t   inbox.Team
		evs []inbox.Event
	)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		at := s.now()
		t = inbox.Team{Name: name, Members: []int64{}, CreatedAt: at}
		if err := tx.GetContext(ctx, &t.ID, s.q.InsertTeam, name, dbTime(at)); err != nil {
			if isUniqueViolation(err) {
				return inbox.Errorf(inbox.ECONFLICT, "a team with this name exists")
			}
			return fmt.Errorf("insert team: %w", err)
		}
		if err := s.audit(ctx, tx, actorID, "team.create", "team", t.ID, map[string]any{"name": name}, at); err != nil {
			return err
		}
		var err error
		evs, err = s.writeEvents(ctx, tx, at, []inbox.PendingEvent{inbox.TeamUpdated(t, false)})
		return err
	})
	if err != nil {
		return inbox.Team{}, nil, fmt.Errorf("store: create team: %w", err)
	}
	return t, evs, nil
}

// DeleteTeam deletes a team and its memberships on behalf of actorID and
// audits it. Channels that name it stay hidden from operators until their
// configuration changes. An unknown team is ENOTFOUND.
func (s *Store) DeleteTeam(ctx context.Context, actorID, id int64) ([]inbox.Event, error) {
	var evs []inbox.Event
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var row teamRow
		err := tx.GetContext(ctx, &row, s.q.TeamByID, id)
		if errors.Is(err, sql.ErrNoRows) {
			return inbox.Errorf(inbox.ENOTFOUND, "team not found")
		}
		if err != nil {
			return fmt.Errorf("read team: %w", err)
		}
		members, err := s.members(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q.DeleteTeam, id); err != nil {
			return fmt.Errorf("delete team: %w", err)
		}
		at := s.now()
		detail := map[string]any{"name": row.Name, "members": nonNilIDs(members[id])}
		if err := s.audit(ctx, tx, actorID, "team.delete", "team", id, detail, at); err != nil {
			return err
		}
		t := inbox.Team{ID: id, Name: row.Name, Members: nonNilIDs(members[id]), CreatedAt: row.CreatedAt.Time}
		evs, err = s.writeEvents(ctx, tx, at, []inbox.PendingEvent{inbox.TeamUpdated(t, true)})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: delete team %d: %w", id, err)
	}
	return evs, nil
}

// ---- sessions ----

type sessionRow struct {
	ID         int64   `db:"id"`
	OperatorID int64   `db:"operator_id"`
	CSRFToken  string  `db:"csrf_token"`
	IP         string  `db:"ip"`
	UserAgent  string  `db:"user_agent"`
	CreatedAt  sqlTime `db:"created_at"`
	LastSeenAt sqlTime `db:"last_seen_at"`
	ExpiresAt  sqlTime `db:"expires_at"`
}

func (r sessionRow) session() inbox.Session {
	return inbox.Session{ID: r.ID, OperatorID: r.OperatorID, CSRFToken: r.CSRFToken, IP: r.IP, UserAgent: r.UserAgent,
		CreatedAt: r.CreatedAt.Time, LastSeenAt: r.LastSeenAt.Time, ExpiresAt: r.ExpiresAt.Time}
}

// maxUserAgentLen bounds the user agent kept with a session.
const maxUserAgentLen = 300

// CreateSession stores a session under the hash of its cookie value and
// returns it with its id; expired sessions of anyone are deleted on the
// way. An unknown operator is ENOTFOUND.
func (s *Store) CreateSession(ctx context.Context, sess inbox.Session, tokenHash string) (inbox.Session, error) {
	if tokenHash == "" || sess.CSRFToken == "" {
		return inbox.Session{}, fmt.Errorf("store: create session: %w", inbox.Errorf(inbox.EINVALID, "empty session token"))
	}
	at := s.now()
	sess.CreatedAt, sess.LastSeenAt = at, at
	sess.ExpiresAt = sess.ExpiresAt.UTC().Truncate(time.Microsecond)
	sess.IP = truncate(clean(sess.IP), 64)
	sess.UserAgent = truncate(clean(sess.UserAgent), maxUserAgentLen)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q.DeleteExpired, dbTime(at)); err != nil {
			return fmt.Errorf("delete expired sessions: %w", err)
		}
		err := s.q.InsertSession.get(ctx, tx, &sess.ID, sessionInsert{OperatorID: sess.OperatorID, TokenHash: tokenHash,
			CSRFToken: sess.CSRFToken, IP: sess.IP, UserAgent: sess.UserAgent, At: dbTime(at),
			ExpiresAt: dbTime(sess.ExpiresAt)})
		if isForeignKeyViolation(err) {
			return inbox.Errorf(inbox.ENOTFOUND, "operator not found")
		}
		return err
	})
	if err != nil {
		return inbox.Session{}, fmt.Errorf("store: create session: %w", err)
	}
	return sess, nil
}

// truncate cuts s to at most n bytes on a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// SessionByToken returns the session stored under this cookie hash and its
// operator. ENOTFOUND when there is no such session, it expired, or its
// operator is disabled.
func (s *Store) SessionByToken(ctx context.Context, tokenHash string) (inbox.Operator, inbox.Session, error) {
	var row struct {
		sessionRow
		Email             string  `db:"email"`
		Name              string  `db:"name"`
		Role              string  `db:"role"`
		Disabled          bool    `db:"disabled"`
		OperatorCreatedAt sqlTime `db:"operator_created_at"`
	}
	err := s.db.GetContext(ctx, &row, s.q.SessionByHash, tokenHash, dbTime(s.now()))
	if errors.Is(err, sql.ErrNoRows) {
		return inbox.Operator{}, inbox.Session{}, fmt.Errorf("store: session: %w", inbox.Errorf(inbox.ENOTFOUND, "session not found"))
	}
	if err != nil {
		return inbox.Operator{}, inbox.Session{}, fmt.Errorf("store: session: %w", err)
	}
	op := inbox.Operator{ID: row.OperatorID, Email: row.Email, Name: row.Name, Role: inbox.Role(row.Role),
		Disabled: row.Disabled, CreatedAt: row.OperatorCreatedAt.Time}
	return op, row.session(), nil
}

// TouchSession records a session's use and moves its expiry, at most once
// a minute (sessionTouchEvery) so that reads do not all turn into writes.
// It reports whether it wrote.
func (s *Store) TouchSession(ctx context.Context, sess inbox.Session, expiresAt time.Time) (bool, error) {
	at := s.now()
	if at.Sub(sess.LastSeenAt) < sessionTouchEvery {
		return false, nil
	}
	if _, err := s.db.ExecContext(ctx, s.q.TouchSession, dbTime(at), dbTime(expiresAt), sess.ID); err != nil {
		return false, fmt.Errorf("store: touch session: %w", err)
	}
	return true, nil
}

// ListSessions returns an operator's live sessions, newest first.
func (s *Store) ListSessions(ctx context.Context, operatorID int64) ([]inbox.Session, error) {
	var rows []sessionRow
	if err := s.db.SelectContext(ctx, &rows, s.q.ListSessions, operatorID, dbTime(s.now())); err != nil {
		return nil, fmt.Errorf("store: list sessions: %w", err)
	}
	out := make([]inbox.Session, len(rows))
	for i, r := range rows {
		out[i] = r.session()
	}
	return out, nil
}

// RevokeSession ends one session on behalf of actorID. ownerID, when not
// 0, must own it (an operator ending their own); 0 ends anyone's (an
// admin). A session that does not exist, or is someone else's, is
// ENOTFOUND. It returns the owner's id and the event that tells every
// instance to drop the session's websockets.
func (s *Store) RevokeSession(ctx context.Context, actorID, ownerID, id int64) (int64, []inbox.Event, error) {
	var (
		owner int64
		evs   []inbox.Event
	)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &owner, s.q.DeleteSession, id, ownerID, ownerID)
		if errors.Is(err, sql.ErrNoRows) {
			return inbox.Errorf(inbox.ENOTFOUND, "session not found")
		}
		if err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
		at := s.now()
		if err := s.audit(ctx, tx, actorID, "session.revoke", "operator", owner, map[string]any{"session_id": id}, at); err != nil {
			return err
		}
		evs, err = s.writeEvents(ctx, tx, at, []inbox.PendingEvent{inbox.CredentialsRevoked(owner)})
		return err
	})
	if err != nil {
		return 0, nil, fmt.Errorf("store: revoke session %d: %w", id, err)
	}
	return owner, evs, nil
}

// RevokeSessions ends every session of an operator but keep (0: all of
// them) on behalf of actorID: "log out everywhere". It returns how many
// ended.
func (s *Store) RevokeSessions(ctx context.Context, actorID, operatorID, keep int64) (int, []inbox.Event, error) {
	var (
		n   int64
		evs []inbox.Event
	)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, s.q.DeleteSessionsOf, operatorID, keep)
		if err != nil {
			return fmt.Errorf("delete sessions: %w", err)
		}
		n, _ = res.RowsAffected()
		at := s.now()
		if err := s.audit(ctx, tx, actorID, "session.revoke_all", "operator", operatorID, map[string]any{"sessions_ended": n}, at); err != nil {
			return err
		}
		evs, err = s.writeEvents(ctx, tx, at, []inbox.PendingEvent{inbox.CredentialsRevoked(operatorID)})
		return err
	})
	if err != nil {
		return 0, nil, fmt.Errorf("store: revoke sessions of %d: %w", operatorID, err)
	}
	return int(n), evs, nil
}

// ---- API tokens ----

type tokenRow struct {
	ID         int64   `db:"id"`
	OperatorID int64   `db:"operator_id"`
	Name       string  `db:"name"`
	Scope      string  `db:"scope"`
	CreatedAt  sqlTime `db:"created_at"`
	LastUsedAt sqlTime `db:"last_used_at"`
}

func (r tokenRow) token() inbox.APIToken {
	t := inbox.APIToken{ID: r.ID, OperatorID: r.OperatorID, Name: r.Name, Scope: inbox.TokenScope(r.Scope), CreatedAt: r.CreatedAt.Time}
	if !r.LastUsedAt.IsZero() {
		at := r.LastUsedAt.Time
		t.LastUsedAt = &at
	}
	return t
}

// CreateScopedToken stores an API token's hash for t.OperatorID with
// t.Name and t.Scope, on behalf of actorID (0: the command line), and
// audits it. An unknown scope, or the admin scope for an operator who is
// not an admin, is EINVALID; an unknown operator ENOTFOUND.
func (s *Store) CreateScopedToken(ctx context.Context, actorID int64, t inbox.APIToken, tokenHash string) (inbox.APIToken, error) {
	if tokenHash == "" {
		return inbox.APIToken{}, fmt.Errorf("store: create token: %w", inbox.Errorf(inbox.EINVALID, "empty token hash"))
	}
	if !t.Scope.Valid() {
		return inbox.APIToken{}, fmt.Errorf("store: create token: %w", inbox.Errorf(inbox.EINVALID, "scope must be read, write or admin"))
	}
	t.Name = truncate(clean(strings.TrimSpace(t.Name)), 100)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var op operatorRow
		err := tx.GetContext(ctx, &op, s.q.OperatorByID, t.OperatorID)
		if errors.Is(err, sql.ErrNoRows) {
			return inbox.Errorf(inbox.ENOTFOUND, "operator not found")
		}
		if err != nil {
			return fmt.Errorf("read operator: %w", err)
		}
		if t.Scope == inbox.ScopeAdmin && inbox.Role(op.Role) != inbox.RoleAdmin {
			return inbox.Errorf(inbox.EINVALID, "only admins can have admin tokens")
		}
		if op.Disabled {
			return inbox.Errorf(inbox.EINVALID, "the operator is disabled")
		}
		at := s.now()
		t.CreatedAt = at
		ins := tokenInsert{OperatorID: t.OperatorID, Name: t.Name, TokenHash: tokenHash, Scope: string(t.Scope), At: dbTime(at)}
		if err := s.q.InsertScopedToken.get(ctx, tx, &t.ID, ins); err != nil {
			if isUniqueViolation(err) {
				return inbox.Errorf(inbox.ECONFLICT, "token exists")
			}
			return fmt.Errorf("insert token: %w", err)
		}
		return s.audit(ctx, tx, actorID, "token.create", "operator", t.OperatorID, map[string]any{"token_id": t.ID, "scope": t.Scope}, at)
	})
	if err != nil {
		return inbox.APIToken{}, fmt.Errorf("store: create token: %w", err)
	}
	return t, nil
}

// TokenByHash returns the operator an API token hash belongs to and the
// token, and records the token's use (at most once a minute). ENOTFOUND if
// the token is unknown or its operator disabled.
func (s *Store) TokenByHash(ctx context.Context, tokenHash string) (inbox.Operator, inbox.APIToken, error) {
	var row struct {
		operatorRow
		TokenID        int64   `db:"token_id"`
		TokenName      string  `db:"token_name"`
		Scope          string  `db:"scope"`
		TokenCreatedAt sqlTime `db:"token_created_at"`
		LastUsedAt     sqlTime `db:"last_used_at"`
	}
	err := s.db.GetContext(ctx, &row, s.q.TokenByHash, tokenHash)
	if errors.Is(err, sql.ErrNoRows) {
		return inbox.Operator{}, inbox.APIToken{}, fmt.Errorf("store: token: %w", inbox.Errorf(inbox.ENOTFOUND, "token not found"))
	}
	if err != nil {
		return inbox.Operator{}, inbox.APIToken{}, fmt.Errorf("store: token: %w", err)
	}
	t := tokenRow{ID: row.TokenID, OperatorID: row.ID, Name: row.TokenName, Scope: row.Scope,
		CreatedAt: row.TokenCreatedAt, LastUsedAt: row.LastUsedAt}.token()
	if at := s.now(); at.Sub(row.LastUsedAt.Time) >= tokenTouchEvery {
		if _, err := s.db.ExecContext(ctx, s.q.TouchToken, dbTime(at), row.TokenID); err != nil {
			s.log.Warn("touch api token", "token_id", row.TokenID, "err", err)
		} else {
			t.LastUsedAt = &at
		}
	}
	return row.operator(), t, nil
}

// ListTokens returns an operator's API tokens, oldest first.
func (s *Store) ListTokens(ctx context.Context, operatorID int64) ([]inbox.APIToken, error) {
	var rows []tokenRow
	if err := s.db.SelectContext(ctx, &rows, s.q.ListTokens, operatorID); err != nil {
		return nil, fmt.Errorf("store: list tokens: %w", err)
	}
	out := make([]inbox.APIToken, len(rows))
	for i, r := range rows {
		out[i] = r.token()
	}
	return out, nil
}

// RevokeToken deletes an API token on behalf of actorID. ownerID, when not
// 0, must own it; 0 deletes anyone's (an admin). A token that does not
// exist, or is someone else's, is ENOTFOUND.
func (s *Store) RevokeToken(ctx context.Context, actorID, ownerID, id int64) (int64, []inbox.Event, error) {
	var (
		owner int64
		evs   []inbox.Event
	)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &owner, s.q.DeleteToken, id, ownerID, ownerID)
		if errors.Is(err, sql.ErrNoRows) {
			return inbox.Errorf(inbox.ENOTFOUND, "token not found")
		}
		if err != nil {
			return fmt.Errorf("delete token: %w", err)
		}
		at := s.now()
		if err := s.audit(ctx, tx, actorID, "token.revoke", "operator", owner, map[string]any{"token_id": id}, at); err != nil {
			return err
		}
		evs, err = s.writeEvents(ctx, tx, at, []inbox.PendingEvent{inbox.CredentialsRevoked(owner)})
		return err
	})
	if err != nil {
		return 0, nil, fmt.Errorf("store: revoke token %d: %w", id, err)
	}
	return owner, evs, nil
}

// ---- login lockout ----

// LoginLockedUntil returns until when the latest of keys is locked out;
// the zero time when none is.
func (s *Store) LoginLockedUntil(ctx context.Context, keys []string) (time.Time, error) {
	arg, err := jsonArg(nonNilStrings(keys))
	if err != nil {
		return time.Time{}, err
	}
	var rows []sqlTime
	if err := s.db.SelectContext(ctx, &rows, s.q.LoginLocks, arg, dbTime(s.now())); err != nil {
		return time.Time{}, fmt.Errorf("store: login locks: %w", err)
	}
	var until time.Time
	for _, r := range rows {
		if r.After(until) {
			until = r.Time
		}
	}
	return until, nil
}

// LoginFailed counts a failed login against key. The max-th failure within
// window locks the key for lockout, and the count starts again; it returns
// until when the key is locked (the zero time when it is not).
func (s *Store) LoginFailed(ctx context.Context, key string, max int, window, lockout time.Duration) (time.Time, error) {
	var until time.Time
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		at := s.now()
		since := dbTime(at.Add(-window))
		if _, err := tx.ExecContext(ctx, s.q.PurgeLoginFailures, since, dbTime(at)); err != nil {
			return fmt.Errorf("purge: %w", err)
		}
		var n int
		if err := s.q.CountLoginFailure.get(ctx, tx, &n, loginFailure{Key: key, At: dbTime(at), Since: since}); err != nil {
			return fmt.Errorf("count: %w", err)
		}
		if n < max {
			return nil
		}
		until = at.Add(lockout)
		if _, err := tx.ExecContext(ctx, s.q.LockLogin, dbTime(at), dbTime(until), key); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		return nil
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("store: login failed: %w", err)
	}
	return until, nil
}

// LoginSucceeded forgets the failures counted against key.
func (s *Store) LoginSucceeded(ctx context.Context, key string) error {
	if _, err := s.db.ExecContext(ctx, s.q.ClearLoginFailures, key); err != nil {
		return fmt.Errorf("store: login succeeded: %w", err)
	}
	return nil
}

// UnlockOperator forgets the failed logins counted against an operator's
// email, ending its lockout, on behalf of actorID (0: the command line),
// and audits it ("operator.unlock"). It reports whether there was anything
// to forget; an unknown operator is ENOTFOUND.
func (s *Store) UnlockOperator(ctx context.Context, actorID, id int64) (bool, error) {
	var cleared bool
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		d, err := s.operatorDetail(ctx, tx, id)
		if err != nil {
			return err
		}
		if cleared, err = s.clearLoginFailures(ctx, tx, inbox.LoginAccountKey(d.Email)); err != nil {
			return err
		}
		return s.audit(ctx, tx, actorID, "operator.unlock", "operator", id, map[string]any{"cleared": cleared}, s.now())
	})
	if err != nil {
		return false, fmt.Errorf("store: unlock operator %d: %w", id, err)
	}
	return cleared, nil
}

// UnlockAddress forgets the failed logins counted against a client
// address, ending its lockout, on behalf of actorID and audits it
// ("login.unlock"). It reports whether there was anything to forget; an
// address that is not an IP address is EINVALID.
func (s *Store) UnlockAddress(ctx context.Context, actorID int64, addr string) (bool, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(addr))
	if err != nil {
		return false, inbox.Errorf(inbox.EINVALID, "ip must be an IP address such as 203.0.113.7")
	}
	// The web layer keys addresses in this form (unmapped, no zone).
	ip := a.Unmap().WithZone("").String()
	var cleared bool
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		if cleared, err = s.clearLoginFailures(ctx, tx, inbox.LoginAddressKey(ip)); err != nil {
			return err
		}
		return s.audit(ctx, tx, actorID, "login.unlock", "address", 0, map[string]any{"ip": ip, "cleared": cleared}, s.now())
	})
	if err != nil {
		return false, fmt.Errorf("store: unlock address: %w", err)
	}
	return cleared, nil
}

func (s *Store) clearLoginFailures(ctx context.Context, tx *sqlx.Tx, key string) (bool, error) {
	res, err := tx.ExecContext(ctx, s.q.ClearLoginFailures, key)
	if err != nil {
		return false, fmt.Errorf("clear login failures: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("clear login failures: %w", err)
	}
	return n > 0, nil
}

// ---- audit ----

// Audit writes one audit entry on behalf of operatorID (0: nobody known,
// such as a failed login). detail must not carry secrets.
func (s *Store) Audit(ctx context.Context, operatorID int64, action, entity string, entityID int64, detail any) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		return s.audit(ctx, tx, operatorID, action, entity, entityID, detail, s.now())
	})
	if err != nil {
		return fmt.Errorf("store: audit %s: %w", action, err)
	}
	return nil
}

// ListAudit returns audit entries newest first and the cursor of the next
// page ("" after the last). Limit defaults to 50, at most 200; a bad cursor
// is EINVALID.
func (s *Store) ListAudit(ctx context.Context, f inbox.AuditFilter) ([]inbox.AuditEntry, string, error) {
	before, err := parseIDCursor(f.Cursor)
	if err != nil {
		return nil, "", fmt.Errorf("store: list audit: %w", err)
	}
	limit := clampLimit(f.Limit, 50, 200)
	var rows []auditRow
	query, args := s.q.listAudit(f, before, limit+1)
	err = s.db.SelectContext(ctx, &rows, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: list audit: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = idCursor(rows[limit-1].ID)
	}
	out := make([]inbox.AuditEntry, len(rows))
	for i, r := range rows {
		out[i] = r.entry()
	}
	return out, next, nil
}

// ---- channels ----

// lockKeyChannels serializes SyncChannels between instances starting
// together (PostgreSQL; see the other advisory lock keys in store.go).
const lockKeyChannels = 0x6c6875625f63686e // "lhub_chn"

// SyncChannels records the channels of the configuration the hub starts
// with and audits what changed since the last start: channel.add,
// channel.change (type, team or settings) and channel.remove. Channels are
// changed in the configuration file, so the entries name no operator. It
// returns the entries it wrote.
func (s *Store) SyncChannels(ctx context.Context, chans []inbox.ChannelConfig) ([]inbox.AuditEntry, error) {
	var out []inbox.AuditEntry
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if s.q.LockChannels != "" {
			if _, err := tx.ExecContext(ctx, s.q.LockChannels); err != nil {
				return fmt.Errorf("lock channels: %w", err)
			}
		}
		var rows []struct {
			ID          string `db:"id"`
			Type        string `db:"type"`
			Team        string `db:"team"`
			Fingerprint string `db:"fingerprint"`
		}
		if err := tx.SelectContext(ctx, &rows, s.q.ChannelConfigs); err != nil {
			return fmt.Errorf("read channels: %w", err)
		}
		was := map[string]inbox.ChannelConfig{}
		for _, r := range rows {
			was[r.ID] = inbox.ChannelConfig{ID: r.ID, Type: inbox.ChannelType(r.Type), Team: r.Team, Fingerprint: r.Fingerprint}
		}
		at := s.now()
		record := func(action string, c inbox.ChannelConfig, detail map[string]any) error {
			detail["channel"], detail["type"], detail["team"] = c.ID, c.Type, c.Team
			if err := s.audit(ctx, tx, 0, action, "channel", 0, detail, at); err != nil {
				return err
			}
			b, _ := json.Marshal(detail)
			out = append(out, inbox.AuditEntry{Action: action, Entity: "channel", Detail: b, CreatedAt: at})
			return nil
		}
		seen := map[string]bool{}
		for _, c := range chans {
			seen[c.ID] = true
			old, ok := was[c.ID]
			if ok && old == c {
				continue
			}
			row := channelUpsert{ID: c.ID, Type: string(c.Type), Team: c.Team, Fingerprint: c.Fingerprint, At: dbTime(at)}
			if _, err := s.q.UpsertChannel.exec(ctx, tx, row); err != nil {
				return fmt.Errorf("save channel: %w", err)
			}
			if !ok {
				if err := record("channel.add", c, map[string]any{}); err != nil {
					return err
				}
				continue
			}
			var changed []string
			if old.Type != c.Type {
				changed = append(changed, "type")
			}
			if old.Team != c.Team {
				changed = append(changed, "team")
			}
			if old.Fingerprint != c.Fingerprint {
				changed = append(changed, "settings")
			}
			if err := record("channel.change", c, map[string]any{"changed": changed, "team_was": old.Team}); err != nil {
				return err
			}
		}
		for _, r := range rows {
			if seen[r.ID] {
				continue
			}
			if _, err := tx.ExecContext(ctx, s.q.DeleteChannel, r.ID); err != nil {
				return fmt.Errorf("delete channel: %w", err)
			}
			if err := record("channel.remove", was[r.ID], map[string]any{}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: sync channels: %w", err)
	}
	return out, nil
}
