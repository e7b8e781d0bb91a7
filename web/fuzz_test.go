package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/leadhub/leadhub/inbox"
)

// fakeSecurity answers every SecurityStore call with a plain success (or
// "not found" for look-ups), so that fuzzing reaches every handler's
// parsing without a database.
type fakeSecurity struct{}

var _ SecurityStore = fakeSecurity{}

func (fakeSecurity) TokenByHash(context.Context, string) (inbox.Operator, inbox.APIToken, error) {
	return inbox.Operator{}, inbox.APIToken{}, inbox.Errorf(inbox.ENOTFOUND, "token not found")
}
func (fakeSecurity) OperatorByEmail(context.Context, string) (inbox.Operator, string, error) {
	return inbox.Operator{}, "", inbox.Errorf(inbox.ENOTFOUND, "operator not found")
}
func (fakeSecurity) OperatorTeams(context.Context, int64) ([]string, error) { return nil, nil }
func (fakeSecurity) CreateSession(_ context.Context, s inbox.Session, _ string) (inbox.Session, error) {
	return s, nil
}
func (fakeSecurity) SessionByToken(context.Context, string) (inbox.Operator, inbox.Session, error) {
	return inbox.Operator{}, inbox.Session{}, inbox.Errorf(inbox.ENOTFOUND, "session not found")
}
func (fakeSecurity) TouchSession(context.Context, inbox.Session, time.Time) (bool, error) {
	return false, nil
}
func (fakeSecurity) ListSessions(context.Context, int64) ([]inbox.Session, error) { return nil, nil }
func (fakeSecurity) RevokeSession(context.Context, int64, int64, int64) (int64, []inbox.Event, error) {
	return 0, nil, inbox.Errorf(inbox.ENOTFOUND, "session not found")
}
func (fakeSecurity) RevokeSessions(context.Context, int64, int64, int64) (int, []inbox.Event, error) {
	return 0, nil, nil
}
func (fakeSecurity) CreateScopedToken(_ context.Context, _ int64, t inbox.APIToken, _ string) (inbox.APIToken, error) {
	return t, nil
}
func (fakeSecurity) ListTokens(context.Context, int64) ([]inbox.APIToken, error) { return nil, nil }
func (fakeSecurity) RevokeToken(context.Context, int64, int64, int64) (int64, []inbox.Event, error) {
	return 0, nil, inbox.Errorf(inbox.ENOTFOUND, "token not found")
}
func (fakeSecurity) LoginLockedUntil(context.Context, []string) (time.Time, error) {
	return time.Time{}, nil
}
func (fakeSecurity) LoginFailed(context.Context, string, int, time.Duration, time.Duration) (time.Time, error) {
	return time.Time{}, nil
}
func (fakeSecurity) LoginSucceeded(context.Context, string) error { return nil }
func (fakeSecurity) UnlockOperator(context.Context, int64, int64) (bool, error) {
	return false, inbox.Errorf(inbox.ENOTFOUND, "operator not found")
}
func (fakeSecurity) UnlockAddress(context.Context, int64, string) (bool, error) { return false, nil }
func (fakeSecurity) ListOperators(context.Context) ([]inbox.OperatorDetail, error) {
	return nil, nil
}
func (fakeSecurity) Operator(context.Context, int64) (inbox.OperatorDetail, error) {
	return inbox.OperatorDetail{}, inbox.Errorf(inbox.ENOTFOUND, "operator not found")
}
func (fakeSecurity) AddOperator(_ context.Context, _ int64, op inbox.Operator, _ string, teams []string) (inbox.OperatorDetail, []inbox.Event, error) {
	return inbox.OperatorDetail{Operator: op, Teams: teams}, nil, nil
}
func (fakeSecurity) UpdateOperator(context.Context, int64, int64, inbox.OperatorPatch) (inbox.OperatorDetail, []inbox.Event, error) {
	return inbox.OperatorDetail{}, nil, inbox.Errorf(inbox.ENOTFOUND, "operator not found")
}
func (fakeSecurity) ListTeams(context.Context) ([]inbox.Team, error) { return nil, nil }
func (fakeSecurity) CreateTeam(_ context.Context, _ int64, name string) (inbox.Team, []inbox.Event, error) {
	if !inbox.ValidTeamName(name) {
		return inbox.Team{}, nil, inbox.Errorf(inbox.EINVALID, "bad team name")
	}
	return inbox.Team{Name: name}, nil, nil
}
func (fakeSecurity) DeleteTeam(context.Context, int64, int64) ([]inbox.Event, error) {
	return nil, inbox.Errorf(inbox.ENOTFOUND, "team not found")
}
func (fakeSecurity) Audit(context.Context, int64, string, string, int64, any) error { return nil }
func (fakeSecurity) ListAudit(context.Context, inbox.AuditFilter) ([]inbox.AuditEntry, string, error) {
	return nil, "", nil
}

