package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/leadhub/leadhub/inbox"
)

// RaiseAlerts raises the alerts that fell due, up to limit of each kind:
// SLA warnings (to the assignee, or the channel's team when nobody has the
// conversation), SLA breaches (to supervisors, recorded in sla_breaches for
// reports), task reminders (to the assignee, or whoever made the task) and
// tasks overdue by taskOverdue (to supervisors; never when negative).
// Supervisors' alerts are queued to be sent out. It returns the events.
func (s *Store) RaiseAlerts(ctx context.Context, taskOverdue time.Duration, limit int) ([]inbox.Event, error) {
	var evs []inbox.Event
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		now := s.now()
		var pending []inbox.PendingEvent
		for _, step := range []func(context.Context, *sqlx.Tx, time.Time, int) ([]inbox.PendingEvent, error){
			s.raiseWarnings, s.raiseBreaches, s.raiseReminders,
		} {
			p, err := step(ctx, tx, now, limit)
			if err != nil {
				return err
			}
			pending = append(pending, p...)
		}
		if taskOverdue >= 0 {
			p, err := s.raiseOverdue(ctx, tx, now, taskOverdue, limit)
			if err != nil {
				return err
			}
			pending = append(pending, p...)
		}
		var err error
		evs, err = s.writeEvents(ctx, tx, now, pending)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: raise alerts: %w", err)
	}
	return evs, nil
}

func (s *Store) raiseWarnings(ctx context.Context, tx *sqlx.Tx, now time.Time, limit int) ([]inbox.PendingEvent, error) {
	var rows []conversationRow
	if err := tx.SelectContext(ctx, &rows, s.q.DueWarnings, dbTime(now), limit); err != nil {
		return nil, fmt.Errorf("due warnings: %w", err)
	}
	var out []inbox.PendingEvent
	for _, r := range rows {
		won, err := claimed(tx.ExecContext(ctx, s.q.ClaimWarning, r.ID, dbTime(r.SLAWarnAt.Time)))
		if err != nil || !won {
			if err != nil {
				return nil, fmt.Errorf("claim warning: %w", err)
			}
			continue
		}
		c := r.conversation()
		if c.SLADueAt == nil || !c.SLADueAt.After(now) {
			continue // already late: the breach says it
		}
		a := conversationAlert(c, inbox.AlertSLAWarning, now)
		if c.AssigneeID != nil {
			a.For, a.OperatorID = inbox.AlertForOperator, c.AssigneeID
		} else {
			a.For = inbox.AlertForTeam
		}
		if err := s.insertAlert(ctx, tx, &a, false); err != nil {
			return nil, err
		}
		out = append(out, inbox.AlertEvents(a)...)
	}
	return out, nil
}

func (s *Store) raiseBreaches(ctx context.Context, tx *sqlx.Tx, now time.Time, limit int) ([]inbox.PendingEvent, error) {
	var rows []conversationRow
	if err := tx.SelectContext(ctx, &rows, s.q.DueBreaches, dbTime(now), limit); err != nil {
		return nil, fmt.Errorf("due breaches: %w", err)
	}
	var out []inbox.PendingEvent
	for _, r := range rows {
		won, err := claimed(tx.ExecContext(ctx, s.q.ClaimBreach, r.ID, dbTime(r.SLADueAt.Time)))
		if err != nil {
			return nil, fmt.Errorf("claim breach: %w", err)
		}
		if !won {
			continue
		}
		c := r.conversation()
		c.SLABreached = true
		var assignee any
		if c.AssigneeID != nil {
			assignee = *c.AssigneeID
		}
		since := r.SLADueAt.Time
		if c.WaitingSince != nil {
			since = *c.WaitingSince
		}
		if _, err := tx.ExecContext(ctx, s.q.InsertBreach, c.ID, c.ChannelID, assignee, string(c.SLAKind),
			dbTime(since), dbTime(r.SLADueAt.Time), dbTime(now)); err != nil {
			return nil, fmt.Errorf("record breach: %w", err)
		}
		a := conversationAlert(c, inbox.AlertSLABreached, now)
		a.For = inbox.AlertForSupervisors
		if err := s.insertAlert(ctx, tx, &a, true); err != nil {
			return nil, err
		}
		out = append(append(out, inbox.AlertEvents(a)...), inbox.ConversationUpdated(c))
	}
	return out, nil
}

