package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// The client-card part of fakeStore: a reply goes through CreateReply (so
// the reply tests see it), everything else answers "not found". Tests of the
// card routes use cardStore, which scripts these methods.

func (f *fakeStore) SendReply(ctx context.Context, r inbox.ReplyRequest) (inbox.Message, []inbox.Event, error) {
	m, evs, err := f.CreateReply(ctx, r.ConversationID, r.AuthorID, r.Text)
	if err == nil && r.Via != "" {
		f.mu.Lock()
		f.vias = append(f.vias, r.Via)
		f.mu.Unlock()
	}
	if err == nil && len(r.Attachments) > 0 {
		f.mu.Lock()
		f.replyFiles = append(f.replyFiles, r.Attachments)
		f.mu.Unlock()
		m.Attachments = r.Attachments
	}
	return m, evs, err
}

func (f *fakeStore) UpdateClient(context.Context, int64, int64, inbox.ClientPatch) (inbox.Client, []inbox.Event, error) {
	return inbox.Client{}, nil, notFound("client")
}

func (f *fakeStore) MergeClients(context.Context, int64, int64, int64) (inbox.Client, []inbox.Event, error) {
	return inbox.Client{}, nil, notFound("client")
}

func (f *fakeStore) AddNote(context.Context, int64, int64, string) (inbox.Note, []inbox.Event, error) {
	return inbox.Note{}, nil, notFound("client")
}

func (f *fakeStore) AddConsent(context.Context, int64, int64, inbox.Consent) (inbox.Consent, []inbox.Event, error) {
	return inbox.Consent{}, nil, notFound("client")
}

func (f *fakeStore) CreateTask(context.Context, int64, int64, inbox.Task) (inbox.Task, []inbox.Event, error) {
	return inbox.Task{}, nil, notFound("client")
}

func (f *fakeStore) ListDuplicates(context.Context, int64, string, int) ([]inbox.DuplicateSuggestion, string, error) {
	return nil, "", nil
}

func (f *fakeStore) DismissDuplicate(context.Context, int64, int64) (inbox.DuplicateSuggestion, error) {
	return inbox.DuplicateSuggestion{}, notFound("duplicate suggestion")
}

func (f *fakeStore) ExportClient(context.Context, int64, int64) (inbox.ClientExport, error) {
	return inbox.ClientExport{}, notFound("client")
}

func (f *fakeStore) EraseClient(context.Context, int64, int64) (inbox.Client, []inbox.Event, error) {
	return inbox.Client{}, nil, notFound("client")
}

func (f *fakeStore) WriteClientsCSV(_ context.Context, w io.Writer, sep rune) error {
	_, err := fmt.Fprintf(w, "id%cname\n", sep)
	return err
}

func (f *fakeStore) ImportClients(context.Context, io.Reader, inbox.ImportOptions) (inbox.ImportReport, []inbox.Event, error) {
	return inbox.ImportReport{Rows: []inbox.ImportRow{}}, nil, nil
}

func (f *fakeStore) AcceptConversation(context.Context, int64, int64) (inbox.Conversation, []inbox.Event, error) {
	return inbox.Conversation{}, nil, notFound("conversation")
}

func (f *fakeStore) LinkConversation(context.Context, int64, int64, int64) (inbox.Conversation, []inbox.Event, error) {
	return inbox.Conversation{}, nil, notFound("conversation")
}

func (f *fakeStore) RejectConversation(context.Context, int64, int64) (inbox.Conversation, []inbox.Event, error) {
	return inbox.Conversation{}, nil, notFound("conversation")
}

// cardCall is one call of a card method, as cardStore saw it.
type cardCall struct {
	method       string
	op, id, arg  int64
	patch        inbox.ClientPatch
	text         string
	consent      inbox.Consent
	task         inbox.Task
	reply        inbox.ReplyRequest
	sep          rune
	importedBody string
}

// cardStore scripts the card methods: it records every call and answers
// like the real store does at the edges: merging a card into itself is
// EINVALID, ids of 900 and above are unknown, conversation 13 belongs to a
// do-not-contact client.
type cardStore struct {
	*fakeStore
	mu    sync.Mutex
	calls []cardCall
	// csvErr, when set, fails WriteClientsCSV after the header.
	csvErr error
	// importErr, when set, is ImportClients' error.
	importErr error
}