// fuzzServer is a server on the fake store that an admin token reaches
// everywhere, with a conversation and a client to act on.
func fuzzServer(f *testing.F) http.Handler {
	store := newFakeStore()
	store.SecurityStore = fakeSecurity{}
	store.conversations[1] = inbox.Conversation{ID: 1, ClientID: 1, ChannelID: "crm", Status: inbox.StatusNew}
	store.clients[1] = inbox.ClientDetail{Client: inbox.Client{ID: 1, Name: "Иван"}}
	s, err := New(Options{Store: store, Sink: &fakeSink{}, Auth: AuthOptions{PasswordCost: bcrypt.MinCost, LoginRate: 1e9}})
	if err != nil {
		f.Fatal(err)
	}
	return s.Handler()
}

// jsonRoutes are the API routes that read a JSON body.
var jsonRoutes = []struct{ method, path string }{
	{"POST", "/api/v1/session"},
	{"PATCH", "/api/v1/conversations/1"},
	{"POST", "/api/v1/conversations/1/messages"},
	{"POST", "/api/v1/conversations/1/link"},
	{"PATCH", "/api/v1/clients/1"},
	{"POST", "/api/v1/clients/1/merge"},
	{"POST", "/api/v1/clients/1/notes"},
	{"POST", "/api/v1/clients/1/consents"},
	{"POST", "/api/v1/clients/1/tasks"},
	{"POST", "/api/v1/sessions/revoke-all"},
	{"POST", "/api/v1/tokens"},
	{"POST", "/api/v1/operators"},
	{"PATCH", "/api/v1/operators/1"},
	{"POST", "/api/v1/teams"},
}

// FuzzAPIBody: whatever JSON (or not) arrives at any route that reads a
// body, the answer is a success or a client error, never a 5xx or a panic.
func FuzzAPIBody(f *testing.F) {
	for i, seed := range []string{
		`{"email":"olga@example.com","password":"correct horse"}`,
		`{"status":"open","assignee_id":null}`, `{"assignee_id":7}`, `{"assignee_id":-1}`, `{"assignee_id":"7"}`,
		`{"text":"Добрый день!","override_dnc":true}`, `{"client_id":2}`,
		`{"name":"Иван","tags":["vip"],"custom_fields":{"inn":"7701234567","old":null},"do_not_contact":true}`,
		`{"from":2}`, `{"text":"перезвонить"}`,
		`{"kind":"personal_data","text_version":"v1","given_at":"2026-03-02T09:00:00Z","ip":"10.0.0.1"}`,
		`{"title":"позвонить","due_at":"2026-03-03T10:00:00+03:00","assignee_id":7}`,
		`{"operator_id":7}`, `{"name":"crm","scope":"read"}`,
		`{"email":"new@example.com","name":"Новый","role":"supervisor","password":"long enough","teams":["sales"]}`,
		`{"disabled":true,"teams":[],"role":"admin","password":"another long one"}`, `{"name":"sales"}`,
		``, `null`, `[]`, `{}`, `{"a":1}{"b":2}`, `{"text":"\u0000"}`, "\xff\xfe", `{"due_at":"yesterday"}`,
	} {
		f.Add(uint8(i), []byte(seed))
	}
	h := fuzzServer(f)
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		rt := jsonRoutes[int(route)%len(jsonRoutes)]
		r := httptest.NewRequest(rt.method, rt.path, strings.NewReader(string(body)))
		r.Header.Set("Authorization", "Bearer "+testToken)
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %s with %q: %d %s", rt.method, rt.path, body, w.Code, w.Body)
		}
	})
}

