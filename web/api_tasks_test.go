package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// The tasks part of fakeStore: the API tests of tasks run on the real
// store (newFixture).
func (f *fakeStore) ListTasks(context.Context, inbox.Scope, inbox.TaskFilter) ([]inbox.Task, string, error) {
	return nil, "", nil
}

func (f *fakeStore) GetTask(context.Context, int64) (inbox.Task, error) {
	return inbox.Task{}, notFound("task")
}

func (f *fakeStore) UpdateTask(context.Context, int64, int64, inbox.TaskPatch) (inbox.Task, []inbox.Event, error) {
	return inbox.Task{}, nil, notFound("task")
}

func (f *fakeStore) DeleteTask(context.Context, int64, int64) ([]inbox.Event, error) {
	return nil, notFound("task")
}

// fakeCaller places calls for every operator, from extension "1" + their
// email's first letter, and remembers them.
type fakeCaller struct {
	mu    sync.Mutex
	calls []string
	err   error
}

func (c *fakeCaller) Call(_ context.Context, ext, number string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	c.calls = append(c.calls, ext+">"+number)
	return nil
}

func (c *fakeCaller) ExtensionOf(email string) (string, bool) {
	if strings.HasPrefix(email, "nobody") {
		return "", false
	}
	return "1" + email[:1], true
}

// TestTasksAPI: the contracted tasks API on the real store, within what
// the operator sees.
func TestTasksAPI(t *testing.T) {
	fx := newFixture(t, Options{})
	ctx := context.Background()
	shop := fx.conv("shop")
	help := fx.conv("help")
	past := time.Now().Add(-time.Hour)
	mine, _, err := fx.st.CreateTask(ctx, 0, shop.ClientID, inbox.Task{Title: "Перезвонить", DueAt: &past, AssigneeID: &fx.olga.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := fx.st.CreateTask(ctx, 0, help.ClientID, inbox.Task{Title: "Чужая"}); err != nil {
		t.Fatal(err)
	}
	olga := fx.login("olga@example.com")
	list := func(q string) []inbox.Task {
		t.Helper()
		w := do(t, fx.h, "GET", "/api/v1/tasks"+q, "", olga.header()...)
		if w.Code != http.StatusOK {
			t.Fatalf("GET /api/v1/tasks%s: %d %s", q, w.Code, w.Body)
		}
		var l struct {
			Items []inbox.Task `json:"items"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		return l.Items
	}
	if got := list(""); len(got) != 1 || got[0].ID != mine.ID {
		t.Errorf("olga's tasks = %+v, want only the task of the card she sees", got)
	}
	if got := list("?mine=1&state=overdue"); len(got) != 1 {
		t.Errorf("mine, overdue = %+v", got)
	}
	if got := list(fmt.Sprintf("?client_id=%d&state=done", shop.ClientID)); len(got) != 0 {
		t.Errorf("done = %+v", got)
	}
	if w := do(t, fx.h, "GET", "/api/v1/tasks?state=later", "", olga.header()...); w.Code != http.StatusBadRequest {
		t.Errorf("unknown state: %d", w.Code)
	}
	path := fmt.Sprintf("/api/v1/tasks/%d", mine.ID)
	w := do(t, fx.h, "PATCH", path, `{"done":true,"due_at":null,"title":"Перезвонил"}`, olga.header()...)
	var got inbox.Task
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &got) != nil || !got.Done || got.DoneAt == nil ||
		got.DueAt != nil || got.Title != "Перезвонил" {
		t.Fatalf("PATCH = %d %s", w.Code, w.Body)
	}
	w = do(t, fx.h, "POST", clientPath(shop.ClientID)+"/tasks", `{"title":"Встреча","kind":"meeting"}`, olga.header()...)
	var made inbox.Task
	if w.Code != http.StatusCreated || json.Unmarshal(w.Body.Bytes(), &made) != nil || made.Kind != inbox.TaskMeeting {
		t.Errorf("create a meeting: %d %s", w.Code, w.Body)
	}
	if w := do(t, fx.h, "POST", clientPath(shop.ClientID)+"/tasks", `{"title":"x","kind":"party"}`, olga.header()...); w.Code != http.StatusBadRequest {
		t.Errorf("unknown kind: %d", w.Code)
	}
	if w := do(t, fx.h, "DELETE", path, "", olga.header()...); w.Code != http.StatusNoContent {
		t.Fatalf("DELETE = %d %s", w.Code, w.Body)
	}
	if w := do(t, fx.h, "DELETE", path, "", olga.header()...); w.Code != http.StatusNotFound {
		t.Errorf("DELETE again = %d", w.Code)
	}
}

// TestCallFromCard: the call button asks the channel to ring the
// operator's extension and then one of the card's phones, and nothing else.
func TestCallFromCard(t *testing.T) {
	caller := &fakeCaller{}
	fx := newFixture(t, Options{Callers: map[string]Caller{"pbx": caller}})
	shop := fx.conv("shop")
	card, err := fx.st.GetClient(context.Background(), shop.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	number := card.Identities[0].Value
	olga := fx.login("olga@example.com")
	if w := do(t, fx.h, "GET", "/api/v1/session", "", olga.header()...); !strings.Contains(w.Body.String(), `"can_call":true`) {
		t.Errorf("session = %s, want can_call", w.Body)
	}
	path := clientPath(shop.ClientID) + "/call"
	w := do(t, fx.h, "POST", path, `{}`, olga.header()...)
	if w.Code != http.StatusAccepted || len(caller.calls) != 1 || caller.calls[0] != "1o>"+number {
		t.Fatalf("call = %d %s, calls %v", w.Code, w.Body, caller.calls)
	}
	if w := do(t, fx.h, "POST", path, `{"phone":"+79990001122"}`, olga.header()...); w.Code != http.StatusBadRequest {
		t.Errorf("a number not on the card: %d", w.Code)
	}
	if w := do(t, fx.h, "POST", path, `{"channel":"other"}`, olga.header()...); w.Code != http.StatusBadRequest {
		t.Errorf("a channel that does not place calls: %d", w.Code)
	}
	caller.err = inbox.Errorf(inbox.EUNAVAILABLE, "provider down")
	if w := do(t, fx.h, "POST", path, `{}`, olga.header()...); w.Code != http.StatusServiceUnavailable {
		t.Errorf("provider down: %d", w.Code)
	}
}
