package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/leadhub/leadhub/inbox"
)

// The session contract of the operators' page (see README "Operators,
// roles and tokens").
const (
	sessionCookie = "leadhub_session"
	csrfHeader    = "X-CSRF-Token"
)

// AuthOptions configures sign-in, sessions and the login lockout. Zero
// fields take the defaults.
type AuthOptions struct {
	// SessionIdle ends a session nobody used for this long (an open page
	// keeps its session alive). Default 12h.
	SessionIdle time.Duration
	// SessionMaxAge ends a session this long after sign-in, used or not.
	// Default 30 days.
	SessionMaxAge time.Duration
	// MaxFailures failed logins to one account within Lockout lock the
	// account for Lockout. Default 5.
	MaxFailures int
	// MaxIPFailures failed logins from one address (to any accounts)
	// within Lockout lock the address for Lockout. Default 20.
	MaxIPFailures int
	// Lockout is how long a locked account or address waits, and the
	// window failures are counted in. Default 15m.
	Lockout time.Duration
	// LoginRate bounds login attempts per address, per second (burst 10),
	// locked or not, so that nobody can keep the CPU busy with bcrypt.
	// Default 1.
	LoginRate float64
	// PasswordCost is the bcrypt cost of passwords set through the API.
	// Default inbox.DefaultPasswordCost; tests use bcrypt.MinCost.
	PasswordCost int
}

func (o *AuthOptions) defaults() {
	if o.SessionIdle <= 0 {
		o.SessionIdle = 12 * time.Hour
	}
	if o.SessionMaxAge <= 0 {
		o.SessionMaxAge = 30 * 24 * time.Hour
	}
	if o.MaxFailures <= 0 {
		o.MaxFailures = 5
	}
	if o.MaxIPFailures <= 0 {
		o.MaxIPFailures = 20
	}
	if o.Lockout <= 0 {
		o.Lockout = 15 * time.Minute
	}
	if o.LoginRate <= 0 {
		o.LoginRate = 1
	}
	if o.PasswordCost < bcrypt.MinCost || o.PasswordCost > bcrypt.MaxCost {
		o.PasswordCost = inbox.DefaultPasswordCost
	}
}

// credential says how a request proved who it is.
type credential int

const (
	credSession credential = iota + 1 // the page's cookie
	credToken                         // Authorization: Bearer
)

// principal is the operator behind a request and the credential they used.
type principal struct {
	op      inbox.Operator
	cred    credential
	session inbox.Session  // cred == credSession
	token   inbox.APIToken // cred == credToken
	// hash is the stored form of the credential, so that a websocket can
	// check again later that it still holds.
	hash string
}

// scopeRank is what the credential allows: a session all the role
// allows, a token its scope.
func (p principal) scopeRank() int {
	if p.cred == credSession {
		return inbox.ScopeAdmin.Rank()
	}
	return p.token.Scope.Rank()
}

// admin reports whether the principal may use admin powers: an admin
// signed in, or with an admin-scoped token.
func (p principal) admin() bool {
	return p.op.Role == inbox.RoleAdmin && p.scopeRank() >= inbox.ScopeAdmin.Rank()
}

func principalFrom(ctx context.Context) (principal, bool) {
	p, ok := ctx.Value(operatorKey).(principal)
	return p, ok
}

// safeMethod reports methods that change nothing, which need neither a
// CSRF token nor a write scope.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// bearerAuth accepts "Authorization: Bearer <API token>".
func bearerAuth(store Store) authenticator {
	return func(r *http.Request) (principal, bool, error) {
		h := r.Header.Get("Authorization")
		if h == "" {
			return principal{}, false, nil
		}
		scheme, token, _ := strings.Cut(h, " ")
		token = strings.TrimSpace(token)
		if !strings.EqualFold(scheme, "Bearer") || token == "" {
			return principal{}, false, inbox.Errorf(inbox.EUNAUTHORIZED, "unauthorized")
		}
		hash := inbox.HashToken(token)
		op, tok, err := store.TokenByHash(r.Context(), hash)
		switch {
		case inbox.ErrorCode(err) == inbox.ENOTFOUND:
			return principal{}, false, inbox.Errorf(inbox.EUNAUTHORIZED, "unauthorized")
		case err != nil:
			return principal{}, false, err
		case op.Disabled:
			return principal{}, false, inbox.Errorf(inbox.EUNAUTHORIZED, "unauthorized")
		}
		return principal{op: op, cred: credToken, token: tok, hash: hash}, true, nil
	}
}

