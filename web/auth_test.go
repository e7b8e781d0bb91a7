package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// session is a signed-in page: its cookie and CSRF token.
type session struct{ cookie, csrf string }

func (fx *fixture) login(email string) session {
	fx.t.Helper()
	cookie, csrf, w := fx.signIn(email, fxPassword)
	if cookie == "" {
		fx.t.Fatalf("sign in as %s: %d %s", email, w.Code, w.Body)
	}
	return session{cookie, csrf}
}

// as sends a request as the page of s would: cookie, and the CSRF token on
// changes.
func (s session) header() []string {
	return []string{"Cookie", s.cookie, csrfHeader, s.csrf, "Content-Type", "application/json"}
}

type httpRecorder = httptest.ResponseRecorder

func newRequest(method, target, body string, header ...string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return r
}

func serveReq(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func loginBodyOf(email, password string) string {
	return fmt.Sprintf(`{"email":%q,"password":%q}`, email, password)
}

func TestLogin(t *testing.T) {
	fx := newFixture(t, Options{PublicURL: "https://hub.example.com"})
	ctx := context.Background()
	w := do(t, fx.h, "POST", "/api/v1/session", loginBodyOf("Olga@Example.com ", fxPassword), "Content-Type", "application/json")
	if w.Code != http.StatusOK {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	var body struct {
		Operator    map[string]any `json:"operator"`
		CSRFToken   string         `json:"csrf_token"`
		LastEventID *int64         `json:"last_event_id"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	last, _ := fx.st.LastEventID(ctx)
	if body.Operator["email"] != "olga@example.com" || body.Operator["role"] != "operator" || body.CSRFToken == "" ||
		body.LastEventID == nil || *body.LastEventID != last || last == 0 {
		t.Fatalf("login body = %s (last event %d)", w.Body, last)
	}
	for _, k := range []string{"password", "password_hash"} {
		if _, ok := body.Operator[k]; ok {
			t.Errorf("the session's operator carries %q", k)
		}
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies = %v", cookies)
	}
	c := cookies[0]
	if c.Name != "leadhub_session" || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || len(c.Value) < 40 {
		t.Errorf("cookie = %+v; want leadhub_session, HttpOnly, Secure, SameSite=Strict, Path=/", c)
	}
	if hsts := w.Header().Get("Strict-Transport-Security"); hsts == "" {
		t.Errorf("no HSTS behind an https public URL")
	}
	s := session{c.Name + "=" + c.Value, body.CSRFToken}

	// Reload: the same body.
	w = do(t, fx.h, "GET", "/api/v1/session", "", "Cookie", s.cookie)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"csrf_token":"`+s.csrf+`"`) || !strings.Contains(w.Body.String(), `"last_event_id":`) {
		t.Fatalf("GET /session = %d %s", w.Code, w.Body)
	}

	// Wrong credentials, whatever is wrong, are the same 401.
	off := true
	if _, _, err := fx.st.UpdateOperator(ctx, 0, fx.petr.ID, inbox.OperatorPatch{Disabled: &off}); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{
		loginBodyOf("olga@example.com", "wrong password"),
		loginBodyOf("nobody@example.com", fxPassword),
		loginBodyOf("petr@example.com", fxPassword), // disabled
	} {
		w := do(t, fx.h, "POST", "/api/v1/session", b, "Content-Type", "application/json")
		if w.Code != http.StatusUnauthorized || errorOf(t, w) != "wrong email or password" || len(w.Result().Cookies()) != 0 {
			t.Errorf("login %s: %d %s", b, w.Code, w.Body)
		}
	}
	for _, tt := range []struct{ body, ctype string }{
		{`{"email":"olga@example.com"}`, "application/json"},
		{`not json`, "application/json"},
		{`{"email":"olga@example.com","password":"x","admin":true}`, "application/json"},
		{"email=olga%40example.com&password=x", "application/x-www-form-urlencoded"}, // a cross-site form
	} {
		if w := do(t, fx.h, "POST", "/api/v1/session", tt.body, "Content-Type", tt.ctype); w.Code != http.StatusBadRequest {
			t.Errorf("login %q (%s): %d, want 400", tt.body, tt.ctype, w.Code)
		}
	}

	// Both sign-in and the failures are on record, without the email of
	// the unknown account.
	entries, _, err := fx.st.ListAudit(ctx, inbox.AuditFilter{Entity: "operator"})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
		if strings.Contains(string(e.Detail), "nobody@") {
			t.Errorf("audit detail names the unknown email: %s", e.Detail)
		}
	}
	if n := strings.Count(strings.Join(actions, " "), "login.failed"); n != 3 || !slices.Contains(actions, "login") {
		t.Errorf("audit actions %v, want a login and 3 login.failed", actions)
	}

	// Log out: 204, the cookie cleared, the session gone.
	w = do(t, fx.h, "DELETE", "/api/v1/session", "", s.header()...)
	if w.Code != http.StatusNoContent {
		t.Fatalf("logout: %d %s", w.Code, w.Body)
	}
	if c := w.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
		t.Errorf("logout cookies = %v, want one cleared", c)
	}
	if w := do(t, fx.h, "GET", "/api/v1/session", "", "Cookie", s.cookie); w.Code != http.StatusUnauthorized {
		t.Errorf("GET /session after logout: %d", w.Code)
	}
}

