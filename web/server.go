// Package web is leadhub's HTTP edge: the one webhook handler every provider
// calls, the operator JSON API, the websocket hub that tells operators about
// new events, health checks and Prometheus metrics.
//
// It depends on inbox and its own technologies (net/http, gorilla/websocket,
// prometheus) only. What it needs from the database and the connectors is
// declared here as the small Store and Webhook interfaces.
package web

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/leadhub/leadhub/inbox"
	"github.com/prometheus/client_golang/prometheus"
)

// Store is what the API needs from the database.
type Store interface {
	// ListConversations returns a page of conversations and the cursor of
	// the next page ("" on the last one).
	ListConversations(ctx context.Context, f inbox.ConversationFilter) ([]inbox.Conversation, string, error)
	GetConversation(ctx context.Context, id int64) (inbox.Conversation, error)
	// Canned replies: those an operator may use, and changing them under
	// inbox.CanEditCanned's rules.
	// SearchMessages finds messages holding every word of the search.
	SearchMessages(ctx context.Context, f inbox.MessageSearch) ([]inbox.MessageHit, string, error)
	CannedReplies(ctx context.Context, operatorID int64) ([]inbox.CannedReply, error)
	// Background CSV imports: start one, run it (recording progress),
	// read its state and its rejected rows.
	StartImport(ctx context.Context, operatorID int64) (inbox.ImportJob, error)
	RunImport(ctx context.Context, id int64, r io.Reader, opts inbox.ImportOptions) ([]inbox.Event, error)
	ImportJob(ctx context.Context, id int64) (inbox.ImportJob, error)
	RejectedRows(ctx context.Context, id int64) (string, error)
	CreateCannedReply(ctx context.Context, operatorID int64, role inbox.Role, c inbox.CannedReply) (inbox.CannedReply, error)
	UpdateCannedReply(ctx context.Context, operatorID int64, role inbox.Role, id int64, p inbox.CannedPatch) (inbox.CannedReply, error)
	DeleteCannedReply(ctx context.Context, operatorID int64, role inbox.Role, id int64) error
	// CountConversations counts what is not closed by the inbox's tabs,
	// as scope (nil: everything) sees it; operatorID is who "mine" is.
	CountConversations(ctx context.Context, scope *inbox.Scope, operatorID int64, channel string) (inbox.ConversationCounts, error)
	// UnreadFor replaces each conversation's unread count with the
	// operator's own (what came after they last read it).
	UnreadFor(ctx context.Context, operatorID int64, convs []inbox.Conversation) error
	// MarkRead records that the operator read the conversation, or marks
	// it unread; it returns their unread count and the event it wrote.
	MarkRead(ctx context.Context, conversationID, operatorID int64, unread bool) (int, []inbox.Event, error)
	// UpdateConversation applies p and returns the updated conversation and
	// the events it wrote.
	UpdateConversation(ctx context.Context, id int64, p inbox.ConversationPatch) (inbox.Conversation, []inbox.Event, error)
	ListMessages(ctx context.Context, conversationID int64, cursor string, limit int) ([]inbox.Message, string, error)
	// SendReply stores an operator's reply with delivery=queued for the
	// outbound worker and returns it with the events it wrote. A client who
	// asked not to be contacted is ECONFLICT unless the request overrides
	// it (the override is audited).
	SendReply(ctx context.Context, r inbox.ReplyRequest) (inbox.Message, []inbox.Event, error)
	// ListVisibleClients lists the client cards the scope sees (all of
	// them for an All scope), found by q as the README's search says.
	ListVisibleClients(ctx context.Context, scope inbox.Scope, q, cursor string, limit int) ([]inbox.Client, string, error)
	GetClient(ctx context.Context, id int64) (inbox.ClientDetail, error)
	// VisibleConversations and VisibleClients return which of ids the
	// scope sees.
	VisibleConversations(ctx context.Context, scope inbox.Scope, ids []int64) (map[int64]bool, error)
	VisibleClients(ctx context.Context, scope inbox.Scope, ids []int64) (map[int64]bool, error)
	// FileVisible reports whether the scope sees a message that carries
	// the stored file.
	FileVisible(ctx context.Context, scope inbox.Scope, fileID string) (bool, error)

	// Client cards. Every change is made on behalf of an operator, whose
	// id goes into the audit log, and returns the events it wrote.
	UpdateClient(ctx context.Context, operatorID, id int64, p inbox.ClientPatch) (inbox.Client, []inbox.Event, error)
	// MergeClients merges card from into card into and returns the
	// survivor; merging into itself is EINVALID, an unknown card ENOTFOUND.
	MergeClients(ctx context.Context, operatorID, into, from int64) (inbox.Client, []inbox.Event, error)
	AddNote(ctx context.Context, operatorID, clientID int64, text string) (inbox.Note, []inbox.Event, error)
	AddConsent(ctx context.Context, operatorID, clientID int64, c inbox.Consent) (inbox.Consent, []inbox.Event, error)
	CreateTask(ctx context.Context, operatorID, clientID int64, t inbox.Task) (inbox.Task, []inbox.Event, error)
	// ListDuplicates lists open duplicate suggestions, of one card when
	// clientID is not 0.
	ListDuplicates(ctx context.Context, clientID int64, cursor string, limit int) ([]inbox.DuplicateSuggestion, string, error)
	DismissDuplicate(ctx context.Context, operatorID, id int64) (inbox.DuplicateSuggestion, error)
	// ExportClient returns everything stored about a client (audited).
	ExportClient(ctx context.Context, operatorID, id int64) (inbox.ClientExport, error)
	// EraseClient erases a client's personal data, keeping an anonymous
	// skeleton and tombstones (audited).
	EraseClient(ctx context.Context, operatorID, id int64) (inbox.Client, []inbox.Event, error)
	// WriteClientsCSV streams every card as CSV separated by sep.
	WriteClientsCSV(ctx context.Context, w io.Writer, sep rune) error
	// ImportClients reads cards from a CSV file and reports each row.
	ImportClients(ctx context.Context, r io.Reader, opts inbox.ImportOptions) (inbox.ImportReport, []inbox.Event, error)

	// Triage of new conversations.
	AcceptConversation(ctx context.Context, operatorID, id int64) (inbox.Conversation, []inbox.Event, error)
	LinkConversation(ctx context.Context, operatorID, id, clientID int64) (inbox.Conversation, []inbox.Event, error)
	RejectConversation(ctx context.Context, operatorID, id int64) (inbox.Conversation, []inbox.Event, error)
	// HubStore: the events table, followed by the hub's reader, and
	// LastEventID, where a page's websocket starts.
	HubStore
	// EventsFor returns up to limit events in (after, upTo] that v may see
	// now, oldest first: a websocket's replay.
	EventsFor(ctx context.Context, v inbox.Viewer, after, upTo int64, limit int) ([]inbox.Event, error)

	SecurityStore
	TaskStore
	SupervisionStore
	ReportStore
	WebhookStore
	SegmentStore
}

