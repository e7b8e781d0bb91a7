package web

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/leadhub/leadhub/inbox"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// dialWS opens the operator websocket at base ("http://host:port").
func dialWS(base, after string, header http.Header) (*websocket.Conn, *http.Response, error) {
	u := "ws" + strings.TrimPrefix(base, "http") + "/api/v1/ws"
	if after != "" {
		u += "?after=" + after
	}
	h := http.Header{"Authorization": {"Bearer " + testToken}}
	for k, v := range header {
		h[k] = v
	}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	return d.Dial(u, h)
}

func mustDialWS(t *testing.T, base, after string) *websocket.Conn {
	t.Helper()
	conn, resp, err := dialWS(base, after, nil)
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

func readEvent(t *testing.T, conn *websocket.Conn) inbox.Event {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var ev inbox.Event
	if err := conn.ReadJSON(&ev); err != nil {
		t.Fatalf("read event: %v", err)
	}
	return ev
}

func wantEvents(t *testing.T, conn *websocket.Conn, ids ...int64) {
	t.Helper()
	for _, id := range ids {
		if ev := readEvent(t, conn); ev.ID != id {
			t.Fatalf("got event %d (%s), want %d", ev.ID, ev.Type, id)
		}
	}
}

func TestWSReplayThenLive(t *testing.T) {
	store := newFakeStore()
	for range 3 {
		store.addEvent(inbox.EventMessageCreated, map[string]int{"conversation_id": 1})
	}
	s := newTestServer(t, Options{Store: store})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	conn := mustDialWS(t, srv.URL, "1")
	ev := readEvent(t, conn)
	if ev.ID != 2 || ev.Type != inbox.EventMessageCreated || string(ev.Data) != `{"conversation_id":1}` {
		t.Fatalf("first event = %d %s %s, want 2 message.created with its data", ev.ID, ev.Type, ev.Data)
	}
	wantEvents(t, conn, 3)

	// Live: the hub only wakes the connection; the event comes from the store.
	live := store.addEvent(inbox.EventConversationUpdated, map[string]int{"id": 1})
	s.Hub().Publish(context.Background(), []inbox.Event{live})
	if ev := readEvent(t, conn); ev.ID != live.ID || ev.Type != inbox.EventConversationUpdated {
		t.Fatalf("live event = %d %s, want %d conversation.updated", ev.ID, ev.Type, live.ID)
	}

	// The API's own writes reach the socket through the default publisher.
	store.mu.Lock()
	store.conversations[1] = inbox.Conversation{ID: 1}
	store.mu.Unlock()
	w := do(t, s.Handler(), "POST", "/api/v1/conversations/1/messages", `{"text":"hi"}`, authed()...)
	if w.Code != http.StatusAccepted {
		t.Fatalf("reply: status %d", w.Code)
	}
	if ev := readEvent(t, conn); ev.ID != 5 || ev.Type != inbox.EventMessageCreated {
		t.Fatalf("reply event = %d %s, want 5 message.created", ev.ID, ev.Type)
	}
	if !strings.Contains(scrape(t, s), "leadhub_ws_connections 1") {
		t.Errorf("ws gauge does not show the connection")
	}
}

func TestWSReconnectAfterLast(t *testing.T) {
	store := newFakeStore()
	for range 2 {
		store.addEvent(inbox.EventMessageCreated, nil)
	}
	s := newTestServer(t, Options{Store: store})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	conn := mustDialWS(t, srv.URL, "")
	wantEvents(t, conn, 1, 2) // no after: everything
	conn.Close()

	// Written while the operator was away; nobody publishes it.
	store.addEvent(inbox.EventMessageUpdated, nil)
	conn = mustDialWS(t, srv.URL, "2")
	wantEvents(t, conn, 3)
	// The next event is the new one, not a repeat of the replay.
	ev := store.addEvent(inbox.EventClientUpdated, nil)
	s.Hub().Publish(context.Background(), []inbox.Event{ev})
	wantEvents(t, conn, 4)
}

func TestWSReplayPages(t *testing.T) {
	store := newFakeStore()
	const n = 1203 // more than two pages of 500
	for range n {
		store.addEvent(inbox.EventMessageCreated, nil)
	}
	var calls atomic.Int32
	inner := store.eventsAfter
	store.EventsAfterFn = func(ctx context.Context, after int64, limit int) ([]inbox.Event, error) {
		calls.Add(1)
		return inner(ctx, after, limit)
	}
	s := newTestServer(t, Options{Store: store})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	conn := mustDialWS(t, srv.URL, "0")
	for id := int64(1); id <= n; id++ {
		if ev := readEvent(t, conn); ev.ID != id {
			t.Fatalf("got event %d, want %d", ev.ID, id)
		}
	}
	waitFor(t, "the writer to finish the replay", func() bool { return calls.Load() >= 3 })
}

func TestWSBadAfter(t *testing.T) {
	s := newTestServer(t, Options{})
	for _, after := range []string{"abc", "-1", "1.5"} {
		w := do(t, s.Handler(), "GET", "/api/v1/ws?after="+after, "", authed()...)
		if w.Code != http.StatusBadRequest {
			t.Errorf("after=%s: status %d, want 400", after, w.Code)
		}
	}
	// Authenticated but not a websocket handshake.
	w := do(t, s.Handler(), "GET", "/api/v1/ws", "", authed()...)
	if w.Code != http.StatusBadRequest {
		t.Errorf("plain GET: status %d, want 400", w.Code)
	}
}

func TestWSOrigin(t *testing.T) {
	tests := []struct {
		name      string
		publicURL string
		origin    string // "self" means the test server's own URL
		wantOK    bool
	}{
		{"no origin", "https://hub.example.com", "", true},
		{"public url", "https://hub.example.com", "https://hub.example.com", true},
		{"public url default port", "https://hub.example.com:443", "https://hub.example.com", true},
		{"public url case", "https://hub.example.com", "https://HUB.example.com", true},
		{"other site", "https://hub.example.com", "https://evil.example", false},
		{"other scheme", "https://hub.example.com", "http://hub.example.com", false},
		{"other port", "https://hub.example.com", "https://hub.example.com:8443", false},
		{"suffix trick", "https://hub.example.com", "https://hub.example.com.evil.example", false},
		{"null origin", "https://hub.example.com", "null", false},
		{"own host without public url", "", "self", true},
		{"other host without public url", "", "http://evil.example", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, Options{PublicURL: tt.publicURL})
			srv := httptest.NewServer(s.Handler())
			defer srv.Close()
			h := http.Header{}
			switch tt.origin {
			case "":
			case "self":
				h.Set("Origin", srv.URL)
			default:
				h.Set("Origin", tt.origin)
			}
			conn, resp, err := dialWS(srv.URL, "", h)
			if tt.wantOK {
				if err != nil {
					t.Fatalf("dial: %v, want success", err)
				}
				conn.Close()
				return
			}
			if err == nil {
				conn.Close()
				t.Fatalf("dial succeeded, want 403")
			}
			if resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("dial: %v (response %v), want 403", err, resp)
			}
		})
	}
}