// cookieAuth accepts the page's session cookie. A request that changes
// something must also carry the session's CSRF token in X-CSRF-Token: the
// cookie alone is what a forged cross-site request would have.
func (a *authHandler) cookieAuth(r *http.Request) (principal, bool, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return principal{}, false, nil
	}
	p, err := a.session(r.Context(), inbox.HashToken(c.Value))
	if err != nil {
		return principal{}, false, err
	}
	if !safeMethod(r.Method) {
		got := r.Header.Get(csrfHeader)
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(p.session.CSRFToken)) != 1 {
			return principal{}, false, inbox.Errorf(inbox.EFORBIDDEN, "missing or wrong CSRF token")
		}
	}
	return p, true, nil
}

// session finds a live session by the hash of its cookie and slides its
// expiry forward.
func (a *authHandler) session(ctx context.Context, hash string) (principal, error) {
	op, sess, err := a.store.SessionByToken(ctx, hash)
	switch {
	case inbox.ErrorCode(err) == inbox.ENOTFOUND:
		return principal{}, inbox.Errorf(inbox.EUNAUTHORIZED, "unauthorized")
	case err != nil:
		return principal{}, err
	case op.Disabled:
		return principal{}, inbox.Errorf(inbox.EUNAUTHORIZED, "unauthorized")
	}
	expires := time.Now().Add(a.opts.SessionIdle)
	if limit := sess.CreatedAt.Add(a.opts.SessionMaxAge); expires.After(limit) {
		expires = limit
	}
	if _, err := a.store.TouchSession(ctx, sess, expires); err != nil {
		// The session is valid either way; a missed touch only makes it
		// expire a little earlier.
		loggerFrom(ctx).Warn("touch session", "session_id", sess.ID, "err", err)
	}
	return principal{op: op, cred: credSession, session: sess, hash: hash}, nil
}

// recheck checks that p's credential still holds (not revoked, expired or
// disabled) and returns it with the operator as they are now.
func (a *authHandler) recheck(ctx context.Context, p principal) (principal, error) {
	if p.cred == credSession {
		return a.session(ctx, p.hash)
	}
	op, tok, err := a.store.TokenByHash(ctx, p.hash)
	switch {
	case inbox.ErrorCode(err) == inbox.ENOTFOUND:
		return principal{}, inbox.Errorf(inbox.EUNAUTHORIZED, "unauthorized")
	case err != nil:
		return principal{}, err
	case op.Disabled:
		return principal{}, inbox.Errorf(inbox.EUNAUTHORIZED, "unauthorized")
	}
	return principal{op: op, cred: credToken, token: tok, hash: p.hash}, nil
}

// authHandler serves sign-in, sessions and API tokens.
type authHandler struct {
	// callers are the telephony channels that place calls (CanCall).
	callers map[string]Caller
	store   Store
	pub     inbox.Publisher
	hub     *Hub
	opts    AuthOptions
	secure  bool // cookies only over HTTPS: the public URL is https
	limiter *limiter

	// dummy is a bcrypt hash compared against when the account does not
	// exist, so that the answer takes as long as for a real one and does
	// not tell which emails have accounts.
	dummyOnce sync.Once
	dummy     []byte

	// admin is the admin use cases, shared with the command line.
	admin *inbox.Admin
}

func newAuthHandler(store Store, pub inbox.Publisher, hub *Hub, opts AuthOptions, secure bool) *authHandler {
	opts.defaults()
	lim := newLimiter(opts.LoginRate)
	if lim != nil && lim.burst < 10 {
		lim.burst = 10
	}
	return &authHandler{store: store, pub: pub, hub: hub, opts: opts, secure: secure, limiter: lim,
		admin: inbox.NewAdmin(store, opts.PasswordCost)}
}

func (a *authHandler) dummyHash() []byte {
	a.dummyOnce.Do(func() {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		a.dummy, _ = bcrypt.GenerateFromPassword(b, a.opts.PasswordCost)
	})
	return a.dummy
}

// sessionBody is the answer of POST and GET /session.
type sessionBody struct {
	Operator  inbox.Operator `json:"operator"`
	CSRFToken string         `json:"csrf_token"`
	// LastEventID is where the page's websocket starts: everything before
	// it is in the lists the page loads now.
	LastEventID int64 `json:"last_event_id"`
	// Teams are the operator's teams (the page offers them when sharing a
	// reply template).
	Teams []string `json:"teams"`
	// CanCall says the operator has an extension in a telephony channel
	// that places calls: the page shows call buttons on phones.
	CanCall bool `json:"can_call"`
}