// SecurityStore is what sign-in, sessions, tokens, the admin API and the
// audit log need from the database. Every change is made on behalf of an
// operator (actorID), audited, and returns the events it wrote.
type SecurityStore interface {
	// TokenByHash returns the enabled operator owning the API token with
	// this hash, and the token; ENOTFOUND when the token is unknown or its
	// operator disabled.
	TokenByHash(ctx context.Context, tokenHash string) (inbox.Operator, inbox.APIToken, error)
	// OperatorByEmail returns an operator, disabled or not, and their
	// password hash; ENOTFOUND if there is none.
	OperatorByEmail(ctx context.Context, email string) (inbox.Operator, string, error)
	OperatorTeams(ctx context.Context, operatorID int64) ([]string, error)

	CreateSession(ctx context.Context, s inbox.Session, tokenHash string) (inbox.Session, error)
	// SessionByToken returns a live session by the hash of its cookie and
	// its enabled operator; ENOTFOUND otherwise.
	SessionByToken(ctx context.Context, tokenHash string) (inbox.Operator, inbox.Session, error)
	TouchSession(ctx context.Context, s inbox.Session, expiresAt time.Time) (bool, error)
	ListSessions(ctx context.Context, operatorID int64) ([]inbox.Session, error)
	// RevokeSession and RevokeToken end one credential; ownerID 0 means
	// anyone's, otherwise it must be ownerID's (ENOTFOUND if not).
	RevokeSession(ctx context.Context, actorID, ownerID, id int64) (int64, []inbox.Event, error)
	RevokeSessions(ctx context.Context, actorID, operatorID, keep int64) (int, []inbox.Event, error)
	CreateScopedToken(ctx context.Context, actorID int64, t inbox.APIToken, tokenHash string) (inbox.APIToken, error)
	ListTokens(ctx context.Context, operatorID int64) ([]inbox.APIToken, error)
	RevokeToken(ctx context.Context, actorID, ownerID, id int64) (int64, []inbox.Event, error)

	// LoginLockedUntil returns until when the latest of keys is locked
	// out (zero: none is); LoginFailed counts a failure and returns the
	// lock it caused; LoginSucceeded forgets a key's failures.
	LoginLockedUntil(ctx context.Context, keys []string) (time.Time, error)
	LoginFailed(ctx context.Context, key string, max int, window, lockout time.Duration) (time.Time, error)
	LoginSucceeded(ctx context.Context, key string) error
	// UnlockOperator and UnlockAddress forget the failures counted
	// against an operator's email or a client address (audited), and
	// report whether there were any.
	UnlockOperator(ctx context.Context, actorID, id int64) (bool, error)
	UnlockAddress(ctx context.Context, actorID int64, addr string) (bool, error)

	ListOperators(ctx context.Context) ([]inbox.OperatorDetail, error)
	Operator(ctx context.Context, id int64) (inbox.OperatorDetail, error)
	AddOperator(ctx context.Context, actorID int64, op inbox.Operator, passwordHash string, teams []string) (inbox.OperatorDetail, []inbox.Event, error)
	UpdateOperator(ctx context.Context, actorID, id int64, p inbox.OperatorPatch) (inbox.OperatorDetail, []inbox.Event, error)
	ListTeams(ctx context.Context) ([]inbox.Team, error)
	CreateTeam(ctx context.Context, actorID int64, name string) (inbox.Team, []inbox.Event, error)
	DeleteTeam(ctx context.Context, actorID, id int64) ([]inbox.Event, error)

	// Audit writes an audit entry (operatorID 0: nobody known).
	Audit(ctx context.Context, operatorID int64, action, entity string, entityID int64, detail any) error
	ListAudit(ctx context.Context, f inbox.AuditFilter) ([]inbox.AuditEntry, string, error)
}