func TestCSRF(t *testing.T) {
	fx := newFixture(t, Options{})
	s := fx.login("olga@example.com")
	c := fx.conv("shop")
	path := convPath(c)
	// A token one character off. Replacing the first character with a fixed
	// one would leave it right whenever it already was that character.
	wrong := "1" + s.csrf[1:]
	if s.csrf[0] == '1' {
		wrong = "2" + s.csrf[1:]
	}
	tests := []struct {
		name   string
		method string
		header []string
		want   int
	}{
		{"read without token", "GET", []string{"Cookie", s.cookie}, 200},
		{"change without token", "PATCH", []string{"Cookie", s.cookie}, 403},
		{"change with a wrong token", "PATCH", []string{"Cookie", s.cookie, csrfHeader, wrong}, 403},
		{"change with another session's token", "PATCH", []string{"Cookie", s.cookie, csrfHeader, fx.login("olga@example.com").csrf}, 403},
		{"change with the token", "PATCH", []string{"Cookie", s.cookie, csrfHeader, s.csrf}, 200},
		{"bogus cookie", "GET", []string{"Cookie", sessionCookie + "=ls_forged"}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(t, fx.h, tt.method, path, `{"status":"open"}`, tt.header...)
			if w.Code != tt.want {
				t.Errorf("status %d, want %d (%s)", w.Code, tt.want, w.Body)
			}
		})
	}
	// A bearer token needs no CSRF token: no browser sends it on its own.
	token, hash := inbox.NewToken()
	if _, err := fx.st.CreateScopedToken(context.Background(), 0, inbox.APIToken{OperatorID: fx.olga.ID, Scope: inbox.ScopeWrite}, hash); err != nil {
		t.Fatal(err)
	}
	if w := do(t, fx.h, "PATCH", path, `{"status":"pending"}`, "Authorization", "Bearer "+token); w.Code != http.StatusOK {
		t.Errorf("bearer PATCH: %d %s", w.Code, w.Body)
	}
}

