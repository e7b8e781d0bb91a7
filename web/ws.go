package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/leadhub/leadhub/inbox"
)

// Hub knows the connected operator websockets. Publish does not carry
// payloads: it only wakes each connection, which then reads the new events
// from the database itself. So the hub never waits on anyone, a connection
// never misses or repeats an event, and a slow client only slows itself
// until its write deadline disconnects it (it reconnects with ?after= and
// replays).
type Hub struct {
	metrics *Metrics

	mu      sync.Mutex
	clients map[*wsClient]struct{}
	closed  bool
	// conns counts connections from add to remove, so Close can wait for
	// their goroutines to end.
	conns sync.WaitGroup
}

var _ inbox.Publisher = (*Hub)(nil)

// NewHub returns a hub that counts its connections in m (required).
// Build it before the server when something else, such as the Redis fan-out,
// must be able to wake it.
func NewHub(m *Metrics) *Hub {
	return &Hub{metrics: m, clients: make(map[*wsClient]struct{})}
}

// Publish wakes every connection; it never blocks. The events themselves are
// read from the database, so evs only says that something happened: nil is
// a valid hint (the Redis fan-out sends no payload).
func (h *Hub) Publish(_ context.Context, _ []inbox.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		select {
		case c.wake <- struct{}{}:
		default: // already woken; one wake-up reads everything new
		}
	}
}

// Close disconnects every websocket, refuses new ones and waits until the
// connections' goroutines have ended. Hijacked connections are invisible to
// http.Server.Shutdown, so this is how they end.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	cs := make([]*wsClient, 0, len(h.clients))
	for c := range h.clients {
		cs = append(cs, c)
	}
	h.mu.Unlock()

	// In parallel: each close may wait up to closeWait for a stuck writer.
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Go(func() { c.close(websocket.CloseGoingAway) })
	}
	wg.Wait()
	h.conns.Wait()
}

// add registers c; it reports false once the hub is closed.
func (h *Hub) add(c *wsClient) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.clients[c] = struct{}{}
	h.conns.Add(1)
	h.metrics.wsConnections.Inc()
	return true
}

func (h *Hub) remove(c *wsClient) {
	h.mu.Lock()
	delete(h.clients, c)
	h.mu.Unlock()
	h.metrics.wsConnections.Dec()
	h.conns.Done()
}

// Len returns how many websockets are connected.
func (h *Hub) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

const (
	wsReadLimit = 4 << 10
	// closeWait bounds the close frame sent when a connection ends.
	closeWait = time.Second
)

// wsHandler serves GET /api/v1/ws.
type wsHandler struct {
	store    Store
	hub      *Hub
	upgrader websocket.Upgrader

	// The gorilla chat timings; fields so that tests can shorten them.
	pongWait   time.Duration // the peer must answer a ping within this
	pingPeriod time.Duration // must be less than pongWait
	writeWait  time.Duration // one write, or the client is too slow
	batch      int           // events read from the database at a time
}

func newWSHandler(store Store, hub *Hub, public *url.URL) *wsHandler {
	h := &wsHandler{
		store:      store,
		hub:        hub,
		pongWait:   60 * time.Second,
		pingPeriod: 54 * time.Second,
		writeWait:  10 * time.Second,
		batch:      500,
	}
	h.upgrader = websocket.Upgrader{
		ReadBufferSize:  1024,
		WriteBufferSize: 4096,
		CheckOrigin:     func(r *http.Request) bool { return originAllowed(r, public) },
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			var err error
			switch status {
			case http.StatusForbidden:
				err = inbox.Errorf(inbox.EFORBIDDEN, "origin not allowed")
			case http.StatusBadRequest, http.StatusMethodNotAllowed:
				err = inbox.Errorf(inbox.EINVALID, "websocket handshake expected")
			default:
				err = reason
			}
			writeError(w, r, err)
		},
	}
	return h
}

// originAllowed admits requests without Origin (scripts, not browsers) and
// browsers on leadhub's own origin: the public URL when configured,
// otherwise the host the request was sent to. A socket that any page could
// open would let any site read an operator's inbox with their cookie.
func originAllowed(r *http.Request, public *url.URL) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if public != nil {
		return strings.EqualFold(u.Scheme, public.Scheme) &&
			strings.EqualFold(hostPort(u.Scheme, u.Host), hostPort(public.Scheme, public.Host))
	}
	// Behind a TLS-terminating proxy the scheme the browser used is
	// unknown here, so only the host is compared.
	return strings.EqualFold(hostPort(u.Scheme, u.Host), hostPort(u.Scheme, r.Host))
}