func newCardStore() *cardStore {
	c := &cardStore{fakeStore: newFakeStore()}
	// The do-not-contact client's conversation, which replies look up.
	c.conversations[13] = inbox.Conversation{ID: 13, ClientID: 13}
	return c
}

func (c *cardStore) record(call cardCall) []inbox.Event {
	c.mu.Lock()
	c.calls = append(c.calls, call)
	c.mu.Unlock()
	// The events belong to the fake store, which the hub's reader reads
	// under its own lock.
	return []inbox.Event{c.addEvent(call.method, map[string]any{"id": call.id})}
}

func (c *cardStore) recorded() []cardCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]cardCall(nil), c.calls...)
}

func unknown(id int64) error {
	if id >= 900 {
		return notFound("client")
	}
	return nil
}

func (c *cardStore) SendReply(_ context.Context, r inbox.ReplyRequest) (inbox.Message, []inbox.Event, error) {
	if r.ConversationID == 13 && !r.OverrideDNC {
		return inbox.Message{}, nil, inbox.Errorf(inbox.ECONFLICT, "the client asked not to be contacted")
	}
	evs := c.record(cardCall{method: "reply", op: r.AuthorID, id: r.ConversationID, reply: r})
	return inbox.Message{ID: 1, ConversationID: r.ConversationID, Direction: inbox.DirectionOut, Text: r.Text,
		Delivery: inbox.DeliveryQueued}, evs, nil
}

func (c *cardStore) UpdateClient(_ context.Context, op, id int64, p inbox.ClientPatch) (inbox.Client, []inbox.Event, error) {
	if err := unknown(id); err != nil {
		return inbox.Client{}, nil, err
	}
	evs := c.record(cardCall{method: "update", op: op, id: id, patch: p})
	card := inbox.Client{ID: id}
	if p.Name != nil {
		card.Name = *p.Name
	}
	return card, evs, nil
}

func (c *cardStore) MergeClients(_ context.Context, op, into, from int64) (inbox.Client, []inbox.Event, error) {
	if into == from {
		return inbox.Client{}, nil, inbox.Errorf(inbox.EINVALID, "cannot merge a client into itself")
	}
	if err := errors.Join(unknown(into), unknown(from)); err != nil {
		return inbox.Client{}, nil, notFound("client")
	}
	evs := c.record(cardCall{method: "merge", op: op, id: into, arg: from})
	return inbox.Client{ID: into, Identities: []inbox.Identity{}}, evs, nil
}

func (c *cardStore) AddNote(_ context.Context, op, id int64, text string) (inbox.Note, []inbox.Event, error) {
	if err := unknown(id); err != nil {
		return inbox.Note{}, nil, err
	}
	evs := c.record(cardCall{method: "note", op: op, id: id, text: text})
	return inbox.Note{ID: 1, ClientID: id, AuthorID: &op, Text: text}, evs, nil
}

func (c *cardStore) AddConsent(_ context.Context, op, id int64, in inbox.Consent) (inbox.Consent, []inbox.Event, error) {
	if err := unknown(id); err != nil {
		return inbox.Consent{}, nil, err
	}
	evs := c.record(cardCall{method: "consent", op: op, id: id, consent: in})
	in.ID, in.ClientID = 1, id
	return in, evs, nil
}

func (c *cardStore) CreateTask(_ context.Context, op, id int64, t inbox.Task) (inbox.Task, []inbox.Event, error) {
	if err := unknown(id); err != nil {
		return inbox.Task{}, nil, err
	}
	evs := c.record(cardCall{method: "task", op: op, id: id, task: t})
	t.ID, t.ClientID = 1, id
	return t, evs, nil
}

func (c *cardStore) ListDuplicates(_ context.Context, id int64, _ string, _ int) ([]inbox.DuplicateSuggestion, string, error) {
	if err := unknown(id); err != nil {
		return nil, "", err
	}
	c.record(cardCall{method: "duplicates", id: id})
	return []inbox.DuplicateSuggestion{{ID: 4, ClientID: 3, OtherClientID: 5,
		Identity: inbox.Identity{Kind: inbox.IdentityEmail, Value: "a@example.com"}}}, "", nil
}

