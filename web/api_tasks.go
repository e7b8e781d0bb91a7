package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// TaskStore is what the tasks API needs of the store.
type TaskStore interface {
	// ListTasks lists the tasks the scope sees: those of the cards it
	// sees.
	ListTasks(ctx context.Context, scope inbox.Scope, f inbox.TaskFilter) ([]inbox.Task, string, error)
	GetTask(ctx context.Context, id int64) (inbox.Task, error)
	UpdateTask(ctx context.Context, operatorID, id int64, p inbox.TaskPatch) (inbox.Task, []inbox.Event, error)
	DeleteTask(ctx context.Context, operatorID, id int64) ([]inbox.Event, error)
}

// listTasks answers GET /api/v1/tasks?mine=1&client_id=&state=open|overdue|done.
func (a *apiHandler) listTasks(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := parseLimit(q)
	if err != nil {
		writeError(w, r, err)
		return
	}
	f := inbox.TaskFilter{State: q.Get("state"), Cursor: q.Get("cursor"), Limit: limit}
	switch q.Get("mine") {
	case "", "0", "false":
	default:
		f.AssigneeID = operatorID(r)
	}
	if v := q.Get("client_id"); v != "" {
		if f.ClientID, err = strconv.ParseInt(v, 10, 64); err != nil || f.ClientID <= 0 {
			writeError(w, r, inbox.Errorf(inbox.EINVALID, "client_id is not an id"))
			return
		}
	}
	sc, err := a.access.requestScope(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	tasks, next, err := a.store.ListTasks(r.Context(), sc, f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, newList(tasks, next))
}

// visibleTask returns the task when the request's operator sees its card;
// one they do not is ENOTFOUND, as if it did not exist.
func (a *apiHandler) visibleTask(r *http.Request, id int64) (inbox.Task, error) {
	t, err := a.store.GetTask(r.Context(), id)
	if err != nil {
		return inbox.Task{}, err
	}
	if _, err := a.access.client(r, t.ClientID); err != nil {
		return inbox.Task{}, inbox.Errorf(inbox.ENOTFOUND, "task not found")
	}
	return t, nil
}

// taskPatchBody is PATCH /api/v1/tasks/{id}. due_at and assignee_id may be
// null, which clears them; a field left out stays as it is.
type taskPatchBody struct {
	Title      *string         `json:"title"`
	Done       *bool           `json:"done"`
	DueAt      json.RawMessage `json:"due_at"`
	AssigneeID json.RawMessage `json:"assignee_id"`
}

func (a *apiHandler) patchTask(w http.ResponseWriter, r *http.Request) {
	var b taskPatchBody
	id, ok := idAndBody(w, r, &b)
	if !ok {
		return
	}
	if _, err := a.visibleTask(r, id); err != nil {
		writeError(w, r, err)
		return
	}
	p := inbox.TaskPatch{Title: b.Title, Done: b.Done}
	if len(b.DueAt) > 0 {
		if string(b.DueAt) == "null" {
			p.ClearDueAt = true
		} else {
			var due time.Time
			if err := json.Unmarshal(b.DueAt, &due); err != nil {
				writeError(w, r, inbox.Errorf(inbox.EINVALID, "due_at is not an RFC 3339 time"))
				return
			}
			p.DueAt = &due
		}
	}
	if len(b.AssigneeID) > 0 {
		if string(b.AssigneeID) == "null" {
			p.ClearAssignee = true
		} else {
			var as int64
			if err := json.Unmarshal(b.AssigneeID, &as); err != nil || as <= 0 {
				writeError(w, r, inbox.Errorf(inbox.EINVALID, "assignee_id is not an id"))
				return
			}
			p.AssigneeID = &as
		}
	}
	t, evs, err := a.store.UpdateTask(r.Context(), operatorID(r), id, p)
	a.answer(w, r, http.StatusOK, t, evs, err)
}

func (a *apiHandler) deleteTask(w http.ResponseWriter, r *http.Request) {
	id, ok := idFromPath(w, r)
	if !ok {
		return
	}
	if _, err := a.visibleTask(r, id); err != nil {
		writeError(w, r, err)
		return
	}
	evs, err := a.store.DeleteTask(r.Context(), operatorID(r), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	a.publish(r.Context(), evs)
	w.WriteHeader(http.StatusNoContent)
}