// Webhook authenticates and decodes one provider request without side
// effects; connectors implement it. ack is the exact body the provider expects
// once the envelopes are queued (nil means `{"ok":true}`). Errors carry inbox
// error codes (EUNAUTHORIZED, EFORBIDDEN, EINVALID, ...).
type Webhook interface {
	Parse(r *http.Request, body []byte) (envs []inbox.Envelope, ack []byte, err error)
}

// CORSer sets the CORS headers for a request, before anything else is
// decided, so that browsers can read errors as well as successes.
type CORSer interface {
	CORS(r *http.Request, h http.Header)
}

// Responder answers the caller itself once its envelopes are durably queued
// (a 303 to a thank-you page, a Tilda "ok") instead of the default ack.
type Responder interface {
	Respond(w http.ResponseWriter, r *http.Request, envs []inbox.Envelope)
}

// BodyLimiter sets its own webhook body limit instead of Options.MaxBody
// (a form that takes file uploads needs more than a JSON webhook).
type BodyLimiter interface {
	MaxBody() int64
}

// Embedder serves a script for marketers' pages at
// /hooks/{type}/{channel}/embed.js.
type Embedder interface {
	ServeEmbed(w http.ResponseWriter, r *http.Request)
}

// Hook is a channel that receives webhooks at /hooks/{Type}/{channel id}.
//
// A connector may also implement CORSer, Responder, Embedder and
// BodyLimiter.
type Hook struct {
	Type    inbox.ChannelType
	Webhook Webhook
}