func (c *cardStore) DismissDuplicate(_ context.Context, op, id int64) (inbox.DuplicateSuggestion, error) {
	if err := unknown(id); err != nil {
		return inbox.DuplicateSuggestion{}, err
	}
	c.record(cardCall{method: "dismiss", op: op, id: id})
	return inbox.DuplicateSuggestion{ID: id, Resolved: true}, nil
}

func (c *cardStore) ExportClient(_ context.Context, op, id int64) (inbox.ClientExport, error) {
	if err := unknown(id); err != nil {
		return inbox.ClientExport{}, err
	}
	c.record(cardCall{method: "export", op: op, id: id})
	return inbox.ClientExport{Client: inbox.Client{ID: id, Name: "Иван"}, Messages: []inbox.Message{{ID: 1, Text: "привет"}}}, nil
}

func (c *cardStore) EraseClient(_ context.Context, op, id int64) (inbox.Client, []inbox.Event, error) {
	if err := unknown(id); err != nil {
		return inbox.Client{}, nil, err
	}
	evs := c.record(cardCall{method: "erase", op: op, id: id})
	return inbox.Client{ID: id, Name: fmt.Sprintf("Erased client #%d", id)}, evs, nil
}

func (c *cardStore) WriteClientsCSV(_ context.Context, w io.Writer, sep rune) error {
	c.record(cardCall{method: "csv", sep: sep})
	if _, err := fmt.Fprintf(w, "id%cname\n1%cИван\n", sep, sep); err != nil {
		return err
	}
	return c.csvErr
}

func (c *cardStore) ImportClients(_ context.Context, r io.Reader, opts inbox.ImportOptions) (inbox.ImportReport, []inbox.Event, error) {
	body, _ := io.ReadAll(r)
	evs := c.record(cardCall{method: "import", op: opts.OperatorID, importedBody: string(body)})
	if c.importErr != nil {
		return inbox.ImportReport{}, nil, c.importErr
	}
	return inbox.ImportReport{Imported: 1, Rows: []inbox.ImportRow{{Line: 2, Outcome: inbox.ImportImported, ClientID: 1}}}, evs, nil
}

func (c *cardStore) AcceptConversation(_ context.Context, op, id int64) (inbox.Conversation, []inbox.Event, error) {
	if err := unknown(id); err != nil {
		return inbox.Conversation{}, nil, notFound("conversation")
	}
	evs := c.record(cardCall{method: "accept", op: op, id: id})
	return inbox.Conversation{ID: id, Status: inbox.StatusOpen, AssigneeID: &op}, evs, nil
}

func (c *cardStore) LinkConversation(_ context.Context, op, id, clientID int64) (inbox.Conversation, []inbox.Event, error) {
	if err := errors.Join(unknown(id), unknown(clientID)); err != nil {
		return inbox.Conversation{}, nil, notFound("client")
	}
	evs := c.record(cardCall{method: "link", op: op, id: id, arg: clientID})
	return inbox.Conversation{ID: id, ClientID: clientID, Status: inbox.StatusOpen}, evs, nil
}

func (c *cardStore) RejectConversation(_ context.Context, op, id int64) (inbox.Conversation, []inbox.Event, error) {
	if err := unknown(id); err != nil {
		return inbox.Conversation{}, nil, notFound("conversation")
	}
	evs := c.record(cardCall{method: "reject", op: op, id: id})
	return inbox.Conversation{ID: id, Status: inbox.StatusClosed}, evs, nil
}

// cardRoutes are the routes of this issue with a valid id and body.
var cardRoutes = []struct{ method, path, body string }{
	{"POST", "/api/v1/conversations/3/accept", ""},
	{"POST", "/api/v1/conversations/3/link", `{"client_id":5}`},
	{"POST", "/api/v1/conversations/3/reject", ""},
	{"GET", "/api/v1/clients.csv", ""},
	{"POST", "/api/v1/clients/import", "name;phone\nИван;89123456789\n"},
	{"PATCH", "/api/v1/clients/3", `{"name":"Иван"}`},
	{"POST", "/api/v1/clients/3/merge", `{"from":5}`},
	{"POST", "/api/v1/clients/3/notes", `{"text":"перезвонить"}`},
	{"POST", "/api/v1/clients/3/consents", `{"kind":"personal_data"}`},
	{"POST", "/api/v1/clients/3/tasks", `{"title":"позвонить"}`},
	{"GET", "/api/v1/clients/3/duplicates", ""},
	{"GET", "/api/v1/clients/3/export", ""},
	{"POST", "/api/v1/clients/3/erase", ""},
	{"GET", "/api/v1/duplicates", ""},
	{"POST", "/api/v1/duplicates/4/dismiss", ""},
}