func TestLoginLockout(t *testing.T) {
	fx := newFixture(t, Options{Auth: AuthOptions{MaxFailures: 5, MaxIPFailures: 8, Lockout: 15 * time.Minute}})
	try := func(email, password, ip string) *httpRecorder {
		r := newRequest("POST", "/api/v1/session", loginBodyOf(email, password), "Content-Type", "application/json")
		r.RemoteAddr = ip + ":1234"
		return serveReq(fx.h, r)
	}
	for i := range 5 {
		if w := try("olga@example.com", "wrong", "10.0.0.1"); w.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, w.Code)
		}
	}
	// Locked: even the right password waits, and says how long.
	w := try("olga@example.com", fxPassword, "10.0.0.2")
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("locked account: %d %s", w.Code, w.Body)
	}
	if secs, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil || secs < 14*60 || secs > 15*60 {
		t.Errorf("Retry-After %q, want about 900 seconds", w.Header().Get("Retry-After"))
	}
	// Other accounts are not locked by it.
	if w := try("super@example.com", fxPassword, "10.0.0.1"); w.Code != http.StatusOK {
		t.Errorf("another account from the same address: %d", w.Code)
	}
	// One address trying many accounts is locked as an address.
	for i := range 3 {
		if w := try(fmt.Sprintf("guess%d@example.com", i), "x", "10.0.0.1"); w.Code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, w.Code)
		}
	}
	if w := try("admin@example.com", fxPassword, "10.0.0.1"); w.Code != http.StatusTooManyRequests {
		t.Errorf("locked address: %d, want 429", w.Code)
	}
	if w := try("admin@example.com", fxPassword, "10.0.0.3"); w.Code != http.StatusOK {
		t.Errorf("from another address: %d", w.Code)
	}
	entries, _, _ := fx.st.ListAudit(context.Background(), inbox.AuditFilter{Action: "login.failed"})
	if len(entries) != 8 || !strings.Contains(string(entries[3].Detail), "account_locked_until") {
		t.Errorf("%d login.failed entries, want 8, the fifth one marking the lock", len(entries))
	}
}

func TestLoginRate(t *testing.T) {
	fx := newFixture(t, Options{Auth: AuthOptions{LoginRate: 0.001}})
	var last *httpRecorder
	for range 11 {
		last = serveReq(fx.h, newRequest("POST", "/api/v1/session", loginBodyOf("nobody@example.com", "x"), "Content-Type", "application/json"))
	}
	if last.Code != http.StatusTooManyRequests || last.Header().Get("Retry-After") == "" {
		t.Errorf("11th login in a row: %d (Retry-After %q), want 429", last.Code, last.Header().Get("Retry-After"))
	}
}

