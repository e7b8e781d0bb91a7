package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// The supervision part of fakeStore: the API tests of alerts run on the
// real store (newFixture).
func (f *fakeStore) ListAlerts(context.Context, inbox.Viewer, int64, int) (inbox.AlertPage, error) {
	return inbox.AlertPage{Items: []inbox.Alert{}}, nil
}

func (f *fakeStore) MarkAlertsRead(context.Context, int64, int64) error { return nil }

func (f *fakeStore) Supervise(context.Context, int) (inbox.Supervision, error) {
	return inbox.Supervision{}, nil
}

func (f *fakeStore) TouchPresence(context.Context, []int64) error { return nil }

// TestAlertsAPI: each operator's bell holds their own reminders, and
// supervisors' the overdue tasks; reading clears the unread count; the
// supervisor's view is for supervisors only.
func TestAlertsAPI(t *testing.T) {
	fx := newFixture(t, Options{})
	ctx := context.Background()
	shop := fx.conv("shop")
	help := fx.conv("help")
	soon := time.Now().Add(-time.Minute)
	late := time.Now().Add(-2 * time.Hour)
	if _, _, err := fx.st.CreateTask(ctx, 0, shop.ClientID, inbox.Task{Title: "Позвонить", DueAt: &soon, AssigneeID: &fx.olga.ID}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := fx.st.CreateTask(ctx, 0, help.ClientID, inbox.Task{Title: "Смета", DueAt: &late, AssigneeID: &fx.petr.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.st.RaiseAlerts(ctx, time.Hour, 100); err != nil {
		t.Fatal(err)
	}
	alerts := func(who session) alertList {
		t.Helper()
		w := do(t, fx.h, "GET", "/api/v1/alerts", "", who.header()...)
		var l alertList
		if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &l) != nil {
			t.Fatalf("GET /api/v1/alerts = %d %s", w.Code, w.Body)
		}
		return l
	}
	olga, petr, super := fx.login("olga@example.com"), fx.login("petr@example.com"), fx.login("super@example.com")
	l := alerts(olga)
	if len(l.Items) != 1 || l.Items[0].Kind != inbox.AlertTaskDue || l.Items[0].TaskTitle != "Позвонить" || l.Unread != 1 || l.Next != "" {
		t.Fatalf("olga's alerts = %+v", l)
	}
	if l := alerts(petr); len(l.Items) != 1 || l.Items[0].TaskTitle != "Смета" {
		t.Fatalf("petr's alerts = %+v", l)
	}
	sl := alerts(super)
	if len(sl.Items) != 1 || sl.Items[0].Kind != inbox.AlertTaskOverdue || sl.Items[0].LateSeconds < 7000 {
		t.Fatalf("the supervisor's alerts = %+v", sl)
	}
	body := fmt.Sprintf(`{"upto":%d}`, l.Items[0].ID)
	if w := do(t, fx.h, "POST", "/api/v1/alerts/read", body, olga.header()...); w.Code != http.StatusNoContent {
		t.Fatalf("mark read = %d %s", w.Code, w.Body)
	}
	if l := alerts(olga); l.Unread != 0 || !l.Items[0].Read {
		t.Errorf("after reading: %+v", l)
	}
	if l := alerts(super); l.Unread != 1 {
		t.Errorf("olga's read mark cleared the supervisor's: %+v", l)
	}
	for _, bad := range []string{`{"upto":0}`, `{"upto":"x"}`, `{}`} {
		if w := do(t, fx.h, "POST", "/api/v1/alerts/read", bad, olga.header()...); w.Code != http.StatusBadRequest {
			t.Errorf("mark read %s = %d", bad, w.Code)
		}
	}
	if w := do(t, fx.h, "GET", "/api/v1/alerts?before=x", "", olga.header()...); w.Code != http.StatusBadRequest {
		t.Errorf("before=x = %d", w.Code)
	}

	if w := do(t, fx.h, "GET", "/api/v1/supervision", "", olga.header()...); w.Code != http.StatusForbidden {
		t.Errorf("an operator's supervision = %d", w.Code)
	}
	w := do(t, fx.h, "GET", "/api/v1/supervision", "", super.header()...)
	var v inbox.Supervision
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &v) != nil {
		t.Fatalf("supervision = %d %s", w.Code, w.Body)
	}
	if len(v.Conversations) != 2 || len(v.OverdueTasks) != 2 || len(v.Operators) != 4 {
		t.Fatalf("supervision = %d conversations, %d overdue tasks, %d operators", len(v.Conversations), len(v.OverdueTasks), len(v.Operators))
	}
}

// TestPresenceTracksPages: an operator opening the page is recorded online
// at once, without waiting for the next beat.
func TestPresenceTracksPages(t *testing.T) {
	fx := newFixture(t, Options{})
	srv := httptest.NewServer(fx.h)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	touched := make(chan []int64, 16)
	done := make(chan error, 1)
	go func() {
		done <- fx.srv.Hub().TrackPresence(ctx, func(_ context.Context, ids []int64) error {
			touched <- ids
			return nil
		})
	}()
	dialAs(t, srv.URL, fx.login("olga@example.com"), 0)
	select {
	case ids := <-touched:
		if !slices.Equal(ids, []int64{fx.olga.ID}) {
			t.Fatalf("online = %v, want olga (%d)", ids, fx.olga.ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an arriving page was not recorded")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