func TestAPICardRoutesNeedAToken(t *testing.T) {
	store := newCardStore()
	s := newTestServer(t, Options{Store: store})
	for _, rt := range cardRoutes {
		w := do(t, s.Handler(), rt.method, rt.path, rt.body, "Authorization", "Bearer lh_wrong")
		if w.Code != http.StatusUnauthorized {
			t.Errorf("%s %s: status %d, want 401", rt.method, rt.path, w.Code)
		}
	}
	if calls := store.recorded(); len(calls) != 0 {
		t.Errorf("store called without a valid token: %+v", calls)
	}
}

func TestAPICardRoutesBadID(t *testing.T) {
	s := newTestServer(t, Options{Store: newCardStore()})
	for _, rt := range cardRoutes {
		if !strings.Contains(rt.path, "/3") && !strings.Contains(rt.path, "/4") {
			continue
		}
		for _, id := range []string{"abc", "0", "-2"} {
			path := strings.Replace(strings.Replace(rt.path, "/3", "/"+id, 1), "/4/", "/"+id+"/", 1)
			w := do(t, s.Handler(), rt.method, path, rt.body, authed()...)
			if w.Code != http.StatusBadRequest {
				t.Errorf("%s %s: status %d, want 400", rt.method, path, w.Code)
			}
		}
	}
}

