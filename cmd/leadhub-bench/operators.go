package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// operator is one operator's websocket. Its reader records every frame's
// event id in order, and when the message.created frame of each bench
// request arrived. Everything but seen belongs to the reader goroutine
// until it has ended.
type operator struct {
	url    string // /api/v1/ws without ?after=
	header http.Header
	group  int    // sockets of one token form a group: they must see the same events
	prefix []byte // "<run>-": how the bench's messages are recognised

	ids         []int64 // every event id, in the order received
	got         []int64 // per request: unix ns of its first message.created frame, 0 if none
	dupMessages int     // message.created frames for a request already seen
	disconnects int     // the hub closed the socket and it reconnected
	err         error   // why the reader gave up, if it did

	seen atomic.Int64 // requests seen, read while the run waits for them

	stopOnce sync.Once
	stop     chan struct{}
	mu       sync.Mutex
	conn     *websocket.Conn
	done     chan struct{}
}

func newOperator(base, token string, group int, prefix string, requests int) *operator {
	ws := strings.Replace(strings.Replace(base, "https://", "wss://", 1), "http://", "ws://", 1) + "/api/v1/ws"
	return &operator{
		url:    ws,
		header: http.Header{"Authorization": {"Bearer " + token}},
		group:  group,
		prefix: []byte(prefix),
		got:    make([]int64, requests),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
}

func dialWS(ctx context.Context, url string, header http.Header, after int64) (*websocket.Conn, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 64 << 10}
	conn, resp, err := d.DialContext(ctx, fmt.Sprintf("%s?after=%d", url, after), header)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("websocket: %w (HTTP %d)", err, resp.StatusCode)
		}
		return nil, fmt.Errorf("websocket: %w", err)
	}
	return conn, nil
}

// connect dials the socket, replaying nothing before after. Done before the
// load starts, so that a refused token stops the run at once.
func (o *operator) connect(ctx context.Context, after int64) error {
	conn, err := dialWS(ctx, o.url, o.header, after)
	if err != nil {
		return err
	}
	o.conn = conn
	return nil
}

// read runs until close. When the hub closes the socket (a slow reader
// is cut off), it reconnects after the last id it received, as the
// operators' page does, and counts the disconnect.
func (o *operator) read(after int64) {
	defer close(o.done)
	last := after
	for {
		o.mu.Lock()
		conn := o.conn
		o.mu.Unlock()
		if conn == nil {
			return // stopped
		}
		for {
			_, data, err := conn.ReadMessage()
			now := time.Now().UnixNano()
			if err != nil {
				break
			}
			id, typ, err := frameHead(data)
			if err != nil {
				o.err = fmt.Errorf("undecodable frame %.100q: %w", data, err)
				continue
			}
			o.ids = append(o.ids, id)
			last = id
			if typ != "message.created" {
				continue
			}
			i, ok := findMarker(data, o.prefix)
			if !ok || i >= len(o.got) {
				continue
			}
			if o.got[i] != 0 {
				o.dupMessages++
				continue
			}
			o.got[i] = now
			o.seen.Add(1)
		}
		if o.stopped() {
			return
		}
		o.disconnects++
		if !o.reconnect(last) {
			return
		}
	}
}

// reconnect dials again until it succeeds or the run stops.
func (o *operator) reconnect(after int64) bool {
	for {
		select {
		case <-o.stop:
			return false
		case <-time.After(200 * time.Millisecond):
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		conn, err := dialWS(ctx, o.url, o.header, after)
		cancel()
		if err != nil {
			o.err = err
			continue
		}
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.stopped() {
			conn.Close()
			return false
		}
		o.conn = conn
		return true
	}
}

func (o *operator) stopped() bool {
	select {
	case <-o.stop:
		return true
	default:
		return false
	}
}

// close ends the reader and waits for it.
func (o *operator) close() {
	o.stopOnce.Do(func() {
		close(o.stop)
		o.mu.Lock()
		if o.conn != nil {
			o.conn.Close()
			o.conn = nil
		}
		o.mu.Unlock()
	})
	<-o.done
}

// drainHead finds where the history ends when nothing better says so: it
// replays every event from 0 on one socket until the hub has been quiet for
// quiet, and returns the last id. Slow on a hub with a long history; --after
// or --pg-url avoid it.
func drainHead(ctx context.Context, base, token string, quiet time.Duration) (int64, int, error) {
	o := newOperator(base, token, 0, "", 0)
	conn, err := dialWS(ctx, o.url, o.header, 0)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close()
	var last int64
	n := 0
	for {
		_ = conn.SetReadDeadline(time.Now().Add(quiet))
		_, data, err := conn.ReadMessage()
		if err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				return last, n, nil
			}
			return 0, n, fmt.Errorf("websocket: %w", err)
		}
		id, _, err := frameHead(data)
		if err != nil {
			return 0, n, err
		}
		last = max(last, id)
		n++
	}
}
