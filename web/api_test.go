package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// apiRoutes is every /api/v1 route, with a valid id where there is one.
var apiRoutes = []struct{ method, path, body string }{
	{"GET", "/api/v1/conversations", ""},
	{"GET", "/api/v1/conversations/1", ""},
	{"PATCH", "/api/v1/conversations/1", `{"status":"open"}`},
	{"GET", "/api/v1/conversations/1/messages", ""},
	{"POST", "/api/v1/conversations/1/messages", `{"text":"hi"}`},
	{"GET", "/api/v1/clients", ""},
	{"GET", "/api/v1/clients/1", ""},
	{"GET", "/api/v1/ws", ""},
}

func TestAPIUnauthorized(t *testing.T) {
	store := newFakeStore()
	store.conversations[1] = inbox.Conversation{ID: 1}
	s := newTestServer(t, Options{Store: store})
	creds := []struct {
		name   string
		header []string
	}{
		{"no header", nil},
		{"wrong token", []string{"Authorization", "Bearer lh_wrong"}},
		{"empty bearer", []string{"Authorization", "Bearer "}},
		{"basic auth", []string{"Authorization", "Basic b3A6cHc="}},
		{"token without scheme", []string{"Authorization", testToken}},
	}
	for _, rt := range apiRoutes {
		for _, c := range creds {
			t.Run(rt.method+" "+rt.path+" "+c.name, func(t *testing.T) {
				w := do(t, s.Handler(), rt.method, rt.path, rt.body, c.header...)
				if w.Code != http.StatusUnauthorized {
					t.Fatalf("status = %d, want 401", w.Code)
				}
				if got := errorOf(t, w); got != "unauthorized" {
					t.Errorf("error = %q, want unauthorized", got)
				}
			})
		}
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	if len(store.patches)+len(store.replies)+len(store.filters) != 0 {
		t.Errorf("store was used without a valid token")
	}
}

func TestAPIAuthStoreFailure(t *testing.T) {
	store := newFakeStore()
	store.OperatorByTokenFn = func(_ context.Context, _ string) (inbox.Operator, error) {
		return inbox.Operator{}, inbox.Errorf(inbox.EUNAVAILABLE, "database unavailable")
	}
	s := newTestServer(t, Options{Store: store})
	w := do(t, s.Handler(), "GET", "/api/v1/conversations", "", authed()...)
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", w.Code)
	}
}

func TestAPIListShape(t *testing.T) {
	s := newTestServer(t, Options{})
	for _, path := range []string{"/api/v1/conversations", "/api/v1/conversations/1/messages", "/api/v1/clients"} {
		w := do(t, s.Handler(), "GET", path, "", authed()...)
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s: status %d, want 200", path, w.Code)
		}
		if got, want := strings.TrimSpace(w.Body.String()), `{"items":[],"next":""}`; got != want {
			t.Errorf("GET %s: body = %s, want %s", path, got, want)
		}
		if got := w.Header().Get("Content-Type"); got != "application/json; charset=utf-8" {
			t.Errorf("GET %s: Content-Type = %q", path, got)
		}
	}
}

func TestAPIListConversations(t *testing.T) {
	tests := []struct {
		query      string
		wantStatus int
		want       inbox.ConversationFilter
	}{
		{"", 200, inbox.ConversationFilter{}},
		{"?status=open&channel=site&q=Ivan&cursor=abc&limit=20", 200,
			inbox.ConversationFilter{Status: inbox.StatusOpen, ChannelID: "site", Q: "Ivan", Cursor: "abc", Limit: 20}},
		{"?assignee=me", 200, inbox.ConversationFilter{AssigneeID: testOperator.ID}},
		{"?assignee=none", 200, inbox.ConversationFilter{Unassigned: true}},
		{"?assignee=5", 200, inbox.ConversationFilter{AssigneeID: 5}},
		{"?assignee=bob", 400, inbox.ConversationFilter{}},
		{"?assignee=0", 400, inbox.ConversationFilter{}},
		{"?status=lost", 400, inbox.ConversationFilter{}},
		{"?limit=ten", 400, inbox.ConversationFilter{}},
		{"?limit=-1", 400, inbox.ConversationFilter{}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			store := newFakeStore()
			store.conversations[3] = inbox.Conversation{ID: 3, ClientID: 9, ChannelID: "site", ChannelType: inbox.ChannelForm, Status: inbox.StatusNew}
			s := newTestServer(t, Options{Store: store})
			w := do(t, s.Handler(), "GET", "/api/v1/conversations"+tt.query, "", authed()...)
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", w.Code, tt.wantStatus, w.Body.String())
			}
			if tt.wantStatus != 200 {
				if len(store.filters) != 0 {
					t.Errorf("store asked despite a bad query")
				}
				return
			}
			if len(store.filters) != 1 || store.filters[0] != tt.want {
				t.Errorf("filter = %+v, want %+v", store.filters, tt.want)
			}
			var got list[inbox.Conversation]
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if len(got.Items) != 1 || got.Items[0].ID != 3 || got.Items[0].ChannelID != "site" {
				t.Errorf("items = %+v, want conversation 3", got.Items)
			}
		})
	}
}

