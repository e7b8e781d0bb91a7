package web

import (
	"context"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/leadhub/leadhub/inbox"
)

// countingStore counts the reads that websockets cause.
type countingStore struct {
	Store
	eventsAfter, eventsFor, places, teams atomic.Int64
}

func (c *countingStore) EventsAfter(ctx context.Context, after int64, limit int) ([]inbox.Event, error) {
	c.eventsAfter.Add(1)
	return c.Store.EventsAfter(ctx, after, limit)
}

func (c *countingStore) EventsFor(ctx context.Context, v inbox.Viewer, after, upTo int64, limit int) ([]inbox.Event, error) {
	c.eventsFor.Add(1)
	return c.Store.EventsFor(ctx, v, after, upTo, limit)
}

func (c *countingStore) ConversationPlaces(ctx context.Context, ids []int64) (map[int64][]inbox.ConversationPlace, error) {
	c.places.Add(1)
	return c.Store.ConversationPlaces(ctx, ids)
}

func (c *countingStore) OperatorTeams(ctx context.Context, id int64) ([]string, error) {
	c.teams.Add(1)
	return c.Store.OperatorTeams(ctx, id)
}

func (c *countingStore) reads() int64 {
	return c.eventsAfter.Load() + c.eventsFor.Load() + c.places.Load() + c.teams.Load()
}

func (c *countingStore) reset() {
	c.eventsAfter.Store(0)
	c.eventsFor.Store(0)
	c.places.Store(0)
	c.teams.Store(0)
}

// TestWSOneReaderFeedsEverySocket: the hub's one reader hands each event
// to every socket, each socket keeps only what its viewer may see, and the
// database reads for a burst of events are the same with 1 socket as with
// 20.
func TestWSOneReaderFeedsEverySocket(t *testing.T) {
	fx := newFixture(t, Options{})
	cs := &countingStore{Store: fx.st}
	hub := NewHub(cs, NewMetrics(nil), nil)
	hub.poll = time.Hour // only the explicit wake-up below reads
	srv := newTestServer(t, Options{Store: cs, Sink: &fakeSink{}, Hub: hub,
		ChannelTeams: map[string]string{"shop": "sales", "help": "support"}})
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	olgaSession, superSession := fx.login("olga@example.com"), fx.login("super@example.com")
	ctx := context.Background()

	round := func(sockets int) int64 {
		t.Helper()
		// Let the reader reach the end of the table, so the sockets
		// below join live, with nothing to replay.
		start, _ := fx.st.LastEventID(ctx)
		hub.Publish(ctx, nil)
		waitFor(t, "the reader to catch up", func() bool {
			hub.mu.Lock()
			defer hub.mu.Unlock()
			return hub.pos == start
		})
		var olgas, supers []*websocket.Conn
		for i := range sockets {
			if i%2 == 0 {
				olgas = append(olgas, dialAs(t, ts.URL, olgaSession, start))
			} else {
				supers = append(supers, dialAs(t, ts.URL, superSession, start))
			}
		}
		waitFor(t, "the sockets to join", func() bool { return hub.Len() == sockets })
		cs.reset()

		shop, help := fx.conv("shop"), fx.conv("help")
		if _, _, err := fx.st.AddNote(ctx, fx.admin.ID, shop.ClientID, "перезвонить"); err != nil { // client.updated
			t.Fatal(err)
		}
		marker := fx.conv("site")
		hub.Publish(ctx, nil) // one commit's hint, as the worker sends

		isMarker := func(ev inbox.Event) bool {
			id, _ := about(t, fx, ev)
			return ev.Type == inbox.EventMessageCreated && id == marker.ID
		}
		var (
			mu       sync.Mutex
			olgaSeqs [][]int64
			wg       sync.WaitGroup
		)
		check := func(conn *websocket.Conn, restricted bool) {
			defer wg.Done()
			var ids []int64
			sawShop, sawHelp, sawCard := false, false, false
			for _, ev := range eventsUntil(t, conn, isMarker) {
				ids = append(ids, ev.ID)
				conv, client := about(t, fx, ev)
				sawShop = sawShop || conv == shop.ID
				sawHelp = sawHelp || conv == help.ID
				sawCard = sawCard || (ev.Type == inbox.EventClientUpdated && client == shop.ClientID)
			}
			if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
				t.Errorf("event ids out of order or doubled: %v", ids)
			}
			if !sawShop || !sawCard || sawHelp == restricted {
				t.Errorf("restricted=%v: saw shop %v, its card %v, help %v", restricted, sawShop, sawCard, sawHelp)
			}
			if restricted {
				mu.Lock()
				olgaSeqs = append(olgaSeqs, ids)
				mu.Unlock()
			}
		}
		for _, c := range olgas {
			wg.Add(1)
			go check(c, true)
		}
		for _, c := range supers {
			wg.Add(1)
			go check(c, false)
		}
		wg.Wait()
		for _, seq := range olgaSeqs[1:] {
			if !slices.Equal(seq, olgaSeqs[0]) {
				t.Errorf("two sockets of one viewer got %v and %v", olgaSeqs[0], seq)
			}
		}
		if n := cs.eventsFor.Load(); n != 0 {
			t.Errorf("%d sockets replayed from the database %d times; they joined live", sockets, n)
		}
		reads := cs.reads()
		if n := testutil.ToFloat64(hub.metrics.wsReads.WithLabelValues("replay")); n != 0 {
			t.Errorf("leadhub_ws_db_reads_total{kind=replay} = %v; the sockets joined live", n)
		}
		for _, c := range append(olgas, supers...) {
			c.Close()
		}
		waitFor(t, "the sockets to leave", func() bool { return hub.Len() == 0 })
		return reads
	}

	one := round(1)
	twenty := round(20)
	if one == 0 || twenty != one {
		t.Errorf("database reads for the same events: %d with 1 socket, %d with 20; want equal", one, twenty)
	}
}

// TestWSGarbageCloses: the socket carries events one way; a client that
// sends data is closed, and the others go on.
func TestWSGarbageCloses(t *testing.T) {
	store := newFakeStore()
	s := newTestServer(t, Options{Store: store})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	bad, good := mustDialWS(t, srv.URL, ""), mustDialWS(t, srv.URL, "")
	waitFor(t, "both sockets", func() bool { return s.Hub().Len() == 2 })
	if err := bad.WriteMessage(websocket.TextMessage, []byte("\x00garbage{")); err != nil {
		t.Fatal(err)
	}
	_ = bad.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := bad.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseUnsupportedData) {
		t.Fatalf("after garbage: %v, want close %d", err, websocket.CloseUnsupportedData)
	}
	ev := store.addEvent(inbox.EventMessageCreated, nil)
	s.Hub().Publish(context.Background(), nil)
	wantEvents(t, good, ev.ID)
}