// hostPort drops the scheme's default port, which browsers leave out of
// Origin but a configured URL may spell out.
func hostPort(scheme, host string) string {
	switch {
	case strings.EqualFold(scheme, "https"):
		return strings.TrimSuffix(host, ":443")
	case strings.EqualFold(scheme, "http"):
		return strings.TrimSuffix(host, ":80")
	}
	return host
}

// wsClient is one connection: exactly one reader and one writer goroutine.
type wsClient struct {
	conn *websocket.Conn
	// wake has room for one: a pending wake-up covers any number of
	// publishes, since the writer reads everything new from the database.
	wake   chan struct{}
	done   chan struct{}
	cancel context.CancelFunc
	once   sync.Once
}

// close ends the connection; any goroutine may call it, any number of times.
func (c *wsClient) close(code int) {
	c.once.Do(func() {
		c.cancel()
		close(c.done)
		// WriteControl may run beside the writer; if the writer is stuck
		// on a slow peer, the deadline bounds the wait.
		_ = c.conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(code, ""), time.Now().Add(closeWait))
		_ = c.conn.Close()
	})
}

func (h *wsHandler) serve(w http.ResponseWriter, r *http.Request) {
	var after int64
	if s := r.URL.Query().Get("after"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			writeError(w, r, inbox.Errorf(inbox.EINVALID, "after must be an event id"))
			return
		}
		after = n
	}
	conn, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered already
	}
	// The http.Server's read and write timeouts stay on a hijacked
	// connection; the pumps set their own deadlines instead.
	_ = conn.NetConn().SetDeadline(time.Time{})

	// The request's values (its logger) but not its lifetime: the
	// connection ends when the client does.
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	c := &wsClient{
		conn:   conn,
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
		cancel: cancel,
	}
	if !h.hub.add(c) {
		c.close(websocket.CloseGoingAway)
		return
	}
	defer h.hub.remove(c)

	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		h.readPump(c)
	}()
	code := h.writePump(ctx, c, after)
	c.close(code)
	<-readDone
}

// readPump is the connection's only reader. Operators send nothing we use;
// reading is what processes pongs and notices a closed connection.
func (h *wsHandler) readPump(c *wsClient) {
	defer c.close(websocket.CloseNormalClosure)
	c.conn.SetReadLimit(wsReadLimit)
	_ = c.conn.SetReadDeadline(time.Now().Add(h.pongWait))
	c.conn.SetPongHandler(func(string) error {
		return c.conn.SetReadDeadline(time.Now().Add(h.pongWait))
	})
	for {
		if _, _, err := c.conn.ReadMessage(); err != nil {
			return
		}
	}
}

// writePump is the connection's only writer: first every event after
// `after` from the database, then, on each wake-up or ping tick, whatever is
// new. It returns the close code to end the connection with.
func (h *wsHandler) writePump(ctx context.Context, c *wsClient, after int64) int {
	log := loggerFrom(ctx)
	ticker := time.NewTicker(h.pingPeriod)
	defer ticker.Stop()
	last := after
	for {
		evs, err := h.store.EventsAfter(ctx, last, h.batch)
		if err != nil {
			if ctx.Err() != nil {
				return websocket.CloseGoingAway
			}
			log.Error("websocket: read events", "after", last, "err", err)
			return websocket.CloseInternalServerErr
		}
		for _, ev := range evs {
			_ = c.conn.SetWriteDeadline(time.Now().Add(h.writeWait))
			if err := c.conn.WriteJSON(ev); err != nil {
				return websocket.CloseGoingAway
			}
			last = ev.ID
		}
		if len(evs) == h.batch {
			select {
			case <-c.done:
				return websocket.CloseGoingAway
			default:
				continue // more are waiting
			}
		}
		select {
		case <-c.done:
			return websocket.CloseGoingAway
		case <-c.wake:
		case <-ticker.C:
			// The tick also re-reads the database, which bounds how late an
			// operator learns of an event whose hint was lost.
			_ = c.conn.SetWriteDeadline(time.Now().Add(h.writeWait))
			if err := c.conn.WriteMessage(websocket.PingMessage, nil); err != nil {
				return websocket.CloseGoingAway
			}
		}
	}
}