// conversationAlert is an alert about c's answer of the given kind.
func conversationAlert(c inbox.Conversation, kind string, now time.Time) inbox.Alert {
	id := c.ID
	a := inbox.Alert{Kind: kind, ConversationID: &id, ClientID: c.ClientID, ClientName: c.ClientName,
		ChannelID: c.ChannelID, AssigneeID: c.AssigneeID, CreatedAt: now}
	if c.SLADueAt != nil {
		a.DueAt = *c.SLADueAt
	}
	a.LateSeconds = int64(now.Sub(a.DueAt) / time.Second)
	return a
}

func (s *Store) raiseReminders(ctx context.Context, tx *sqlx.Tx, now time.Time, limit int) ([]inbox.PendingEvent, error) {
	tasks, err := s.dueTasks(ctx, tx, s.q.DueReminders, now, limit)
	if err != nil {
		return nil, err
	}
	var out []inbox.PendingEvent
	for _, t := range tasks {
		won, err := claimed(tx.ExecContext(ctx, s.q.ClaimReminder, dbTime(now), t.ID))
		if err != nil {
			return nil, fmt.Errorf("claim reminder: %w", err)
		}
		if !won {
			continue
		}
		a, err := s.taskAlert(ctx, tx, t, inbox.AlertTaskDue, now)
		if err != nil {
			return nil, err
		}
		// The assignee is reminded; a task nobody has reminds whoever made
		// it, and supervisors when nobody did.
		switch {
		case t.AssigneeID != nil:
			a.For, a.OperatorID = inbox.AlertForOperator, t.AssigneeID
		case t.CreatedBy != nil:
			a.For, a.OperatorID = inbox.AlertForOperator, t.CreatedBy
		default:
			a.For = inbox.AlertForSupervisors
		}
		if err := s.insertAlert(ctx, tx, &a, false); err != nil {
			return nil, err
		}
		out = append(out, inbox.AlertEvents(a)...)
	}
	return out, nil
}

func (s *Store) raiseOverdue(ctx context.Context, tx *sqlx.Tx, now time.Time, after time.Duration, limit int) ([]inbox.PendingEvent, error) {
	tasks, err := s.dueTasks(ctx, tx, s.q.DueOverdueTasks, now.Add(-after), limit)
	if err != nil {
		return nil, err
	}
	var out []inbox.PendingEvent
	for _, t := range tasks {
		won, err := claimed(tx.ExecContext(ctx, s.q.ClaimOverdueTask, dbTime(now), t.ID))
		if err != nil {
			return nil, fmt.Errorf("claim overdue task: %w", err)
		}
		if !won {
			continue
		}
		a, err := s.taskAlert(ctx, tx, t, inbox.AlertTaskOverdue, now)
		if err != nil {
			return nil, err
		}
		a.For = inbox.AlertForSupervisors
		if err := s.insertAlert(ctx, tx, &a, true); err != nil {
			return nil, err
		}
		out = append(out, inbox.AlertEvents(a)...)
	}
	return out, nil
}

func (s *Store) dueTasks(ctx context.Context, tx *sqlx.Tx, query string, before time.Time, limit int) ([]inbox.Task, error) {
	var rows []taskRow
	if err := tx.SelectContext(ctx, &rows, query, dbTime(before), limit); err != nil {
		return nil, fmt.Errorf("due tasks: %w", err)
	}
	out := make([]inbox.Task, len(rows))
	for i, r := range rows {
		out[i] = r.task()
	}
	return out, nil
}