type loginBody struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// rateLimited is a 429 that tells the caller when to try again.
func rateLimited(w http.ResponseWriter, r *http.Request, wait time.Duration, msg string) {
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeJSON(w, r, http.StatusTooManyRequests, errorBody{Error: msg})
}

// login: POST /session {"email", "password"}. Wrong credentials are 401
// whatever was wrong (no account, disabled, wrong password); too many
// failures lock the account and the address for a while (429 with
// Retry-After), and every attempt is audited.
func (a *authHandler) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ip := clientIP(r)
	if !a.limiter.allow("login\x00"+ip, time.Now()) {
		rateLimited(w, r, time.Second, "too many login attempts; try again later")
		return
	}
	// A JSON body cannot be sent cross-site without a CORS preflight, so
	// another site cannot sign a visitor in to an account of its choosing.
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeError(w, r, inbox.Errorf(inbox.EINVALID, "Content-Type must be application/json"))
		return
	}
	var body loginBody
	if err := decodeJSON(w, r, &body); err != nil {
		writeError(w, r, err)
		return
	}
	email := inbox.NormalizeLoginEmail(body.Email)
	if email == "" || body.Password == "" {
		writeError(w, r, inbox.Errorf(inbox.EINVALID, "email and password are required"))
		return
	}
	if len(email) > inbox.MaxIdentityLen || len(body.Password) > 1024 {
		writeError(w, r, inbox.Errorf(inbox.EUNAUTHORIZED, "wrong email or password"))
		return
	}
	// The account's key is a hash of what was typed (see
	// inbox.LoginAccountKey): it may be a password typed into the wrong
	// field.
	accountKey, ipKey := inbox.LoginAccountKey(email), inbox.LoginAddressKey(ip)
	until, err := a.store.LoginLockedUntil(ctx, []string{accountKey, ipKey})
	if err != nil {
		writeError(w, r, err)
		return
	}
	if wait := time.Until(until); wait > 0 {
		rateLimited(w, r, wait, "too many failed logins; try again later")
		return
	}

	op, hash, err := a.store.OperatorByEmail(ctx, email)
	known := err == nil
	if err != nil && inbox.ErrorCode(err) != inbox.ENOTFOUND {
		writeError(w, r, err)
		return
	}
	if !known {
		hash = string(a.dummyHash())
	}
	good := bcrypt.CompareHashAndPassword([]byte(hash), []byte(body.Password)) == nil && known && !op.Disabled
	if !good {
		a.loginFailed(ctx, op, known, ip, accountKey, ipKey)
		writeError(w, r, inbox.Errorf(inbox.EUNAUTHORIZED, "wrong email or password"))
		return
	}
	if err := a.store.LoginSucceeded(ctx, accountKey); err != nil {
		loggerFrom(ctx).Warn("clear login failures", "err", err)
	}

	token := randomHex(32)
	sess, err := a.store.CreateSession(ctx, inbox.Session{
		OperatorID: op.ID, CSRFToken: randomHex(32), IP: ip, UserAgent: r.UserAgent(),
		ExpiresAt: time.Now().Add(min(a.opts.SessionIdle, a.opts.SessionMaxAge)),
	}, inbox.HashToken("ls_"+token))
	if err != nil {
		writeError(w, r, err)
		return
	}
	if err := a.store.Audit(ctx, op.ID, "login", "operator", op.ID, map[string]any{"ip": ip, "session_id": sess.ID}); err != nil {
		loggerFrom(ctx).Error("audit login", "err", err)
	}
	last, err := a.store.LastEventID(ctx)
	var teams []string
	if err == nil {
		teams, err = a.store.OperatorTeams(ctx, op.ID)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "ls_" + token, Path: "/",
		MaxAge:   int(a.opts.SessionMaxAge / time.Second),
		HttpOnly: true, Secure: a.secure || r.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
	loggerFrom(ctx).Info("operator signed in", "operator_id", op.ID, "session_id", sess.ID)
	writeJSON(w, r, http.StatusOK, sessionBody{Operator: op, CSRFToken: sess.CSRFToken, LastEventID: last,
		Teams: nonNil(teams), CanCall: a.canCall(op.Email)})
}