func TestAPIGetConversation(t *testing.T) {
	store := newFakeStore()
	store.conversations[3] = inbox.Conversation{ID: 3, ClientID: 9, Status: inbox.StatusOpen}
	s := newTestServer(t, Options{Store: store})

	w := do(t, s.Handler(), "GET", "/api/v1/conversations/3", "", authed()...)
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", w.Code)
	}
	var c map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &c); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "client_id", "channel", "channel_type", "status", "assignee_id", "unread", "last_message_at"} {
		if _, ok := c[k]; !ok {
			t.Errorf("conversation lacks %q: %s", k, w.Body.String())
		}
	}

	w = do(t, s.Handler(), "GET", "/api/v1/conversations/4", "", authed()...)
	if w.Code != http.StatusNotFound {
		t.Errorf("unknown conversation: status %d, want 404", w.Code)
	}
}

func TestAPIPatchConversation(t *testing.T) {
	five := int64(5)
	open := inbox.StatusOpen
	tests := []struct {
		name         string
		body         string
		wantStatus   int
		wantPatch    inbox.ConversationPatch
		wantAssignee *int64
	}{
		{"status only leaves assignee", `{"status":"open"}`, 200, inbox.ConversationPatch{Status: &open}, &five},
		{"null unassigns", `{"assignee_id":null}`, 200, inbox.ConversationPatch{SetAssignee: true}, nil},
		{"id assigns", `{"assignee_id":5,"status":"open"}`, 200, inbox.ConversationPatch{Status: &open, SetAssignee: true, AssigneeID: &five}, &five},
		{"empty patch", `{}`, 400, inbox.ConversationPatch{}, nil},
		{"unknown status", `{"status":"lost"}`, 400, inbox.ConversationPatch{}, nil},
		{"bad assignee", `{"assignee_id":"me"}`, 400, inbox.ConversationPatch{}, nil},
		{"zero assignee", `{"assignee_id":0}`, 400, inbox.ConversationPatch{}, nil},
		{"unknown field", `{"status":"open","colour":"red"}`, 400, inbox.ConversationPatch{}, nil},
		{"malformed", `{"status":`, 400, inbox.ConversationPatch{}, nil},
		{"trailing data", `{"status":"open"} {}`, 400, inbox.ConversationPatch{}, nil},
		{"wrong type", `{"status":1}`, 400, inbox.ConversationPatch{}, nil},
		{"too large", `{"status":"` + strings.Repeat("a", 1<<20) + `"}`, 413, inbox.ConversationPatch{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newFakeStore()
			store.conversations[3] = inbox.Conversation{ID: 3, Status: inbox.StatusNew, AssigneeID: &five}
			pub := &recordingPublisher{}
			s := newTestServer(t, Options{Store: store, Publisher: pub})
			w := do(t, s.Handler(), "PATCH", "/api/v1/conversations/3", tt.body, authed()...)
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", w.Code, tt.wantStatus, w.Body.String())
			}
			if tt.wantStatus != 200 {
				if errorOf(t, w) == "" {
					t.Errorf("no error reason in %s", w.Body.String())
				}
				if len(store.patches) != 0 {
					t.Errorf("store patched despite a bad body")
				}
				return
			}
			if len(store.patches) != 1 {
				t.Fatalf("store got %d patches, want 1", len(store.patches))
			}
			if got := store.patches[0]; !samePatch(got, tt.wantPatch) {
				t.Errorf("patch = %s, want %s", fmtPatch(got), fmtPatch(tt.wantPatch))
			}
			var c inbox.Conversation
			if err := json.Unmarshal(w.Body.Bytes(), &c); err != nil {
				t.Fatal(err)
			}
			if !sameID(c.AssigneeID, tt.wantAssignee) {
				t.Errorf("assignee_id = %v, want %v", c.AssigneeID, tt.wantAssignee)
			}
			evs := pub.published()
			if len(evs) != 1 || evs[0].Type != inbox.EventConversationUpdated {
				t.Errorf("published %+v, want one conversation.updated", evs)
			}
		})
	}

	t.Run("unknown conversation", func(t *testing.T) {
		s := newTestServer(t, Options{})
		w := do(t, s.Handler(), "PATCH", "/api/v1/conversations/99", `{"status":"open"}`, authed()...)
		if w.Code != http.StatusNotFound {
			t.Errorf("status = %d, want 404", w.Code)
		}
	})
}