func TestWSPing(t *testing.T) {
	s := newTestServer(t, Options{})
	s.ws.pingPeriod = 20 * time.Millisecond
	s.ws.pongWait = 10 * time.Second
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	conn := mustDialWS(t, srv.URL, "")
	var pings atomic.Int32
	conn.SetPingHandler(func(data string) error {
		pings.Add(1)
		return conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	// Control frames are handled while reading; the reader stops at close.
	go func() {
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	waitFor(t, "pings", func() bool { return pings.Load() >= 3 })
}

func TestWSStoreFailureCloses(t *testing.T) {
	store := newFakeStore()
	store.addEvent(inbox.EventMessageCreated, nil) // something to replay
	var fail atomic.Bool
	store.EventsAfterFn = func(ctx context.Context, after int64, limit int) ([]inbox.Event, error) {
		if fail.Load() {
			return nil, errors.New("store: events: connection reset")
		}
		return store.eventsAfter(ctx, after, limit)
	}
	s := newTestServer(t, Options{Store: store})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	waitFor(t, "the hub's reader to start", func() bool {
		select {
		case <-s.Hub().ready:
			return true
		default:
			return false
		}
	})
	fail.Store(true)

	conn := mustDialWS(t, srv.URL, "")
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err := conn.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseInternalServerErr) {
		t.Fatalf("read: %v, want close 1011", err)
	}
	waitFor(t, "the hub to forget the connection", func() bool { return s.Hub().Len() == 0 })
}

func TestServeShutdownClosesWebsockets(t *testing.T) {
	store := newFakeStore()
	store.addEvent(inbox.EventMessageCreated, nil)
	// Not newTestServer: Serve runs the hub's reader itself.
	s, err := New(Options{Store: store, Sink: &fakeSink{}, Metrics: NewMetrics(nil)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()

	base := "http://" + ln.Addr().String()
	conn := mustDialWS(t, base, "")
	wantEvents(t, conn, 1)
	if n := s.Hub().Len(); n != 1 {
		t.Fatalf("hub has %d connections, want 1", n)
	}

	cancel()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := conn.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Errorf("read after shutdown: %v, want close 1001 (going away)", err)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve returned %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the context ended")
	}
	if n := s.Hub().Len(); n != 0 {
		t.Errorf("hub has %d connections after shutdown, want 0", n)
	}
	if !strings.Contains(scrape(t, s), "leadhub_ws_connections 0") {
		t.Errorf("ws gauge not back to 0")
	}
	// A late dial is refused: the listener is closed.
	if c, _, err := dialWS(base, "", nil); err == nil {
		c.Close()
		t.Errorf("dial after shutdown succeeded")
	}
}

func TestHubNeverWaitsOnAConnection(t *testing.T) {
	h := NewHub(newFakeStore(), NewMetrics(nil), nil)
	for range 100 { // nobody reads the wake-ups
		h.Publish(context.Background(), []inbox.Event{{ID: 1}})
	}
	if got := len(h.wake); got != 1 {
		t.Errorf("wake holds %d, want 1", got)
	}
	// A connection that reads nothing: once its queue is full, the next
	// batch cuts it off instead of waiting.
	c := &wsClient{send: make(chan hubBatch, sendQueue), slow: make(chan struct{}), done: make(chan struct{})}
	h.clients[c] = struct{}{}
	for i := range sendQueue + 1 {
		h.broadcast(hubBatch{events: []inbox.Event{{ID: int64(i + 1)}}, frames: [][]byte{nil}})
	}
	select {
	case <-c.slow:
	default:
		t.Fatal("a full connection was not cut off")
	}
	if h.pos != sendQueue+1 {
		t.Errorf("hub position %d, want %d", h.pos, sendQueue+1)
	}
	h.broadcast(hubBatch{events: []inbox.Event{{ID: sendQueue + 2}}, frames: [][]byte{nil}})
	if n := testutil.ToFloat64(h.metrics.wsDropped); n != 1 {
		t.Errorf("leadhub_ws_slow_closed_total = %v, want 1 (one socket cut off once)", n)
	}
}

// TestAsOfBatchEnd: events about a conversation are judged by where it is at
// the end of their batch, so an operator who lost it within the batch gets
// none of them; other events keep their audience.
func TestAsOfBatchEnd(t *testing.T) {
	olga := inbox.Viewer{OperatorID: 1, Role: inbox.RoleOperator, Scope: inbox.Scope{OperatorID: 1}}
	conv := func(id, assignee int64) inbox.Audience {
		return inbox.Audience{Kind: inbox.AudienceConversation, ConversationID: id, ChannelID: "shop", AssigneeID: assignee}
	}
	evs := []inbox.Event{
		{ID: 1, Type: inbox.EventConversationCreated, Audience: conv(7, 0)},
		{ID: 2, Type: inbox.EventMessageCreated, Audience: conv(7, 0)},
		{ID: 3, Type: inbox.EventMessageCreated, Audience: conv(8, 0)},
		{ID: 4, Type: inbox.EventConversationUpdated, Audience: conv(7, 2)}, // taken by operator 2
		{ID: 5, Type: inbox.EventTeamUpdated, Audience: inbox.Audience{Kind: inbox.AudienceAdmins}},
	}
	asOfBatchEnd(evs)
	var got []int64
	for _, ev := range evs {
		if olga.Sees(ev.Audience, nil) {
			got = append(got, ev.ID)
		}
	}
	if !slices.Equal(got, []int64{3}) {
		t.Errorf("olga gets %v, want [3]: conversation 7 is operator 2's by the end of the batch", got)
	}
	if evs[4].Audience.Kind != inbox.AudienceAdmins {
		t.Errorf("an admin event's audience changed: %+v", evs[4].Audience)
	}
}