// Options configures a Server.
type Options struct {
	// Addr is where Run listens. Default ":8080".
	Addr string
	// PublicURL is the address operators' browsers use, e.g.
	// "https://hub.example.com". The websocket origin check compares against
	// it; when empty, the request's own Host is used.
	PublicURL string
	Logger    *slog.Logger
	Store     Store
	// Sink is the inbound queue: a nil error from Enqueue means durably queued.
	Sink inbox.Sink
	// Hooks are the webhook channels by channel id.
	Hooks map[string]Hook
	// Metrics may be nil; the server then creates a private set.
	Metrics *Metrics
	// Hub may be nil; the server then makes its own (see NewHub).
	Hub *Hub
	// Callers are the telephony channels that place calls for operators,
	// by channel id; may be empty.
	Callers map[string]Caller
	// Files serves stored attachments at /files/{id}/{name}; may be nil.
	Files FileOpener
	// Uploads stores files operators attach to replies; nil refuses them.
	Uploads inbox.Files
	// SignedFileKeys are the secrets of the channels whose callbacks carry
	// signed links to files (/files/signed/...), by channel id.
	SignedFileKeys map[string]string
	// ChannelStatus reports a channel's health for the operators (a
	// Telegram webhook's pending updates and last error), by channel id;
	// admins see it in Settings → Channels (GET /channels/{id}/details).
	// It must keep the channel's secrets out of its answer and its error.
	ChannelStatus map[string]func(ctx context.Context) (any, error)
	// Ready reports whether the database and the queue are reachable; nil
	// means always ready.
	Ready func(ctx context.Context) error
	// Warnings are what an admin should fix though the hub works (Redis
	// without AOF); /readyz lists them under its "ok". May be nil.
	Warnings func(ctx context.Context) []string
	// Kick wakes the outbound worker after a reply was queued; may be nil.
	Kick func()
	// Publisher is told about the events the API itself wrote (PATCH,
	// reply). In production it is the Redis fan-out, which in turn notifies
	// every instance's Hub. Nil means the Hub itself.
	Publisher inbox.Publisher
	// HookRate limits webhook requests per client IP and channel, in
	// requests per second, with a burst of twice that (at least 1). 0 means
	// unlimited.
	HookRate float64
	// HookChannelRate limits webhook requests per channel from all
	// addresses together, the same way: many addresses flooding one
	// channel get 429 too. 0 means unlimited.
	HookChannelRate float64
	// MaxBody bounds a webhook body. Default 1 MiB.
	MaxBody int64
	// TrustedProxies are the reverse proxies whose X-Forwarded-For and
	// X-Real-IP are believed: only a request whose TCP peer is inside one
	// of them gets its client address from those headers (see
	// clientAddress). Empty: the headers are ignored.
	TrustedProxies []netip.Prefix

	// ReportLocation is the business's time zone, whose days the reports
	// count (the [sla] time zone). Default UTC.
	ReportLocation *time.Location
	// ChannelTeams maps a channel id to the team whose operators see its
	// unassigned conversations; a channel not in it is everyone's.
	ChannelTeams map[string]string
	// Channels are listed to admins by GET /api/v1/channels.
	Channels []ChannelInfo
	// Starter starts conversations (POST /api/v1/clients/{id}/conversations);
	// nil answers 503.
	Starter ConversationStarter
	// Health is what the channels' connectors last reported; nil means
	// every channel shows as unknown.
	Health *inbox.HealthBoard
	// Auth configures sign-in, sessions and the login lockout.
	Auth AuthOptions
	// Timeouts of the HTTP server; zero fields take the defaults.
	Timeouts Timeouts
	// TLSCertFile and TLSKeyFile are PEM files: when both are set, Serve
	// speaks HTTPS. They are read once, by New, so that a bad file stops
	// the start instead of failing every handshake.
	TLSCertFile string
	TLSKeyFile  string
	// MetricsApart moves /metrics off the main handler (it answers 404
	// there): the caller serves it with ServeMetrics on an address of its
	// own, one that only the monitoring network reaches.
	MetricsApart bool
}

// Timeouts bound how long a client may take. A client that sends its
// headers a byte at a time (slow loris) is cut off by ReadHeader.
type Timeouts struct {
	ReadHeader time.Duration // default 5s
	Read       time.Duration // the whole request; default 30s
	Write      time.Duration // the whole response; default 30s
	Idle       time.Duration // between keep-alive requests; default 120s
}

func (t *Timeouts) defaults() {
	if t.ReadHeader <= 0 {
		t.ReadHeader = 5 * time.Second
	}
	if t.Read <= 0 {
		t.Read = 30 * time.Second
	}
	if t.Write <= 0 {
		t.Write = 30 * time.Second
	}
	if t.Idle <= 0 {
		t.Idle = 120 * time.Second
	}
}

const (
	defaultAddr    = ":8080"
	defaultMaxBody = 1 << 20
	// shutdownTimeout bounds how long in-flight requests may finish after
	// the context ends; it stays under the usual 10 s SIGTERM grace period.
	shutdownTimeout = 8 * time.Second
)

// Server is leadhub's HTTP server. It is used for one Serve or Run.
type Server struct {
	addr     string
	log      *slog.Logger
	metrics  *Metrics
	hub      *Hub
	hooks    *hookHandler
	files    *filesHandler
	status   map[string]func(ctx context.Context) (any, error)
	api      *apiHandler
	auth     *authHandler
	ws       *wsHandler
	ready    func(ctx context.Context) error
	warnings func(ctx context.Context) []string
	public   *url.URL
	timeouts Timeouts
	handler  http.Handler
	// trustedProxies: see Options.TrustedProxies.
	trustedProxies []netip.Prefix
	// tls is nil for plain HTTP.
	tls          *tls.Config
	metricsApart bool
}

