package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/store"
	"github.com/leadhub/leadhub/store/storetest"
)

// The access tests run the real server on the real store (SQLite), so
// that what the SQL lets an operator see is tested together with the
// routes that ask for it.

const fxPassword = "correct horse battery"

// fixture is a hub with two teams and their channels: "shop" is sales',
// "help" is support's, "site" has no team. Olga is an operator in sales.
type fixture struct {
	t      *testing.T
	st     *store.Store
	srv    *Server
	h      http.Handler
	seq    atomic.Int64
	admin  inbox.OperatorDetail
	super  inbox.OperatorDetail
	olga   inbox.OperatorDetail
	petr   inbox.OperatorDetail
	webhok *fakeWebhook
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	return newFixtureWith(t, opts, store.Options{})
}

// newFixtureWith is newFixture on a store with so (a clock, an SLA policy).
func newFixtureWith(t *testing.T, opts Options, so store.Options) *fixture {
	t.Helper()
	st := storetest.OpenWith(t, store.DialectSQLite, so)
	fx := &fixture{t: t, st: st}
	ctx := context.Background()
	for _, name := range []string{"sales", "support"} {
		if _, _, err := st.CreateTeam(ctx, 0, name); err != nil {
			t.Fatal(err)
		}
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(fxPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	add := func(email string, role inbox.Role, teams ...string) inbox.OperatorDetail {
		d, _, err := st.AddOperator(ctx, 0, inbox.Operator{Email: email, Name: email, Role: role}, string(hash), teams)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	fx.admin = add("admin@example.com", inbox.RoleAdmin)
	fx.super = add("super@example.com", inbox.RoleSupervisor)
	fx.olga = add("olga@example.com", inbox.RoleOperator, "sales")
	fx.petr = add("petr@example.com", inbox.RoleOperator, "support")

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("%PDF-1.4"), 0o600); err != nil {
		t.Fatal(err)
	}
	fx.webhok = &fakeWebhook{envs: []inbox.Envelope{{DedupeKey: "api:crm:1", Text: "hi",
		From: inbox.Contact{Identities: []inbox.Identity{{Kind: inbox.IdentityPhone, Value: "+79990000000"}}}}}}
	opts.Store = st
	opts.Sink = &fakeSink{}
	opts.Hooks = map[string]Hook{"crm": {Type: inbox.ChannelAPI, Webhook: fx.webhok}}
	if opts.Callers == nil {
		opts.Callers = map[string]Caller{"pbx": &fakeCaller{}}
	}
	opts.ChannelTeams = map[string]string{"shop": "sales", "help": "support"}
	// More channels (an email channel for the matrix) come after "crm".
	opts.Channels = append([]ChannelInfo{{ID: "crm", Type: inbox.ChannelAPI, Status: "enabled"}}, opts.Channels...)
	opts.Starter = st
	if opts.ChannelStatus == nil {
		opts.ChannelStatus = map[string]func(context.Context) (any, error){
			"crm": func(context.Context) (any, error) { return map[string]bool{"ok": true}, nil },
		}
	}
	opts.Files = fileOpenerFunc(func(_ context.Context, id string) (io.ReadSeekCloser, inbox.Attachment, error) {
		f, err := os.Open(filepath.Join(dir, "f"))
		return f, inbox.Attachment{Name: "price.pdf", MIME: "application/pdf", Size: 8}, err
	})
	if opts.Auth.LoginRate == 0 {
		opts.Auth.LoginRate = 10000 // the matrix signs in hundreds of times from one address
	}
	if opts.Auth.MaxIPFailures == 0 {
		opts.Auth.MaxIPFailures = 1000
	}
	opts.Auth.PasswordCost = bcrypt.MinCost
	fx.srv = newTestServer(t, opts)
	fx.h = fx.srv.Handler()
	return fx
}

// file files a message in channel carrying the stored file id and returns
// its conversation.
func (fx *fixture) file(channel, id string) inbox.Conversation {
	fx.t.Helper()
	return fx.first(channel, "прайс",
		inbox.Attachment{URL: "/files/" + id + "/price.pdf", Name: "price.pdf", MIME: "application/pdf"})
}

// TestFilesFollowTheirMessages: a file is served to whoever sees a message
// it came with, and to nobody else — knowing its id (the content's hash)
// is not enough.
func TestFilesFollowTheirMessages(t *testing.T) {
	fx := newFixture(t, Options{})
	ctx := context.Background()
	const secret = "0f3c0000000000000000000000000000000000000000000000000000000000aa"
	help := fx.file("help", secret) // support's channel
	get := func(email string) int {
		s := fx.login(email)
		return do(t, fx.h, "GET", "/files/"+secret+"/price.pdf", "", s.header()...).Code
	}
	if code := get("olga@example.com"); code != http.StatusNotFound {
		t.Errorf("olga (sales) fetches a support file: %d, want 404", code)
	}
	if code := get("petr@example.com"); code != http.StatusOK {
		t.Errorf("petr (support) fetches a support file: %d, want 200", code)
	}
	if code := get("super@example.com"); code != http.StatusOK {
		t.Errorf("supervisor fetches a file: %d, want 200", code)
	}
	if code := do(t, fx.h, "GET", "/files/"+secret+"/price.pdf", "").Code; code != http.StatusUnauthorized {
		t.Errorf("anonymous fetch: %d, want 401", code)
	}
	// Assigned to olga, the conversation and its file are hers.
	if _, _, err := fx.st.UpdateConversation(ctx, help.ID, inbox.ConversationPatch{SetAssignee: true, AssigneeID: &fx.olga.ID}); err != nil {
		t.Fatal(err)
	}
	if code := get("olga@example.com"); code != http.StatusOK {
		t.Errorf("olga fetches the file of her conversation: %d, want 200", code)
	}
	if code := get("petr@example.com"); code != http.StatusNotFound {
		t.Errorf("petr fetches the file of olga's conversation: %d, want 404", code)
	}
}

type fileOpenerFunc func(ctx context.Context, id string) (io.ReadSeekCloser, inbox.Attachment, error)

func (f fileOpenerFunc) Open(ctx context.Context, id string) (io.ReadSeekCloser, inbox.Attachment, error) {
	return f(ctx, id)
}

// conv files a first message from a new person in channel and returns
// the new conversation.
func (fx *fixture) conv(channel string) inbox.Conversation {
	fx.t.Helper()
	return fx.first(channel, "Здравствуйте")
}

// first files text (with files) from a new person in channel and returns
// the new conversation.
func (fx *fixture) first(channel, text string, files ...inbox.Attachment) inbox.Conversation {
	fx.t.Helper()
	n := fx.seq.Add(1)
	env := inbox.Envelope{
		DedupeKey: fmt.Sprintf("test:%s:%d", channel, n), ChannelID: channel, ChannelType: inbox.ChannelAPI,
		Kind: inbox.KindText, Text: text, Attachments: files, ReceivedAt: time.Now(),
		From: inbox.Contact{Name: fmt.Sprintf("Клиент %d", n),
			Identities: []inbox.Identity{{Kind: inbox.IdentityPhone, Value: fmt.Sprintf("+7912%07d", n)}}},
	}
	filed, _, err := fx.st.FileBatch(context.Background(), []inbox.Envelope{env})
	if err != nil {
		fx.t.Fatal(err)
	}
	c, err := fx.st.GetConversation(context.Background(), filed[0].Message.ConversationID)
	if err != nil {
		fx.t.Fatal(err)
	}
	return c
}

// duplicate makes an open duplicate suggestion and returns its id: a
// message from one card's phone that also names another card's phone.
func (fx *fixture) duplicate() int64 {
	fx.t.Helper()
	ctx := context.Background()
	phoneOf := func(c inbox.Conversation) inbox.Identity {
		card, err := fx.st.GetClient(ctx, c.ClientID)
		if err != nil {
			fx.t.Fatal(err)
		}
		return card.Identities[0]
	}
	a, b := phoneOf(fx.conv("shop")), phoneOf(fx.conv("shop"))
	env := inbox.Envelope{
		DedupeKey: fmt.Sprintf("test:dup:%d", fx.seq.Add(1)), ChannelID: "shop", ChannelType: inbox.ChannelAPI,
		Kind: inbox.KindText, Text: "ещё раз", ReceivedAt: time.Now(),
		From: inbox.Contact{Identities: []inbox.Identity{b, a}},
	}
	if _, _, err := fx.st.FileBatch(ctx, []inbox.Envelope{env}); err != nil {
		fx.t.Fatal(err)
	}
	ds, _, err := fx.st.ListDuplicates(ctx, 0, "", 1)
	if err != nil || len(ds) != 1 || ds[0].Resolved {
		fx.t.Fatalf("no duplicate suggested: %+v (%v)", ds, err)
	}
	return ds[0].ID
}

// who is a kind of caller the matrix tries every route as.
type who struct {
	name  string
	role  inbox.Role       // "" is nobody
	scope inbox.TokenScope // "" is the page's session
}

var callers = []who{
	{"anonymous", "", ""},
	{"operator", inbox.RoleOperator, ""},
	{"operator token", inbox.RoleOperator, inbox.ScopeWrite},
	{"supervisor", inbox.RoleSupervisor, ""},
	{"admin", inbox.RoleAdmin, ""},
	{"admin read token", inbox.RoleAdmin, inbox.ScopeRead},
	{"admin write token", inbox.RoleAdmin, inbox.ScopeWrite},
	{"admin token", inbox.RoleAdmin, inbox.ScopeAdmin},
}

// creds are a caller's fresh credentials: headers to send, and the
// session or token they hold.
type creds struct {
	op      inbox.OperatorDetail
	header  []string
	session int64 // 0 for tokens
}

func (fx *fixture) operatorFor(role inbox.Role) inbox.OperatorDetail {
	switch role {
	case inbox.RoleAdmin:
		return fx.admin
	case inbox.RoleSupervisor:
		return fx.super
	}
	return fx.olga
}

// signIn posts to /session and returns the cookie and CSRF headers.
func (fx *fixture) signIn(email, password string) (cookie, csrf string, resp *httptest.ResponseRecorder) {
	fx.t.Helper()
	body := fmt.Sprintf(`{"email":%q,"password":%q}`, email, password)
	w := do(fx.t, fx.h, "POST", "/api/v1/session", body, "Content-Type", "application/json")
	if w.Code != http.StatusOK {
		return "", "", w
	}
	var sb sessionBody
	if err := json.Unmarshal(w.Body.Bytes(), &sb); err != nil {
		fx.t.Fatal(err)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == sessionCookie {
			cookie = c.Name + "=" + c.Value
		}
	}
	if cookie == "" || sb.CSRFToken == "" {
		fx.t.Fatalf("sign-in answered %s without a cookie or CSRF token", w.Body)
	}
	return cookie, sb.CSRFToken, w
}

func (fx *fixture) credsFor(c who) creds {
	fx.t.Helper()
	if c.role == "" {
		return creds{op: fx.olga} // what requests are built for
	}
	op := fx.operatorFor(c.role)
	if c.scope == "" {
		cookie, csrf, _ := fx.signIn(op.Email, fxPassword)
		list, err := fx.st.ListSessions(context.Background(), op.ID)
		if err != nil || len(list) == 0 {
			fx.t.Fatalf("sessions: %v", err)
		}
		return creds{op: op, header: []string{"Cookie", cookie, csrfHeader, csrf}, session: list[0].ID}
	}
	token, hash := inbox.NewToken()
	if _, err := fx.st.CreateScopedToken(context.Background(), 0, inbox.APIToken{OperatorID: op.ID, Scope: c.scope}, hash); err != nil {
		fx.t.Fatal(err)
	}
	return creds{op: op, header: []string{"Authorization", "Bearer " + token}}
}

// call is one request of the matrix.
type call struct {
	method, path, body string
	header             []string
}

// entry is what the matrix expects of one route, written here apart from
// routes.go so that a route whose level changes fails the test.
type entry struct {
	level level
	// req builds a request on something the operator may see, creating
	// it when the request would use it up.
	req func(fx *fixture, c creds) call
	// ok is the status of an allowed request.
	ok int
	// okFor, when set, overrides ok per caller.
	okFor func(c who) int
	// foreign, when set, builds the request on something of another team,
	// which an operator must not even learn exists (404).
	foreign func(fx *fixture, c creds) call
	// ends says the request ends the caller's credentials, which then
	// must be fresh.
	ends bool
}

func get(path string) call                 { return call{method: "GET", path: path} }
func post(path, body string) call          { return call{method: "POST", path: path, body: body} }
func patch(path, body string) call         { return call{method: "PATCH", path: path, body: body} }
func del(path string) call                 { return call{method: "DELETE", path: path} }
func convPath(c inbox.Conversation) string { return fmt.Sprintf("/api/v1/conversations/%d", c.ID) }
func clientPath(id int64) string           { return fmt.Sprintf("/api/v1/clients/%d", id) }

// onConv builds a request on a fresh conversation of channel.
func onConv(channel string, build func(p string) call) func(fx *fixture, c creds) call {
	return func(fx *fixture, _ creds) call { return build(convPath(fx.conv(channel))) }
}

func onClient(channel string, build func(p string) call) func(fx *fixture, c creds) call {
	return func(fx *fixture, _ creds) call { return build(clientPath(fx.conv(channel).ClientID)) }
}

// mailTo starts a mail, in the email channel "mail", to the address of a
// new card whose lead came in channel.
func mailTo(channel string) func(fx *fixture, c creds) call {
	return func(fx *fixture, _ creds) call {
		n := fx.seq.Add(1)
		addr := fmt.Sprintf("lead%d@example.com", n)
		filed, _, err := fx.st.FileBatch(context.Background(), []inbox.Envelope{{
			DedupeKey: fmt.Sprintf("test:%s:%d", channel, n), ChannelID: channel, ChannelType: inbox.ChannelForm,
			Kind: inbox.KindForm, Text: "перезвоните", ReceivedAt: time.Now(),
			From: inbox.Contact{Identities: []inbox.Identity{{Kind: inbox.IdentityEmail, Value: addr}}},
		}})
		if err != nil {
			fx.t.Fatal(err)
		}
		c, err := fx.st.GetConversation(context.Background(), filed[0].Message.ConversationID)
		if err != nil {
			fx.t.Fatal(err)
		}
		return post(clientPath(c.ClientID)+"/conversations", fmt.Sprintf(`{"channel":"mail","to":%q,"subject":"Заказ","text":"Здравствуйте!"}`, addr))
	}
}

// onTask builds a request on a fresh task about a fresh card of channel.
func onTask(channel string, build func(p string) call) func(fx *fixture, c creds) call {
	return func(fx *fixture, _ creds) call {
		t, _, err := fx.st.CreateTask(context.Background(), 0, fx.conv(channel).ClientID, inbox.Task{Title: "перезвонить"})
		if err != nil {
			fx.t.Fatal(err)
		}
		return build(fmt.Sprintf("/api/v1/tasks/%d", t.ID))
	}
}

func fixed(c call) func(fx *fixture, c creds) call {
	return func(*fixture, creds) call { return c }
}

var matrix = map[string]entry{
	"POST /hooks/{type}/{channel}":           {level: levelPublic, req: fixed(post("/hooks/api/crm", `{}`)), ok: 200},
	"GET /hooks/{type}/{channel}":            {level: levelPublic, req: fixed(get("/hooks/api/crm")), ok: 200},
	"OPTIONS /hooks/{type}/{channel}":        {level: levelPublic, req: fixed(call{method: "OPTIONS", path: "/hooks/api/crm"}), ok: 404},
	"GET /hooks/{type}/{channel}/embed.js":   {level: levelPublic, req: fixed(get("/hooks/api/crm/embed.js")), ok: 404},
	"POST /hooks/{type}/{channel}/{rest...}": {level: levelPublic, req: fixed(post("/hooks/api/crm/events/call", `{}`)), ok: 404},
	"GET /{$}":                               {level: levelPublic, req: fixed(get("/")), ok: 200},
	"GET /ui/":                               {level: levelPublic, req: fixed(get("/ui/app.js")), ok: 200},
	"GET /healthz":                           {level: levelPublic, req: fixed(get("/healthz")), ok: 200},
	"GET /readyz":                            {level: levelPublic, req: fixed(get("/readyz")), ok: 200},
	"GET /metrics":                           {level: levelPublic, req: fixed(get("/metrics")), ok: 200},
	"POST /api/v1/session": {level: levelPublic, ok: 200, req: fixed(call{method: "POST", path: "/api/v1/session",
		body: `{"email":"olga@example.com","password":"` + fxPassword + `"}`, header: []string{"Content-Type", "application/json"}})},

	"GET /api/v1/session": {level: levelOperator, req: fixed(get("/api/v1/session")), ok: 200},
	"DELETE /api/v1/session": {level: levelOperator, ends: true, req: fixed(del("/api/v1/session")), okFor: func(c who) int {
		if c.scope != "" {
			return 400 // tokens are revoked as tokens
		}
		return 204
	}},
	"GET /api/v1/sessions": {level: levelOperator, req: fixed(get("/api/v1/sessions")), ok: 200},
	"DELETE /api/v1/sessions/{id}": {level: levelOperator, ok: 204, req: func(fx *fixture, c creds) call {
		s, err := fx.st.CreateSession(context.Background(), inbox.Session{OperatorID: c.op.ID, CSRFToken: "x",
			ExpiresAt: time.Now().Add(time.Hour)}, fmt.Sprintf("other-%d", fx.seq.Add(1)))
		if err != nil {
			fx.t.Fatal(err)
		}
		return del(fmt.Sprintf("/api/v1/sessions/%d", s.ID))
	}},
	// The same password again, so that the matrix can sign in afterwards.
	"POST /api/v1/password": {level: levelOperator, ends: true, ok: 204,
		req: fixed(post("/api/v1/password", `{"current":"`+fxPassword+`","new":"`+fxPassword+`"}`))},
	"POST /api/v1/sessions/revoke-all": {level: levelOperator, ends: true, req: fixed(post("/api/v1/sessions/revoke-all", "")), ok: 200},
	"GET /api/v1/tokens":               {level: levelOperator, req: fixed(get("/api/v1/tokens")), ok: 200},
	"POST /api/v1/tokens":              {level: levelOperator, req: fixed(post("/api/v1/tokens", `{"name":"x","scope":"read"}`)), ok: 201},
	"DELETE /api/v1/tokens/{id}": {level: levelOperator, ok: 204, req: func(fx *fixture, c creds) call {
		_, hash := inbox.NewToken()
		tok, err := fx.st.CreateScopedToken(context.Background(), 0, inbox.APIToken{OperatorID: c.op.ID, Scope: inbox.ScopeRead}, hash)
		if err != nil {
			fx.t.Fatal(err)
		}
		return del(fmt.Sprintf("/api/v1/tokens/%d", tok.ID))
	}},

	"GET /api/v1/conversations":        {level: levelOperator, req: fixed(get("/api/v1/conversations")), ok: 200},
	"GET /api/v1/messages/search":      {level: levelOperator, req: fixed(get("/api/v1/messages/search?q=%D0%BA%D1%83%D1%85%D0%BD%D1%8F")), ok: 200},
	"GET /api/v1/conversations/counts": {level: levelOperator, req: fixed(get("/api/v1/conversations/counts")), ok: 200},
	"GET /api/v1/conversations/{id}": {level: levelOperator, ok: 200,
		req: onConv("shop", get), foreign: onConv("help", get)},
	"PATCH /api/v1/conversations/{id}": {level: levelOperator, ok: 200,
		req:     onConv("site", func(p string) call { return patch(p, `{"status":"open"}`) }),
		foreign: onConv("help", func(p string) call { return patch(p, `{"status":"open"}`) })},
	"GET /api/v1/conversations/{id}/messages": {level: levelOperator, ok: 200,
		req:     onConv("shop", func(p string) call { return get(p + "/messages") }),
		foreign: onConv("help", func(p string) call { return get(p + "/messages") })},
	"POST /api/v1/conversations/{id}/messages": {level: levelOperator, ok: 202,
		req:     onConv("shop", func(p string) call { return post(p+"/messages", `{"text":"Добрый день"}`) }),
		foreign: onConv("help", func(p string) call { return post(p+"/messages", `{"text":"Добрый день"}`) })},
	"GET /api/v1/conversations/{id}/routes": {level: levelOperator, ok: 200,
		req: onConv("shop", func(p string) call { return get(p + "/routes") }), foreign: onConv("help", func(p string) call { return get(p + "/routes") })},
	"POST /api/v1/conversations/{id}/read": {level: levelOperator, ok: 200,
		req:     onConv("shop", func(p string) call { return post(p+"/read", "") }),
		foreign: onConv("help", func(p string) call { return post(p+"/read", "") })},
	"POST /api/v1/conversations/{id}/unread": {level: levelOperator, ok: 200,
		req:     onConv("shop", func(p string) call { return post(p+"/unread", "") }),
		foreign: onConv("help", func(p string) call { return post(p+"/unread", "") })},
	"POST /api/v1/conversations/{id}/accept": {level: levelOperator, ok: 200,
		req:     onConv("shop", func(p string) call { return post(p+"/accept", "") }),
		foreign: onConv("help", func(p string) call { return post(p+"/accept", "") })},
	"POST /api/v1/conversations/{id}/link": {level: levelOperator, ok: 200,
		req: func(fx *fixture, _ creds) call {
			return post(convPath(fx.conv("shop"))+"/link", fmt.Sprintf(`{"client_id":%d}`, fx.conv("site").ClientID))
		},
		foreign: func(fx *fixture, _ creds) call {
			// A conversation the operator sees, linked to a card they do not.
			return post(convPath(fx.conv("shop"))+"/link", fmt.Sprintf(`{"client_id":%d}`, fx.conv("help").ClientID))
		}},
	"POST /api/v1/conversations/{id}/reject": {level: levelOperator, ok: 200,
		req:     onConv("shop", func(p string) call { return post(p+"/reject", "") }),
		foreign: onConv("help", func(p string) call { return post(p+"/reject", "") })},
	"GET /api/v1/clients": {level: levelOperator, req: fixed(get("/api/v1/clients?q=Клиент")), ok: 200},
	"GET /api/v1/clients/{id}": {level: levelOperator, ok: 200,
		req: onClient("shop", get), foreign: onClient("help", get)},
	"PATCH /api/v1/clients/{id}": {level: levelOperator, ok: 200,
		req:     onClient("shop", func(p string) call { return patch(p, `{"tags":["vip"]}`) }),
		foreign: onClient("help", func(p string) call { return patch(p, `{"tags":["vip"]}`) })},
	"POST /api/v1/clients/{id}/notes": {level: levelOperator, ok: 201,
		req:     onClient("shop", func(p string) call { return post(p+"/notes", `{"text":"перезвонить"}`) }),
		foreign: onClient("help", func(p string) call { return post(p+"/notes", `{"text":"перезвонить"}`) })},
	"POST /api/v1/clients/{id}/consents": {level: levelOperator, ok: 201,
		req:     onClient("shop", func(p string) call { return post(p+"/consents", `{"kind":"marketing","text_version":"v1"}`) }),
		foreign: onClient("help", func(p string) call { return post(p+"/consents", `{"kind":"marketing","text_version":"v1"}`) })},
	"POST /api/v1/clients/{id}/tasks": {level: levelOperator, ok: 201,
		req:     onClient("shop", func(p string) call { return post(p+"/tasks", `{"title":"позвонить"}`) }),
		foreign: onClient("help", func(p string) call { return post(p+"/tasks", `{"title":"позвонить"}`) })},
	"POST /api/v1/clients/{id}/conversations": {level: levelOperator, ok: 202,
		req: mailTo("shop"), foreign: mailTo("help")},
	"POST /api/v1/clients/{id}/call": {level: levelOperator, ok: 202,
		req:     onClient("shop", func(p string) call { return post(p+"/call", `{}`) }),
		foreign: onClient("help", func(p string) call { return post(p+"/call", `{}`) })},
	"GET /api/v1/tasks": {level: levelOperator, req: fixed(get("/api/v1/tasks?mine=1&state=open")), ok: 200},
	"PATCH /api/v1/tasks/{id}": {level: levelOperator, ok: 200,
		req:     onTask("shop", func(p string) call { return patch(p, `{"done":true}`) }),
		foreign: onTask("help", func(p string) call { return patch(p, `{"done":true}`) })},
	"DELETE /api/v1/tasks/{id}": {level: levelOperator, ok: 204,
		req:     onTask("shop", del),
		foreign: onTask("help", del)},
	"GET /api/v1/clients/{id}/duplicates": {level: levelOperator, ok: 200,
		req:     onClient("shop", func(p string) call { return get(p + "/duplicates") }),
		foreign: onClient("help", func(p string) call { return get(p + "/duplicates") })},
	// Without the websocket handshake the upgrader answers 400: past the
	// checks, which is what the matrix is about (ws_test dials for real).
	"GET /api/v1/ws":             {level: levelOperator, req: fixed(get("/api/v1/ws")), ok: 400},
	"GET /api/v1/canned-replies": {level: levelOperator, req: fixed(get("/api/v1/canned-replies")), ok: 200},
	"POST /api/v1/canned-replies": {level: levelOperator, ok: 201, req: func(fx *fixture, _ creds) call {
		return post("/api/v1/canned-replies", fmt.Sprintf(`{"title":"t%d","text":"Добрый день"}`, fx.seq.Add(1)))
	}},
	"PATCH /api/v1/canned-replies/{id}": {level: levelOperator, ok: 200, req: func(fx *fixture, c creds) call {
		cr, err := fx.st.CreateCannedReply(context.Background(), c.op.ID, c.op.Role, inbox.CannedReply{Title: fmt.Sprintf("p%d", fx.seq.Add(1)), Text: "x", Scope: inbox.CannedPersonal})
		if err != nil {
			fx.t.Fatal(err)
		}
		return patch(fmt.Sprintf("/api/v1/canned-replies/%d", cr.ID), `{"text":"y"}`)
	}},
	"DELETE /api/v1/canned-replies/{id}": {level: levelOperator, ok: 204, req: func(fx *fixture, c creds) call {
		cr, err := fx.st.CreateCannedReply(context.Background(), c.op.ID, c.op.Role, inbox.CannedReply{Title: fmt.Sprintf("d%d", fx.seq.Add(1)), Text: "x", Scope: inbox.CannedPersonal})
		if err != nil {
			fx.t.Fatal(err)
		}
		return del(fmt.Sprintf("/api/v1/canned-replies/%d", cr.ID))
	}},
	"GET /api/v1/directory":                   {level: levelOperator, req: fixed(get("/api/v1/directory")), ok: 200},
	"GET /api/v1/alerts":                      {level: levelOperator, req: fixed(get("/api/v1/alerts")), ok: 200},
	"POST /api/v1/alerts/read":                {level: levelOperator, req: fixed(post("/api/v1/alerts/read", `{"upto":1}`)), ok: 204},
	"GET /files/signed/{channel}/{id}/{name}": {level: levelPublic, req: fixed(get("/files/signed/crm/x/y.pdf?exp=1&sig=00")), ok: 404},
	"GET /api/v1/channels/health":             {level: levelOperator, req: fixed(get("/api/v1/channels/health")), ok: 200},
	"GET /api/v1/channels/{id}/status":        {level: levelOperator, req: fixed(get("/api/v1/channels/crm/status")), ok: 200},
	"GET /files/{id}/{name}":                  {level: levelOperator, req: fixed(get("/files/abc/price.pdf")), ok: 200},

	"POST /api/v1/imports": {level: levelSupervisor, ok: 202, req: fixed(call{method: "POST", path: "/api/v1/imports",
		body: "phone;name\n+79180000201;Ада\n", header: []string{"Content-Type", "text/csv"}})},
	"GET /api/v1/imports/{id}": {level: levelSupervisor, ok: 200, req: func(fx *fixture, c creds) call {
		job, err := fx.st.StartImport(context.Background(), 0)
		if err != nil {
			fx.t.Fatal(err)
		}
		return get(fmt.Sprintf("/api/v1/imports/%d", job.ID))
	}},
	"GET /api/v1/imports/{id}/rejected.csv": {level: levelSupervisor, ok: 200, req: func(fx *fixture, c creds) call {
		job, err := fx.st.StartImport(context.Background(), 0)
		if err != nil {
			fx.t.Fatal(err)
		}
		return get(fmt.Sprintf("/api/v1/imports/%d/rejected.csv", job.ID))
	}},
	"GET /api/v1/clients.csv":        {level: levelSupervisor, req: fixed(get("/api/v1/clients.csv")), ok: 200},
	"GET /api/v1/clients/count":      {level: levelSupervisor, req: fixed(get("/api/v1/clients/count?tags=vip&open=false")), ok: 200},
	"GET /api/v1/clients/filter":     {level: levelSupervisor, req: fixed(get("/api/v1/clients/filter?channel=shop")), ok: 200},
	"GET /api/v1/clients/filter.csv": {level: levelSupervisor, req: fixed(get("/api/v1/clients/filter.csv?channel=shop")), ok: 200},
	"GET /api/v1/segments":           {level: levelSupervisor, req: fixed(get("/api/v1/segments")), ok: 200},
	"POST /api/v1/segments": {level: levelSupervisor, ok: 201,
		req: fixed(post("/api/v1/segments", `{"name":"Магазин","filter":{"channel":"shop"}}`))},
	"PATCH /api/v1/segments/{id}": {level: levelSupervisor, ok: 200, req: func(fx *fixture, c creds) call {
		return patch(fmt.Sprintf("/api/v1/segments/%d", fx.segment(c)), `{"name":"Магазин, все"}`)
	}},
	"DELETE /api/v1/segments/{id}": {level: levelSupervisor, ok: 204, req: func(fx *fixture, c creds) call {
		return del(fmt.Sprintf("/api/v1/segments/%d", fx.segment(c)))
	}},
	"GET /api/v1/segments/{id}/clients.csv": {level: levelSupervisor, ok: 200, req: func(fx *fixture, c creds) call {
		return get(fmt.Sprintf("/api/v1/segments/%d/clients.csv", fx.segment(c)))
	}},
	"POST /api/v1/clients/import": {level: levelSupervisor, ok: 200, req: func(fx *fixture, _ creds) call {
		return post("/api/v1/clients/import", fmt.Sprintf("name;phone\nИмпорт;+7913%07d\n", fx.seq.Add(1)))
	}},
	"POST /api/v1/clients/{id}/merge": {level: levelSupervisor, ok: 200, req: func(fx *fixture, _ creds) call {
		return post(clientPath(fx.conv("shop").ClientID)+"/merge", fmt.Sprintf(`{"from":%d}`, fx.conv("help").ClientID))
	}},
	"GET /api/v1/clients/{id}/export": {level: levelSupervisor, ok: 200,
		req: onClient("shop", func(p string) call { return get(p + "/export") })},
	"POST /api/v1/clients/{id}/erase": {level: levelSupervisor, ok: 200,
		req: onClient("shop", func(p string) call { return post(p+"/erase", "") })},
	"GET /api/v1/duplicates":               {level: levelSupervisor, req: fixed(get("/api/v1/duplicates")), ok: 200},
	"GET /api/v1/supervision":              {level: levelSupervisor, req: fixed(get("/api/v1/supervision")), ok: 200},
	"GET /api/v1/reports/{name}":           {level: levelSupervisor, req: fixed(get("/api/v1/reports/leads")), ok: 200},
	"GET /api/v1/reports/{name}/chart.svg": {level: levelSupervisor, req: fixed(get("/api/v1/reports/leads/chart.svg")), ok: 200},
	"POST /api/v1/duplicates/{id}/dismiss": {level: levelSupervisor, ok: 200, req: func(fx *fixture, _ creds) call {
		return post(fmt.Sprintf("/api/v1/duplicates/%d/dismiss", fx.duplicate()), "")
	}},

	"GET /api/v1/operators": {level: levelAdmin, req: fixed(get("/api/v1/operators")), ok: 200},
	"POST /api/v1/operators": {level: levelAdmin, ok: 201, req: func(fx *fixture, _ creds) call {
		return post("/api/v1/operators", fmt.Sprintf(`{"email":"new%d@example.com","role":"operator","teams":["sales"]}`, fx.seq.Add(1)))
	}},
	"GET /api/v1/operators/{id}": {level: levelAdmin, ok: 200, req: func(fx *fixture, _ creds) call {
		return get(fmt.Sprintf("/api/v1/operators/%d", fx.petr.ID))
	}},
	"PATCH /api/v1/operators/{id}": {level: levelAdmin, ok: 200, req: func(fx *fixture, _ creds) call {
		return patch(fmt.Sprintf("/api/v1/operators/%d", fx.petr.ID), `{"name":"Пётр"}`)
	}},
	"POST /api/v1/operators/{id}/unlock": {level: levelAdmin, ok: 200, req: func(fx *fixture, _ creds) call {
		return post(fmt.Sprintf("/api/v1/operators/%d/unlock", fx.petr.ID), "")
	}},
	"DELETE /api/v1/login-locks": {level: levelAdmin, req: fixed(del("/api/v1/login-locks?ip=198.51.100.7")), ok: 200},
	"GET /api/v1/teams":          {level: levelAdmin, req: fixed(get("/api/v1/teams")), ok: 200},
	"POST /api/v1/teams": {level: levelAdmin, ok: 201, req: func(fx *fixture, _ creds) call {
		return post("/api/v1/teams", fmt.Sprintf(`{"name":"team-%d"}`, fx.seq.Add(1)))
	}},
	"DELETE /api/v1/teams/{id}": {level: levelAdmin, ok: 204, req: func(fx *fixture, _ creds) call {
		t, _, err := fx.st.CreateTeam(context.Background(), 0, fmt.Sprintf("gone-%d", fx.seq.Add(1)))
		if err != nil {
			fx.t.Fatal(err)
		}
		return del(fmt.Sprintf("/api/v1/teams/%d", t.ID))
	}},
	"GET /api/v1/audit":                 {level: levelAdmin, req: fixed(get("/api/v1/audit?entity=client")), ok: 200},
	"GET /api/v1/channels":              {level: levelAdmin, req: fixed(get("/api/v1/channels")), ok: 200},
	"GET /api/v1/channels/{id}/details": {level: levelAdmin, req: fixed(get("/api/v1/channels/crm/details")), ok: 200},
	"GET /api/v1/webhooks":              {level: levelAdmin, req: fixed(get("/api/v1/webhooks")), ok: 200},
	"POST /api/v1/webhooks": {level: levelAdmin, ok: 201, req: func(fx *fixture, _ creds) call {
		return post("/api/v1/webhooks", fmt.Sprintf(`{"url":"https://erp%d.example.com/in","events":["client.*"]}`, fx.seq.Add(1)))
	}},
	"PATCH /api/v1/webhooks/{id}": {level: levelAdmin, ok: 200, req: func(fx *fixture, _ creds) call {
		return patch(fmt.Sprintf("/api/v1/webhooks/%d", fx.webhook().ID), `{"events":["task.*"]}`)
	}},
	"DELETE /api/v1/webhooks/{id}": {level: levelAdmin, ok: 204, req: func(fx *fixture, _ creds) call {
		return del(fmt.Sprintf("/api/v1/webhooks/%d", fx.webhook().ID))
	}},
	"GET /api/v1/webhooks/{id}/deliveries": {level: levelAdmin, ok: 200, req: func(fx *fixture, _ creds) call {
		return get(fmt.Sprintf("/api/v1/webhooks/%d/deliveries", fx.webhook().ID))
	}},
	"POST /api/v1/webhooks/deliveries/{id}/replay": {level: levelAdmin, ok: 200, req: func(fx *fixture, _ creds) call {
		return post(fmt.Sprintf("/api/v1/webhooks/deliveries/%d/replay", fx.delivery().ID), "")
	}},
}

// expected is the status a caller gets: 401 without credentials, 403 when
// the role or the token's scope falls short, otherwise what the route
// answers.
func expected(e entry, c who, method string) int {
	ok := e.ok
	if e.okFor != nil {
		ok = e.okFor(c)
	}
	if e.level == levelPublic {
		return ok
	}
	if c.role == "" {
		return http.StatusUnauthorized
	}
	need := map[level]inbox.Role{levelOperator: inbox.RoleOperator, levelSupervisor: inbox.RoleSupervisor, levelAdmin: inbox.RoleAdmin}[e.level]
	if c.role.Rank() < need.Rank() {
		return http.StatusForbidden
	}
	if c.scope != "" {
		scope := inbox.ScopeRead
		if method != "GET" && method != "HEAD" {
			scope = inbox.ScopeWrite
		}
		if e.level == levelAdmin {
			scope = inbox.ScopeAdmin
		}
		if c.scope.Rank() < scope.Rank() {
			return http.StatusForbidden
		}
	}
	return ok
}

// TestRoleRouteMatrix walks every route of routes.go as every kind of
// caller and checks the status; routes with a "foreign" request also check
// that an operator cannot reach another team's conversations and cards.
func TestRoleRouteMatrix(t *testing.T) {
	fx := newFixture(t, Options{Channels: []ChannelInfo{{ID: "mail", Type: inbox.ChannelEmail, Status: "enabled"}}})
	fx.file("site", "abc") // the file the route serves came with a message everyone sees
	table := fx.srv.routeTable()
	seen := map[string]bool{}
	for _, rt := range table {
		seen[rt.pattern] = true
		e, ok := matrix[rt.pattern]
		if !ok {
			t.Errorf("route %q is not in the matrix: add it with who may call it", rt.pattern)
			continue
		}
		if e.level != rt.level {
			t.Errorf("route %q is mounted for %s, the matrix says %s", rt.pattern, rt.level, e.level)
		}
	}
	for pattern := range matrix {
		if !seen[pattern] {
			t.Errorf("the matrix has %q, which routes.go does not", pattern)
		}
	}
	// Credentials are made once per caller, and afresh for the requests
	// that end them.
	shared := map[string]creds{}
	for _, c := range callers {
		shared[c.name] = fx.credsFor(c)
	}
	for _, rt := range table {
		e, ok := matrix[rt.pattern]
		if !ok {
			continue
		}
		for _, c := range callers {
			t.Run(rt.pattern+"/"+c.name, func(t *testing.T) {
				fx.t = t
				cr := shared[c.name]
				if e.ends {
					// Logging out everywhere, even with a token, ends the
					// operator's shared sessions too.
					defer func() {
						for _, c := range callers {
							shared[c.name] = fx.credsFor(c)
						}
					}()
				}
				req := e.req(fx, cr)
				want := expected(e, c, req.method)
				w := do(t, fx.h, req.method, req.path, req.body, append(req.header, cr.header...)...)
				if w.Code != want {
					t.Errorf("%s %s as %s: status %d, want %d (%s)", req.method, req.path, c.name, w.Code, want, strings.TrimSpace(w.Body.String()))
				}
				if e.foreign == nil {
					return
				}
				req = e.foreign(fx, cr)
				if want == e.ok && c.role == inbox.RoleOperator {
					want = http.StatusNotFound
				}
				w = do(t, fx.h, req.method, req.path, req.body, append(req.header, cr.header...)...)
				if w.Code != want {
					t.Errorf("another team's: %s %s as %s: status %d, want %d (%s)", req.method, req.path, c.name, w.Code, want, strings.TrimSpace(w.Body.String()))
				}
			})
		}
	}
}

// A CSV import runs in the background: 202 at once, its progress and
// outcome by GET, its rejected rows as a file.
func TestBackgroundImport(t *testing.T) {
	fx := newFixture(t, Options{})
	super := fx.login("super@example.com")
	file := "phone;name\n+79180000301;Ада\n+79180000302;Борис\nне телефон;Вера\n"
	csvHeader := append(super.header(), "Content-Type", "text/csv")
	w := do(t, fx.h, "POST", "/api/v1/imports", file, csvHeader...)
	if w.Code != http.StatusAccepted {
		t.Fatalf("start: %d %s", w.Code, w.Body)
	}
	var job inbox.ImportJob
	if err := json.Unmarshal(w.Body.Bytes(), &job); err != nil || job.ID == 0 || job.State != inbox.ImportRunning {
		t.Fatalf("job %s", w.Body)
	}
	deadline := time.Now().Add(20 * time.Second)
	for job.State == inbox.ImportRunning {
		if time.Now().After(deadline) {
			t.Fatalf("the import never finished: %+v", job)
		}
		time.Sleep(20 * time.Millisecond)
		w = do(t, fx.h, "GET", fmt.Sprintf("/api/v1/imports/%d", job.ID), "", super.header()...)
		if err := json.Unmarshal(w.Body.Bytes(), &job); err != nil {
			t.Fatal(err)
		}
	}
	if job.State != inbox.ImportDone || job.Imported != 2 || job.Rejected != 1 || job.Done != job.Total {
		t.Errorf("finished job %+v", job)
	}
	w = do(t, fx.h, "GET", fmt.Sprintf("/api/v1/imports/%d/rejected.csv", job.ID), "", super.header()...)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "4;") || !strings.Contains(w.Header().Get("Content-Disposition"), "rejected") {
		t.Errorf("rejected rows: %d %q", w.Code, w.Body)
	}
	if w := do(t, fx.h, "POST", "/api/v1/imports", "", csvHeader...); w.Code != http.StatusBadRequest {
		t.Errorf("empty file: %d", w.Code)
	}
}

// An operator changes their own password: the current one must be right,
// the new one follows the rules, and every session ends.
func TestChangeOwnPassword(t *testing.T) {
	fx := newFixture(t, Options{})
	olga := fx.login("olga@example.com")
	for _, tt := range []struct {
		body string
		want int
	}{
		{`{"current":"wrong password 1","new":"Новый-пароль-2026"}`, http.StatusForbidden},
		{`{"current":"` + fxPassword + `","new":"short"}`, http.StatusBadRequest},
	} {
		if w := do(t, fx.h, "POST", "/api/v1/password", tt.body, olga.header()...); w.Code != tt.want {
			t.Errorf("%s: %d %s, want %d", tt.body, w.Code, w.Body, tt.want)
		}
	}
	w := do(t, fx.h, "POST", "/api/v1/password", `{"current":"`+fxPassword+`","new":"Новый-пароль-2026"}`, olga.header()...)
	if w.Code != http.StatusNoContent {
		t.Fatalf("change: %d %s", w.Code, w.Body)
	}
	if w := do(t, fx.h, "GET", "/api/v1/session", "", olga.header()...); w.Code != http.StatusUnauthorized {
		t.Errorf("the session lives on after the change: %d", w.Code)
	}
	if cookie, _, _ := fx.signIn("olga@example.com", fxPassword); cookie != "" {
		t.Error("the old password still signs in")
	}
	if cookie, _, w := fx.signIn("olga@example.com", "Новый-пароль-2026"); cookie == "" {
		t.Errorf("the new password does not sign in: %d %s", w.Code, w.Body)
	}
}