func TestSessionsAndTokensAPI(t *testing.T) {
	fx := newFixture(t, Options{})
	a, b := fx.login("olga@example.com"), fx.login("olga@example.com")
	w := do(t, fx.h, "GET", "/api/v1/sessions", "", a.header()...)
	var list struct {
		Items []map[string]any `json:"items"`
	}
	json.Unmarshal(w.Body.Bytes(), &list)
	if w.Code != 200 || len(list.Items) != 2 || list.Items[0]["current"] != false || list.Items[1]["current"] != true {
		t.Fatalf("sessions = %d %s", w.Code, w.Body)
	}
	for _, k := range []string{"csrf_token", "token_hash", "token"} {
		if _, ok := list.Items[0][k]; ok {
			t.Errorf("a listed session shows %q", k)
		}
	}
	// Someone else's sessions are not found; an operator cannot list them.
	other := fx.login("super@example.com")
	if w := do(t, fx.h, "GET", fmt.Sprintf("/api/v1/sessions?operator=%d", fx.super.ID), "", a.header()...); w.Code != 403 {
		t.Errorf("operator lists another's sessions: %d", w.Code)
	}
	sup, _ := fx.st.ListSessions(context.Background(), fx.super.ID)
	if w := do(t, fx.h, "DELETE", fmt.Sprintf("/api/v1/sessions/%d", sup[0].ID), "", a.header()...); w.Code != 404 {
		t.Errorf("operator revokes another's session: %d", w.Code)
	}
	// An admin lists and revokes anyone's.
	adm := fx.login("admin@example.com")
	if w := do(t, fx.h, "GET", fmt.Sprintf("/api/v1/sessions?operator=%d", fx.super.ID), "", adm.header()...); w.Code != 200 || !strings.Contains(w.Body.String(), `"id":`) {
		t.Errorf("admin lists a supervisor's sessions: %d %s", w.Code, w.Body)
	}
	if w := do(t, fx.h, "DELETE", fmt.Sprintf("/api/v1/sessions/%d", sup[0].ID), "", adm.header()...); w.Code != 204 {
		t.Errorf("admin revokes: %d", w.Code)
	}
	if w := do(t, fx.h, "GET", "/api/v1/session", "", other.header()...); w.Code != 401 {
		t.Errorf("revoked session still works: %d", w.Code)
	}

	// Log out everywhere.
	if w := do(t, fx.h, "POST", "/api/v1/sessions/revoke-all", "", a.header()...); w.Code != 200 || !strings.Contains(w.Body.String(), `"revoked":2`) {
		t.Fatalf("revoke-all: %d %s", w.Code, w.Body)
	}
	for _, s := range []session{a, b} {
		if w := do(t, fx.h, "GET", "/api/v1/session", "", s.header()...); w.Code != 401 {
			t.Errorf("session after log out everywhere: %d", w.Code)
		}
	}

	// Tokens: made at most as wide as the caller, shown once, listed
	// without the token, last use recorded, revocable.
	c := fx.login("olga@example.com")
	w = do(t, fx.h, "POST", "/api/v1/tokens", `{"name":"crm","scope":"admin"}`, c.header()...)
	if w.Code != 400 { // an operator cannot hold an admin token
		t.Errorf("operator asks for an admin token: %d %s", w.Code, w.Body)
	}
	w = do(t, fx.h, "POST", "/api/v1/tokens", `{"name":"crm","scope":"read"}`, c.header()...)
	var made struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
		Scope string `json:"scope"`
	}
	json.Unmarshal(w.Body.Bytes(), &made)
	if w.Code != 201 || !strings.HasPrefix(made.Token, "lh_") || made.Scope != "read" {
		t.Fatalf("create token: %d %s", w.Code, w.Body)
	}
	bearer := []string{"Authorization", "Bearer " + made.Token}
	if w := do(t, fx.h, "GET", "/api/v1/conversations", "", bearer...); w.Code != 200 {
		t.Errorf("read token reads: %d", w.Code)
	}
	if w := do(t, fx.h, "POST", "/api/v1/tokens", `{"scope":"write"}`, bearer...); w.Code != 403 {
		t.Errorf("read token makes a write token: %d", w.Code)
	}
	w = do(t, fx.h, "GET", "/api/v1/tokens", "", c.header()...)
	if w.Code != 200 || strings.Contains(w.Body.String(), made.Token) || !strings.Contains(w.Body.String(), `"last_used_at":"`) {
		t.Errorf("token list = %d %s", w.Code, w.Body)
	}
	if w := do(t, fx.h, "DELETE", fmt.Sprintf("/api/v1/tokens/%d", made.ID), "", c.header()...); w.Code != 204 {
		t.Errorf("revoke token: %d", w.Code)
	}
	if w := do(t, fx.h, "GET", "/api/v1/conversations", "", bearer...); w.Code != 401 {
		t.Errorf("revoked token: %d", w.Code)
	}
}

