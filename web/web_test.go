package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
	"github.com/prometheus/client_golang/prometheus"
)

// testToken is the API token of testOperator in every fakeStore.
const testToken = "lh_0123456789abcdef"

// testOperator is an admin, so that these tests see every route and every
// conversation; what operators may see is tested against the real store
// (access_test.go).
var testOperator = inbox.Operator{ID: 7, Email: "op@example.com", Name: "Op", Role: inbox.RoleAdmin}

// fakeStore is an in-memory Store. Fn fields, when set, replace the
// in-memory behaviour of their method.
type fakeStore struct {
	// SecurityStore is nil: the methods not written below panic (and the
	// recoverer answers 500), so a test that needs one notices.
	SecurityStore

	mu            sync.Mutex
	operators     map[string]inbox.Operator // by token hash
	conversations map[int64]inbox.Conversation
	messages      map[int64][]inbox.Message
	clients       map[int64]inbox.ClientDetail
	events        []inbox.Event
	nextID        int64
	hiddenFiles   map[string]bool

	// What the API asked for, for assertions.
	filters []inbox.ConversationFilter
	patches []inbox.ConversationPatch
	replies []reply
	// replyFiles are the attachments of each reply that carried any.
	replyFiles [][]inbox.Attachment
	// vias are the channels replies named to go out through.
	vias []string
	// reads are read marks by operator and conversation: true = unread.
	reads map[[2]int64]bool

	GetConversationFn func(ctx context.Context, id int64) (inbox.Conversation, error)
	EventsAfterFn     func(ctx context.Context, after int64, limit int) ([]inbox.Event, error)
	OperatorByTokenFn func(ctx context.Context, tokenHash string) (inbox.Operator, error)
}

type reply struct {
	conversationID, authorID int64
	text                     string
}

var _ Store = (*fakeStore)(nil)

func newFakeStore() *fakeStore {
	return &fakeStore{
		operators:     map[string]inbox.Operator{inbox.HashToken(testToken): testOperator},
		conversations: map[int64]inbox.Conversation{},
		messages:      map[int64][]inbox.Message{},
		clients:       map[int64]inbox.ClientDetail{},
		nextID:        1000,
	}
}

func notFound(what string) error { return inbox.Errorf(inbox.ENOTFOUND, "%s not found", what) }

// addEvent appends an event with the next id, as a committed transaction would.
func (f *fakeStore) addEvent(typ string, data any) inbox.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addEventLocked(typ, data)
}

func (f *fakeStore) addEventLocked(typ string, data any) inbox.Event {
	b, err := json.Marshal(data)
	if err != nil {
		panic(err)
	}
	ev := inbox.Event{ID: int64(len(f.events) + 1), Type: typ, Data: b, CreatedAt: time.Now()}
	f.events = append(f.events, ev)
	return ev
}

func (f *fakeStore) ListConversations(_ context.Context, flt inbox.ConversationFilter) ([]inbox.Conversation, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.filters = append(f.filters, flt)
	var out []inbox.Conversation
	for _, c := range f.conversations {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b inbox.Conversation) int { return int(a.ID - b.ID) })
	return out, "", nil
}