// queryRoutes are the routes that read their query string or path.
var queryRoutes = []string{
	"/api/v1/conversations?", "/api/v1/conversations/", "/api/v1/clients?", "/api/v1/clients/",
	"/api/v1/clients.csv?", "/api/v1/duplicates?", "/api/v1/audit?", "/api/v1/sessions?", "/api/v1/tokens?",
	"/api/v1/operators/", "/api/v1/ws?",
}

// FuzzAPIQuery: whatever query string or path id arrives, the answer is a
// success or a client error, never a 5xx or a panic.
func FuzzAPIQuery(f *testing.F) {
	for i, seed := range []string{
		"status=open&channel=crm&assignee=me&q=%D0%98%D0%B2%D0%B0%D0%BD&limit=20",
		"1", "1/messages?cursor=MTI&limit=5", "q=%2B7912&cursor=MTI", "1/duplicates", "sep=tab",
		"cursor=MTc3MjQ0MjkwMDEyMzQ1Ni40Mg", "entity=client&entity_id=1&operator=7&action=client.view&cursor=Mg",
		"operator=7", "assignee=none", "assignee=-3", "limit=-1", "after=-1", "after=99999999999999999999",
		"9223372036854775808", "0", "%zz", "status=weird", "cursor=!!",
	} {
		f.Add(uint8(i), seed)
	}
	h := fuzzServer(f)
	f.Fuzz(func(t *testing.T, route uint8, rest string) {
		target := queryRoutes[int(route)%len(queryRoutes)] + rest
		r, err := http.NewRequest("GET", target, nil)
		if err != nil || r.URL.Path == "" || !strings.HasPrefix(r.URL.Path, "/api/") {
			return // not a URL a client could send
		}
		r.RequestURI = target
		r.Header.Set("Authorization", "Bearer "+testToken)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("GET %s: %d %s", target, w.Code, w.Body)
		}
	})
}

// FuzzAuthHeaders: no Authorization, Cookie or CSRF header lets a request
// in without a real credential, and none makes the server fail.
func FuzzAuthHeaders(f *testing.F) {
	for _, seed := range [][3]string{
		{"Bearer lh_0123", "", ""}, {"bearer " + testToken + "x", "", ""}, {"Basic b3A6cHc=", "", ""},
		{"", "leadhub_session=ls_0123456789abcdef", "csrf"}, {"", "leadhub_session=", ""},
		{"", "a=b; leadhub_session=ls_x; leadhub_session=ls_y", "x"}, {"Bearer", "", ""}, {"Bearer  \t ", "", ""},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	h := fuzzServer(f)
	f.Fuzz(func(t *testing.T, authz, cookie, csrf string) {
		if strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(authz, "Bearer"), "bearer")) == testToken {
			return // the one real credential
		}
		for _, method := range []string{"GET", "PATCH"} {
			r := httptest.NewRequest(method, "/api/v1/conversations/1", strings.NewReader(`{"status":"open"}`))
			r.Header.Set("Authorization", authz)
			r.Header.Set("Cookie", cookie)
			r.Header.Set(csrfHeader, csrf)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusUnauthorized && w.Code != http.StatusForbidden {
				t.Fatalf("%s with Authorization %q, Cookie %q: %d %s", method, authz, cookie, w.Code, w.Body)
			}
		}
	})
}