// TestOperatorSeesOnlyTheirs: lists, searches and the card show an
// operator only their own and their teams' unassigned conversations, and
// an operator cannot hand conversations to others.
func TestOperatorSeesOnlyTheirs(t *testing.T) {
	fx := newFixture(t, Options{})
	ctx := context.Background()
	shop, help, site := fx.conv("shop"), fx.conv("help"), fx.conv("site")
	petrsShop := fx.conv("shop")
	if _, _, err := fx.st.UpdateConversation(ctx, petrsShop.ID, inbox.ConversationPatch{SetAssignee: true, AssigneeID: &fx.petr.ID}); err != nil {
		t.Fatal(err)
	}
	olgasHelp := fx.conv("help")
	if _, _, err := fx.st.UpdateConversation(ctx, olgasHelp.ID, inbox.ConversationPatch{SetAssignee: true, AssigneeID: &fx.olga.ID}); err != nil {
		t.Fatal(err)
	}
	// One client who wrote to both shop and help.
	both := inbox.Envelope{DedupeKey: "both", ChannelID: "help", ChannelType: inbox.ChannelAPI, Kind: inbox.KindText,
		Text: "секрет поддержки", ReceivedAt: time.Now(),
		From: inbox.Contact{Identities: []inbox.Identity{{Kind: inbox.IdentityPhone, Value: fmt.Sprintf("+7912%07d", 1)}}}}
	if _, _, err := fx.st.FileBatch(ctx, []inbox.Envelope{both}); err != nil {
		t.Fatal(err)
	}

	olga := fx.login("olga@example.com")
	ids := func(path string) []int64 {
		w := do(t, fx.h, "GET", path, "", olga.header()...)
		var l struct {
			Items []struct {
				ID int64 `json:"id"`
			} `json:"items"`
		}
		if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &l) != nil {
			t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
		}
		var out []int64
		for _, it := range l.Items {
			out = append(out, it.ID)
		}
		slices.Sort(out)
		return out
	}
	want := []int64{shop.ID, site.ID, olgasHelp.ID}
	slices.Sort(want)
	if got := ids("/api/v1/conversations"); !slices.Equal(got, want) {
		t.Errorf("olga's inbox %v, want %v (not help %d, not petr's %d)", got, want, help.ID, petrsShop.ID)
	}
	if got := ids("/api/v1/conversations?assignee=" + strconv.FormatInt(fx.petr.ID, 10)); len(got) != 0 {
		t.Errorf("olga lists petr's conversations: %v", got)
	}
	wantClients := []int64{shop.ClientID, site.ClientID, olgasHelp.ClientID}
	slices.Sort(wantClients)
	if got := ids("/api/v1/clients"); !slices.Equal(got, wantClients) {
		t.Errorf("olga's cards %v, want %v", got, wantClients)
	}
	if got := ids("/api/v1/clients?q=%2B79120000002"); len(got) != 0 { // help's client

		t.Errorf("search found a card of another team: %v", got)
	}

	// The card of the client who also wrote to support shows only the
	// shop conversation and its messages.
	w := do(t, fx.h, "GET", clientPath(shop.ClientID), "", olga.header()...)
	var card inbox.ClientDetail
	json.Unmarshal(w.Body.Bytes(), &card)
	if w.Code != 200 || len(card.Conversations) != 1 || card.Conversations[0].ID != shop.ID || strings.Contains(w.Body.String(), "секрет поддержки") {
		t.Errorf("card = %d %s", w.Code, w.Body)
	}
	if entries, _, _ := fx.st.ListAudit(ctx, inbox.AuditFilter{Action: "client.view", OperatorID: fx.olga.ID}); len(entries) != 1 || entries[0].EntityID != shop.ClientID {
		t.Errorf("client.view audit = %+v", entries)
	}

	// Taking and releasing is hers; handing to others is not.
	assign := func(s session, id int64, body string) int {
		return do(t, fx.h, "PATCH", fmt.Sprintf("/api/v1/conversations/%d", id), body, s.header()...).Code
	}
	if code := assign(olga, shop.ID, fmt.Sprintf(`{"assignee_id":%d}`, fx.petr.ID)); code != 403 {
		t.Errorf("operator assigns to another: %d", code)
	}
	if code := assign(olga, shop.ID, fmt.Sprintf(`{"assignee_id":%d}`, fx.olga.ID)); code != 200 {
		t.Errorf("operator takes one: %d", code)
	}
	if code := assign(olga, shop.ID, `{"assignee_id":null}`); code != 200 {
		t.Errorf("operator releases hers: %d", code)
	}
	if code := assign(fx.login("super@example.com"), shop.ID, fmt.Sprintf(`{"assignee_id":%d}`, fx.petr.ID)); code != 200 {
		t.Errorf("supervisor reassigns: %d", code)
	}
	if code := assign(olga, shop.ID, `{"status":"closed"}`); code != 404 {
		t.Errorf("operator changes petr's conversation: %d, want 404", code)
	}
}