func (f *fakeStore) GetConversation(ctx context.Context, id int64) (inbox.Conversation, error) {
	if f.GetConversationFn != nil {
		return f.GetConversationFn(ctx, id)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.conversations[id]
	if !ok {
		return inbox.Conversation{}, notFound("conversation")
	}
	return c, nil
}

func (f *fakeStore) UpdateConversation(_ context.Context, id int64, p inbox.ConversationPatch) (inbox.Conversation, []inbox.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.patches = append(f.patches, p)
	c, ok := f.conversations[id]
	if !ok {
		return inbox.Conversation{}, nil, notFound("conversation")
	}
	if p.Status != nil {
		c.Status = *p.Status
	}
	if p.SetAssignee {
		c.AssigneeID = p.AssigneeID
	}
	f.conversations[id] = c
	ev := f.addEventLocked(inbox.EventConversationUpdated, c)
	return c, []inbox.Event{ev}, nil
}

func (f *fakeStore) ListMessages(_ context.Context, conversationID int64, _ string, _ int) ([]inbox.Message, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.messages[conversationID], "", nil
}

func (f *fakeStore) CreateReply(_ context.Context, conversationID, authorID int64, text string) (inbox.Message, []inbox.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replies = append(f.replies, reply{conversationID, authorID, text})
	if _, ok := f.conversations[conversationID]; !ok {
		return inbox.Message{}, nil, notFound("conversation")
	}
	f.nextID++
	m := inbox.Message{
		ID: f.nextID, ConversationID: conversationID, Direction: inbox.DirectionOut, Kind: inbox.KindText,
		Text: text, AuthorID: &authorID, Delivery: inbox.DeliveryQueued, CreatedAt: time.Now(),
	}
	f.messages[conversationID] = append(f.messages[conversationID], m)
	ev := f.addEventLocked(inbox.EventMessageCreated, m)
	return m, []inbox.Event{ev}, nil
}

func (f *fakeStore) VisibleConversations(_ context.Context, _ inbox.Scope, ids []int64) (map[int64]bool, error) {
	return allIDs(ids), nil
}

func (f *fakeStore) VisibleClients(_ context.Context, _ inbox.Scope, ids []int64) (map[int64]bool, error) {
	return allIDs(ids), nil
}

func allIDs(ids []int64) map[int64]bool {
	m := map[int64]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

func (f *fakeStore) LastEventID(context.Context) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return int64(len(f.events)), nil
}

func (f *fakeStore) OperatorTeams(context.Context, int64) ([]string, error) { return nil, nil }

func (f *fakeStore) Audit(context.Context, int64, string, string, int64, any) error { return nil }

func (f *fakeStore) TokenByHash(ctx context.Context, tokenHash string) (inbox.Operator, inbox.APIToken, error) {
	op, err := f.OperatorByToken(ctx, tokenHash)
	return op, inbox.APIToken{ID: 1, OperatorID: op.ID, Scope: inbox.ScopeAdmin}, err
}

func (f *fakeStore) ListVisibleClients(_ context.Context, _ inbox.Scope, _, _ string, _ int) ([]inbox.Client, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []inbox.Client
	for _, c := range f.clients {
		out = append(out, c.Client)
	}
	return out, "", nil
}

func (f *fakeStore) GetClient(_ context.Context, id int64) (inbox.ClientDetail, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.clients[id]
	if !ok {
		return inbox.ClientDetail{}, notFound("client")
	}
	return c, nil
}

func (f *fakeStore) EventsAfter(ctx context.Context, after int64, limit int) ([]inbox.Event, error) {
	if f.EventsAfterFn != nil {
		return f.EventsAfterFn(ctx, after, limit)
	}
	return f.eventsAfter(ctx, after, limit)
}

// EventsFor replays what v sees of the events, judged as the hub judges
// live ones, with the cards' conversations as they are now.
func (f *fakeStore) EventsFor(ctx context.Context, v inbox.Viewer, after, upTo int64, limit int) ([]inbox.Event, error) {
	evs, err := f.EventsAfter(ctx, after, 1<<30)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, ev := range evs {
		ids = append(ids, ev.Audience.ClientID)
	}
	places, _ := f.ConversationPlaces(ctx, ids)
	var out []inbox.Event
	for _, ev := range evs {
		if ev.ID <= upTo && len(out) < limit && v.Sees(ev.Audience, places[ev.Audience.ClientID]) {
			out = append(out, ev)
		}
	}
	return out, nil
}

// FileVisible: the fake has no messages with files; every file is one of
// its conversations' unless hiddenFiles says otherwise.
func (f *fakeStore) FileVisible(_ context.Context, _ inbox.Scope, id string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.hiddenFiles[id], nil
}

func (f *fakeStore) ConversationPlaces(_ context.Context, clientIDs []int64) (map[int64][]inbox.ConversationPlace, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[int64][]inbox.ConversationPlace)
	for _, c := range f.conversations {
		if slices.Contains(clientIDs, c.ClientID) {
			out[c.ClientID] = append(out[c.ClientID], c.Place())
		}
	}
	return out, nil
}

// eventsAfter is EventsAfter's in-memory behaviour, for Fn fields to wrap.
func (f *fakeStore) eventsAfter(_ context.Context, after int64, limit int) ([]inbox.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []inbox.Event
	for _, ev := range f.events {
		if ev.ID > after && len(out) < limit {
			out = append(out, ev)
		}
	}
	return out, nil
}

func (f *fakeStore) OperatorByToken(ctx context.Context, tokenHash string) (inbox.Operator, error) {
	if f.OperatorByTokenFn != nil {
		return f.OperatorByTokenFn(ctx, tokenHash)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	op, ok := f.operators[tokenHash]
	if !ok {
		return inbox.Operator{}, notFound("operator")
	}
	return op, nil
}

// fakeSink records envelopes; err, when set, is returned instead.
type fakeSink struct {
	mu   sync.Mutex
	envs []inbox.Envelope
	err  error
}

func (s *fakeSink) Enqueue(_ context.Context, e inbox.Envelope) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.envs = append(s.envs, e)
	return nil
}

func (s *fakeSink) queued() []inbox.Envelope {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.envs)
}

// fakeWebhook returns fixed results and counts its calls.
type fakeWebhook struct {
	envs  []inbox.Envelope
	ack   []byte
	err   error
	calls atomic.Int32
	body  atomic.Value // []byte of the last call
}

func (h *fakeWebhook) Parse(_ *http.Request, body []byte) ([]inbox.Envelope, []byte, error) {
	h.calls.Add(1)
	h.body.Store(body)
	return h.envs, h.ack, h.err
}

// recordingPublisher records what it is told.
type recordingPublisher struct {
	mu  sync.Mutex
	evs []inbox.Event
}

func (p *recordingPublisher) Publish(_ context.Context, evs []inbox.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.evs = append(p.evs, evs...)
}

func (p *recordingPublisher) published() []inbox.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.evs)
}

// newTestServer builds a Server, filling a fake Store and Sink when opts has
// none.
func newTestServer(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Store == nil {
		opts.Store = newFakeStore()
	}
	if opts.Sink == nil {
		opts.Sink = &fakeSink{}
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	runHub(t, s.Hub())
	return s
}

// runHub runs h's event reader until the test ends, as Serve does.
func runHub(t testing.TB, h *Hub) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = h.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// do sends one request through h. header pairs are name, value, ...
func do(t *testing.T, h http.Handler, method, target, body string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// authed returns the header pairs of a valid Bearer token.
func authed() []string { return []string{"Authorization", "Bearer " + testToken} }

// errorOf decodes an error response body.
func errorOf(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var b struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		t.Fatalf("error body %q is not JSON: %v", w.Body.String(), err)
	}
	return b.Error
}

// scrape returns the metrics exposition text.
func scrape(t *testing.T, s *Server) string {
	t.Helper()
	w := do(t, s.Handler(), "GET", "/metrics", "")
	if w.Code != http.StatusOK {
		t.Fatalf("GET /metrics: status %d", w.Code)
	}
	return w.Body.String()
}

// waitFor polls cond until it holds or 10 s passed.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