// New checks opts and builds the server and its route table.
func New(opts Options) (*Server, error) {
	if opts.Store == nil {
		return nil, errors.New("web: Options.Store is required")
	}
	if opts.Sink == nil {
		return nil, errors.New("web: Options.Sink is required")
	}
	if opts.HookRate < 0 || opts.HookChannelRate < 0 {
		return nil, errors.New("web: Options.HookRate and HookChannelRate must not be negative")
	}
	if opts.MaxBody < 0 {
		return nil, errors.New("web: Options.MaxBody must not be negative")
	}
	if opts.Addr == "" {
		opts.Addr = defaultAddr
	}
	if opts.MaxBody == 0 {
		opts.MaxBody = defaultMaxBody
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	var public *url.URL
	if opts.PublicURL != "" {
		u, err := url.Parse(opts.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("web: Options.PublicURL %q is not an http(s) URL", opts.PublicURL)
		}
		public = u
	}
	hooks := make(map[string]Hook, len(opts.Hooks))
	for id, h := range opts.Hooks {
		if h.Webhook == nil || h.Type == "" {
			return nil, fmt.Errorf("web: hook %q needs a Type and a Webhook", id)
		}
		hooks[id] = h
	}

	hub := opts.Hub
	if hub == nil {
		hub = NewHub(opts.Store, opts.Metrics, opts.Logger.With("component", "ws_hub"))
	}
	pub := opts.Publisher
	if pub == nil {
		pub = hub
	}
	for ch, team := range opts.ChannelTeams {
		if team != "" && !inbox.ValidTeamName(team) {
			return nil, fmt.Errorf("web: channel %q: team %q is not a team name", ch, team)
		}
	}
	opts.Timeouts.defaults()
	var tlsConf *tls.Config
	if (opts.TLSCertFile == "") != (opts.TLSKeyFile == "") {
		return nil, errors.New("web: Options.TLSCertFile and TLSKeyFile go together")
	}
	if opts.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(opts.TLSCertFile, opts.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("web: TLS certificate %s and key %s: %w", opts.TLSCertFile, opts.TLSKeyFile, err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	acc := &access{store: opts.Store, channelTeams: opts.ChannelTeams}
	auth := newAuthHandler(opts.Store, pub, hub, opts.Auth, public != nil && public.Scheme == "https")
	auth.callers = opts.Callers
	s := &Server{
		addr:           opts.Addr,
		log:            opts.Logger,
		metrics:        opts.Metrics,
		hub:            hub,
		ready:          opts.Ready,
		warnings:       opts.Warnings,
		public:         public,
		timeouts:       opts.Timeouts,
		trustedProxies: opts.TrustedProxies,
		tls:            tlsConf,
		metricsApart:   opts.MetricsApart,
		hooks: &hookHandler{
			hooks:          hooks,
			sink:           opts.Sink,
			maxBody:        opts.MaxBody,
			limiter:        newLimiter(opts.HookRate),
			channelLimiter: newLimiter(opts.HookChannelRate),
			metrics:        opts.Metrics,
			outage:         newOutageLog(opts.Logger.With("component", "hooks")),
		},
		api: &apiHandler{
			store:     opts.Store,
			pub:       pub,
			kick:      opts.Kick,
			access:    acc,
			hub:       hub,
			channels:  nonNil(opts.Channels),
			reportLoc: cmp.Or(opts.ReportLocation, time.UTC),
			health:    opts.Health,
			starter:   opts.Starter,
			uploads:   opts.Uploads,
			bg:        newBackground(),
			admin:     auth.admin,
			callers:   opts.Callers,
			status:    opts.ChannelStatus,

			webhookSelf: inbox.WebhookSelf{PublicURL: opts.PublicURL, Addr: opts.Addr},
		},
		auth:   auth,
		ws:     newWSHandler(opts.Store, hub, public, acc, auth),
		files:  &filesHandler{files: opts.Files, store: opts.Store, access: acc, signKeys: opts.SignedFileKeys},
		status: opts.ChannelStatus,
	}
	s.handler = s.routes()
	return s, nil
}

// channelStatus answers GET /api/v1/channels/{id}/status.
func (s *Server) channelStatus(w http.ResponseWriter, r *http.Request) {
	fn, ok := s.status[r.PathValue("id")]
	if !ok {
		writeError(w, r, inbox.Errorf(inbox.ENOTFOUND, "no status for this channel"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	st, err := fn(ctx)
	if err != nil {
		writeError(w, r, inbox.Errorf(inbox.EUNAVAILABLE, "the channel's provider did not answer"))
		return
	}
	writeJSON(w, r, http.StatusOK, st)
}

// Handler returns the whole HTTP handler: routes and middleware.
func (s *Server) Handler() http.Handler { return s.handler }

// Hub returns the websocket hub; it implements inbox.Publisher, so the inbox
// worker (or the Redis fan-out) can tell connected operators about events.
func (s *Server) Hub() *Hub { return s.hub }

// Metrics returns the server's metrics, for wiring the workers' callbacks.
func (s *Server) Metrics() *Metrics { return s.metrics }

// Run listens on Options.Addr and serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.addr)
	if err != nil {
		return fmt.Errorf("web: listen: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends, then closes the websockets, lets
// in-flight requests finish (at most shutdownTimeout) and returns nil. It
// returns an error if serving fails or the shutdown timed out.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := s.httpServer(s.handler)
	// Background work (CSV imports) ends with the server: cancelled, its
	// state recorded, waited for.
	defer s.api.bg.stop()
	// The hub's event reader lives as long as the server.
	hubCtx, stopHub := context.WithCancel(ctx)
	hubDone := make(chan struct{})
	go func() {
		defer close(hubDone)
		// nil when hubCtx ends; errHubRunning when whoever built the
		// hub runs its reader already.
		_ = s.hub.Run(hubCtx)
	}()
	defer func() {
		stopHub()
		<-hubDone
	}()

	errc := make(chan error, 1)
	go func() {
		if s.tls != nil {
			// The certificate is in TLSConfig already; ServeTLS adds
			// HTTP/2 to what the listener offers.
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()

	select {
	case err := <-errc:
		s.hub.Close()
		return fmt.Errorf("web: serve: %w", err)
	case <-ctx.Done():
	}
	// Shutdown does not know about hijacked connections, so the hub closes
	// the websockets itself; it refuses new ones from now on.
	s.hub.Close()
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		srv.Close()
		return fmt.Errorf("web: shutdown: %w", err)
	}
	return nil
}

// httpServer is an http.Server for h with the server's timeouts and TLS.
func (s *Server) httpServer(h http.Handler) *http.Server {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: s.timeouts.ReadHeader,
		ReadTimeout:       s.timeouts.Read,
		WriteTimeout:      s.timeouts.Write,
		IdleTimeout:       s.timeouts.Idle,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	if s.tls != nil {
		srv.TLSConfig = s.tls.Clone()
	}
	return srv
}

// ServeMetrics serves /metrics alone, in plain HTTP, on ln until ctx ends
// (see Options.MetricsApart). Everything else there is 404.
func (s *Server) ServeMetrics(ctx context.Context, ln net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.Handler())
	srv := s.httpServer(mux)
	srv.TLSConfig = nil // an internal address: plain HTTP, as scrapers expect by default
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("web: serve metrics: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-errc // http.ErrServerClosed once Shutdown began
	if err != nil {
		srv.Close()
		return fmt.Errorf("web: shutdown metrics: %w", err)
	}
	return nil
}

// metricsHandler is /metrics on the main address: 404 when it is served
// apart, so it cannot be read from where the public reaches.
func (s *Server) metricsHandler() http.Handler {
	if s.metricsApart {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, r, inbox.Errorf(inbox.ENOTFOUND, "not found"))
		})
	}
	return s.metrics.Handler()
}

// healthz says the process is up; it checks nothing else on purpose, so a
// database outage does not get the process restarted.
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

// readyz says whether the database and the queue are reachable, so a load
// balancer sends no traffic to an instance that would answer 503 anyway.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.ready(ctx); err != nil {
			// The reason is shown: Ready's errors name a dependency
			// ("database: ..."), never a secret.
			writeError(w, r, inbox.Errorf(inbox.EUNAVAILABLE, "not ready: %v", err))
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
	if s.warnings != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		for _, warning := range s.warnings(ctx) {
			_, _ = fmt.Fprintf(w, "warning: %s\n", warning)
		}
	}
}