func TestAPICardActions(t *testing.T) {
	str := func(s string) *string { return &s }
	on := true
	given := time.Date(2025, 5, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
		want       *cardCall // the store call, or nil for none
		published  bool
	}{
		{"patch", "PATCH", "/api/v1/clients/3",
			`{"name":"Иван","company":"ООО Ромашка","tags":["vip"],"custom_fields":{"inn":"7701","old":null},` +
				`"do_not_contact":true,"do_not_contact_reason":"просил не звонить"}`,
			200, &cardCall{method: "update", op: 7, id: 3, patch: inbox.ClientPatch{Name: str("Иван"), Company: str("ООО Ромашка"),
				Tags: &[]string{"vip"}, CustomFields: map[string]*string{"inn": str("7701"), "old": nil},
				DoNotContact: &on, DoNotContactReason: str("просил не звонить")}}, true},
		{"patch nothing", "PATCH", "/api/v1/clients/3", `{}`, 400, nil, false},
		{"patch unknown field", "PATCH", "/api/v1/clients/3", `{"colour":"red"}`, 400, nil, false},
		{"patch wrong type", "PATCH", "/api/v1/clients/3", `{"tags":"vip"}`, 400, nil, false},
		{"patch unknown client", "PATCH", "/api/v1/clients/950", `{"name":"x"}`, 404, nil, false},
		{"merge", "POST", "/api/v1/clients/3/merge", `{"from":5}`, 200, &cardCall{method: "merge", op: 7, id: 3, arg: 5}, true},
		{"merge into itself", "POST", "/api/v1/clients/3/merge", `{"from":3}`, 400, nil, false},
		{"merge unknown from", "POST", "/api/v1/clients/3/merge", `{"from":901}`, 404, nil, false},
		{"merge unknown into", "POST", "/api/v1/clients/902/merge", `{"from":3}`, 404, nil, false},
		{"merge without from", "POST", "/api/v1/clients/3/merge", `{}`, 400, nil, false},
		{"merge bad from", "POST", "/api/v1/clients/3/merge", `{"from":"5"}`, 400, nil, false},
		{"note", "POST", "/api/v1/clients/3/notes", `{"text":"перезвонить в пятницу"}`, 201,
			&cardCall{method: "note", op: 7, id: 3, text: "перезвонить в пятницу"}, true},
		{"empty note", "POST", "/api/v1/clients/3/notes", `{"text":" "}`, 400, nil, false},
		{"consent", "POST", "/api/v1/clients/3/consents",
			`{"kind":"personal_data","text_version":"2025-01","given_at":"2025-05-01T10:00:00Z","ip":"203.0.113.5","source":"site"}`,
			201, &cardCall{method: "consent", op: 7, id: 3, consent: inbox.Consent{Kind: "personal_data", TextVersion: "2025-01",
				GivenAt: given, IP: "203.0.113.5", Source: "site"}}, true},
		{"task", "POST", "/api/v1/clients/3/tasks", `{"title":"позвонить","due_at":"2025-05-01T10:00:00Z"}`, 201,
			&cardCall{method: "task", op: 7, id: 3, task: inbox.Task{Title: "позвонить", DueAt: &given}}, true},
		{"task without title", "POST", "/api/v1/clients/3/tasks", `{"due_at":"2025-05-01T10:00:00Z"}`, 400, nil, false},
		{"duplicates of a card", "GET", "/api/v1/clients/3/duplicates", "", 200, &cardCall{method: "duplicates", id: 3}, false},
		{"duplicates of an unknown card", "GET", "/api/v1/clients/903/duplicates", "", 404, nil, false},
		{"all duplicates", "GET", "/api/v1/duplicates?limit=10", "", 200, &cardCall{method: "duplicates"}, false},
		{"dismiss", "POST", "/api/v1/duplicates/4/dismiss", "", 200, &cardCall{method: "dismiss", op: 7, id: 4}, false},
		{"export", "GET", "/api/v1/clients/3/export", "", 200, &cardCall{method: "export", op: 7, id: 3}, false},
		{"export unknown", "GET", "/api/v1/clients/904/export", "", 404, nil, false},
		{"erase", "POST", "/api/v1/clients/3/erase", "", 200, &cardCall{method: "erase", op: 7, id: 3}, true},
		{"accept", "POST", "/api/v1/conversations/3/accept", "", 200, &cardCall{method: "accept", op: 7, id: 3}, true},
		{"accept unknown", "POST", "/api/v1/conversations/905/accept", "", 404, nil, false},
		{"link", "POST", "/api/v1/conversations/3/link", `{"client_id":5}`, 200, &cardCall{method: "link", op: 7, id: 3, arg: 5}, true},
		{"link without client", "POST", "/api/v1/conversations/3/link", `{}`, 400, nil, false},
		{"link to unknown client", "POST", "/api/v1/conversations/3/link", `{"client_id":906}`, 404, nil, false},
		{"reject", "POST", "/api/v1/conversations/3/reject", "", 200, &cardCall{method: "reject", op: 7, id: 3}, true},
		{"reply to do-not-contact", "POST", "/api/v1/conversations/13/messages", `{"text":"Добрый день"}`, 409, nil, false},
		{"reply with override", "POST", "/api/v1/conversations/13/messages", `{"text":"Добрый день","override_dnc":true}`, 202,
			&cardCall{method: "reply", op: 7, id: 13, reply: inbox.ReplyRequest{ConversationID: 13, AuthorID: 7, Text: "Добрый день", OverrideDNC: true}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newCardStore()
			pub := &recordingPublisher{}
			s := newTestServer(t, Options{Store: store, Publisher: pub})
			w := do(t, s.Handler(), tt.method, tt.path, tt.body, authed()...)
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", w.Code, tt.wantStatus, w.Body.String())
			}
			if w.Code >= 400 && errorOf(t, w) == "" {
				t.Errorf("no reason in %s", w.Body.String())
			}
			calls := store.recorded()
			if tt.want == nil {
				if len(calls) != 0 {
					t.Errorf("store called: %+v", calls)
				}
				return
			}
			if len(calls) != 1 {
				t.Fatalf("store calls = %+v, want one", calls)
			}
			if got, want := fmtCall(calls[0]), fmtCall(*tt.want); got != want {
				t.Errorf("store call\n got %s\nwant %s", got, want)
			}
			if evs := pub.published(); (len(evs) > 0) != tt.published {
				t.Errorf("published %d events, want some: %v", len(evs), tt.published)
			}
		})
	}
}

