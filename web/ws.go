package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/leadhub/leadhub/inbox"
)

// HubStore is what the hub reads: the events table, followed by one reader
// per instance, and where cards' conversations are, to decide card events
// for restricted operators.
type HubStore interface {
	EventsAfter(ctx context.Context, after int64, limit int) ([]inbox.Event, error)
	LastEventID(ctx context.Context) (int64, error)
	ConversationPlaces(ctx context.Context, clientIDs []int64) (map[int64][]inbox.ConversationPlace, error)
}

// Hub fans events out to the operator websockets of this instance. One
// reader (Run) follows the events table, woken by Publish (a local commit or
// the Redis hint) and by a short poll, and hands every batch to every
// connection; each connection decides from the event's audience and its
// viewer, held in memory, what to send. So the database work per event is
// the same with one operator online or two hundred, and a connection reads
// the database only to replay what it missed before it joined. The hub never
// waits on a connection: one whose queue is full is cut off, and it
// reconnects with ?after= and replays.
type Hub struct {
	store   HubStore
	metrics *Metrics
	log     *slog.Logger
	wake    chan struct{}
	// arrived wakes TrackPresence when a page connects.
	arrived chan struct{}
	// ready is closed once the reader knows where the events table ends.
	ready   chan struct{}
	running atomic.Bool

	// Fields for the tests, which shorten them.
	poll  time.Duration // re-read the table this often without a wake-up
	batch int           // events read at a time

	mu      sync.Mutex
	clients map[*wsClient]struct{}
	// pos is the id of the last event handed to the connections: a new
	// connection replays up to it from the database and takes the rest live.
	pos    int64
	closed bool
	// conns counts connections from add to remove, so Close can wait for
	// their goroutines to end.
	conns sync.WaitGroup
}

var _ inbox.Publisher = (*Hub)(nil)

// hubBatch is what the reader hands every connection: the events that
// follow the previous batch, and where the cards that card events are about
// have their conversations.
type hubBatch struct {
	events []inbox.Event
	// frames are the events as sent, encoded once for every socket.
	frames [][]byte
	places map[int64][]inbox.ConversationPlace
}

// sendQueue is how many batches a connection may fall behind before it is
// cut off.
const sendQueue = 64

// NewHub returns a hub that reads events from store and counts its
// connections in m (both required). Run must run for connections to get
// anything. Build it before the server when something else, such as the
// Redis fan-out, must be able to wake it.
func NewHub(store HubStore, m *Metrics, log *slog.Logger) *Hub {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Hub{
		store:   store,
		metrics: m,
		log:     log,
		wake:    make(chan struct{}, 1),
		arrived: make(chan struct{}, 1),
		ready:   make(chan struct{}),
		poll:    time.Second,
		batch:   1000,
		clients: make(map[*wsClient]struct{}),
	}
}

// Publish wakes the reader; it never blocks. The events themselves are read
// from the database, in id order, so evs only says that something happened:
// nil is a valid hint (the Redis fan-out sends no payload).
func (h *Hub) Publish(_ context.Context, _ []inbox.Event) {
	select {
	case h.wake <- struct{}{}:
	default: // already woken; one wake-up reads everything new
	}
}

// errHubRunning is Run's answer to a second reader of the same hub.
var errHubRunning = errors.New("web: the websocket hub is already running")

// Run is the instance's one event reader. It returns nil when ctx ends, or
// errHubRunning at once if the hub already has its reader.
func (h *Hub) Run(ctx context.Context) error {
	if !h.running.CompareAndSwap(false, true) {
		return errHubRunning
	}
	for attempt := 1; ; attempt++ {
		pos, err := h.store.LastEventID(ctx)
		if err == nil {
			h.mu.Lock()
			h.pos = pos
			h.mu.Unlock()
			close(h.ready)
			break
		}
		if attempt == 1 {
			h.log.Error("websocket hub: find the last event", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(inbox.Backoff(attempt, 100*time.Millisecond, 5*time.Second)):
		}
	}
	t := time.NewTicker(h.poll)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-h.wake:
		case <-t.C:
		}
		err := h.catchUp(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && !failing:
			// One line per outage, not one per poll.
			h.log.Error("websocket hub: read events", "err", err)
			failing = true
		case err == nil && failing:
			h.log.Info("websocket hub: reading events again")
			failing = false
		}
	}
}