// TestAdminAPI: operators, teams, channels; nothing secret comes back.
func TestAdminAPI(t *testing.T) {
	fx := newFixture(t, Options{})
	adm := fx.login("admin@example.com")
	w := do(t, fx.h, "POST", "/api/v1/operators", `{"email":"New@Example.com","name":"Новый","role":"supervisor","teams":["support"]}`, adm.header()...)
	var made struct {
		ID       int64    `json:"id"`
		Email    string   `json:"email"`
		Role     string   `json:"role"`
		Teams    []string `json:"teams"`
		Password string   `json:"password"`
	}
	json.Unmarshal(w.Body.Bytes(), &made)
	if w.Code != 201 || made.Email != "new@example.com" || made.Role != "supervisor" || len(made.Password) < 12 || !slices.Equal(made.Teams, []string{"support"}) {
		t.Fatalf("create operator: %d %s", w.Code, w.Body)
	}
	if _, _, w := fx.signIn("new@example.com", made.Password); w.Code != 200 {
		t.Errorf("the generated password does not sign in: %d", w.Code)
	}
	for _, path := range []string{"/api/v1/operators", fmt.Sprintf("/api/v1/operators/%d", made.ID)} {
		w := do(t, fx.h, "GET", path, "", adm.header()...)
		if w.Code != 200 || strings.Contains(w.Body.String(), made.Password) || strings.Contains(w.Body.String(), "$2a$") ||
			strings.Contains(w.Body.String(), "password") {
			t.Errorf("GET %s = %d %s", path, w.Code, w.Body)
		}
	}
	for _, tt := range []struct{ body string }{
		{`{"email":"x@example.com","role":"boss"}`},
		{`{"email":"x@example.com","password":"short"}`},
		{`{"email":"x@example.com","teams":["nope"]}`},
		{`{"email":"","role":"operator"}`},
	} {
		if w := do(t, fx.h, "POST", "/api/v1/operators", tt.body, adm.header()...); w.Code != 400 {
			t.Errorf("create %s: %d, want 400", tt.body, w.Code)
		}
	}
	if w := do(t, fx.h, "POST", "/api/v1/operators", `{"email":"olga@example.com"}`, adm.header()...); w.Code != 409 {
		t.Errorf("create a taken email: %d", w.Code)
	}
	if w := do(t, fx.h, "PATCH", fmt.Sprintf("/api/v1/operators/%d", fx.admin.ID), `{"role":"operator"}`, adm.header()...); w.Code != 409 {
		t.Errorf("demote the last admin: %d", w.Code)
	}
	w = do(t, fx.h, "PATCH", fmt.Sprintf("/api/v1/operators/%d", made.ID), `{"password":"a new long password","teams":[]}`, adm.header()...)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"teams":[]`) {
		t.Errorf("patch operator: %d %s", w.Code, w.Body)
	}

	w = do(t, fx.h, "GET", "/api/v1/channels", "", adm.header()...)
	var chans struct {
		Items []map[string]any `json:"items"`
	}
	json.Unmarshal(w.Body.Bytes(), &chans)
	if w.Code != 200 || len(chans.Items) != 1 {
		t.Fatalf("channels: %d %s", w.Code, w.Body)
	}
	for k := range chans.Items[0] {
		if !slices.Contains([]string{"id", "type", "team", "status", "health", "can_send", "details"}, k) {
			t.Errorf("a channel shows %q", k)
		}
	}

	if w := do(t, fx.h, "POST", "/api/v1/teams", `{"name":"Sales Team"}`, adm.header()...); w.Code != 400 {
		t.Errorf("team with spaces: %d", w.Code)
	}
	entries, _, _ := fx.st.ListAudit(context.Background(), inbox.AuditFilter{Entity: "operator", OperatorID: fx.admin.ID})
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
		if strings.Contains(string(e.Detail), "$2a$") || strings.Contains(string(e.Detail), made.Password) {
			t.Errorf("audit detail carries a password: %s", e.Detail)
		}
	}
	if !slices.Contains(actions, "operator.create") || !slices.Contains(actions, "operator.update") {
		t.Errorf("audit actions %v", actions)
	}
	w = do(t, fx.h, "GET", "/api/v1/audit?entity=operator&entity_id="+strconv.FormatInt(made.ID, 10)+"&limit=1", "", adm.header()...)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"next":"`) || strings.Contains(w.Body.String(), `"next":""`) {
		t.Errorf("audit page: %d %s", w.Code, w.Body)
	}
	if w := do(t, fx.h, "GET", "/api/v1/audit?operator=x", "", adm.header()...); w.Code != 400 {
		t.Errorf("audit with a bad operator: %d", w.Code)
	}
}