func sameID(a, b *int64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func samePatch(a, b inbox.ConversationPatch) bool {
	sameStatus := (a.Status == nil) == (b.Status == nil) && (a.Status == nil || *a.Status == *b.Status)
	return sameStatus && a.SetAssignee == b.SetAssignee && sameID(a.AssigneeID, b.AssigneeID)
}

func fmtPatch(p inbox.ConversationPatch) string {
	b, _ := json.Marshal(map[string]any{"status": p.Status, "set_assignee": p.SetAssignee, "assignee_id": p.AssigneeID})
	return string(b)
}

func TestAPICreateReply(t *testing.T) {
	store := newFakeStore()
	store.conversations[3] = inbox.Conversation{ID: 3}
	pub := &recordingPublisher{}
	var kicks atomic.Int32
	s := newTestServer(t, Options{Store: store, Publisher: pub, Kick: func() { kicks.Add(1) }})

	w := do(t, s.Handler(), "POST", "/api/v1/conversations/3/messages", `{"text":"Добрый день!"}`, authed()...)
	if w.Code != http.StatusAccepted {
		t.Fatalf("status = %d, want 202 (body %s)", w.Code, w.Body.String())
	}
	var m inbox.Message
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m.ID == 0 || m.ConversationID != 3 || m.Text != "Добрый день!" || m.Delivery != inbox.DeliveryQueued || m.Direction != inbox.DirectionOut {
		t.Errorf("message = %+v", m)
	}
	if len(store.replies) != 1 || store.replies[0] != (reply{3, testOperator.ID, "Добрый день!"}) {
		t.Errorf("store replies = %+v, want one by operator %d", store.replies, testOperator.ID)
	}
	if n := kicks.Load(); n != 1 {
		t.Errorf("Kick called %d times, want 1", n)
	}
	evs := pub.published()
	if len(evs) != 1 || evs[0].Type != inbox.EventMessageCreated {
		t.Errorf("published %+v, want one message.created", evs)
	}

	bad := []struct{ name, path, body string }{
		{"empty text", "/api/v1/conversations/3/messages", `{"text":"  "}`},
		{"no body", "/api/v1/conversations/3/messages", ``},
		{"unknown field", "/api/v1/conversations/3/messages", `{"text":"x","to":"y"}`},
	}
	for _, b := range bad {
		w := do(t, s.Handler(), "POST", b.path, b.body, authed()...)
		if w.Code != http.StatusBadRequest {
			t.Errorf("%s: status = %d, want 400", b.name, w.Code)
		}
	}
	w = do(t, s.Handler(), "POST", "/api/v1/conversations/4/messages", `{"text":"x"}`, authed()...)
	if w.Code != http.StatusNotFound {
		t.Errorf("unknown conversation: status = %d, want 404", w.Code)
	}
	if n := kicks.Load(); n != 1 {
		t.Errorf("Kick called %d times after failed replies, want still 1", n)
	}
}

func TestAPIBadID(t *testing.T) {
	s := newTestServer(t, Options{})
	routes := []struct{ method, path, body string }{
		{"GET", "/api/v1/conversations/%s", ""},
		{"PATCH", "/api/v1/conversations/%s", `{"status":"open"}`},
		{"GET", "/api/v1/conversations/%s/messages", ""},
		{"POST", "/api/v1/conversations/%s/messages", `{"text":"x"}`},
		{"GET", "/api/v1/clients/%s", ""},
	}
	for _, rt := range routes {
		for _, id := range []string{"abc", "0", "-1", "1.5", "99999999999999999999"} {
			path := strings.Replace(rt.path, "%s", id, 1)
			w := do(t, s.Handler(), rt.method, path, rt.body, authed()...)
			if w.Code != http.StatusBadRequest {
				t.Errorf("%s %s: status = %d, want 400", rt.method, path, w.Code)
			}
		}
	}
}

func TestAPIClients(t *testing.T) {
	store := newFakeStore()
	store.clients[9] = inbox.ClientDetail{Client: inbox.Client{ID: 9, Name: "Иван", CreatedAt: time.Now()}}
	s := newTestServer(t, Options{Store: store})

	w := do(t, s.Handler(), "GET", "/api/v1/clients/9", "", authed()...)
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", w.Code)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"identities", "conversations", "messages"} {
		if string(got[k]) != "[]" {
			t.Errorf("%s = %s, want []", k, got[k])
		}
	}
	if string(got["name"]) != `"Иван"` {
		t.Errorf("name = %s", got["name"])
	}

	w = do(t, s.Handler(), "GET", "/api/v1/clients?q=Иван", "", authed()...)
	var l list[inbox.Client]
	if err := json.Unmarshal(w.Body.Bytes(), &l); err != nil || len(l.Items) != 1 || l.Items[0].ID != 9 {
		t.Errorf("client list = %s (err %v), want client 9", w.Body.String(), err)
	}

	w = do(t, s.Handler(), "GET", "/api/v1/clients/10", "", authed()...)
	if w.Code != http.StatusNotFound {
		t.Errorf("unknown client: status = %d, want 404", w.Code)
	}
}