// taskAlert is an alert about t; it links to the client's newest
// conversation that is not closed, if any.
func (s *Store) taskAlert(ctx context.Context, tx *sqlx.Tx, t inbox.Task, kind string, now time.Time) (inbox.Alert, error) {
	id := t.ID
	a := inbox.Alert{Kind: kind, ClientID: t.ClientID, TaskID: &id, TaskTitle: t.Title, AssigneeID: t.AssigneeID, CreatedAt: now}
	if t.DueAt != nil {
		a.DueAt = *t.DueAt
	}
	a.LateSeconds = int64(now.Sub(a.DueAt) / time.Second)
	var convs []conversationRow
	if err := tx.SelectContext(ctx, &convs, s.q.OpenConversationsOf, t.ClientID); err != nil {
		return a, fmt.Errorf("conversations of task's client: %w", err)
	}
	if n := len(convs); n > 0 {
		c := convs[n-1].conversation()
		a.ConversationID, a.ChannelID = &c.ID, c.ChannelID
	}
	var name string
	if err := tx.GetContext(ctx, &name, s.q.ClientName, t.ClientID); err != nil {
		return a, fmt.Errorf("task's client: %w", err)
	}
	a.ClientName = name
	return a, nil
}

// insertAlert stores a and sets its id; out queues it to be sent out of the
// hub.
func (s *Store) insertAlert(ctx context.Context, tx *sqlx.Tx, a *inbox.Alert, out bool) error {
	state, after := "none", any(nil)
	if out {
		state, after = "due", dbTime(a.CreatedAt)
	}
	err := tx.GetContext(ctx, &a.ID, s.q.InsertAlert, a.Kind, string(a.For), optID(a.OperatorID), optID(a.ConversationID),
		a.ClientID, a.ChannelID, optID(a.TaskID), a.TaskTitle, optID(a.AssigneeID), dbTime(a.DueAt), a.LateSeconds,
		dbTime(a.CreatedAt), state, after)
	if err != nil {
		return fmt.Errorf("insert alert: %w", err)
	}
	return nil
}

// optID is a nullable id column's value.
func optID(id *int64) any {
	if id == nil {
		return nil
	}
	return *id
}