// loginFailed counts a failure against the account and the address and
// audits it. It never names the email of an unknown account: people type
// passwords into the wrong field.
func (a *authHandler) loginFailed(ctx context.Context, op inbox.Operator, known bool, ip, accountKey, ipKey string) {
	log := loggerFrom(ctx)
	reason := "wrong password"
	switch {
	case !known:
		reason = "unknown account"
	case op.Disabled:
		reason = "operator disabled"
	}
	detail := map[string]any{"ip": ip, "reason": reason}
	if until, err := a.store.LoginFailed(ctx, accountKey, a.opts.MaxFailures, a.opts.Lockout, a.opts.Lockout); err != nil {
		log.Error("count login failure", "err", err)
	} else if !until.IsZero() {
		detail["account_locked_until"] = until
	}
	if until, err := a.store.LoginFailed(ctx, ipKey, a.opts.MaxIPFailures, a.opts.Lockout, a.opts.Lockout); err != nil {
		log.Error("count login failure", "err", err)
	} else if !until.IsZero() {
		detail["ip_locked_until"] = until
	}
	var id int64
	if known {
		id = op.ID
	}
	if err := a.store.Audit(ctx, 0, "login.failed", "operator", id, detail); err != nil {
		log.Error("audit failed login", "err", err)
	}
	log.Info("login failed", "reason", reason, "operator_id", id)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// getSession: GET /session, the page's reload.
func (a *authHandler) getSession(w http.ResponseWriter, r *http.Request) {
	p, _ := principalFrom(r.Context())
	last, err := a.store.LastEventID(r.Context())
	var teams []string
	if err == nil {
		teams, err = a.store.OperatorTeams(r.Context(), p.op.ID)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, sessionBody{Operator: p.op, CSRFToken: p.session.CSRFToken, LastEventID: last,
		Teams: nonNil(teams), CanCall: a.canCall(p.op.Email)})
}

// canCall reports whether the operator has an extension in a channel that
// places calls.
func (a *authHandler) canCall(email string) bool {
	for _, c := range a.callers {
		if _, ok := c.ExtensionOf(email); ok {
			return true
		}
	}
	return false
}

// logout: DELETE /session ends this session and clears the cookie.
func (a *authHandler) logout(w http.ResponseWriter, r *http.Request) {
	p, _ := principalFrom(r.Context())
	if p.cred != credSession {
		writeError(w, r, inbox.Errorf(inbox.EINVALID, "not signed in with a session; revoke API tokens with DELETE /api/v1/tokens/{id}"))
		return
	}
	_, evs, err := a.store.RevokeSession(r.Context(), p.op.ID, p.op.ID, p.session.ID)
	if err != nil && inbox.ErrorCode(err) != inbox.ENOTFOUND {
		writeError(w, r, err)
		return
	}
	a.after(r.Context(), evs, func(c *wsClient) bool { return c.sessionID == p.session.ID })
	a.clearCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
}

func (a *authHandler) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: a.secure || r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

// after publishes the events of a revocation and drops this instance's
// websockets that match; other instances drop theirs when they see the
// events.
func (a *authHandler) after(ctx context.Context, evs []inbox.Event, drop func(c *wsClient) bool) {
	if drop != nil {
		a.hub.disconnect(drop)
	}
	publish(ctx, a.pub, evs)
}

// whose is the operator whose sessions or tokens a request is about: the
// caller, or for an admin the one named by ?operator=.
func whose(r *http.Request, p principal) (int64, error) {
	s := r.URL.Query().Get("operator")
	if s == "" {
		return p.op.ID, nil
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, inbox.Errorf(inbox.EINVALID, "operator must be an operator id")
	}
	if id != p.op.ID && !p.admin() {
		return 0, inbox.Errorf(inbox.EFORBIDDEN, "only admins manage other operators' sessions and tokens")
	}
	return id, nil
}

// owner is the ownerID a revocation passes to the store: the caller's own
// id, or 0 (anyone's) for an admin.
func owner(p principal) int64 {
	if p.admin() {
		return 0
	}
	return p.op.ID
}

type sessionView struct {
	inbox.Session
	Current bool `json:"current"`
}

// listSessions: GET /sessions[?operator=ID].
func (a *authHandler) listSessions(w http.ResponseWriter, r *http.Request) {
	p, _ := principalFrom(r.Context())
	id, err := whose(r, p)
	if err != nil {
		writeError(w, r, err)
		return
	}
	list, err := a.store.ListSessions(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := make([]sessionView, len(list))
	for i, s := range list {
		out[i] = sessionView{Session: s, Current: p.cred == credSession && s.ID == p.session.ID}
	}
	writeJSON(w, r, http.StatusOK, newList(out, ""))
}

// revokeSession: DELETE /sessions/{id}: one's own, or anyone's for an
// admin.
func (a *authHandler) revokeSession(w http.ResponseWriter, r *http.Request) {
	p, _ := principalFrom(r.Context())
	id, ok := idFromPath(w, r)
	if !ok {
		return
	}
	_, evs, err := a.store.RevokeSession(r.Context(), p.op.ID, owner(p), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	a.after(r.Context(), evs, func(c *wsClient) bool { return c.sessionID == id })
	if p.cred == credSession && id == p.session.ID {
		a.clearCookie(w, r)
	}
	w.WriteHeader(http.StatusNoContent)
}

type revokeAllBody struct {
	OperatorID int64 `json:"operator_id"`
}

// revokeAll: POST /sessions/revoke-all ("log out everywhere"), this
// session included; an admin may name another operator.
func (a *authHandler) revokeAll(w http.ResponseWriter, r *http.Request) {
	p, _ := principalFrom(r.Context())
	var body revokeAllBody
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &body); err != nil {
			writeError(w, r, err)
			return
		}
	}
	target := p.op.ID
	if body.OperatorID != 0 && body.OperatorID != p.op.ID {
		if !p.admin() {
			writeError(w, r, inbox.Errorf(inbox.EFORBIDDEN, "only admins end other operators' sessions"))
			return
		}
		target = body.OperatorID
	}
	n, evs, err := a.store.RevokeSessions(r.Context(), p.op.ID, target, 0)
	if err != nil {
		writeError(w, r, err)
		return
	}
	a.after(r.Context(), evs, func(c *wsClient) bool { return c.operatorID == target && c.sessionID != 0 })
	if target == p.op.ID && p.cred == credSession {
		a.clearCookie(w, r)
	}
	writeJSON(w, r, http.StatusOK, map[string]int{"revoked": n})
}

// listTokens: GET /tokens[?operator=ID].
func (a *authHandler) listTokens(w http.ResponseWriter, r *http.Request) {
	p, _ := principalFrom(r.Context())
	id, err := whose(r, p)
	if err != nil {
		writeError(w, r, err)
		return
	}
	list, err := a.store.ListTokens(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, newList(list, ""))
}

type tokenBody struct {
	Name  string           `json:"name"`
	Scope inbox.TokenScope `json:"scope"`
}

type newTokenView struct {
	inbox.APIToken
	// Token is shown this once; only its hash is stored.
	Token string `json:"token"`
}

// createToken: POST /tokens {"name", "scope"} makes a token for the
// caller, at most as powerful as the credential asking for it.
func (a *authHandler) createToken(w http.ResponseWriter, r *http.Request) {
	p, _ := principalFrom(r.Context())
	var body tokenBody
	if err := decodeJSON(w, r, &body); err != nil {
		writeError(w, r, err)
		return
	}
	if body.Scope == "" {
		body.Scope = inbox.ScopeWrite
	}
	if !body.Scope.Valid() {
		writeError(w, r, inbox.Errorf(inbox.EINVALID, "scope must be read, write or admin"))
		return
	}
	if body.Scope.Rank() > p.scopeRank() {
		writeError(w, r, inbox.Errorf(inbox.EFORBIDDEN, "a token cannot make a token with a wider scope than its own"))
		return
	}
	t, token, err := a.admin.CreateToken(r.Context(), p.op.ID, inbox.APIToken{OperatorID: p.op.ID, Name: body.Name, Scope: body.Scope})
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, newTokenView{APIToken: t, Token: token})
}

// revokeToken: DELETE /tokens/{id}: one's own, or anyone's for an admin.
func (a *authHandler) revokeToken(w http.ResponseWriter, r *http.Request) {
	p, _ := principalFrom(r.Context())
	id, ok := idFromPath(w, r)
	if !ok {
		return
	}
	_, evs, err := a.store.RevokeToken(r.Context(), p.op.ID, owner(p), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	a.after(r.Context(), evs, func(c *wsClient) bool { return c.tokenID == id })
	w.WriteHeader(http.StatusNoContent)
}
