package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/store"
	"github.com/leadhub/leadhub/store/storetest"
)

func TestSQLite(t *testing.T) {
	runSuite(t, func(t *testing.T) *store.Store { return storetest.Open(t, store.DialectSQLite) })
}

func TestPostgres(t *testing.T) {
	runSuite(t, func(t *testing.T) *store.Store { return storetest.Open(t, store.DialectPostgres) })
}

// runSuite is the store's conformance suite, run on every dialect. Each case
// gets a fresh database.
func runSuite(t *testing.T, open func(t *testing.T) *store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s *store.Store)
	}{
		{"MigrateTwice", testMigrateTwice},
		{"FileNewSender", testFileNewSender},
		{"DedupeRepeats", testDedupeRepeats},
		{"MatchBySecondIdentity", testMatchBySecondIdentity},
		{"FirstIdentityWins", testFirstIdentityWins},
		{"ConversationLifecycle", testConversationLifecycle},
		{"ConcurrentBurst", testConcurrentBurst},
		{"ListConversations", testListConversations},
		{"ImportCSVTwice", testImportCSVTwice},
		{"UpdateConversation", testUpdateConversation},
		{"ListMessagesPaging", testListMessagesPaging},
		{"ReplyOutbox", testReplyOutbox},
		{"LeaseExpiry", testLeaseExpiry},
		{"ConcurrentClaims", testConcurrentClaims},
		{"EventsInOrder", testEventsInOrder},
		{"OperatorsAndTokens", testOperatorsAndTokens},
		{"Clients", testClients},
		{"NotFound", testNotFound},
		{"Edits", testEdits},
		{"StartConversation", testStartConversation},
		{"ThreadAcrossCards", testThreadAcrossCards},
		{"CardFields", testCardFields},
	}
	tests = append(tests, cardCases...)
	tests = append(tests, kindCases...)
	tests = append(tests, callCases...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

// --- helpers ---

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func phone(v string) inbox.Identity { return inbox.Identity{Kind: inbox.IdentityPhone, Value: v} }
func email(v string) inbox.Identity { return inbox.Identity{Kind: inbox.IdentityEmail, Value: v} }

func envelope(key, channel, name, text string, ids ...inbox.Identity) inbox.Envelope {
	return inbox.Envelope{
		DedupeKey:   key,
		ChannelID:   channel,
		ChannelType: inbox.ChannelAPI,
		From:        inbox.Contact{Name: name, Identities: ids},
		Text:        text,
		ReceivedAt:  time.Now(),
	}
}

func file(t *testing.T, s *store.Store, envs ...inbox.Envelope) ([]inbox.Filed, []inbox.Event) {
	t.Helper()
	filed, evs, err := s.FileBatch(ctxT(t), envs)
	if err != nil {
		t.Fatalf("FileBatch: %v", err)
	}
	if len(filed) != len(envs) {
		t.Fatalf("FileBatch returned %d results for %d envelopes", len(filed), len(envs))
	}
	return filed, evs
}

func count(t *testing.T, s *store.Store, table string) int {
	t.Helper()
	var n int
	if err := s.DB().GetContext(ctxT(t), &n, "SELECT count(*) FROM "+table); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := inbox.ErrorCode(err); got != code {
		t.Errorf("%s: error %v has code %q, want %q", what, err, got, code)
	}
}

func eventTypes(evs []inbox.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Type
	}
	return out
}

func decode[T any](t *testing.T, e inbox.Event) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(e.Data, &v); err != nil {
		t.Fatalf("decode %s event %s: %v", e.Type, e.Data, err)
	}
	return v
}

type messageData struct {
	Message      inbox.Message      `json:"message"`
	Conversation inbox.Conversation `json:"conversation"`
}

type conversationData struct {
	Conversation inbox.Conversation `json:"conversation"`
}

type clientData struct {
	Client inbox.Client `json:"client"`
}

func allEvents(t *testing.T, s *store.Store) []inbox.Event {
	t.Helper()
	var out []inbox.Event
	var after int64
	for {
		evs, err := s.EventsAfter(ctxT(t), after, 1000)
		if err != nil {
			t.Fatalf("EventsAfter: %v", err)
		}
		if len(evs) == 0 {
			return out
		}
		out = append(out, evs...)
		after = evs[len(evs)-1].ID
	}
}

// --- cases ---