// fmtCall prints a call with its pointers followed, for comparison.
func fmtCall(c cardCall) string {
	b, _ := json.Marshal(map[string]any{
		"method": c.method, "op": c.op, "id": c.id, "arg": c.arg, "text": c.text, "sep": c.sep,
		"patch": map[string]any{"name": c.patch.Name, "company": c.patch.Company, "tags": c.patch.Tags,
			"custom_fields": c.patch.CustomFields, "dnc": c.patch.DoNotContact, "reason": c.patch.DoNotContactReason,
			"spam": c.patch.Spam},
		"consent": c.consent, "task": c.task, "reply": c.reply,
	})
	return string(b)
}

func TestAPIClientDetailShape(t *testing.T) {
	store := newFakeStore()
	store.clients[9] = inbox.ClientDetail{Client: inbox.Client{ID: 9, Name: "Иван"}}
	s := newTestServer(t, Options{Store: store})
	w := do(t, s.Handler(), "GET", "/api/v1/clients/9", "", authed()...)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"identities": "[]", "tags": "[]", "raw_phones": "[]", "custom_fields": "{}",
		"conversations": "[]", "messages": "[]", "notes": "[]", "consents": "[]", "tasks": "[]", "duplicates": "[]",
		"unreachable": "[]", "do_not_contact": "false", "spam": "false"}
	for k, v := range want {
		if string(got[k]) != v {
			t.Errorf("%s = %s, want %s", k, got[k], v)
		}
	}
}

func TestAPIClientsCSV(t *testing.T) {
	tests := []struct {
		query   string
		status  int
		wantSep rune
	}{
		{"", 200, ';'},
		{"?sep=semicolon", 200, ';'},
		{"?sep=comma", 200, ','},
		{"?sep=tab", 200, '\t'},
		{"?sep=pipe", 400, 0},
	}
	for _, tt := range tests {
		store := newCardStore()
		s := newTestServer(t, Options{Store: store})
		w := do(t, s.Handler(), "GET", "/api/v1/clients.csv"+tt.query, "", authed()...)
		if w.Code != tt.status {
			t.Errorf("%q: status %d, want %d", tt.query, w.Code, tt.status)
			continue
		}
		if tt.status != 200 {
			continue
		}
		if ct := w.Header().Get("Content-Type"); ct != "text/csv; charset=utf-8" {
			t.Errorf("%q: Content-Type %q", tt.query, ct)
		}
		if cd := w.Header().Get("Content-Disposition"); !strings.Contains(cd, "clients.csv") {
			t.Errorf("%q: Content-Disposition %q", tt.query, cd)
		}
		if want := fmt.Sprintf("id%cname\n1%cИван\n", tt.wantSep, tt.wantSep); w.Body.String() != want {
			t.Errorf("%q: body %q, want %q", tt.query, w.Body.String(), want)
		}
	}

	// A failure after the first bytes breaks the download instead of
	// ending it in a short file that looks whole.
	store := newCardStore()
	store.csvErr = errors.New("database went away")
	srv := httptest.NewServer(newTestServer(t, Options{Store: store}).Handler())
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/clients.csv", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := srv.Client().Do(req)
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Error("a failed export ended like a complete one")
	}
}

func TestAPIImportClients(t *testing.T) {
	store := newCardStore()
	pub := &recordingPublisher{}
	s := newTestServer(t, Options{Store: store, Publisher: pub})
	csv := "Имя;Телефон\nИван;8 912 345-67-89\n"
	w := do(t, s.Handler(), "POST", "/api/v1/clients/import", csv, authed()...)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d (%s)", w.Code, w.Body.String())
	}
	var rep inbox.ImportReport
	if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil || rep.Imported != 1 || len(rep.Rows) != 1 || rep.Rows[0].Line != 2 {
		t.Errorf("report = %s (%v)", w.Body.String(), err)
	}
	calls := store.recorded()
	if len(calls) != 1 || calls[0].importedBody != csv || calls[0].op != testOperator.ID {
		t.Errorf("store calls = %+v", calls)
	}
	if len(pub.published()) != 1 {
		t.Errorf("import events not published")
	}

	store.importErr = inbox.Errorf(inbox.ETOOLARGE, "the file is larger than 20971520 bytes")
	if w := do(t, s.Handler(), "POST", "/api/v1/clients/import", csv, authed()...); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("too large: status %d, want 413", w.Code)
	}
	store.importErr = inbox.Errorf(inbox.EINVALID, "the header names no phone or email column")
	if w := do(t, s.Handler(), "POST", "/api/v1/clients/import", "a;b\n", authed()...); w.Code != http.StatusBadRequest {
		t.Errorf("bad header: status %d, want 400", w.Code)
	}
}

