package web

import (
	"context"
	"net/http"
	"strconv"

	"github.com/leadhub/leadhub/inbox"
)

// SupervisionStore is what the alerts and the supervisor's view need of
// the store.
type SupervisionStore interface {
	// ListAlerts returns a page of the viewer's alerts newest first before
	// an alert id (0: from the newest), and how many are unread in all.
	ListAlerts(ctx context.Context, v inbox.Viewer, before int64, limit int) (inbox.AlertPage, error)
	MarkAlertsRead(ctx context.Context, operatorID, upto int64) error
	Supervise(ctx context.Context, limit int) (inbox.Supervision, error)
	// TouchPresence records that operators have a socket open now.
	TouchPresence(ctx context.Context, operatorIDs []int64) error
}

// alertList is GET /api/v1/alerts: a page of alerts and the unread count.
type alertList struct {
	Items  []inbox.Alert `json:"items"`
	Unread int           `json:"unread"`
	Next   string        `json:"next"`
}

// listAlerts answers GET /api/v1/alerts?before=<id>&limit=: the bell's
// alerts for whoever asks (their own, their team's, and supervisors'
// when they are one).
func (a *apiHandler) listAlerts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := parseLimit(q)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var before int64
	if v := q.Get("before"); v != "" {
		if before, err = strconv.ParseInt(v, 10, 64); err != nil || before <= 0 {
			writeError(w, r, inbox.Errorf(inbox.EINVALID, "before is not an alert id"))
			return
		}
	}
	sc, err := a.access.requestScope(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	op, _ := operatorFrom(r.Context())
	page, err := a.store.ListAlerts(r.Context(), inbox.Viewer{OperatorID: op.ID, Role: op.Role, Scope: sc}, before, limit)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := alertList{Items: page.Items, Unread: page.Unread}
	if page.Next != 0 {
		out.Next = strconv.FormatInt(page.Next, 10)
	}
	writeJSON(w, r, http.StatusOK, out)
}

// markAlertsRead answers POST /api/v1/alerts/read {"upto": id}: the
// operator has seen their alerts up to that one.
func (a *apiHandler) markAlertsRead(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Upto int64 `json:"upto"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		writeError(w, r, err)
		return
	}
	if body.Upto <= 0 {
		writeError(w, r, inbox.Errorf(inbox.EINVALID, "upto must be an alert id"))
		return
	}
	if err := a.store.MarkAlertsRead(r.Context(), operatorID(r), body.Upto); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// supervise answers GET /api/v1/supervision (supervisors and admins): open
// conversations with their assignee, waiting time and SLA state, the
// operators online with their load, the overdue tasks.
func (a *apiHandler) supervise(w http.ResponseWriter, r *http.Request) {
	limit, err := parseLimit(r.URL.Query())
	if err != nil {
		writeError(w, r, err)
		return
	}
	v, err := a.store.Supervise(r.Context(), limit)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if v.Conversations == nil {
		v.Conversations = []inbox.Conversation{}
	}
	if v.Operators == nil {
		v.Operators = []inbox.OperatorLoad{}
	}
	if v.OverdueTasks == nil {
		v.OverdueTasks = []inbox.Task{}
	}
	writeJSON(w, r, http.StatusOK, v)
}