func testMigrateTwice(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	before := count(t, s, "schema_migrations")
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("third Migrate: %v", err)
	}
	if got := count(t, s, "schema_migrations"); got != before || got == 0 {
		t.Errorf("schema_migrations has %d rows after migrating again, want %d (> 0)", got, before)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func testFileNewSender(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	e := envelope("api:site:1", "site", "Иван Петров", "Здравствуйте!", phone("+79123456789"), email("ivan@example.com"))
	e.Subject = "Заявка"
	e.Kind = inbox.KindForm
	e.ExternalID = "ext-1"
	e.Attachments = []inbox.Attachment{{URL: "https://example.com/p.pdf", Name: "p.pdf", MIME: "application/pdf"}}
	e.Meta = map[string]string{"utm_source": "ya"}
	filed, evs := file(t, s, e)

	f := filed[0]
	if f.Dup {
		t.Fatal("first filing reported Dup")
	}
	m := f.Message
	if m.ID == 0 || m.Direction != inbox.DirectionIn || m.Kind != inbox.KindForm || m.Text != e.Text ||
		m.Subject != "Заявка" || m.ExternalID != "ext-1" || m.Delivery != "" || m.CreatedAt.IsZero() {
		t.Errorf("filed message = %+v", m)
	}
	if got := eventTypes(evs); !slices.Equal(got, []string{inbox.EventConversationCreated, inbox.EventMessageCreated}) {
		t.Fatalf("event types = %v", got)
	}
	if evs[0].ID >= evs[1].ID {
		t.Errorf("event ids %d, %d not increasing", evs[0].ID, evs[1].ID)
	}
	created := decode[conversationData](t, evs[0]).Conversation
	if created.Status != inbox.StatusNew || created.ClientName != "Иван Петров" || created.ChannelID != "site" ||
		created.ChannelType != inbox.ChannelAPI || created.ID != m.ConversationID {
		t.Errorf("conversation.created = %+v", created)
	}
	md := decode[messageData](t, evs[1])
	if md.Message.ID != m.ID || md.Conversation.Unread != 1 || !md.Conversation.LastMessageAt.Equal(m.CreatedAt) {
		t.Errorf("message.created = %+v", md)
	}

	conv, err := s.GetConversation(ctx, m.ConversationID)
	if err != nil {
		t.Fatalf("GetConversation: %v", err)
	}
	if conv.Status != inbox.StatusNew || conv.Unread != 1 || conv.AssigneeID != nil || conv.ClientName != "Иван Петров" {
		t.Errorf("conversation = %+v", conv)
	}
	if !conv.LastMessageAt.Equal(m.CreatedAt) || !conv.CreatedAt.Equal(created.CreatedAt) {
		t.Errorf("conversation times %v %v, want %v %v", conv.LastMessageAt, conv.CreatedAt, m.CreatedAt, created.CreatedAt)
	}

	msgs, next, err := s.ListMessages(ctx, conv.ID, "", 0)
	if err != nil || next != "" || len(msgs) != 1 {
		t.Fatalf("ListMessages = %d messages, next %q, err %v", len(msgs), next, err)
	}
	got := msgs[0]
	if !got.CreatedAt.Equal(m.CreatedAt) {
		t.Errorf("stored created_at %v, filed %v", got.CreatedAt, m.CreatedAt)
	}
	got.CreatedAt, m.CreatedAt = time.Time{}, time.Time{}
	gj, _ := json.Marshal(got)
	mj, _ := json.Marshal(m)
	if string(gj) != string(mj) {
		t.Errorf("stored message %s\nfiled message  %s", gj, mj)
	}

	d, err := s.GetClient(ctx, conv.ClientID)
	if err != nil {
		t.Fatalf("GetClient: %v", err)
	}
	wantIDs := []inbox.Identity{phone("+79123456789"), email("ivan@example.com")}
	if d.Name != "Иван Петров" || !slices.Equal(d.Identities, wantIDs) {
		t.Errorf("client = %q %v, want %q %v", d.Name, d.Identities, "Иван Петров", wantIDs)
	}

	stored := allEvents(t, s)
	if len(stored) != 2 || stored[0].ID != evs[0].ID || string(stored[1].Data) != string(evs[1].Data) {
		t.Errorf("EventsAfter(0) = %v, want the two returned events", eventTypes(stored))
	}
}

func testDedupeRepeats(t *testing.T, s *store.Store) {
	e := envelope("tg:bot:100", "bot", "Анна", "привет", inbox.Identity{Kind: inbox.IdentityTelegram, Value: "555"})
	first, _ := file(t, s, e)
	for i := 0; i < 9; i++ {
		filed, evs := file(t, s, e)
		if !filed[0].Dup || filed[0].Message.ID != first[0].Message.ID {
			t.Fatalf("repeat %d: filed = %+v, want Dup of message %d", i, filed[0], first[0].Message.ID)
		}
		if len(evs) != 0 {
			t.Errorf("repeat %d wrote events %v", i, eventTypes(evs))
		}
	}

	// Ten copies inside one batch, beside one new envelope.
	e2 := envelope("tg:bot:101", "bot", "Анна", "ещё", inbox.Identity{Kind: inbox.IdentityTelegram, Value: "555"})
	batch := []inbox.Envelope{e2}
	for i := 0; i < 10; i++ {
		batch = append(batch, e2)
	}
	filed, evs := file(t, s, batch...)
	if filed[0].Dup {
		t.Fatal("first copy in batch reported Dup")
	}
	for i, f := range filed[1:] {
		if !f.Dup || f.Message.ID != filed[0].Message.ID {
			t.Errorf("copy %d: %+v, want Dup of %d", i+1, f, filed[0].Message.ID)
		}
	}
	if got := eventTypes(evs); !slices.Equal(got, []string{inbox.EventMessageCreated}) {
		t.Errorf("events = %v, want one message.created", got)
	}
	if n := count(t, s, "messages"); n != 2 {
		t.Errorf("%d messages stored, want 2", n)
	}
	conv, err := s.GetConversation(ctxT(t), filed[0].Message.ConversationID)
	if err != nil || conv.Unread != 2 {
		t.Errorf("conversation unread = %d (%v), want 2", conv.Unread, err)
	}
}

func testMatchBySecondIdentity(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	f1, _ := file(t, s, envelope("call:tel:1:start", "tel", "", "звонок", phone("+79990001122")))
	c1, _ := s.GetConversation(ctx, f1[0].Message.ConversationID)

	// Email first (the channel vouches for it), phone second: the phone
	// finds the card, the email is attached, the empty name is filled.
	f2, evs := file(t, s, envelope("email:mail:<a@b>", "mail", "Олег", "письмо", email("oleg@example.com"), phone("+79990001122")))
	c2, _ := s.GetConversation(ctx, f2[0].Message.ConversationID)
	if c2.ClientID != c1.ClientID {
		t.Fatalf("second message went to card %d, want %d", c2.ClientID, c1.ClientID)
	}
	if c2.ID == c1.ID || c2.Status != inbox.StatusOpen {
		t.Errorf("new channel conversation = %+v, want a separate open one", c2)
	}
	if got := eventTypes(evs); !slices.Equal(got, []string{inbox.EventClientUpdated, inbox.EventConversationCreated, inbox.EventMessageCreated}) {
		t.Errorf("events = %v", got)
	} else if cl := decode[clientData](t, evs[0]).Client; cl.Name != "Олег" || len(cl.Identities) != 2 {
		t.Errorf("client.updated = %+v", cl)
	}

	// The email alone now finds the same card.
	f3, _ := file(t, s, envelope("email:mail:<c@d>", "mail", "", "снова", email("oleg@example.com")))
	if f3[0].Message.ConversationID != c2.ID {
		t.Errorf("email-only message went to conversation %d, want %d", f3[0].Message.ConversationID, c2.ID)
	}
	d, err := s.GetClient(ctx, c1.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if want := []inbox.Identity{phone("+79990001122"), email("oleg@example.com")}; !slices.Equal(d.Identities, want) || d.Name != "Олег" {
		t.Errorf("card = %q %v, want Олег %v", d.Name, d.Identities, want)
	}
	if n := count(t, s, "clients"); n != 1 {
		t.Errorf("%d cards, want 1", n)
	}
}

func testFirstIdentityWins(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	a, _ := file(t, s, envelope("k1", "site", "A", "a", phone("+79000000001")))
	b, _ := file(t, s, envelope("k2", "site", "B", "b", email("b@example.com")))
	ca, _ := s.GetConversation(ctx, a[0].Message.ConversationID)
	cb, _ := s.GetConversation(ctx, b[0].Message.ConversationID)

	// Two known identities of two cards: the first one decides, and
	// neither identity moves.
	f, _ := file(t, s, envelope("k3", "site", "", "both", email("b@example.com"), phone("+79000000001")))
	got, _ := s.GetConversation(ctx, f[0].Message.ConversationID)
	if got.ClientID != cb.ClientID {
		t.Errorf("filed to card %d, want %d (owner of the first identity)", got.ClientID, cb.ClientID)
	}
	da, _ := s.GetClient(ctx, ca.ClientID)
	if len(da.Identities) != 1 {
		t.Errorf("card A identities = %v, want its phone only", da.Identities)
	}
}

func testConversationLifecycle(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	id := phone("+79001112233")
	f1, _ := file(t, s, envelope("m1", "site", "Пётр", "1", id))
	f2, _ := file(t, s, envelope("m2", "site", "Пётр", "2", id))
	if f2[0].Message.ConversationID != f1[0].Message.ConversationID {
		t.Fatalf("second message opened conversation %d, want %d", f2[0].Message.ConversationID, f1[0].Message.ConversationID)
	}
	conv, _ := s.GetConversation(ctx, f1[0].Message.ConversationID)
	if conv.Unread != 2 || conv.Status != inbox.StatusNew {
		t.Errorf("conversation = %+v, want new with 2 unread", conv)
	}
	closed := inbox.StatusClosed
	if _, _, err := s.UpdateConversation(ctx, conv.ID, inbox.ConversationPatch{Status: &closed}); err != nil {
		t.Fatalf("close: %v", err)
	}
	f3, evs := file(t, s, envelope("m3", "site", "Пётр", "3", id))
	c3, _ := s.GetConversation(ctx, f3[0].Message.ConversationID)
	if c3.ID == conv.ID || c3.Status != inbox.StatusOpen || c3.ClientID != conv.ClientID || c3.Unread != 1 {
		t.Errorf("after close: conversation = %+v, want a new open one of card %d", c3, conv.ClientID)
	}
	if got := eventTypes(evs); !slices.Equal(got, []string{inbox.EventConversationCreated, inbox.EventMessageCreated}) {
		t.Errorf("events = %v", got)
	}
	// Reopening the closed one now collides with the open one.
	open := inbox.StatusOpen
	_, _, err := s.UpdateConversation(ctx, conv.ID, inbox.ConversationPatch{Status: &open})
	wantCode(t, "reopen", err, inbox.ECONFLICT)
}

// testConcurrentBurst files a 1,000-envelope burst from 100 new senders,
// shuffled and with duplicates mixed in, from 8 goroutines at once.
func testConcurrentBurst(t *testing.T, s *store.Store) {
	const senders, perSender, workers, batchSize = 100, 10, 8, 20
	var envs []inbox.Envelope
	for p := 0; p < senders; p++ {
		for m := 0; m < perSender; m++ {
			envs = append(envs, envelope(fmt.Sprintf("api:site:%d-%d", p, m), "site",
				fmt.Sprintf("Sender %d", p), fmt.Sprintf("message %d", m), phone(fmt.Sprintf("+7900%07d", p))))
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 150; i++ { // redeliveries
		envs = append(envs, envs[rng.IntN(senders*perSender)])
	}
	rng.Shuffle(len(envs), func(i, j int) { envs[i], envs[j] = envs[j], envs[i] })

	batches := make(chan []inbox.Envelope, len(envs)/batchSize+1)
	for i := 0; i < len(envs); i += batchSize {
		batches <- envs[i:min(i+batchSize, len(envs))]
	}
	close(batches)
	ctx := ctxT(t)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				if _, _, err := s.FileBatch(ctx, b); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("FileBatch: %v", err)
	}

	if n := count(t, s, "messages"); n != senders*perSender {
		t.Errorf("%d messages, want %d", n, senders*perSender)
	}
	if n := count(t, s, "clients"); n != senders {
		t.Errorf("%d cards, want %d", n, senders)
	}
	if n := count(t, s, "conversations"); n != senders {
		t.Errorf("%d conversations, want %d", n, senders)
	}
	convs, next, err := s.ListConversations(ctx, inbox.ConversationFilter{Limit: 200})
	if err != nil || next != "" {
		t.Fatalf("ListConversations: %v (next %q)", err, next)
	}
	for _, c := range convs {
		if c.Unread != perSender || c.Status != inbox.StatusNew {
			t.Errorf("conversation %d of %q: unread %d status %s, want %d new", c.ID, c.ClientName, c.Unread, c.Status, perSender)
		}
	}
	// Every message has exactly one message.created event, and the
	// conversation.created events match the conversations.
	var created, msgs int
	for _, e := range allEvents(t, s) {
		switch e.Type {
		case inbox.EventConversationCreated:
			created++
		case inbox.EventMessageCreated:
			msgs++
		}
	}
	if created != senders || msgs != senders*perSender {
		t.Errorf("events: %d conversation.created, %d message.created; want %d, %d", created, msgs, senders, senders*perSender)
	}
}

func testListConversations(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	d, _, err := s.AddOperator(ctx, 0, inbox.Operator{Email: "op@example.com", Name: "Op", Role: inbox.RoleOperator}, "h", nil)
	op := d.Operator
	if err != nil {
		t.Fatal(err)
	}
	// One batch: equal last_message_at for all, so paging must break ties
	// by id.
	filed, _ := file(t, s,
		envelope("l1", "site", "Иван Петров", "a", phone("+79110000001")),
		envelope("l2", "site", "Мария", "b", phone("+79110000002")),
		envelope("l3", "tg", "Ivan Smith", "c", inbox.Identity{Kind: inbox.IdentityTelegram, Value: "777"}),
		envelope("l4", "tg", "Pat", "d", email("pat_100%@example.com")),
		envelope("l5", "site", "Zed", "e", phone("+79110000005")),
	)
	ids := make([]int64, len(filed))
	for i, f := range filed {
		ids[i] = f.Message.ConversationID
	}
	pending := inbox.StatusPending
	if _, _, err := s.UpdateConversation(ctx, ids[1], inbox.ConversationPatch{Status: &pending, SetAssignee: true, AssigneeID: &op.ID}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.UpdateConversation(ctx, ids[2], inbox.ConversationPatch{SetAssignee: true, AssigneeID: &op.ID}); err != nil {
		t.Fatal(err)
	}
	later, _ := file(t, s, envelope("l6", "site", "Zed", "f", phone("+79110000005"))) // ids[4] becomes newest
	_ = later

	tests := []struct {
		name string
		f    inbox.ConversationFilter
		want []int64
	}{
		{"all, newest first", inbox.ConversationFilter{}, []int64{ids[4], ids[3], ids[2], ids[1], ids[0]}},
		{"status", inbox.ConversationFilter{Status: inbox.StatusPending}, []int64{ids[1]}},
		{"channel", inbox.ConversationFilter{ChannelID: "tg"}, []int64{ids[3], ids[2]}},
		{"assignee", inbox.ConversationFilter{AssigneeID: op.ID}, []int64{ids[2], ids[1]}},
		{"unassigned", inbox.ConversationFilter{Unassigned: true}, []int64{ids[4], ids[3], ids[0]}},
		{"q name, any case", inbox.ConversationFilter{Q: "иван"}, []int64{ids[0]}},
		{"q latin name", inbox.ConversationFilter{Q: "IVAN"}, []int64{ids[2]}},
		{"q phone", inbox.ConversationFilter{Q: "10000002"}, []int64{ids[1]}},
		{"q wildcard is literal", inbox.ConversationFilter{Q: "_100%"}, []int64{ids[3]}},
		{"q no match", inbox.ConversationFilter{Q: "nobody"}, nil},
		{"combined", inbox.ConversationFilter{ChannelID: "site", Status: inbox.StatusNew}, []int64{ids[4], ids[0]}},
	}
	for _, tt := range tests {
		got, next, err := s.ListConversations(ctx, tt.f)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		var gotIDs []int64
		for _, c := range got {
			gotIDs = append(gotIDs, c.ID)
		}
		if !slices.Equal(gotIDs, tt.want) || next != "" {
			t.Errorf("%s: got %v (next %q), want %v", tt.name, gotIDs, next, tt.want)
		}
	}

	// Paging by 2: no gaps, no duplicates, same order as one page.
	var paged []int64
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		got, next, err := s.ListConversations(ctx, inbox.ConversationFilter{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range got {
			paged = append(paged, c.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if want := tests[0].want; !slices.Equal(paged, want) {
		t.Errorf("paged = %v, want %v", paged, want)
	}

	// Each conversation carries its newest message for the preview, its
	// text cut short.
	long := strings.Repeat("окно ", 100)
	file(t, s, envelope("l7", "tg", "Pat", long, email("pat_100%@example.com")))
	all, _, err := s.ListConversations(ctx, inbox.ConversationFilter{})
	if err != nil {
		t.Fatal(err)
	}
	previews := map[int64]string{}
	for _, c := range all {
		if c.LastMessage == nil || c.LastMessage.ConversationID != c.ID {
			t.Fatalf("conversation %d: last message %+v", c.ID, c.LastMessage)
		}
		previews[c.ID] = c.LastMessage.Text
	}
	if previews[ids[4]] != "f" || previews[ids[0]] != "a" || previews[ids[3]] != strings.Repeat("окно ", 40) {
		t.Errorf("previews = %v", previews)
	}

	// The tabs' counts agree with the lists, closed ones left out, for
	// everyone and for a restricted operator.
	closed := inbox.StatusClosed
	if _, _, err := s.UpdateConversation(ctx, ids[0], inbox.ConversationPatch{Status: &closed}); err != nil {
		t.Fatal(err)
	}
	countOf := func(f inbox.ConversationFilter) int {
		t.Helper()
		f.Limit = 200
		got, _, err := s.ListConversations(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, c := range got {
			if c.Status != inbox.StatusClosed {
				n++
			}
		}
		return n
	}
	for _, sc := range []*inbox.Scope{nil, {OperatorID: op.ID, HiddenChannels: []string{"tg"}}} {
		for _, channel := range []string{"", "site"} {
			got, err := s.CountConversations(ctx, sc, op.ID, channel)
			if err != nil {
				t.Fatal(err)
			}
			want := inbox.ConversationCounts{
				New:        countOf(inbox.ConversationFilter{Scope: sc, ChannelID: channel, Status: inbox.StatusNew}),
				Open:       countOf(inbox.ConversationFilter{Scope: sc, ChannelID: channel, Status: inbox.StatusOpen}),
				Pending:    countOf(inbox.ConversationFilter{Scope: sc, ChannelID: channel, Status: inbox.StatusPending}),
				Mine:       countOf(inbox.ConversationFilter{Scope: sc, ChannelID: channel, AssigneeID: op.ID}),
				Unassigned: countOf(inbox.ConversationFilter{Scope: sc, ChannelID: channel, Unassigned: true}),
			}
			if got != want || got.New+got.Open+got.Pending == 0 {
				t.Errorf("counts (scope %v, channel %q) = %+v, want %+v", sc, channel, got, want)
			}
		}
	}

	_, _, err = s.ListConversations(ctx, inbox.ConversationFilter{Cursor: "garbage!"})
	wantCode(t, "bad cursor", err, inbox.EINVALID)
	_, _, err = s.ListConversations(ctx, inbox.ConversationFilter{Status: "weird"})
	wantCode(t, "bad status", err, inbox.EINVALID)
}

func testUpdateConversation(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	d, _, err := s.AddOperator(ctx, 0, inbox.Operator{Email: "a@example.com", Role: inbox.RoleAdmin}, "h", nil)
	op := d.Operator
	if err != nil {
		t.Fatal(err)
	}
	f, _ := file(t, s, envelope("u1", "site", "Клиент", "x", phone("+79220000001")))
	id := f[0].Message.ConversationID

	open := inbox.StatusOpen
	conv, evs, err := s.UpdateConversation(ctx, id, inbox.ConversationPatch{Status: &open, SetAssignee: true, AssigneeID: &op.ID})
	if err != nil {
		t.Fatal(err)
	}
	if conv.Status != inbox.StatusOpen || conv.AssigneeID == nil || *conv.AssigneeID != op.ID || conv.ClientName != "Клиент" {
		t.Errorf("updated = %+v", conv)
	}
	if len(evs) != 2 || evs[0].Type != inbox.EventConversationMoved || evs[1].Type != inbox.EventConversationUpdated {
		t.Fatalf("events = %v, want moved (it changed hands) and updated", eventTypes(evs))
	}
	if got := decode[conversationData](t, evs[1]).Conversation; got.Status != inbox.StatusOpen || got.AssigneeID == nil {
		t.Errorf("event conversation = %+v", got)
	}
	stored, _ := s.GetConversation(ctx, id)
	if stored.Status != inbox.StatusOpen || stored.AssigneeID == nil || *stored.AssigneeID != op.ID {
		t.Errorf("stored = %+v", stored)
	}

	// Status-only patch keeps the assignee; SetAssignee with nil unassigns.
	pending := inbox.StatusPending
	conv, evs, err = s.UpdateConversation(ctx, id, inbox.ConversationPatch{Status: &pending})
	if err != nil || conv.AssigneeID == nil {
		t.Errorf("status-only patch: %+v, %v", conv, err)
	}
	if len(evs) != 1 || evs[0].Type != inbox.EventConversationUpdated {
		t.Errorf("a status change moves nothing: events %v", eventTypes(evs))
	}
	conv, _, err = s.UpdateConversation(ctx, id, inbox.ConversationPatch{SetAssignee: true})
	if err != nil || conv.AssigneeID != nil || conv.Status != inbox.StatusPending {
		t.Errorf("unassign: %+v, %v", conv, err)
	}

	bad := inbox.ConversationStatus("archived")
	_, _, err = s.UpdateConversation(ctx, id, inbox.ConversationPatch{Status: &bad})
	wantCode(t, "invalid status", err, inbox.EINVALID)
	ghost := int64(9999)
	_, _, err = s.UpdateConversation(ctx, id, inbox.ConversationPatch{SetAssignee: true, AssigneeID: &ghost})
	wantCode(t, "unknown assignee", err, inbox.EINVALID)
	_, _, err = s.UpdateConversation(ctx, 9999, inbox.ConversationPatch{Status: &open})
	wantCode(t, "unknown conversation", err, inbox.ENOTFOUND)
}

func testListMessagesPaging(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	var envs []inbox.Envelope
	for i := 0; i < 7; i++ {
		envs = append(envs, envelope(fmt.Sprintf("p%d", i), "site", "P", fmt.Sprint(i), phone("+79330000001")))
	}
	filed, _ := file(t, s, envs...)
	conv := filed[0].Message.ConversationID
	var texts []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		msgs, next, err := s.ListMessages(ctx, conv, cursor, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			texts = append(texts, m.Text)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if want := []string{"0", "1", "2", "3", "4", "5", "6"}; !slices.Equal(texts, want) {
		t.Errorf("paged texts = %v, want %v", texts, want)
	}
	_, _, err := s.ListMessages(ctx, conv, "%%%", 3)
	wantCode(t, "bad cursor", err, inbox.EINVALID)
}

func testReplyOutbox(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	d, _, err := s.AddOperator(ctx, 0, inbox.Operator{Email: "r@example.com", Role: inbox.RoleOperator}, "h", nil)
	op := d.Operator
	if err != nil {
		t.Fatal(err)
	}
	in := envelope("tg:bot:1", "bot", "Вера", "вопрос", inbox.Identity{Kind: inbox.IdentityTelegram, Value: "42"}, phone("+79440000001"))
	in.ChannelType = inbox.ChannelTelegram
	in.ExternalID = "tg-msg-1"
	f, _ := file(t, s, in)
	convID := f[0].Message.ConversationID

	msg, evs, err := s.CreateReply(ctx, convID, op.ID, "ответ")
	if err != nil {
		t.Fatal(err)
	}
	if msg.Direction != inbox.DirectionOut || msg.Kind != inbox.KindText || msg.Delivery != inbox.DeliveryQueued ||
		msg.AuthorID == nil || *msg.AuthorID != op.ID || msg.Text != "ответ" {
		t.Errorf("reply = %+v", msg)
	}
	if got := eventTypes(evs); !slices.Equal(got, []string{inbox.EventMessageCreated, inbox.EventConversationUpdated}) {
		t.Errorf("reply events = %v", got)
	}
	if conv, _ := s.GetConversation(ctx, convID); conv.Unread != 0 || !conv.LastMessageAt.Equal(msg.CreatedAt) {
		t.Errorf("after reply conversation = %+v", conv)
	}
	_, evs, err = s.CreateReply(ctx, convID, op.ID, "второй")
	if err != nil {
		t.Fatal(err)
	}
	if got := eventTypes(evs); !slices.Equal(got, []string{inbox.EventMessageCreated}) {
		t.Errorf("second reply events = %v, want message.created only (unread already 0)", got)
	}

	claimed, err := s.ClaimOutbound(ctx, 1, time.Minute)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("ClaimOutbound = %v, %v", claimed, err)
	}
	o := claimed[0]
	wantTo := []inbox.Identity{{Kind: inbox.IdentityTelegram, Value: "42"}, phone("+79440000001")}
	if o.Message.ID != msg.ID || o.ChannelID != "bot" || o.ChannelType != inbox.ChannelTelegram || o.Attempt != 1 ||
		o.ReplyTo != "tg-msg-1" || o.ClientID == 0 || !slices.Equal(o.To, wantTo) {
		t.Errorf("outbound = %+v", o)
	}
	// The first is leased; the second is next.
	claimed, err = s.ClaimOutbound(ctx, 10, time.Minute)
	if err != nil || len(claimed) != 1 || claimed[0].Message.Text != "второй" {
		t.Fatalf("second claim = %v, %v", claimed, err)
	}
	second := claimed[0].Message.ID
	if claimed, _ := s.ClaimOutbound(ctx, 10, time.Minute); len(claimed) != 0 {
		t.Errorf("claim while all leased returned %d", len(claimed))
	}

	// RetryLater makes it due again at the given time, attempt counted on.
	if err := s.RetryLater(ctx, msg.ID, time.Now().Add(-time.Second), "timeout"); err != nil {
		t.Fatal(err)
	}
	claimed, err = s.ClaimOutbound(ctx, 10, time.Minute)
	if err != nil || len(claimed) != 1 || claimed[0].Attempt != 2 || claimed[0].Message.Delivery != inbox.DeliveryQueued {
		t.Fatalf("claim after retry = %+v, %v", claimed, err)
	}
	if err := s.RetryLater(ctx, second, time.Now().Add(time.Hour), "later"); err != nil {
		t.Fatal(err)
	}
	if claimed, _ := s.ClaimOutbound(ctx, 10, time.Minute); len(claimed) != 0 {
		t.Errorf("claim before due returned %d", len(claimed))
	}

	evs, err = s.MarkSent(ctx, msg.ID, "tg-out-9")
	if err != nil || len(evs) != 1 || evs[0].Type != inbox.EventMessageUpdated {
		t.Fatalf("MarkSent = %v, %v", eventTypes(evs), err)
	}
	if m := decode[messageData](t, evs[0]).Message; m.Delivery != inbox.DeliverySent || m.ExternalID != "tg-out-9" {
		t.Errorf("sent event message = %+v", m)
	}
	evs, err = s.MarkFailed(ctx, second, "blocked by user")
	if err != nil || len(evs) != 1 {
		t.Fatalf("MarkFailed = %v, %v", eventTypes(evs), err)
	}
	msgs, _, _ := s.ListMessages(ctx, convID, "", 0)
	if len(msgs) != 3 || msgs[1].Delivery != inbox.DeliverySent || msgs[1].ExternalID != "tg-out-9" ||
		msgs[2].Delivery != inbox.DeliveryFailed || msgs[2].Error != "blocked by user" {
		t.Errorf("messages after delivery = %+v", msgs)
	}
	if n := count(t, s, "outbox"); n != 0 {
		t.Errorf("outbox has %d rows, want 0", n)
	}
	if err := s.RetryLater(ctx, msg.ID, time.Now(), "x"); inbox.ErrorCode(err) != inbox.ENOTFOUND {
		t.Errorf("RetryLater on a sent reply: %v, want ENOTFOUND", err)
	}
	_, err = s.MarkSent(ctx, f[0].Message.ID, "x")
	wantCode(t, "MarkSent of an inbound message", err, inbox.ENOTFOUND)
	_, err = s.MarkFailed(ctx, 9999, "x")
	wantCode(t, "MarkFailed unknown", err, inbox.ENOTFOUND)

	_, _, err = s.CreateReply(ctx, convID, op.ID, "  \n")
	wantCode(t, "empty reply", err, inbox.EINVALID)
	_, _, err = s.CreateReply(ctx, 9999, op.ID, "x")
	wantCode(t, "reply to unknown conversation", err, inbox.ENOTFOUND)
	_, _, err = s.CreateReply(ctx, convID, 9999, "x")
	wantCode(t, "reply by unknown author", err, inbox.EINVALID)
}

func testLeaseExpiry(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	f, _ := file(t, s, envelope("le", "site", "L", "x", phone("+79550000001")))
	msg, _, err := s.CreateReply(ctx, f[0].Message.ConversationID, 0, "reply")
	if err != nil {
		t.Fatal(err)
	}
	claimed, err := s.ClaimOutbound(ctx, 10, 50*time.Millisecond)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim = %v, %v", claimed, err)
	}
	// A worker that died holding the lease: the reply comes back later.
	deadline := time.Now().Add(10 * time.Second)
	for {
		claimed, err = s.ClaimOutbound(ctx, 10, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(claimed) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("expired lease never released the reply")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if claimed[0].Message.ID != msg.ID || claimed[0].Attempt != 2 {
		t.Errorf("reclaimed = %+v, want message %d attempt 2", claimed[0], msg.ID)
	}
}

func testConcurrentClaims(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	const replies, workers = 40, 4
	f, _ := file(t, s, envelope("cc", "site", "C", "x", phone("+79660000001")))
	for i := 0; i < replies; i++ {
		if _, _, err := s.CreateReply(ctx, f[0].Message.ConversationID, 0, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu   sync.Mutex
		seen = map[int64]int{}
		wg   sync.WaitGroup
	)
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := s.ClaimOutbound(ctx, 3, time.Hour)
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, o := range got {
					seen[o.Message.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("ClaimOutbound: %v", err)
	}
	if len(seen) != replies {
		t.Errorf("%d replies claimed, want %d", len(seen), replies)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("reply %d claimed %d times", id, n)
		}
	}
}

// testEventsInOrder has writers of every kind run while a reader follows
// EventsAfter; the reader must see every event exactly once, in id order,
// even though it never re-reads an id range it has passed.
func testEventsInOrder(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	const writers, rounds = 6, 15
	// Writers share no rows, so only the event ordering can keep a slow
	// commit from being overtaken by a later id.
	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seed, _, err := s.FileBatch(ctx, []inbox.Envelope{
				envelope(fmt.Sprintf("seed%d", w), "site", "", "t", phone(fmt.Sprintf("+7977%03d0000", w))),
			})
			if err != nil {
				errs <- err
				return
			}
			convID := seed[0].Message.ConversationID
			for i := 1; i <= rounds; i++ {
				switch i % 3 {
				case 0:
					_, _, err = s.FileBatch(ctx, []inbox.Envelope{
						envelope(fmt.Sprintf("e%d-%d", w, i), "site", "", "t", phone(fmt.Sprintf("+7977%03d%04d", w, i))),
					})
				case 1:
					_, _, err = s.CreateReply(ctx, convID, 0, "r")
				case 2:
					st := inbox.StatusOpen
					_, _, err = s.UpdateConversation(ctx, convID, inbox.ConversationPatch{Status: &st})
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()

	var got []int64
	var after int64
	finished := false
	for {
		evs, err := s.EventsAfter(ctx, after, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			got = append(got, e.ID)
			after = e.ID
		}
		if len(evs) == 0 {
			if finished {
				break
			}
			select {
			case <-done:
				finished = true // one more pass to drain
			case <-time.After(time.Millisecond):
			}
		}
	}
	close(errs)
	for err := range errs {
		t.Fatalf("writer: %v", err)
	}
	var want []int64
	for _, e := range allEvents(t, s) {
		want = append(want, e.ID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("follower saw %d events, table has %d; first difference at %d", len(got), len(want), firstDiff(got, want))
	}
	if !slices.IsSorted(want) {
		t.Error("EventsAfter is not in id order")
	}
}

func firstDiff(a, b []int64) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func testOperatorsAndTokens(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	d, _, err := s.AddOperator(ctx, 0, inbox.Operator{Email: " Alice@Example.COM ", Name: "Alice", Role: inbox.RoleSupervisor}, "hash-a", nil)
	op := d.Operator
	if err != nil {
		t.Fatal(err)
	}
	if op.ID == 0 || op.Email != "alice@example.com" || op.CreatedAt.IsZero() {
		t.Errorf("created = %+v", op)
	}
	_, _, err = s.AddOperator(ctx, 0, inbox.Operator{Email: "ALICE@example.com", Role: inbox.RoleOperator}, "h", nil)
	wantCode(t, "duplicate email", err, inbox.ECONFLICT)
	_, _, err = s.AddOperator(ctx, 0, inbox.Operator{Email: "bob@example.com", Role: "boss"}, "h", nil)
	wantCode(t, "bad role", err, inbox.EINVALID)

	got, hash, err := s.OperatorByEmail(ctx, "ALICE@example.com")
	if err != nil || hash != "hash-a" || got.ID != op.ID || got.Role != inbox.RoleSupervisor || !got.CreatedAt.Equal(op.CreatedAt) {
		t.Errorf("OperatorByEmail = %+v %q %v", got, hash, err)
	}
	_, _, err = s.OperatorByEmail(ctx, "nobody@example.com")
	wantCode(t, "unknown email", err, inbox.ENOTFOUND)

	_, tokenHash := inbox.NewToken()
	if _, err := s.CreateScopedToken(ctx, 0, inbox.APIToken{OperatorID: op.ID, Name: "script", Scope: inbox.ScopeWrite}, tokenHash); err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateScopedToken(ctx, 0, inbox.APIToken{OperatorID: op.ID, Name: "again", Scope: inbox.ScopeWrite}, tokenHash)
	wantCode(t, "duplicate token", err, inbox.ECONFLICT)
	_, err = s.CreateScopedToken(ctx, 0, inbox.APIToken{OperatorID: 9999, Name: "x", Scope: inbox.ScopeWrite}, "other-hash")
	wantCode(t, "token for unknown operator", err, inbox.ENOTFOUND)
	for i := 0; i < 2; i++ { // the second lookup skips the last_used_at write
		byToken, _, err := s.TokenByHash(ctx, tokenHash)
		if err != nil || byToken.ID != op.ID {
			t.Fatalf("TokenByHash = %+v, %v", byToken, err)
		}
	}
	var used int
	if err := s.DB().GetContext(ctx, &used, "SELECT count(*) FROM api_tokens WHERE last_used_at IS NOT NULL"); err != nil || used != 1 {
		t.Errorf("tokens with last_used_at: %d, %v; want 1", used, err)
	}
	_, _, err = s.TokenByHash(ctx, "unknown")
	wantCode(t, "unknown token", err, inbox.ENOTFOUND)

	// The look-up itself refuses a disabled operator's token, even one
	// that nothing deleted (UpdateOperator does delete them).
	offD, _, err := s.AddOperator(ctx, 0, inbox.Operator{Email: "off@example.com", Role: inbox.RoleOperator}, "h", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, offHash := inbox.NewToken()
	if _, err := s.CreateScopedToken(ctx, 0, inbox.APIToken{OperatorID: offD.ID, Name: "x", Scope: inbox.ScopeRead}, offHash); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, s.DB().Rebind("UPDATE operators SET disabled = TRUE WHERE id = ?"), offD.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.TokenByHash(ctx, offHash)
	wantCode(t, "disabled operator's token", err, inbox.ENOTFOUND)
	if got, _, err := s.OperatorByEmail(ctx, "off@example.com"); err != nil || !got.Disabled {
		t.Errorf("OperatorByEmail(disabled) = %+v, %v; want it, marked disabled", got, err)
	}
}

func testClients(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	file(t, s, envelope("c1", "site", "Алла", "a1", phone("+79880000001")))
	file(t, s, envelope("c2", "site", "Борис", "b1", phone("+79880000002"), email("boris@example.com")))
	file(t, s, envelope("c3", "mail", "Борис", "b2", email("boris@example.com")))
	file(t, s, envelope("c4", "site", "Борис", "b3", phone("+79880000002")))
	file(t, s, envelope("c5", "site", "Вика", "v1", phone("+79880000003")))

	all, next, err := s.ListClients(ctx, "", "", 0)
	if err != nil || next != "" || len(all) != 3 {
		t.Fatalf("ListClients = %d, %q, %v", len(all), next, err)
	}
	if all[0].Name != "Вика" || all[2].Name != "Алла" {
		t.Errorf("order = %s, %s, %s; want newest card first", all[0].Name, all[1].Name, all[2].Name)
	}
	boris := all[1]
	if want := []inbox.Identity{phone("+79880000002"), email("boris@example.com")}; !slices.Equal(boris.Identities, want) {
		t.Errorf("identities = %v, want %v", boris.Identities, want)
	}

	for _, q := range []string{"борис", "BORIS@", "880000002"} {
		got, _, err := s.ListClients(ctx, q, "", 0)
		if err != nil || len(got) != 1 || got[0].ID != boris.ID {
			t.Errorf("ListClients(%q) = %+v, %v; want Борис", q, got, err)
		}
	}
	var paged []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		got, next, err := s.ListClients(ctx, "", cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range got {
			paged = append(paged, c.Name)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if want := []string{"Вика", "Борис", "Алла"}; !slices.Equal(paged, want) {
		t.Errorf("paged = %v, want %v", paged, want)
	}

	d, err := s.GetClient(ctx, boris.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Conversations) != 2 || d.Conversations[0].ChannelID != "site" {
		t.Errorf("conversations = %+v, want site (newest activity) then mail", d.Conversations)
	}
	var texts []string
	for _, m := range d.Messages {
		texts = append(texts, m.Text)
	}
	if want := []string{"b1", "b2", "b3"}; !slices.Equal(texts, want) {
		t.Errorf("history = %v, want %v", texts, want)
	}
	js, _ := json.Marshal(d)
	if !strings.Contains(string(js), `"identities":[{"kind":"phone"`) {
		t.Errorf("detail JSON lacks identities: %s", js)
	}
}

func testNotFound(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	_, err := s.GetConversation(ctx, 404)
	wantCode(t, "GetConversation", err, inbox.ENOTFOUND)
	_, _, err = s.ListMessages(ctx, 404, "", 0)
	wantCode(t, "ListMessages", err, inbox.ENOTFOUND)
	_, err = s.GetClient(ctx, 404)
	wantCode(t, "GetClient", err, inbox.ENOTFOUND)
	st := inbox.StatusOpen
	_, _, err = s.UpdateConversation(ctx, 404, inbox.ConversationPatch{Status: &st})
	wantCode(t, "UpdateConversation", err, inbox.ENOTFOUND)
	_, _, err = s.CreateReply(ctx, 404, 0, "x")
	wantCode(t, "CreateReply", err, inbox.ENOTFOUND)
	evs, err := s.EventsAfter(ctx, 0, 0)
	if err != nil || len(evs) != 0 {
		t.Errorf("EventsAfter on an empty store = %v, %v", evs, err)
	}
	if err != nil && !strings.HasPrefix(err.Error(), "store: ") {
		t.Errorf("error %q lacks the package prefix", err)
	}
	_, _, err = s.FileBatch(ctx, []inbox.Envelope{{ChannelID: "site"}})
	wantCode(t, "FileBatch invalid envelope", err, inbox.EINVALID)
}

// BenchmarkFileBatch files batches of 64 envelopes, a quarter of them from
// senders seen before, and reports envelopes filed per second.
func BenchmarkFileBatch(b *testing.B) {
	for _, dialect := range []string{store.DialectSQLite, store.DialectPostgres} {
		b.Run(dialect, func(b *testing.B) {
			s := storetest.Open(b, dialect)
			ctx := context.Background()
			const batch = 64
			n := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				envs := make([]inbox.Envelope, batch)
				for j := range envs {
					n++
					sender := n
					if j%4 == 0 {
						sender = n / 2 // known by now
					}
					envs[j] = envelope(fmt.Sprintf("bench:%d", n), "site", "Bench", "text",
						phone(fmt.Sprintf("+7901%07d", sender)))
				}
				if _, _, err := s.FileBatch(ctx, envs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "envelopes/s")
		})
	}
}
