package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/leadhub/leadhub/inbox"
)

// ListTasks returns the tasks the scope sees (a restricted operator sees
// the tasks of the cards they see), newest first, with the cursor of the
// next page. Limit defaults to 50, at most 200.
func (s *Store) ListTasks(ctx context.Context, scope inbox.Scope, f inbox.TaskFilter) ([]inbox.Task, string, error) {
	before, err := parseIDCursor(f.Cursor)
	if err != nil {
		return nil, "", fmt.Errorf("store: list tasks: %w", err)
	}
	switch f.State {
	case "", inbox.TaskStateOpen, inbox.TaskStateOverdue, inbox.TaskStateDone:
	default:
		return nil, "", fmt.Errorf("store: list tasks: %w", inbox.Errorf(inbox.EINVALID, "unknown state %q", f.State))
	}
	limit := clampLimit(f.Limit, 50, 200)
	l := s.q.ListTasks.start()
	if !scope.All {
		hidden, err := jsonArg(nonNilStrings(scope.HiddenChannels))
		if err != nil {
			return nil, "", err
		}
		l.and(s.q.visibleTask, scope.OperatorID, hidden)
	}
	s.q.filterTasks(l, f, before, dbTime(s.now()))
	query, args := l.end(limit + 1)
	var rows []taskRow
	if err := s.db.SelectContext(ctx, &rows, query, args...); err != nil {
		return nil, "", fmt.Errorf("store: list tasks: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = idCursor(rows[limit-1].ID)
	}
	out := make([]inbox.Task, len(rows))
	for i, r := range rows {
		out[i] = r.task()
	}
	return out, next, nil
}

// filterTasks adds the filters that are on.
func (q *callQueries) filterTasks(l *listQuery, f inbox.TaskFilter, before int64, now string) {
	if f.AssigneeID != 0 {
		l.and(`t.assignee_id = ?`, f.AssigneeID)
	}
	if f.ClientID != 0 {
		l.and(`t.client_id = ?`, f.ClientID)
	}
	switch f.State {
	case inbox.TaskStateOpen:
		l.and(`NOT t.done`)
	case inbox.TaskStateOverdue:
		l.and(`NOT t.done AND t.due_at <= ?`, now)
	case inbox.TaskStateDone:
		l.and(`t.done`)
	}
	if before != 0 {
		l.and(`t.id < ?`, before)
	}
}

// GetTask returns one task; ENOTFOUND when there is none.
func (s *Store) GetTask(ctx context.Context, id int64) (inbox.Task, error) {
	t, err := s.task(ctx, s.db, s.q.TaskByID, id)
	if err != nil {
		return inbox.Task{}, fmt.Errorf("store: get task %d: %w", id, err)
	}
	return t, nil
}

func (s *Store) task(ctx context.Context, q queryer, query string, id int64) (inbox.Task, error) {
	var r taskRow
	err := q.GetContext(ctx, &r, query, id)
	if errors.Is(err, sql.ErrNoRows) {
		return inbox.Task{}, inbox.Errorf(inbox.ENOTFOUND, "task not found")
	}
	if err != nil {
		return inbox.Task{}, err
	}
	return r.task(), nil
}

// UpdateTask changes a task and writes task.updated. Marking it done sets
// done_at; reopening clears it and its note. An empty or over-long title or
// an unknown assignee is EINVALID; an unknown task ENOTFOUND.
func (s *Store) UpdateTask(ctx context.Context, operatorID, id int64, p inbox.TaskPatch) (inbox.Task, []inbox.Event, error) {
	var (
		t   inbox.Task
		evs []inbox.Event
	)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		if t, err = s.task(ctx, tx, s.q.TaskForUpdate, id); err != nil {
			return err
		}
		at := s.now()
		if p.Title != nil {
			title := clean(strings.TrimSpace(*p.Title))
			if title == "" || utf8.RuneCountInString(title) > 500 {
				return inbox.Errorf(inbox.EINVALID, "a title is 1 to 500 characters")
			}
			t.Title = title
		}
		switch {
		case p.ClearDueAt:
			t.DueAt = nil
		case p.DueAt != nil:
			d := p.DueAt.UTC().Truncate(time.Microsecond)
			t.DueAt = &d
		}
		switch {
		case p.ClearAssignee:
			t.AssigneeID = nil
		case p.AssigneeID != nil:
			a := *p.AssigneeID
			t.AssigneeID = &a
		}
		if p.Done != nil && *p.Done != t.Done {
			t.Done = *p.Done
			t.DoneAt, t.DoneNote = nil, ""
			if t.Done {
				t.DoneAt = &at
			}
		}
		u := taskUpdate{ID: t.ID, Title: t.Title, Done: t.Done, DoneNote: t.DoneNote}
		if t.DueAt != nil {
			u.DueAt = dbTime(*t.DueAt)
		}
		if t.AssigneeID != nil {
			u.AssigneeID = *t.AssigneeID
		}
		if t.DoneAt != nil {
			u.DoneAt = dbTime(*t.DoneAt)
		}
		if _, err := s.q.UpdateTask.exec(ctx, tx, u); err != nil {
			if isForeignKeyViolation(err) {
				return inbox.Errorf(inbox.EINVALID, "unknown operator")
			}
			return fmt.Errorf("update task: %w", err)
		}
		if evs, err = s.cardTouched(ctx, tx, operatorID, "client.task", t.ClientID, map[string]any{"task_id": t.ID}, at); err != nil {
			return err
		}
		more, err := s.writeEvents(ctx, tx, at, []inbox.PendingEvent{inbox.TaskUpdated(t, false)})
		evs = append(evs, more...)
		return err
	})
	if err != nil {
		return inbox.Task{}, nil, fmt.Errorf("store: update task %d: %w", id, err)
	}
	return t, evs, nil
}

// DeleteTask removes a task and writes task.updated with deleted set.
func (s *Store) DeleteTask(ctx context.Context, operatorID, id int64) ([]inbox.Event, error) {
	var evs []inbox.Event
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		t, err := s.task(ctx, tx, s.q.TaskForUpdate, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q.DeleteTask, id); err != nil {
			return fmt.Errorf("delete task: %w", err)
		}
		at := s.now()
		if evs, err = s.cardTouched(ctx, tx, operatorID, "client.task_deleted", t.ClientID, map[string]any{"task_id": t.ID}, at); err != nil {
			return err
		}
		more, err := s.writeEvents(ctx, tx, at, []inbox.PendingEvent{inbox.TaskUpdated(t, true)})
		evs = append(evs, more...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: delete task %d: %w", id, err)
	}
	return evs, nil
}