// catchUp hands everything after pos to the connections, a batch at a time.
func (h *Hub) catchUp(ctx context.Context) error {
	for {
		h.mu.Lock()
		pos := h.pos
		h.mu.Unlock()
		h.metrics.wsReads.WithLabelValues("follow").Inc()
		evs, err := h.store.EventsAfter(ctx, pos, h.batch)
		if err != nil || len(evs) == 0 {
			return err
		}
		// With nobody connected there is nothing to prepare; decided
		// under the lock subscribe takes, so a socket joining now
		// replays these events from the database instead.
		h.mu.Lock()
		idle := len(h.clients) == 0
		if idle {
			h.pos = evs[len(evs)-1].ID
		}
		h.mu.Unlock()
		if !idle {
			b, err := h.prepare(ctx, evs)
			if err != nil {
				return err // pos unchanged: the same batch again next time
			}
			h.broadcast(b)
		}
		if len(evs) < h.batch {
			return nil
		}
	}
}

// prepare turns events into what every socket needs: each frame encoded
// once, and where the cards that card events name have their
// conversations, read once for all restricted operators.
func (h *Hub) prepare(ctx context.Context, evs []inbox.Event) (hubBatch, error) {
	asOfBatchEnd(evs)
	b := hubBatch{events: evs, frames: make([][]byte, len(evs))}
	var cards []int64
	for i, ev := range evs {
		var err error
		if b.frames[i], err = json.Marshal(ev); err != nil {
			// The store encoded the payload when it wrote it; a row that
			// no longer decodes is a bug, not a socket's problem.
			return hubBatch{}, fmt.Errorf("encode event %d: %w", ev.ID, err)
		}
		if ev.Audience.Kind == inbox.AudienceCard && ev.Audience.ClientID != 0 {
			cards = append(cards, ev.Audience.ClientID)
		}
	}
	if len(cards) > 0 {
		slices.Sort(cards)
		h.metrics.wsReads.WithLabelValues("places").Inc()
		var err error
		if b.places, err = h.store.ConversationPlaces(ctx, slices.Compact(cards)); err != nil {
			return hubBatch{}, err
		}
	}
	return b, nil
}

// asOfBatchEnd judges every event of a batch about a conversation by where
// that conversation is at the end of the batch: an operator who lost it in
// the same batch does not get its earlier events, which they could no
// longer open.
func asOfBatchEnd(evs []inbox.Event) {
	latest := make(map[int64]inbox.Audience)
	for _, ev := range evs {
		if ev.Audience.Kind == inbox.AudienceConversation {
			latest[ev.Audience.ConversationID] = ev.Audience
		}
	}
	for i := range evs {
		a := &evs[i].Audience
		if a.Kind == inbox.AudienceConversation {
			l := latest[a.ConversationID]
			a.ChannelID, a.AssigneeID = l.ChannelID, l.AssigneeID
		}
	}
}

// broadcast hands b to every connection and moves pos past it. A
// connection whose queue is full is cut off, never waited on.
func (h *Hub) broadcast(b hubBatch) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		select {
		case c.send <- b:
		default:
			if c.kick() {
				h.metrics.wsDropped.Inc()
			}
		}
	}
	h.pos = b.events[len(b.events)-1].ID
}

// subscribe registers c once the reader is ready and returns the id up to
// which c must replay from the database: every later event reaches c
// through its queue. It reports false once the hub is closed or ctx ends.
func (h *Hub) subscribe(ctx context.Context, c *wsClient) (int64, bool) {
	select {
	case <-h.ready:
	case <-ctx.Done():
		return 0, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return 0, false
	}
	h.clients[c] = struct{}{}
	h.conns.Add(1)
	h.metrics.wsConnections.Inc()
	h.joined()
	return h.pos, true
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

func (h *Hub) remove(c *wsClient) {
	h.mu.Lock()
	delete(h.clients, c)
	h.mu.Unlock()
	h.metrics.wsConnections.Dec()
	h.conns.Done()
}

// DisconnectOperator closes every websocket of this instance that an
// operator opened (their sessions were ended or they were disabled).
// Other instances close theirs when they read the event that says so.
func (h *Hub) DisconnectOperator(id int64) {
	h.disconnect(func(c *wsClient) bool { return c.operatorID == id })
}

// disconnect closes the connections match selects, with "policy
// violation": the page then checks its session and shows the login form.
func (h *Hub) disconnect(match func(c *wsClient) bool) {
	h.mu.Lock()
	var cs []*wsClient
	for c := range h.clients {
		if match(c) {
			cs = append(cs, c)
		}
	}
	h.mu.Unlock()
	// In parallel, as in Close: each may wait up to closeWait.
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Go(func() { c.close(websocket.ClosePolicyViolation) })
	}
	wg.Wait()
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
	access   *access
	auth     *authHandler
	upgrader websocket.Upgrader

	// The gorilla chat timings; fields so that tests can shorten them.
	pongWait   time.Duration // the peer must answer a ping within this
	pingPeriod time.Duration // must be less than pongWait
	writeWait  time.Duration // one write, or the client is too slow
	batch      int           // events read from the database at a time
}

