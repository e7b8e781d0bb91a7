package web

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/leadhub/leadhub/inbox"
)

// benchEvent is a client's new message as the store hands it to the hub:
// a Telegram photo with a caption in a conversation an operator holds, its
// data encoded as the store wrote it.
func benchEvent(b *testing.B, id int64) inbox.Event {
	at := time.Date(2026, 11, 22, 10, 1, 2, 345678000, time.UTC)
	assignee := int64(12)
	due := at.Add(15 * time.Minute)
	m := inbox.Message{ID: 184467, ConversationID: 9031, Direction: inbox.DirectionIn, Kind: inbox.KindText,
		Text:        "Здравствуйте! Сколько стоит доставка дивана в Казань? Вот фото того, что хочу.",
		Attachments: []inbox.Attachment{{URL: "/files/3f0c8e1a9b7d4c2e/photo.jpg", Name: "photo.jpg", MIME: "image/jpeg", Size: 184321}},
		Meta:        map[string]string{"telegram_username": "ivan_petrov", "reply_to": "555644284:1203"},
		ExternalID:  "555644284:1204", CreatedAt: at}
	c := inbox.Conversation{ID: 9031, ClientID: 5512, ClientName: "Иван Петров", ChannelID: "tg",
		ChannelType: inbox.ChannelTelegram, Status: inbox.StatusOpen, AssigneeID: &assignee, Unread: 3,
		LastMessageAt: at, CreatedAt: at.Add(-48 * time.Hour), WaitingSince: &at, SLADueAt: &due, SLAKind: inbox.SLANext}
	p := inbox.MessageCreated(m, c)
	data, err := p.Encode()
	if err != nil {
		b.Fatal(err)
	}
	return inbox.Event{ID: id, Type: p.Type, Data: data, CreatedAt: at, Audience: p.Audience}
}

// BenchmarkEventFrame is the hub's encoding of one event into the frame
// every socket is sent (Hub.prepare, done once per event whatever the
// number of sockets). The event's data was encoded by the store; that is
// inbox's BenchmarkEncodeEvent.
//
//	go test -run '^$' -bench EventFrame ./web/
func BenchmarkEventFrame(b *testing.B) {
	h := NewHub(newFakeStore(), NewMetrics(nil), nil)
	evs := []inbox.Event{benchEvent(b, 41)}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		batch, err := h.prepare(ctx, evs)
		if err != nil || len(batch.frames) != 1 || !bytes.HasPrefix(batch.frames[0], []byte(`{"id":41,"type":"message.created","data":{"message":`)) {
			b.Fatal(err)
		}
	}
}

// BenchmarkFanout measures one committed event reaching N operator
// websockets through the real path: the worker's hint (Publish) wakes the
// hub's one reader, which reads the event, encodes its frame once and hands
// it to every connection's queue; each connection's writer decides from its
// viewer that the operator sees it and writes it to a real websocket over
// loopback, where a client reads it. One op is one event read by all N
// clients, so ns/op is the time for one event to reach every socket, and
// frames/s is the sockets written per second. The clients run in this
// process, so their reading shares the CPU and counts in the allocations.
//
// The store is the package's in-memory fake (its reader's look-up is a
// slice), and the sockets are an admin's, who sees every event: what is
// measured is the hub and the sockets, not the database or access rules.
//
//	go test -run '^$' -bench Fanout ./web/
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{1, 20, 200, 1000} {
		b.Run(fmt.Sprintf("sockets=%d", n), func(b *testing.B) { benchFanout(b, n) })
	}
}

func benchFanout(b *testing.B, sockets int) {
	st := newFakeStore()
	// Ids are 1, 2, ... in slice order: read by position, as an index
	// would, instead of the fake's scan of the whole history, which would
	// make later iterations slower than earlier ones.
	st.EventsAfterFn = func(_ context.Context, after int64, limit int) ([]inbox.Event, error) {
		st.mu.Lock()
		defer st.mu.Unlock()
		evs := st.events[min(int(after), len(st.events)):]
		return slices.Clone(evs[:min(limit, len(evs))]), nil
	}
	srv := newTestServer(b, Options{Store: st})
	hub := srv.Hub()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	var (
		remaining atomic.Int64             // frames of the current event not read yet
		arrived   = make(chan struct{}, 1) // the last of them was read
		failed    = make(chan error, sockets)
	)
	conns := make([]*websocket.Conn, 0, sockets)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range sockets {
		conn, _, err := dialWS(ts.URL, "", nil)
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, conn)
		go readFrames(conn, &remaining, arrived, failed)
	}
	waitFor(b, "every socket to join", func() bool { return hub.Len() == sockets })

	ev := benchEvent(b, 0)
	ctx := context.Background()
	timeout := time.NewTimer(time.Hour)
	defer timeout.Stop()
	b.ReportAllocs()
	for b.Loop() {
		remaining.Store(int64(sockets))
		st.mu.Lock()
		ev.ID = int64(len(st.events) + 1)
		st.events = append(st.events, ev)
		st.mu.Unlock()
		hub.Publish(ctx, nil) // the hint a worker sends after its commit
		timeout.Reset(10 * time.Second)
		select {
		case <-arrived:
		case err := <-failed:
			b.Fatal(err)
		case <-timeout.C:
			b.Fatalf("event %d: %d of %d sockets still waiting after 10 s", ev.ID, remaining.Load(), sockets)
		}
	}
	b.ReportMetric(float64(b.N*sockets)/b.Elapsed().Seconds(), "frames/s")
	// The next size starts on a quiet hub: the server's side of every
	// socket has ended.
	for _, c := range conns {
		c.Close()
	}
	waitFor(b, "every socket to leave", func() bool { return hub.Len() == 0 })
}

// readFrames reads conn's frames, each of which must be the next event id
// (a gap or a double fails the benchmark), and signals arrived when it read
// the last frame the current event owed.
func readFrames(conn *websocket.Conn, remaining *atomic.Int64, arrived chan<- struct{}, failed chan<- error) {
	var (
		buf  bytes.Buffer
		want []byte
		next int64 = 1
	)
	for {
		_, r, err := conn.NextReader()
		if err != nil {
			// The benchmark closing the socket ends this reader too; an
			// error during it fails it, and nobody waits for it after.
			select {
			case failed <- err:
			default:
			}
			return
		}
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			select {
			case failed <- err:
			default:
			}
			return
		}
		want = strconv.AppendInt(append(want[:0], `{"id":`...), next, 10)
		if !bytes.HasPrefix(buf.Bytes(), append(want, ',')) {
			select {
			case failed <- fmt.Errorf("want event %d, got %.60s", next, buf.Bytes()):
			default:
			}
			return
		}
		next++
		if remaining.Add(-1) == 0 {
			arrived <- struct{}{}
		}
	}
}