// claimed reports whether a conditional UPDATE changed its row: the caller
// won the race for it.
func claimed(res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// alertArgs are the parameters of alertsFor for v.
func alertArgs(v inbox.Viewer) ([]any, error) {
	hidden, err := jsonArg(nonNilStrings(v.Scope.HiddenChannels))
	if err != nil {
		return nil, err
	}
	return []any{v.OperatorID, v.Role.Rank() >= inbox.RoleSupervisor.Rank(), v.Scope.All, hidden}, nil
}

// ListAlerts returns a page of the viewer's alerts, newest first, before
// the cursor (an alert id; 0: from the newest), with their read marks, how
// many are unread in all, and the next page's cursor (0 after the last).
func (s *Store) ListAlerts(ctx context.Context, v inbox.Viewer, before int64, limit int) (inbox.AlertPage, error) {
	limit = clampLimit(limit, 30, 200)
	args, err := alertArgs(v)
	if err != nil {
		return inbox.AlertPage{}, err
	}
	var rows []alertRow
	if err := s.db.SelectContext(ctx, &rows, s.q.ListAlerts, append(args, before, before, limit+1)...); err != nil {
		return inbox.AlertPage{}, fmt.Errorf("store: list alerts: %w", err)
	}
	var upto int64
	if err := s.db.GetContext(ctx, &upto, s.q.AlertReadUpto, v.OperatorID); err != nil {
		return inbox.AlertPage{}, fmt.Errorf("store: alert reads: %w", err)
	}
	p := inbox.AlertPage{Items: []inbox.Alert{}}
	if err := s.db.GetContext(ctx, &p.Unread, s.q.UnreadAlerts, append(args, upto)...); err != nil {
		return inbox.AlertPage{}, fmt.Errorf("store: unread alerts: %w", err)
	}
	if len(rows) > limit {
		rows = rows[:limit]
		p.Next = rows[limit-1].ID
	}
	for _, r := range rows {
		a := r.alert()
		a.Read = r.ID <= upto
		p.Items = append(p.Items, a)
	}
	return p, nil
}

// MarkAlertsRead marks the operator's alerts up to id read.
func (s *Store) MarkAlertsRead(ctx context.Context, operatorID, upto int64) error {
	if _, err := s.db.ExecContext(ctx, s.q.MarkAlertsRead, operatorID, upto); err != nil {
		return fmt.Errorf("store: mark alerts read: %w", err)
	}
	return nil
}

type alertRow struct {
	ID             int64         `db:"id"`
	Kind           string        `db:"kind"`
	For            string        `db:"for_whom"`
	OperatorID     sql.NullInt64 `db:"operator_id"`
	ConversationID sql.NullInt64 `db:"conversation_id"`
	ClientID       int64         `db:"client_id"`
	ClientName     string        `db:"client_name"`
	ChannelID      string        `db:"channel_id"`
	TaskID         sql.NullInt64 `db:"task_id"`
	TaskTitle      string        `db:"task_title"`
	AssigneeID     sql.NullInt64 `db:"assignee_id"`
	DueAt          sqlTime       `db:"due_at"`
	LateSeconds    int64         `db:"late_seconds"`
	CreatedAt      sqlTime       `db:"created_at"`
}

func (r alertRow) alert() inbox.Alert {
	return inbox.Alert{ID: r.ID, Kind: r.Kind, For: inbox.AlertFor(r.For), OperatorID: nullID(r.OperatorID),
		ConversationID: nullID(r.ConversationID), ClientID: r.ClientID, ClientName: r.ClientName, ChannelID: r.ChannelID,
		TaskID: nullID(r.TaskID), TaskTitle: r.TaskTitle, AssigneeID: nullID(r.AssigneeID), DueAt: r.DueAt.Time,
		LateSeconds: r.LateSeconds, CreatedAt: r.CreatedAt.Time}
}

// ClaimAlertDispatch returns up to limit supervisors' alerts due to be sent
// out, each leased for lease to this caller.
func (s *Store) ClaimAlertDispatch(ctx context.Context, limit int, lease time.Duration) ([]inbox.Alert, error) {
	now := s.now()
	var ids []int64
	if err := s.db.SelectContext(ctx, &ids, s.q.DueDispatch, dbTime(now), limit); err != nil {
		return nil, fmt.Errorf("store: alerts to send: %w", err)
	}
	var out []inbox.Alert
	for _, id := range ids {
		var attempts int
		err := s.db.GetContext(ctx, &attempts, s.q.ClaimDispatch, dbTime(now.Add(lease)), id, dbTime(now))
		if errors.Is(err, sql.ErrNoRows) {
			continue // another instance has it
		}
		if err != nil {
			return out, fmt.Errorf("store: claim alert %d: %w", id, err)
		}
		var r alertRow
		if err := s.db.GetContext(ctx, &r, s.q.AlertByID, id); err != nil {
			return out, fmt.Errorf("store: read alert %d: %w", id, err)
		}
		out = append(out, r.alert())
	}
	return out, nil
}

// AlertDispatched records how sending an alert out went: sent, or to be
// tried again after a pause that grows with the attempts, failed for good
// after inbox.MaxAlertAttempts.
func (s *Store) AlertDispatched(ctx context.Context, id int64, sendErr error) error {
	var err error
	switch {
	case sendErr == nil:
		_, err = s.db.ExecContext(ctx, s.q.DispatchDone, "sent", "", id)
	default:
		var attempts int
		if err = s.db.GetContext(ctx, &attempts, s.q.AlertAttempts, id); err != nil {
			break
		}
		reason := truncate(sendErr.Error(), 500)
		if attempts >= inbox.MaxAlertAttempts {
			_, err = s.db.ExecContext(ctx, s.q.DispatchDone, "failed", reason, id)
		} else {
			_, err = s.db.ExecContext(ctx, s.q.DispatchRetry, dbTime(s.now().Add(inbox.AlertBackoff(attempts))), reason, id)
		}
	}
	if err != nil {
		return fmt.Errorf("store: alert %d sent: %w", id, err)
	}
	return nil
}