// WSPingPeriod is how often the hub pings an idle websocket. A proxy in
// front must keep an idle connection longer than this (nginx's
// proxy_read_timeout; see config/deploy/nginx.conf).
const WSPingPeriod = 54 * time.Second

func newWSHandler(store Store, hub *Hub, public *url.URL, acc *access, auth *authHandler) *wsHandler {
	h := &wsHandler{
		store:      store,
		hub:        hub,
		access:     acc,
		auth:       auth,
		pongWait:   WSPingPeriod + 6*time.Second,
		pingPeriod: WSPingPeriod,
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
	// Whose connection it is, so that ending a session, a token or an
	// operator closes it.
	operatorID int64
	sessionID  int64
	tokenID    int64
	// send is the connection's queue of batches from the hub's reader.
	send chan hubBatch
	// slow is closed when the hub found send full: the writer then ends
	// the connection, and the page reconnects and replays.
	slow     chan struct{}
	slowOnce sync.Once
	done     chan struct{}
	cancel   context.CancelFunc
	once     sync.Once
}

// kick marks c as too slow and reports whether it was the first time; the
// hub calls it with its lock held, so it must not block.
func (c *wsClient) kick() (first bool) {
	c.slowOnce.Do(func() {
		close(c.slow)
		first = true
	})
	return first
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
	p, ok := principalFrom(r.Context())
	if !ok {
		writeError(w, r, inbox.Errorf(inbox.EUNAUTHORIZED, "unauthorized"))
		return
	}
	v, err := h.viewer(r.Context(), p)
	if err != nil {
		writeError(w, r, err)
		return
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
		conn:       conn,
		operatorID: p.op.ID,
		sessionID:  p.session.ID,
		tokenID:    p.token.ID,
		send:       make(chan hubBatch, sendQueue),
		slow:       make(chan struct{}),
		done:       make(chan struct{}),
		cancel:     cancel,
	}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		h.readPump(c)
	}()
	upTo, ok := h.hub.subscribe(ctx, c)
	if !ok {
		c.close(websocket.CloseGoingAway)
		<-readDone
		return
	}
	defer h.hub.remove(c)
	// The reader may not have reached the newest events yet: replay those
	// too, judged as of now, and skip them when they come live.
	if last, err := h.store.LastEventID(ctx); err != nil {
		loggerFrom(ctx).Warn("websocket: find the last event; replaying up to the hub's", "err", err)
	} else {
		upTo = max(upTo, last)
	}
	code := h.writePump(ctx, c, after, upTo, v)
	c.close(code)
	<-readDone
}

// readPump is the connection's only reader. The socket carries events one
// way: reading is what processes pongs and notices a closed connection, and
// a client that sends data instead is closed rather than read forever.
func (h *wsHandler) readPump(c *wsClient) {
	c.conn.SetReadLimit(wsReadLimit)
	_ = c.conn.SetReadDeadline(time.Now().Add(h.pongWait))
	c.conn.SetPongHandler(func(string) error {
		return c.conn.SetReadDeadline(time.Now().Add(h.pongWait))
	})
	if _, _, err := c.conn.ReadMessage(); err != nil {
		c.close(websocket.CloseNormalClosure)
		return
	}
	c.close(websocket.CloseUnsupportedData)
}

// writePump is the connection's only writer: first the events after
// `after` up to upTo that the operator may see now, from the database, then
// the hub's batches, each event only if its audience includes the viewer.
// It returns the close code to end the connection with.
func (h *wsHandler) writePump(ctx context.Context, c *wsClient, after, upTo int64, v viewer) int {
	log := loggerFrom(ctx)
	ticker := time.NewTicker(h.pingPeriod)
	defer ticker.Stop()
	// The credential was checked before the socket joined the hub; a
	// revocation committed in between came as no live event, and the
	// replay does not carry revocations: check it once more now that every
	// later change reaches this socket.
	p, err := h.auth.recheck(ctx, v.p)
	if err != nil {
		return closeCode(ctx, log, err)
	}
	v.p = p
	last, err := h.replay(ctx, c, v, after, upTo)
	if err != nil {
		return replayCode(ctx, log, err)
	}
	for {
		select {
		case <-c.done:
			return websocket.CloseGoingAway
		case <-c.slow:
			return websocket.CloseTryAgainLater
		case b := <-c.send:
			select {
			case <-c.slow:
				// The hub dropped a batch before this one: never write
				// past the gap. The page reconnects and replays.
				return websocket.CloseTryAgainLater
			default:
			}
			// Batches follow one another from where subscribe placed the
			// socket; only the events it replayed already are skipped.
			for i, ev := range b.events {
				if ev.ID <= last {
					continue
				}
				if v.Sees(ev.Audience, b.places[ev.Audience.ClientID]) {
					if err := h.send(c, websocket.TextMessage, b.frames[i]); err != nil {
						return websocket.CloseGoingAway
					}
				}
				last = ev.ID
				if v.affectedBy(ev) {
					// Who the operator is or what they see has changed:
					// check the credential again and judge what follows
					// with the new scope.
					if v, err = h.refresh(ctx, v); err != nil {
						return closeCode(ctx, log, err)
					}
				}
			}
		case <-ticker.C:
			// The tick checks that the session or token still holds (it
			// may have expired) and keeps the connection alive.
			if v, err = h.refresh(ctx, v); err != nil {
				return closeCode(ctx, log, err)
			}
			if err := h.send(c, websocket.PingMessage, nil); err != nil {
				return websocket.CloseGoingAway
			}
		}
	}
}