// Reading is per operator: POST /read clears the operator's own unread
// count in the list and the conversation, /unread sets it back.
func TestAPIReadMarks(t *testing.T) {
	store := newFakeStore()
	store.conversations[3] = inbox.Conversation{ID: 3, Unread: 2}
	pub := &recordingPublisher{}
	s := newTestServer(t, Options{Store: store, Publisher: pub})
	unread := func() (list, one int) {
		t.Helper()
		var l struct{ Items []inbox.Conversation }
		w := do(t, s.Handler(), "GET", "/api/v1/conversations", "", authed()...)
		if err := json.Unmarshal(w.Body.Bytes(), &l); err != nil || len(l.Items) != 1 {
			t.Fatalf("list: %d %s", w.Code, w.Body)
		}
		var c inbox.Conversation
		w = do(t, s.Handler(), "GET", "/api/v1/conversations/3", "", authed()...)
		if err := json.Unmarshal(w.Body.Bytes(), &c); err != nil {
			t.Fatalf("get: %d %s", w.Code, w.Body)
		}
		return l.Items[0].Unread, c.Unread
	}
	if l, o := unread(); l != 2 || o != 2 {
		t.Fatalf("before reading: %d, %d", l, o)
	}
	w := do(t, s.Handler(), "POST", "/api/v1/conversations/3/read", "", authed()...)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"unread":0`) {
		t.Fatalf("read: %d %s", w.Code, w.Body)
	}
	if l, o := unread(); l != 0 || o != 0 {
		t.Errorf("after reading: %d, %d", l, o)
	}
	if evs := pub.published(); len(evs) != 1 || evs[0].Type != inbox.EventConversationRead {
		t.Errorf("published %+v", evs)
	}
	if w := do(t, s.Handler(), "POST", "/api/v1/conversations/3/unread", "", authed()...); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"unread":1`) {
		t.Fatalf("unread: %d %s", w.Code, w.Body)
	}
	if l, o := unread(); l != 1 || o != 1 {
		t.Errorf("after marking unread: %d, %d", l, o)
	}
	if w := do(t, s.Handler(), "POST", "/api/v1/conversations/9/read", "", authed()...); w.Code != http.StatusNotFound {
		t.Errorf("unknown conversation: %d", w.Code)
	}
}