// TestChannelDetails: Settings → Channels asks a channel's provider about
// it on demand, for admins only; when the provider cannot be asked, the
// admin reads why. The list says which channels have details.
func TestChannelDetails(t *testing.T) {
	fx := newFixture(t, Options{
		Channels: []ChannelInfo{{ID: "tg", Type: inbox.ChannelTelegram, Status: "enabled"}, {ID: "tg2", Type: inbox.ChannelTelegram, Status: "enabled"}},
		ChannelStatus: map[string]func(context.Context) (any, error){
			"tg": func(context.Context) (any, error) {
				return map[string]any{"webhook_url": "https://hub.example.com/hooks/telegram/tg", "pending_update_count": 3}, nil
			},
			// A provider that does not answer: the call is bounded.
			"tg2": func(ctx context.Context) (any, error) {
				if d, ok := ctx.Deadline(); !ok || time.Until(d) > detailsTimeout {
					return nil, fmt.Errorf("asked without a short deadline")
				}
				return nil, fmt.Errorf("telegram: channel tg2: getWebhookInfo: %w", context.DeadlineExceeded)
			},
		},
	})
	admin, olga := fx.login("admin@example.com"), fx.login("olga@example.com")

	w := do(t, fx.h, "GET", "/api/v1/channels/tg/details", "", admin.header()...)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"type":"telegram"`) ||
		!strings.Contains(w.Body.String(), `"webhook_url":"https://hub.example.com/hooks/telegram/tg"`) || !strings.Contains(w.Body.String(), `"pending_update_count":3`) {
		t.Errorf("details: %d %s", w.Code, w.Body)
	}
	if w := do(t, fx.h, "GET", "/api/v1/channels/tg/details", "", olga.header()...); w.Code != http.StatusForbidden {
		t.Errorf("an operator asked for details: %d, want 403", w.Code)
	}
	if w := do(t, fx.h, "GET", "/api/v1/channels/nope/details", "", admin.header()...); w.Code != http.StatusNotFound {
		t.Errorf("a channel without details: %d, want 404", w.Code)
	}
	// The admin reads why the provider could not be asked.
	w = do(t, fx.h, "GET", "/api/v1/channels/tg2/details", "", admin.header()...)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"error":"telegram: channel tg2: getWebhookInfo: context deadline exceeded"`) {
		t.Errorf("provider down: %d %s", w.Code, w.Body)
	}

	var list struct {
		Items []ChannelInfo `json:"items"`
	}
	w = do(t, fx.h, "GET", "/api/v1/channels", "", admin.header()...)
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	has := map[string]bool{}
	for _, ch := range list.Items {
		has[ch.ID] = ch.Details
	}
	if !has["tg"] || !has["tg2"] || has["crm"] {
		t.Errorf("channels with details: %v", has)
	}
}
