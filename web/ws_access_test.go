package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/crypto/bcrypt"

	"github.com/leadhub/leadhub/inbox"
)

// dialAs opens the websocket as the page does: with the session cookie,
// from the hub's own origin.
func dialAs(t *testing.T, base string, s session, after int64) *websocket.Conn {
	t.Helper()
	u := "ws" + strings.TrimPrefix(base, "http") + fmt.Sprintf("/api/v1/ws?after=%d", after)
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	conn, resp, err := d.Dial(u, http.Header{"Cookie": {s.cookie}, "Origin": {base}})
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial websocket: %v (status %d)", err, status)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// eventsUntil reads events until one satisfies last, and returns them all.
func eventsUntil(t *testing.T, conn *websocket.Conn, last func(inbox.Event) bool) []inbox.Event {
	t.Helper()
	var out []inbox.Event
	for {
		ev := readEvent(t, conn)
		out = append(out, ev)
		if last(ev) {
			return out
		}
	}
}

// closedWith waits until the server closes conn and returns the close code.
func closedWith(t *testing.T, conn *websocket.Conn) int {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := conn.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		t.Fatalf("websocket ended with %v, not a close frame", err)
	}
}

// about names the conversation and client an event is about.
func about(t *testing.T, fx *fixture, ev inbox.Event) (convID, clientID int64) {
	t.Helper()
	var d struct {
		Conversation *inbox.Conversation `json:"conversation"`
		Message      *inbox.Message      `json:"message"`
		Client       *inbox.Client       `json:"client"`
	}
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		t.Fatalf("event %d %s: %v", ev.ID, ev.Type, err)
	}
	switch {
	case d.Conversation != nil:
		return d.Conversation.ID, d.Conversation.ClientID
	case d.Message != nil:
		c, err := fx.st.GetConversation(context.Background(), d.Message.ConversationID)
		if err != nil {
			t.Fatal(err)
		}
		return c.ID, c.ClientID
	case d.Client != nil:
		return 0, d.Client.ID
	}
	return 0, 0
}