// UnreadFor applies the read marks recorded by MarkRead: a conversation the
// operator marked read shows 0, one marked unread at least 1.
func (f *fakeStore) UnreadFor(_ context.Context, operatorID int64, convs []inbox.Conversation) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range convs {
		if unread, ok := f.reads[[2]int64{operatorID, convs[i].ID}]; ok {
			convs[i].Unread = 0
			if unread {
				convs[i].Unread = 1
			}
		}
	}
	return nil
}

func (f *fakeStore) MarkRead(_ context.Context, conversationID, operatorID int64, unread bool) (int, []inbox.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.conversations[conversationID]; !ok {
		return 0, nil, notFound("conversation")
	}
	if f.reads == nil {
		f.reads = map[[2]int64]bool{}
	}
	f.reads[[2]int64{operatorID, conversationID}] = unread
	n := 0
	if unread {
		n = 1
	}
	ev := f.addEventLocked(inbox.EventConversationRead, inbox.ReadPayload{ConversationID: conversationID, Unread: n})
	return n, []inbox.Event{ev}, nil
}

// CountConversations counts the fake's conversations that are not closed.
func (f *fakeStore) CountConversations(_ context.Context, _ *inbox.Scope, operatorID int64, channel string) (inbox.ConversationCounts, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var n inbox.ConversationCounts
	for _, c := range f.conversations {
		if c.Status == inbox.StatusClosed || (channel != "" && c.ChannelID != channel) {
			continue
		}
		switch c.Status {
		case inbox.StatusNew:
			n.New++
		case inbox.StatusOpen:
			n.Open++
		case inbox.StatusPending:
			n.Pending++
		}
		if c.AssigneeID == nil {
			n.Unassigned++
		} else if *c.AssigneeID == operatorID {
			n.Mine++
		}
	}
	return n, nil
}

func (f *fakeStore) CannedReplies(context.Context, int64) ([]inbox.CannedReply, error) {
	return nil, nil
}
func (f *fakeStore) CreateCannedReply(_ context.Context, _ int64, _ inbox.Role, c inbox.CannedReply) (inbox.CannedReply, error) {
	return c, c.Check()
}
func (f *fakeStore) UpdateCannedReply(context.Context, int64, inbox.Role, int64, inbox.CannedPatch) (inbox.CannedReply, error) {
	return inbox.CannedReply{}, notFound("canned reply")
}
func (f *fakeStore) DeleteCannedReply(context.Context, int64, inbox.Role, int64) error {
	return notFound("canned reply")
}

// SearchMessages finds the fake's messages whose text holds q.
func (f *fakeStore) SearchMessages(_ context.Context, q inbox.MessageSearch) ([]inbox.MessageHit, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var hits []inbox.MessageHit
	for cid, list := range f.messages {
		for _, m := range list {
			if q.Q != "" && strings.Contains(m.Text, q.Q) {
				hits = append(hits, inbox.MessageHit{Message: m, Conversation: f.conversations[cid]})
			}
		}
	}
	return hits, "", nil
}

func (f *fakeStore) StartImport(context.Context, int64) (inbox.ImportJob, error) {
	return inbox.ImportJob{}, inbox.Errorf(inbox.EUNAVAILABLE, "no imports in the fake")
}
func (f *fakeStore) RunImport(context.Context, int64, io.Reader, inbox.ImportOptions) ([]inbox.Event, error) {
	return nil, nil
}
func (f *fakeStore) ImportJob(context.Context, int64) (inbox.ImportJob, error) {
	return inbox.ImportJob{}, notFound("import")
}
func (f *fakeStore) RejectedRows(context.Context, int64) (string, error) {
	return "", notFound("import")
}
