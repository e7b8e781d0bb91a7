package web

import (
	"context"
	"encoding/json"
	"log/slog"
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

func newWSHandler(store Store, hub *Hub, public *url.URL, acc *access, auth *authHandler) *wsHandler {
	h := &wsHandler{
		store:      store,
		hub:        hub,
		access:     acc,
		auth:       auth,
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
	// Whose connection it is, so that ending a session, a token or an
	// operator closes it.
	operatorID int64
	sessionID  int64
	tokenID    int64
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
		wake:       make(chan struct{}, 1),
		done:       make(chan struct{}),
		cancel:     cancel,
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
	code := h.writePump(ctx, c, after, v)
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
// new, each only if the operator may see it. It returns the close code to
// end the connection with.
func (h *wsHandler) writePump(ctx context.Context, c *wsClient, after int64, v viewer) int {
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
		refs, err := h.lookups(ctx, v, evs)
		if err != nil {
			if ctx.Err() != nil {
				return websocket.CloseGoingAway
			}
			log.Error("websocket: check events", "after", last, "err", err)
			return websocket.CloseInternalServerErr
		}
		changed := false
		for i, ev := range evs {
			if v.shows(ev, refs[i]) {
				_ = c.conn.SetWriteDeadline(time.Now().Add(h.writeWait))
				if err := c.conn.WriteJSON(ev); err != nil {
					return websocket.CloseGoingAway
				}
			}
			last = ev.ID
			if v.affectedBy(ev, refs[i]) {
				// Who the operator is or what they see has changed:
				// check the credential again, and read what follows
				// with the new scope.
				if v, err = h.refresh(ctx, v); err != nil {
					return closeCode(ctx, log, err)
				}
				changed = true
				break
			}
		}
		if changed || len(evs) == h.batch {
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
			// operator learns of an event whose hint was lost, and checks
			// that the session or token still holds (it may have expired).
			if v, err = h.refresh(ctx, v); err != nil {
				return closeCode(ctx, log, err)
			}
			_ = c.conn.SetWriteDeadline(time.Now().Add(h.writeWait))
			if err := c.conn.WriteMessage(websocket.PingMessage, nil); err != nil {
				return websocket.CloseGoingAway
			}
		}
	}
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

// viewer is who a websocket writes to and what they may see.
type viewer struct {
	p     principal
	scope inbox.Scope
}

func (h *wsHandler) viewer(ctx context.Context, p principal) (viewer, error) {
	sc, err := h.access.scope(ctx, p.op)
	if err != nil {
		return viewer{}, err
	}
	return viewer{p: p, scope: sc}, nil
}

// refresh checks the viewer's credential again and recomputes their scope.
func (h *wsHandler) refresh(ctx context.Context, v viewer) (viewer, error) {
	p, err := h.auth.recheck(ctx, v.p)
	if err != nil {
		return viewer{}, err
	}
	return h.viewer(ctx, p)
}

// eventRefs is what an event is about, read from its payload: every event
// names its conversation, message, client card, suggestion, operator or
// team (see store/events.go and the card events).
type eventRefs struct {
	Conversation *inbox.Conversation `json:"conversation"`
	Message      *struct {
		ConversationID int64 `json:"conversation_id"`
	} `json:"message"`
	Client *struct {
		ID int64 `json:"id"`
	} `json:"client"`
	Suggestion *struct {
		ClientID int64 `json:"client_id"`
	} `json:"suggestion"`
	Operator *struct {
		ID int64 `json:"id"`
	} `json:"operator"`
	OperatorID int64 `json:"operator_id"`

	// Filled by lookups for restricted viewers: whether the message's
	// conversation, or the client card, is visible now.
	visible bool
}

// adminEvent reports events about operators and teams, which only admins
// see.
func adminEvent(typ string) bool {
	return strings.HasPrefix(typ, "operator.") || strings.HasPrefix(typ, "team.")
}

// lookups reads what each event is about and, for a restricted viewer,
// asks the database in one query per kind whether they see the
// conversations (of message events without one) and client cards the
// events name.
func (h *wsHandler) lookups(ctx context.Context, v viewer, evs []inbox.Event) ([]eventRefs, error) {
	refs := make([]eventRefs, len(evs))
	var convIDs, clientIDs []int64
	for i, ev := range evs {
		if v.scope.All && !adminEvent(ev.Type) {
			continue // nothing to decide, nothing to read
		}
		if err := json.Unmarshal(ev.Data, &refs[i]); err != nil {
			refs[i] = eventRefs{} // shown to nobody restricted
			continue
		}
		r := &refs[i]
		switch {
		case v.scope.All || r.Conversation != nil:
		case r.Message != nil:
			convIDs = append(convIDs, r.Message.ConversationID)
		case r.Client != nil:
			clientIDs = append(clientIDs, r.Client.ID)
		case r.Suggestion != nil:
			clientIDs = append(clientIDs, r.Suggestion.ClientID)
		}
	}
	if len(convIDs) == 0 && len(clientIDs) == 0 {
		return refs, nil
	}
	convs, err := h.store.VisibleConversations(ctx, v.scope, convIDs)
	if err != nil {
		return nil, err
	}
	clients, err := h.store.VisibleClients(ctx, v.scope, clientIDs)
	if err != nil {
		return nil, err
	}
	for i := range refs {
		r := &refs[i]
		switch {
		case r.Conversation != nil:
		case r.Message != nil:
			r.visible = convs[r.Message.ConversationID]
		case r.Client != nil:
			r.visible = clients[r.Client.ID]
		case r.Suggestion != nil:
			r.visible = clients[r.Suggestion.ClientID]
		}
	}
	return refs, nil
}

// shows decides whether the viewer gets an event. Admins and supervisors
// get every event about the inbox; an operator only those about what they
// see (an event that names nothing they see, or that cannot be read, is
// not sent). Events about operators and teams go to admins only.
func (v viewer) shows(ev inbox.Event, r eventRefs) bool {
	switch {
	case ev.Type == inbox.EventCredentialsRevoked:
		return false
	case adminEvent(ev.Type):
		return v.p.admin()
	case v.scope.All:
		return true
	case r.Conversation != nil:
		return v.scope.Sees(*r.Conversation)
	}
	return r.visible
}

// affectedBy reports events that change the viewer's credential or what
// they see: their own operator record or credentials, or any team.
func (v viewer) affectedBy(ev inbox.Event, r eventRefs) bool {
	switch ev.Type {
	case inbox.EventCredentialsRevoked:
		return r.OperatorID == v.p.op.ID
	case inbox.EventOperatorUpdated:
		return r.Operator != nil && r.Operator.ID == v.p.op.ID
	case inbox.EventTeamUpdated:
		return !v.scope.All
	}
	return false
}