// TestWSOperatorSeesOnlyTheirs: an operator's websocket carries no event
// about another team's conversations or cards, nor about operators; a
// supervisor's carries everything; an admin's the operator events too.
func TestWSOperatorSeesOnlyTheirs(t *testing.T) {
	fx := newFixture(t, Options{})
	srv := httptest.NewServer(fx.h)
	defer srv.Close()
	ctx := context.Background()
	start, _ := fx.st.LastEventID(ctx)
	olgaWS := dialAs(t, srv.URL, fx.login("olga@example.com"), start)
	superWS := dialAs(t, srv.URL, fx.login("super@example.com"), start)
	adminWS := dialAs(t, srv.URL, fx.login("admin@example.com"), start)

	shop, help := fx.conv("shop"), fx.conv("help")
	petrs := fx.conv("shop")
	if _, _, err := fx.st.UpdateConversation(ctx, petrs.ID, inbox.ConversationPatch{SetAssignee: true, AssigneeID: &fx.petr.ID}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []inbox.Conversation{shop, help, petrs} {
		if _, _, err := fx.st.AddNote(ctx, fx.admin.ID, c.ClientID, "заметка"); err != nil { // client.updated
			t.Fatal(err)
		}
		m, _, err := fx.st.SendReply(ctx, inbox.ReplyRequest{ConversationID: c.ID, AuthorID: fx.admin.ID, Text: "ответ"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fx.st.MarkSent(ctx, m.ID, "ext-1"); err != nil { // message.updated without its conversation
			t.Fatal(err)
		}
	}
	name := "Пётр"
	if _, _, err := fx.st.UpdateOperator(ctx, fx.admin.ID, fx.petr.ID, inbox.OperatorPatch{Name: &name}); err != nil {
		t.Fatal(err)
	}
	marker := fx.conv("site")
	fx.srv.Hub().Publish(ctx, nil)

	isMarker := func(ev inbox.Event) bool {
		id, _ := about(t, fx, ev)
		return ev.Type == inbox.EventConversationCreated && id == marker.ID
	}
	visible := map[int64]bool{shop.ID: true, marker.ID: true}
	visibleClients := map[int64]bool{shop.ClientID: true, marker.ClientID: true}
	got := map[string]bool{}
	for _, ev := range eventsUntil(t, olgaWS, isMarker) {
		if adminEvent(ev.Type) {
			t.Errorf("olga got %s", ev.Type)
			continue
		}
		conv, client := about(t, fx, ev)
		// Petr's conversation was everyone's in sales until it was
		// assigned to him: what happened before that, olga may see.
		var snap struct {
			Conversation *inbox.Conversation `json:"conversation"`
		}
		_ = json.Unmarshal(ev.Data, &snap)
		if conv == petrs.ID && snap.Conversation != nil && snap.Conversation.AssigneeID == nil {
			continue
		}
		if (conv != 0 && !visible[conv]) || (conv == 0 && !visibleClients[client]) {
			t.Errorf("olga got %d %s about conversation %d, client %d: %s", ev.ID, ev.Type, conv, client, ev.Data)
		}
		if conv == shop.ID || client == shop.ClientID {
			got[ev.Type] = true
		}
	}
	for _, typ := range []string{inbox.EventConversationCreated, inbox.EventMessageCreated, inbox.EventMessageUpdated, inbox.EventClientUpdated} {
		if !got[typ] {
			t.Errorf("olga missed %s of her own conversation", typ)
		}
	}

	sawHelp, sawOperator := false, false
	for _, ev := range eventsUntil(t, superWS, isMarker) {
		conv, _ := about(t, fx, ev)
		sawHelp = sawHelp || conv == help.ID
		sawOperator = sawOperator || adminEvent(ev.Type)
	}
	if !sawHelp || sawOperator {
		t.Errorf("supervisor saw help's events %v, operator events %v; want true, false", sawHelp, sawOperator)
	}
	sawOperator = false
	for _, ev := range eventsUntil(t, adminWS, isMarker) {
		sawOperator = sawOperator || ev.Type == inbox.EventOperatorUpdated
	}
	if !sawOperator {
		t.Errorf("admin did not see operator.updated")
	}
}

// TestWSEndsWithCredentials: disabling an operator, revoking a session or
// a token, and changing teams reach open websockets at once, also when
// the change was made on another instance (which only wakes this one, as
// the Redis fan-out does).
func TestWSEndsWithCredentials(t *testing.T) {
	fx := newFixture(t, Options{})
	srv := httptest.NewServer(fx.h)
	defer srv.Close()
	// The other instance: the same database, its own hub.
	other := newTestServer(t, Options{Store: fx.st, Sink: &fakeSink{}, ChannelTeams: map[string]string{"shop": "sales", "help": "support"}})
	ctx := context.Background()
	adm := fx.login("admin@example.com")
	last := func() int64 { id, _ := fx.st.LastEventID(ctx); return id }

	t.Run("session revoked on another instance", func(t *testing.T) {
		s := fx.login("olga@example.com")
		conn := dialAs(t, srv.URL, s, last())
		sessions, _ := fx.st.ListSessions(ctx, fx.olga.ID)
		w := do(t, other.Handler(), "DELETE", fmt.Sprintf("/api/v1/sessions/%d", sessions[0].ID), "", adm.header()...)
		if w.Code != 204 {
			t.Fatalf("revoke: %d %s", w.Code, w.Body)
		}
		fx.srv.Hub().Publish(ctx, nil) // the fan-out's hint
		if code := closedWith(t, conn); code != websocket.ClosePolicyViolation {
			t.Errorf("close code %d, want %d", code, websocket.ClosePolicyViolation)
		}
	})

	t.Run("token revoked on another instance", func(t *testing.T) {
		token, hash := inbox.NewToken()
		tok, err := fx.st.CreateScopedToken(ctx, 0, inbox.APIToken{OperatorID: fx.olga.ID, Scope: inbox.ScopeRead}, hash)
		if err != nil {
			t.Fatal(err)
		}
		u := "ws" + strings.TrimPrefix(srv.URL, "http") + fmt.Sprintf("/api/v1/ws?after=%d", last())
		conn, _, err := websocket.DefaultDialer.Dial(u, http.Header{"Authorization": {"Bearer " + token}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if w := do(t, other.Handler(), "DELETE", fmt.Sprintf("/api/v1/tokens/%d", tok.ID), "", adm.header()...); w.Code != 204 {
			t.Fatalf("revoke: %d", w.Code)
		}
		fx.srv.Hub().Publish(ctx, nil)
		if code := closedWith(t, conn); code != websocket.ClosePolicyViolation {
			t.Errorf("close code %d", code)
		}
	})

	t.Run("teams changed on another instance", func(t *testing.T) {
		s := fx.login("olga@example.com")
		conn := dialAs(t, srv.URL, s, last())
		w := do(t, other.Handler(), "PATCH", fmt.Sprintf("/api/v1/operators/%d", fx.olga.ID), `{"teams":["support"]}`, adm.header()...)
		if w.Code != 200 {
			t.Fatalf("patch: %d %s", w.Code, w.Body)
		}
		shop, help, marker := fx.conv("shop"), fx.conv("help"), fx.conv("site")
		fx.srv.Hub().Publish(ctx, nil)
		sawHelp := false
		for _, ev := range eventsUntil(t, conn, func(ev inbox.Event) bool { id, _ := about(t, fx, ev); return id == marker.ID }) {
			id, _ := about(t, fx, ev)
			if id == shop.ID {
				t.Errorf("olga, now in support only, got %s of a shop conversation", ev.Type)
			}
			sawHelp = sawHelp || id == help.ID
		}
		if !sawHelp {
			t.Errorf("olga, now in support, did not get the help conversation")
		}
	})

	t.Run("operator disabled here", func(t *testing.T) {
		s := fx.login("olga@example.com")
		conn := dialAs(t, srv.URL, s, last())
		w := do(t, fx.h, "PATCH", fmt.Sprintf("/api/v1/operators/%d", fx.olga.ID), `{"disabled":true}`, adm.header()...)
		if w.Code != 200 {
			t.Fatalf("disable: %d %s", w.Code, w.Body)
		}
		if code := closedWith(t, conn); code != websocket.ClosePolicyViolation {
			t.Errorf("close code %d", code)
		}
		if w := do(t, fx.h, "GET", "/api/v1/session", "", s.header()...); w.Code != 401 {
			t.Errorf("disabled operator's session: %d", w.Code)
		}
		if _, _, w := fx.signIn("olga@example.com", fxPassword); w.Code != 401 {
			t.Errorf("disabled operator signs in: %d", w.Code)
		}
	})
}

// adminEvent reports the event types only admins get.
func adminEvent(typ string) bool {
	return strings.HasPrefix(typ, "operator.") || strings.HasPrefix(typ, "team.")
}

// TestWSReplayIsAsOfNow: a conversation reassigned away from an operator
// answers 404 to them, and their replay from the beginning carries none of
// its events; nor does the replay of an operator created later.
func TestWSReplayIsAsOfNow(t *testing.T) {
	fx := newFixture(t, Options{})
	srv := httptest.NewServer(fx.h)
	defer srv.Close()
	ctx := context.Background()
	taken := fx.conv("shop") // sales: olga's team sees it while nobody has it
	if _, _, err := fx.st.UpdateConversation(ctx, taken.ID, inbox.ConversationPatch{SetAssignee: true, AssigneeID: &fx.petr.ID}); err != nil {
		t.Fatal(err)
	}
	marker := fx.conv("shop")
	isMarker := func(ev inbox.Event) bool {
		id, _ := about(t, fx, ev)
		return ev.Type == inbox.EventMessageCreated && id == marker.ID
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(fxPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := fx.st.AddOperator(ctx, 0, inbox.Operator{Email: "vera@example.com", Name: "Вера", Role: inbox.RoleOperator},
		string(hash), []string{"sales"}); err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"olga@example.com", "vera@example.com"} {
		s := fx.login(email)
		if w := do(t, fx.h, "GET", fmt.Sprintf("/api/v1/conversations/%d", taken.ID), "", s.header()...); w.Code != http.StatusNotFound {
			t.Errorf("%s opens the conversation Petr took: %d, want 404", email, w.Code)
		}
		for _, ev := range eventsUntil(t, dialAs(t, srv.URL, s, 0), isMarker) {
			if id, _ := about(t, fx, ev); id == taken.ID {
				t.Errorf("%s replays %d %s of the conversation Petr took", email, ev.ID, ev.Type)
			}
		}
	}
}