// errWrite is a failed write to the connection during a replay.
var errWrite = errors.New("websocket: write")

// replay writes the events in (after, upTo] that v may see now, a page at a
// time, and returns the position reached: upTo, or after if it was ahead.
func (h *wsHandler) replay(ctx context.Context, c *wsClient, v viewer, after, upTo int64) (int64, error) {
	for after < upTo {
		h.hub.metrics.wsReads.WithLabelValues("replay").Inc()
		evs, err := h.store.EventsFor(ctx, v.Viewer, after, upTo, h.batch)
		if err != nil {
			return after, err
		}
		for _, ev := range evs {
			frame, err := json.Marshal(ev)
			if err != nil {
				return after, fmt.Errorf("encode event %d: %w", ev.ID, err)
			}
			if err := h.send(c, websocket.TextMessage, frame); err != nil {
				return after, errWrite
			}
			after = ev.ID
		}
		if len(evs) < h.batch {
			return upTo, nil
		}
		// Closing the connection cancels ctx: stop between pages.
		if err := ctx.Err(); err != nil {
			return after, err
		}
	}
	return after, nil
}

// send is the connection's one way to write: every write has a deadline,
// so a peer that stops reading ends the connection instead of the writer.
func (h *wsHandler) send(c *wsClient, typ int, data []byte) error {
	_ = c.conn.SetWriteDeadline(time.Now().Add(h.writeWait))
	return c.conn.WriteMessage(typ, data)
}

// replayCode is how a connection ends when its replay failed.
func replayCode(ctx context.Context, log *slog.Logger, err error) int {
	if ctx.Err() != nil || errors.Is(err, errWrite) {
		return websocket.CloseGoingAway
	}
	log.Error("websocket: replay events", "err", err)
	return websocket.CloseInternalServerErr
}

// closeCode is how a connection ends when its credential could not be
// checked: policy violation when it no longer holds (the page then asks for
// its session and shows the login form), going away otherwise.
func closeCode(ctx context.Context, log *slog.Logger, err error) int {
	switch {
	case ctx.Err() != nil:
		return websocket.CloseGoingAway
	case inbox.ErrorCode(err) == inbox.EUNAUTHORIZED:
		return websocket.ClosePolicyViolation
	}
	log.Error("websocket: check credential", "err", err)
	return websocket.CloseInternalServerErr
}

// viewer is who a websocket writes to, what they may see, and the
// credential that lets them.
type viewer struct {
	inbox.Viewer
	p principal
}

func (h *wsHandler) viewer(ctx context.Context, p principal) (viewer, error) {
	sc, err := h.access.scope(ctx, p.op)
	if err != nil {
		return viewer{}, err
	}
	role := p.op.Role
	if role == inbox.RoleAdmin && !p.admin() {
		// An admin's token without the admin scope sees what a
		// supervisor sees, as on the API.
		role = inbox.RoleSupervisor
	}
	return viewer{Viewer: inbox.Viewer{OperatorID: p.op.ID, Role: role, Scope: sc}, p: p}, nil
}

// refresh checks the viewer's credential again and recomputes their scope.
func (h *wsHandler) refresh(ctx context.Context, v viewer) (viewer, error) {
	p, err := h.auth.recheck(ctx, v.p)
	if err != nil {
		return viewer{}, err
	}
	return h.viewer(ctx, p)
}

// affectedBy reports events that change the viewer's credential or what
// they see: their own operator record or credentials, or any team when
// their scope depends on teams.
func (v viewer) affectedBy(ev inbox.Event) bool {
	switch ev.Type {
	case inbox.EventCredentialsRevoked, inbox.EventOperatorUpdated:
		return ev.Audience.OperatorID == v.p.op.ID
	case inbox.EventTeamUpdated:
		return !v.Scope.All
	}
	return false
}
