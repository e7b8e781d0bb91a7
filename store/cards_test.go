package store_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/store"
)

// cardCases are the suite's cases for client cards (issue 3), run on every
// dialect by runSuite.
var cardCases = []struct {
	name string
	fn   func(t *testing.T, s *store.Store)
}{
	{"RawPhonesAndConsent", testRawPhonesAndConsent},
	{"IdentityTooLong", testIdentityTooLong},
	{"DuplicateSuggestion", testDuplicateSuggestion},
	{"ConcurrentSamePerson", testConcurrentSamePerson},
	{"Merge", testMerge},
	{"MergeBadInput", testMergeBadInput},
	{"MergeWhileFiling", testMergeWhileFiling},
	{"Triage", testTriage},
	{"RejectSilencesSpam", testRejectSilencesSpam},
	{"CardContents", testCardContents},
	{"DoNotContact", testDoNotContact},
	{"Search", testSearch},
	{"ExportAndErase", testExportAndErase},
	{"Unreachable", testUnreachable},
	{"ImportCSV", testImportCSV},
	{"ImportCSVDialects", testImportCSVDialects},
	{"ExportCSV", testExportCSV},
}

func tg(v string) inbox.Identity { return inbox.Identity{Kind: inbox.IdentityTelegram, Value: v} }

func operator(t *testing.T, s *store.Store, email string) inbox.Operator {
	t.Helper()
	d, _, err := s.AddOperator(ctxT(t), 0, inbox.Operator{Email: email, Name: email, Role: inbox.RoleOperator}, "h", nil)
	if err != nil {
		t.Fatal(err)
	}
	return d.Operator
}

// cardOf files one envelope and returns its conversation.
func cardOf(t *testing.T, s *store.Store, e inbox.Envelope) inbox.Conversation {
	t.Helper()
	f, _ := file(t, s, e)
	c, err := s.GetConversation(ctxT(t), f[0].Message.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func getClient(t *testing.T, s *store.Store, id int64) inbox.ClientDetail {
	t.Helper()
	d, err := s.GetClient(ctxT(t), id)
	if err != nil {
		t.Fatalf("GetClient(%d): %v", id, err)
	}
	return d
}

func auditActions(t *testing.T, s *store.Store, clientID int64) []string {
	t.Helper()
	entries, err := s.AuditOfClient(ctxT(t), clientID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Action)
	}
	return out
}

// openPerChannel fails if any client has two conversations that are not
// closed in one channel.
func openPerChannel(t *testing.T, s *store.Store) {
	t.Helper()
	var n int
	err := s.DB().GetContext(ctxT(t), &n, `SELECT count(*) FROM (SELECT client_id, channel_id FROM conversations
		WHERE status <> 'closed' GROUP BY client_id, channel_id HAVING count(*) > 1) AS d`)
	if err != nil || n != 0 {
		t.Errorf("%d (client, channel) pairs with two open conversations (%v)", n, err)
	}
}

func testRawPhonesAndConsent(t *testing.T, s *store.Store) {
	e := envelope("rp1", "site", "Нина", "заявка", email("nina@example.com"))
	e.From.RawPhones = []string{"звоните после 18"}
	e.Meta = map[string]string{inbox.MetaUnparsedPhone: "12-34"}
	given := time.Date(2025, 4, 1, 9, 30, 0, 0, time.UTC)
	e.Consent = &inbox.Consent{TextVersion: "v3", GivenAt: given, IP: "203.0.113.7", Source: "site"}
	conv := cardOf(t, s, e)
	d := getClient(t, s, conv.ClientID)
	if want := []string{"звоните после 18", "12-34"}; !slices.Equal(d.RawPhones, want) {
		t.Errorf("raw phones = %q, want %q", d.RawPhones, want)
	}
	if len(d.Identities) != 1 {
		t.Errorf("identities = %v: raw phones must not become identities", d.Identities)
	}
	if len(d.Consents) != 1 || d.Consents[0].Kind != "personal_data" || d.Consents[0].TextVersion != "v3" ||
		!d.Consents[0].GivenAt.Equal(given) || d.Consents[0].IP != "203.0.113.7" || d.Consents[0].Source != "site" {
		t.Errorf("consents = %+v", d.Consents)
	}

	// The same raw text again adds nothing; a new one is a client.updated.
	e2 := envelope("rp2", "site", "", "ещё", email("nina@example.com"))
	e2.From.RawPhones = []string{"звоните после 18"}
	_, evs := file(t, s, e2)
	if got := eventTypes(evs); !slices.Equal(got, []string{inbox.EventMessageCreated}) {
		t.Errorf("events after a known raw phone = %v", got)
	}
	e3 := envelope("rp3", "site", "", "и ещё", email("nina@example.com"))
	e3.From.RawPhones = []string{"+7 (999)"}
	_, evs = file(t, s, e3)
	if got := eventTypes(evs); !slices.Equal(got, []string{inbox.EventClientUpdated, inbox.EventMessageCreated}) {
		t.Errorf("events after a new raw phone = %v", got)
	}
	if d := getClient(t, s, conv.ClientID); len(d.RawPhones) != 3 {
		t.Errorf("raw phones = %q, want 3", d.RawPhones)
	}
	// Raw text never matches: a card with the same raw text is another card.
	e4 := envelope("rp4", "site", "", "x", email("other@example.com"))
	e4.From.RawPhones = []string{"звоните после 18"}
	if c := cardOf(t, s, e4); c.ClientID == conv.ClientID {
		t.Error("a raw phone matched a card")
	}
}

func testIdentityTooLong(t *testing.T, s *store.Store) {
	long := strings.Repeat("a", inbox.MaxIdentityLen-len("@example.com")+1) + "@example.com"
	_, _, err := s.FileBatch(ctxT(t), []inbox.Envelope{envelope("long", "site", "", "x", email(long))})
	wantCode(t, "321-character identity", err, inbox.EINVALID)
	if n := count(t, s, "clients"); n != 0 {
		t.Errorf("%d cards after a rejected envelope", n)
	}
}

func testDuplicateSuggestion(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	a := cardOf(t, s, envelope("d1", "site", "Анна", "a", phone("+79010000001")))
	b := cardOf(t, s, envelope("d2", "mail", "Анна Б.", "b", email("anna@example.com")))

	// Vouched by A's phone, carrying B's email: filed to A, nothing moves,
	// a suggestion is made and announced.
	f, evs := file(t, s, envelope("d3", "site", "", "both", phone("+79010000001"), email("anna@example.com"), tg("777")))
	if f[0].Message.ConversationID != a.ID {
		t.Fatalf("filed into %d, want A's conversation %d", f[0].Message.ConversationID, a.ID)
	}
	if got := eventTypes(evs); !slices.Equal(got, []string{inbox.EventClientUpdated, inbox.EventClientDuplicateSuggested, inbox.EventMessageCreated}) {
		t.Fatalf("events = %v", got)
	}
	type suggestionData struct {
		Suggestion inbox.DuplicateSuggestion `json:"suggestion"`
	}
	sg := decode[suggestionData](t, evs[1]).Suggestion
	if sg.ClientID != a.ClientID || sg.OtherClientID != b.ClientID || sg.Identity != email("anna@example.com") || sg.Resolved || sg.ID == 0 {
		t.Errorf("suggestion = %+v", sg)
	}
	if da := getClient(t, s, a.ClientID); len(da.Identities) != 2 || len(da.Duplicates) != 1 {
		t.Errorf("card A: identities %v (the free Telegram id joins), duplicates %v", da.Identities, da.Duplicates)
	}
	if db := getClient(t, s, b.ClientID); len(db.Identities) != 1 || len(db.Duplicates) != 1 {
		t.Errorf("card B: identities %v (keeps its email), duplicates %v", db.Identities, db.Duplicates)
	}

	// The same again: no second suggestion, no event.
	_, evs = file(t, s, envelope("d4", "site", "", "again", phone("+79010000001"), email("anna@example.com")))
	if got := eventTypes(evs); !slices.Equal(got, []string{inbox.EventMessageCreated}) {
		t.Errorf("events on a repeat = %v", got)
	}
	for _, id := range []int64{0, a.ClientID, b.ClientID} {
		got, next, err := s.ListDuplicates(ctx, id, "", 0)
		if err != nil || next != "" || len(got) != 1 || got[0].ID != sg.ID {
			t.Errorf("ListDuplicates(%d) = %+v, %q, %v", id, got, next, err)
		}
	}
	_, _, err := s.ListDuplicates(ctx, 404, "", 0)
	wantCode(t, "duplicates of an unknown card", err, inbox.ENOTFOUND)

	// Dismissed: gone from the lists, never suggested again.
	op := operator(t, s, "dup@example.com")
	if d, err := s.DismissDuplicate(ctx, op.ID, sg.ID); err != nil || !d.Resolved {
		t.Fatalf("DismissDuplicate = %+v, %v", d, err)
	}
	_, err = s.DismissDuplicate(ctx, op.ID, 404)
	wantCode(t, "dismiss unknown", err, inbox.ENOTFOUND)
	_, evs = file(t, s, envelope("d5", "site", "", "again", phone("+79010000001"), email("anna@example.com")))
	if got := eventTypes(evs); !slices.Equal(got, []string{inbox.EventMessageCreated}) {
		t.Errorf("events after a dismissal = %v", got)
	}
	if got, _, _ := s.ListDuplicates(ctx, 0, "", 0); len(got) != 0 {
		t.Errorf("open suggestions after a dismissal: %+v", got)
	}
}

// testConcurrentSamePerson files one new person's messages from 8 workers at
// once, each envelope with a different subset and order of the person's
// identities: one card, one conversation, every identity on it.
func testConcurrentSamePerson(t *testing.T, s *store.Store) {
	const workers, per = 8, 6
	ids := []inbox.Identity{phone("+79020000001"), email("same@example.com"), tg("9001")}
	ctx := ctxT(t)
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for m := range per {
				// Each envelope vouches with a different identity and
				// always carries the phone, so all of them are one person.
				first := ids[(w+m)%len(ids)]
				from := []inbox.Identity{first}
				if first != ids[0] {
					from = append(from, ids[0])
				}
				if m%2 == 1 && first != ids[1] {
					from = append(from, ids[1])
				}
				e := envelope(fmt.Sprintf("same:%d:%d", w, m), "site", "Same", "x", from...)
				if _, _, err := s.FileBatch(ctx, []inbox.Envelope{e}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("FileBatch: %v", err)
	}
	if n := count(t, s, "clients"); n != 1 {
		t.Errorf("%d cards, want 1", n)
	}
	if n := count(t, s, "conversations"); n != 1 {
		t.Errorf("%d conversations, want 1", n)
	}
	if n := count(t, s, "messages"); n != workers*per {
		t.Errorf("%d messages, want %d", n, workers*per)
	}
	if n := count(t, s, "identities"); n != len(ids) {
		t.Errorf("%d identities, want %d", n, len(ids))
	}
	if n := count(t, s, "duplicate_suggestions"); n != 0 {
		t.Errorf("%d duplicate suggestions for one person", n)
	}
}

func testMerge(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	op := operator(t, s, "merge@example.com")
	// A: phone, an open site conversation with two messages, a tag, a field.
	a1 := cardOf(t, s, envelope("m1", "site", "Алексей", "a1", phone("+79030000001")))
	file(t, s, envelope("m2", "site", "", "a2", phone("+79030000001")))
	// B: email, an open site conversation and an open mail conversation,
	// tags, fields, a note, a consent, a task, do-not-contact.
	b1 := cardOf(t, s, envelope("m3", "site", "Лёша", "b1", email("lesha@example.com")))
	b2 := cardOf(t, s, envelope("m4", "mail", "", "b2", email("lesha@example.com")))
	file(t, s, envelope("m5", "site", "", "a3", phone("+79030000001")))
	A, B := a1.ClientID, b1.ClientID
	vip, inn, kpp := []string{"VIP"}, "7701", "7702"
	if _, _, err := s.UpdateClient(ctx, op.ID, A, inbox.ClientPatch{Tags: &vip, CustomFields: map[string]*string{"inn": &inn}}); err != nil {
		t.Fatal(err)
	}
	on, reason, company := true, "просил не звонить", "ООО Ромашка"
	btags := []string{"vip", "b2b"}
	if _, _, err := s.UpdateClient(ctx, op.ID, B, inbox.ClientPatch{Tags: &btags, Company: &company,
		CustomFields: map[string]*string{"inn": &kpp, "kpp": &kpp}, DoNotContact: &on, DoNotContactReason: &reason}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AddNote(ctx, op.ID, B, "клиент B"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AddConsent(ctx, op.ID, B, inbox.Consent{TextVersion: "v1"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateTask(ctx, op.ID, B, inbox.Task{Title: "перезвонить"}); err != nil {
		t.Fatal(err)
	}
	// A message that makes a suggestion between the two.
	file(t, s, envelope("m6", "site", "", "both", phone("+79030000001"), email("lesha@example.com")))
	if got, _, _ := s.ListDuplicates(ctx, A, "", 0); len(got) != 1 {
		t.Fatalf("suggestions before merge = %+v", got)
	}

	survivor, evs, err := s.MergeClients(ctx, op.ID, A, B)
	if err != nil {
		t.Fatalf("MergeClients: %v", err)
	}
	if survivor.ID != A || survivor.Name != "Алексей" || survivor.Company != "ООО Ромашка" {
		t.Errorf("survivor = %+v", survivor)
	}
	if want := []inbox.Identity{phone("+79030000001"), email("lesha@example.com")}; !slices.Equal(survivor.Identities, want) {
		t.Errorf("survivor identities = %v, want %v", survivor.Identities, want)
	}
	if want := []string{"b2b", "VIP"}; !slices.Equal(survivor.Tags, want) {
		t.Errorf("survivor tags = %v, want %v", survivor.Tags, want)
	}
	if survivor.CustomFields["inn"] != "7701" || survivor.CustomFields["kpp"] != "7702" {
		t.Errorf("custom fields = %v: the survivor's win, the other's fill gaps", survivor.CustomFields)
	}
	if !survivor.DoNotContact || survivor.DoNotContactReason != reason {
		t.Errorf("do-not-contact lost in the merge: %+v", survivor)
	}
	types := eventTypes(evs)
	if types[len(types)-1] != inbox.EventClientMerged {
		t.Errorf("events = %v, want client.merged last", types)
	}
	type mergedData struct {
		Client inbox.Client `json:"client"`
		FromID int64        `json:"from_id"`
	}
	if md := decode[mergedData](t, evs[len(evs)-1]); md.Client.ID != A || md.FromID != B {
		t.Errorf("client.merged = %+v", md)
	}
	updated := 0
	for _, e := range evs {
		if e.Type == inbox.EventConversationUpdated {
			updated++
			if c := decode[conversationData](t, e).Conversation; c.ClientID != A {
				t.Errorf("conversation.updated names client %d, want %d", c.ClientID, A)
			}
		}
	}
	if updated != 3 { // B's two moved conversations and A's site one that took B's messages
		t.Errorf("%d conversation.updated events, want 3", updated)
	}

	// Both site conversations were open: B's messages moved into A's, in
	// order, and B's emptied conversation is closed.
	d := getClient(t, s, A)
	msgs, _, err := s.ListMessages(ctx, a1.ID, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, m := range msgs {
		texts = append(texts, m.Text)
	}
	if want := []string{"a1", "a2", "b1", "a3", "both"}; !slices.Equal(texts, want) {
		t.Errorf("site history = %v, want %v", texts, want)
	}
	site, _ := s.GetConversation(ctx, a1.ID)
	if site.Unread != 5 || site.Status != inbox.StatusNew {
		t.Errorf("site conversation = %+v, want 5 unread, still new", site)
	}
	emptied, _ := s.GetConversation(ctx, b1.ID)
	if emptied.Status != inbox.StatusClosed || emptied.ClientID != A || emptied.Unread != 0 {
		t.Errorf("B's site conversation = %+v, want closed, on A", emptied)
	}
	if mail, _ := s.GetConversation(ctx, b2.ID); mail.ClientID != A || mail.Status != b2.Status || mail.ClientName != "Алексей" {
		t.Errorf("B's mail conversation = %+v, want moved to A as it was", mail)
	}
	openPerChannel(t, s)
	if len(d.Conversations) != 3 || len(d.Notes) != 1 || len(d.Consents) != 1 || len(d.Tasks) != 1 || len(d.Duplicates) != 0 {
		t.Errorf("survivor detail: %d conversations, %d notes, %d consents, %d tasks, %d duplicates",
			len(d.Conversations), len(d.Notes), len(d.Consents), len(d.Tasks), len(d.Duplicates))
	}
	if got := auditActions(t, s, A); !slices.Contains(got, "client.merge") {
		t.Errorf("audit of A = %v, want client.merge", got)
	}

	// B is a tombstone: not listed, pointing at A; its identities now find A.
	tomb := getClient(t, s, B)
	if tomb.MergedInto == nil || *tomb.MergedInto != A || len(tomb.Identities) != 0 || len(tomb.Conversations) != 0 {
		t.Errorf("tombstone = %+v", tomb.Client)
	}
	all, _, _ := s.ListClients(ctx, "", "", 0)
	if len(all) != 1 || all[0].ID != A {
		t.Errorf("ListClients after merge = %d cards", len(all))
	}
	if c := cardOf(t, s, envelope("m7", "mail", "", "after", email("lesha@example.com"))); c.ClientID != A || c.ID != b2.ID {
		t.Errorf("B's email now files to %+v, want A's mail conversation %d", c, b2.ID)
	}

	// Idempotent: merging B again answers with A and changes nothing.
	again, evs, err := s.MergeClients(ctx, op.ID, A, B)
	if err != nil || again.ID != A || len(evs) != 0 {
		t.Errorf("second merge = %+v, %d events, %v", again.ID, len(evs), err)
	}
	if got := auditActions(t, s, A); strings.Count(strings.Join(got, " "), "client.merge") != 1 {
		t.Errorf("audit after a repeated merge = %v", got)
	}
}

func testMergeBadInput(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	a := cardOf(t, s, envelope("b1", "site", "A", "a", phone("+79040000001")))
	b := cardOf(t, s, envelope("b2", "site", "B", "b", phone("+79040000002")))
	c := cardOf(t, s, envelope("b3", "site", "C", "c", phone("+79040000003")))
	_, _, err := s.MergeClients(ctx, 0, a.ClientID, a.ClientID)
	wantCode(t, "merge into itself", err, inbox.EINVALID)
	_, _, err = s.MergeClients(ctx, 0, a.ClientID, 9999)
	wantCode(t, "merge unknown from", err, inbox.ENOTFOUND)
	_, _, err = s.MergeClients(ctx, 9999, a.ClientID, b.ClientID)
	wantCode(t, "merge by unknown operator", err, inbox.EINVALID)
	_, _, err = s.MergeClients(ctx, 0, 9999, a.ClientID)
	wantCode(t, "merge into unknown", err, inbox.ENOTFOUND)
	if _, _, err := s.MergeClients(ctx, 0, a.ClientID, b.ClientID); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.MergeClients(ctx, 0, c.ClientID, b.ClientID)
	wantCode(t, "merge a card merged elsewhere", err, inbox.ECONFLICT)
	_, _, err = s.MergeClients(ctx, 0, b.ClientID, c.ClientID)
	wantCode(t, "merge into a tombstone", err, inbox.ECONFLICT)
	// A chain: A into C leaves B's tombstone pointing at C.
	if _, _, err := s.MergeClients(ctx, 0, c.ClientID, a.ClientID); err != nil {
		t.Fatal(err)
	}
	if tomb := getClient(t, s, b.ClientID); tomb.MergedInto == nil || *tomb.MergedInto != c.ClientID {
		t.Errorf("B's tombstone points at %v, want %d", tomb.MergedInto, c.ClientID)
	}
	if n := count(t, s, "messages"); n != 3 {
		t.Errorf("%d messages after merges, want 3", n)
	}
	openPerChannel(t, s)
}

// testMergeWhileFiling merges card B into A while workers keep filing B's
// messages: no message lands on the tombstone, none is lost.
func testMergeWhileFiling(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	const workers, per = 4, 10
	a := cardOf(t, s, envelope("w0", "site", "A", "a", phone("+79050000001")))
	b := cardOf(t, s, envelope("w1", "site", "B", "b", email("b@example.com")))
	var wg sync.WaitGroup
	errs := make(chan error, workers+1)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range per {
				e := envelope(fmt.Sprintf("w:%d:%d", w, m), "site", "", "x", email("b@example.com"))
				if _, _, err := s.FileBatch(ctx, []inbox.Envelope{e}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(5 * time.Millisecond) // not needed for correctness: just let some filing go first
		if _, _, err := s.MergeClients(ctx, 0, a.ClientID, b.ClientID); err != nil {
			errs <- err
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("%v", err)
	}
	var onTomb int
	if err := s.DB().GetContext(ctx, &onTomb, s.DB().Rebind(`SELECT count(*) FROM conversations WHERE client_id = ?`), b.ClientID); err != nil {
		t.Fatal(err)
	}
	if onTomb != 0 {
		t.Errorf("%d conversations on the tombstone", onTomb)
	}
	if n := count(t, s, "messages"); n != 2+workers*per {
		t.Errorf("%d messages, want %d", n, 2+workers*per)
	}
	if d := getClient(t, s, b.ClientID); len(d.Identities) != 0 {
		t.Errorf("tombstone kept identities %v", d.Identities)
	}
	openPerChannel(t, s)
}

func testTriage(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	op := operator(t, s, "op1@example.com")
	other := operator(t, s, "op2@example.com")
	known := cardOf(t, s, envelope("t0", "site", "Известный", "x", phone("+79060000001")))
	if _, _, err := s.UpdateConversation(ctx, known.ID, inbox.ConversationPatch{Status: ptr(inbox.StatusOpen)}); err != nil {
		t.Fatal(err)
	}

	// A first contact from an unknown sender is new; accept makes it
	// the operator's own.
	fresh := cardOf(t, s, envelope("t1", "tg", "Новый", "привет", tg("5001")))
	if fresh.Status != inbox.StatusNew {
		t.Fatalf("first contact status = %s, want new", fresh.Status)
	}
	conv, evs, err := s.AcceptConversation(ctx, op.ID, fresh.ID)
	if err != nil || conv.Status != inbox.StatusOpen || conv.AssigneeID == nil || *conv.AssigneeID != op.ID {
		t.Fatalf("accept = %+v, %v", conv, err)
	}
	if got := eventTypes(evs); !slices.Equal(got, []string{inbox.EventConversationUpdated}) {
		t.Errorf("accept events = %v", got)
	}
	if conv, evs, err := s.AcceptConversation(ctx, op.ID, fresh.ID); err != nil || len(evs) != 0 || conv.Status != inbox.StatusOpen {
		t.Errorf("accepting again = %+v, %v events, %v", conv, len(evs), err)
	}
	_, _, err = s.AcceptConversation(ctx, other.ID, fresh.ID)
	wantCode(t, "accept another's", err, inbox.ECONFLICT)
	_, _, err = s.AcceptConversation(ctx, op.ID, 9999)
	wantCode(t, "accept unknown", err, inbox.ENOTFOUND)
	if got := auditActions(t, s, fresh.ClientID); !slices.Equal(got, []string{"conversation.accept"}) {
		t.Errorf("audit = %v", got)
	}

	// Link: the sender is a known client; the new card merges into theirs.
	stranger := cardOf(t, s, envelope("t2", "mail", "Незнакомец", "письмо", email("known@example.com")))
	linked, evs, err := s.LinkConversation(ctx, op.ID, stranger.ID, known.ClientID)
	if err != nil {
		t.Fatalf("link: %v", err)
	}
	if linked.ID != stranger.ID || linked.ClientID != known.ClientID || linked.Status != inbox.StatusOpen {
		t.Errorf("linked = %+v", linked)
	}
	if !slices.Contains(eventTypes(evs), inbox.EventClientMerged) {
		t.Errorf("link events = %v", eventTypes(evs))
	}
	if d := getClient(t, s, known.ClientID); len(d.Identities) != 2 {
		t.Errorf("known card identities = %v, want phone and email", d.Identities)
	}
	if got := auditActions(t, s, known.ClientID); !slices.Contains(got, "conversation.link") || !slices.Contains(got, "client.merge") {
		t.Errorf("audit = %v", got)
	}
	if again, evs, err := s.LinkConversation(ctx, op.ID, stranger.ID, known.ClientID); err != nil || len(evs) != 0 || again.ID != stranger.ID {
		t.Errorf("linking again = %+v, %d events, %v", again, len(evs), err)
	}
	// Linking into a card with an open conversation in the same channel
	// folds it there.
	dup := cardOf(t, s, envelope("t3", "site", "Дубль", "site again", email("dup@example.com")))
	folded, _, err := s.LinkConversation(ctx, op.ID, dup.ID, known.ClientID)
	if err != nil || folded.ID != known.ID {
		t.Errorf("link into an open conversation = %+v, %v; want conversation %d", folded, err, known.ID)
	}
	_, _, err = s.LinkConversation(ctx, op.ID, fresh.ID, 9999)
	wantCode(t, "link to unknown", err, inbox.ENOTFOUND)
	openPerChannel(t, s)
}

func ptr[T any](v T) *T { return &v }

func testRejectSilencesSpam(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	op := operator(t, s, "spam@example.com")
	spam := cardOf(t, s, envelope("s1", "site", "Казино", "выиграй", phone("+79070000001"), email("casino@example.com")))
	conv, evs, err := s.RejectConversation(ctx, op.ID, spam.ID)
	if err != nil || conv.Status != inbox.StatusClosed {
		t.Fatalf("reject = %+v, %v", conv, err)
	}
	if got := eventTypes(evs); !slices.Equal(got, []string{inbox.EventConversationUpdated, inbox.EventClientUpdated}) {
		t.Errorf("reject events = %v", got)
	}
	if d := getClient(t, s, spam.ClientID); !d.Spam {
		t.Error("card not flagged spam")
	}
	if got := auditActions(t, s, spam.ClientID); !slices.Equal(got, []string{"conversation.reject"}) {
		t.Errorf("audit = %v", got)
	}
	if _, evs, err := s.RejectConversation(ctx, op.ID, spam.ID); err != nil || len(evs) != 0 {
		t.Errorf("rejecting again: %d events, %v", len(evs), err)
	}

	// Later messages from those identities, in this channel and another:
	// stored, in a closed conversation, unread untouched, not announced.
	before := allEvents(t, s)
	f, evs := file(t, s,
		envelope("s2", "site", "", "ещё спам", phone("+79070000001")),
		envelope("s3", "mail", "", "и тут", email("casino@example.com"), tg("666")))
	if len(evs) != 0 {
		t.Errorf("spam filing wrote events %v", eventTypes(evs))
	}
	if after := allEvents(t, s); len(after) != len(before) {
		t.Errorf("events table grew by %d", len(after)-len(before))
	}
	for i, fl := range f {
		c, err := s.GetConversation(ctx, fl.Message.ConversationID)
		if err != nil || c.Status != inbox.StatusClosed || c.ClientID != spam.ClientID || c.Unread != 0 {
			t.Errorf("spam message %d went to %+v, %v", i, c, err)
		}
	}
	if f[0].Message.ConversationID != spam.ID {
		t.Errorf("site spam went to %d, want the rejected conversation %d", f[0].Message.ConversationID, spam.ID)
	}
	if n := count(t, s, "messages"); n != 3 {
		t.Errorf("%d messages stored, want 3", n)
	}
	if c, _ := s.GetConversation(ctx, spam.ID); !c.LastMessageAt.Equal(spam.LastMessageAt) {
		t.Errorf("spam moved the conversation's activity: %v, was %v", c.LastMessageAt, spam.LastMessageAt)
	}
	// Unflagged, the card is announced again.
	off := false
	if _, _, err := s.UpdateClient(ctx, op.ID, spam.ClientID, inbox.ClientPatch{Spam: &off}); err != nil {
		t.Fatal(err)
	}
	if _, evs := file(t, s, envelope("s4", "site", "", "не спам", phone("+79070000001"))); !slices.Contains(eventTypes(evs), inbox.EventMessageCreated) {
		t.Errorf("after unflagging: events %v", eventTypes(evs))
	}
}

func testCardContents(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	op := operator(t, s, "card@example.com")
	conv := cardOf(t, s, envelope("c1", "site", "иван", "x", phone("+79080000001")))
	id := conv.ClientID
	name, company, reason := "  Иван Петров ", "ООО «Ромашка»", "попросил по телефону"
	tags := []string{" VIP ", "опт", "vip", ""}
	inn, gone := "7701234567", "x"
	yes := true
	card, evs, err := s.UpdateClient(ctx, op.ID, id, inbox.ClientPatch{Name: &name, Company: &company, Tags: &tags,
		CustomFields: map[string]*string{"ИНН": &inn, "old": &gone}, DoNotContact: &yes, DoNotContactReason: &reason})
	if err != nil {
		t.Fatal(err)
	}
	if card.Name != "Иван Петров" || card.Company != company || !slices.Equal(card.Tags, []string{"VIP", "опт"}) ||
		card.CustomFields["ИНН"] != inn || !card.DoNotContact || card.DoNotContactReason != reason {
		t.Errorf("updated card = %+v", card)
	}
	if len(evs) != 1 || evs[0].Type != inbox.EventClientUpdated || decode[clientData](t, evs[0]).Client.Name != "Иван Петров" {
		t.Errorf("events = %v", eventTypes(evs))
	}
	// custom fields merge key by key; a nil value deletes.
	card, _, err = s.UpdateClient(ctx, op.ID, id, inbox.ClientPatch{CustomFields: map[string]*string{"old": nil}})
	if err != nil || len(card.CustomFields) != 1 {
		t.Errorf("after deleting a field: %v, %v", card.CustomFields, err)
	}
	// Nothing changes: no event, no audit entry.
	if _, evs, err := s.UpdateClient(ctx, op.ID, id, inbox.ClientPatch{Name: &name}); err != nil || len(evs) != 0 {
		t.Errorf("no-op patch: %d events, %v", len(evs), err)
	}
	// Turning do-not-contact off drops the reason.
	no := false
	if card, _, err = s.UpdateClient(ctx, op.ID, id, inbox.ClientPatch{DoNotContact: &no}); err != nil || card.DoNotContactReason != "" {
		t.Errorf("dnc off: %+v, %v", card, err)
	}
	note, evs, err := s.AddNote(ctx, op.ID, id, "  Перезвонить в пятницу  ")
	if err != nil || note.Text != "Перезвонить в пятницу" || note.AuthorID == nil || *note.AuthorID != op.ID || len(evs) != 1 {
		t.Errorf("AddNote = %+v, %d events, %v", note, len(evs), err)
	}
	due := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	task, _, err := s.CreateTask(ctx, op.ID, id, inbox.Task{Title: "Счёт", DueAt: &due, AssigneeID: &op.ID})
	if err != nil || task.ID == 0 || task.DueAt == nil || !task.DueAt.Equal(due) {
		t.Errorf("CreateTask = %+v, %v", task, err)
	}
	consent, _, err := s.AddConsent(ctx, op.ID, id, inbox.Consent{Kind: "marketing", TextVersion: "2025-01", IP: "198.51.100.1", Source: "phone call"})
	if err != nil || consent.ID == 0 || consent.GivenAt.IsZero() {
		t.Errorf("AddConsent = %+v, %v", consent, err)
	}

	d := getClient(t, s, id)
	if d.Name != "Иван Петров" || len(d.Notes) != 1 || len(d.Tasks) != 1 || len(d.Consents) != 1 || len(d.Messages) != 1 ||
		len(d.Identities) != 1 || !slices.Equal(d.Tags, []string{"VIP", "опт"}) {
		t.Errorf("detail = %+v", d)
	}
	if d.Tasks[0].AssigneeID == nil || d.Consents[0].Kind != "marketing" || d.Notes[0].Text != "Перезвонить в пятницу" {
		t.Errorf("records = %+v %+v %+v", d.Notes, d.Tasks, d.Consents)
	}
	js, _ := json.Marshal(d)
	for _, k := range []string{`"company"`, `"tags"`, `"custom_fields"`, `"do_not_contact"`, `"notes"`, `"consents"`, `"tasks"`, `"identities"`, `"messages"`} {
		if !strings.Contains(string(js), k) {
			t.Errorf("detail JSON lacks %s", k)
		}
	}
	audit := auditActions(t, s, id)
	if strings.Count(strings.Join(audit, " "), "client.update") != 3 || !slices.Contains(audit, "client.consent") {
		t.Errorf("audit = %v", audit)
	}
	entries, _ := s.AuditOfClient(ctx, id)
	for _, e := range entries {
		if strings.Contains(string(e.Detail), "Иван") || strings.Contains(string(e.Detail), "7701234567") {
			t.Errorf("audit detail carries personal data: %s", e.Detail)
		}
	}

	// Bad input.
	long := strings.Repeat("я", inbox.MaxNameLen+1)
	many := make([]string, inbox.MaxTags+1)
	for i := range many {
		many[i] = fmt.Sprint("t", i)
	}
	empty := ""
	bad := []struct {
		name string
		p    inbox.ClientPatch
	}{
		{"long name", inbox.ClientPatch{Name: &long}},
		{"too many tags", inbox.ClientPatch{Tags: &many}},
		{"empty field name", inbox.ClientPatch{CustomFields: map[string]*string{" ": &inn}}},
		{"long tag", inbox.ClientPatch{Tags: &[]string{strings.Repeat("t", inbox.MaxTagLen+1)}}},
	}
	for _, b := range bad {
		_, _, err := s.UpdateClient(ctx, op.ID, id, b.p)
		wantCode(t, b.name, err, inbox.EINVALID)
	}
	_, _, err = s.UpdateClient(ctx, op.ID, 9999, inbox.ClientPatch{Name: &name})
	wantCode(t, "update unknown", err, inbox.ENOTFOUND)
	_, _, err = s.AddNote(ctx, op.ID, id, "  ")
	wantCode(t, "empty note", err, inbox.EINVALID)
	_, _, err = s.AddNote(ctx, op.ID, 9999, "x")
	wantCode(t, "note on unknown", err, inbox.ENOTFOUND)
	_, _, err = s.CreateTask(ctx, op.ID, id, inbox.Task{Title: empty})
	wantCode(t, "task without title", err, inbox.EINVALID)
	ghost := int64(9999)
	_, _, err = s.CreateTask(ctx, op.ID, id, inbox.Task{Title: "x", AssigneeID: &ghost})
	wantCode(t, "task for unknown operator", err, inbox.EINVALID)
}

func testDoNotContact(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	op := operator(t, s, "dnc@example.com")
	conv := cardOf(t, s, envelope("n1", "site", "Пётр", "уберите меня из базы", phone("+79090000001")))
	yes, reason := true, "просил не звонить"
	if _, _, err := s.UpdateClient(ctx, op.ID, conv.ClientID, inbox.ClientPatch{DoNotContact: &yes, DoNotContactReason: &reason}); err != nil {
		t.Fatal(err)
	}
	_, _, err := s.SendReply(ctx, inbox.ReplyRequest{ConversationID: conv.ID, AuthorID: op.ID, Text: "Здравствуйте!"})
	wantCode(t, "reply to do-not-contact", err, inbox.ECONFLICT)
	if err != nil && !strings.Contains(inbox.ErrorMessage(err), reason) {
		t.Errorf("the refusal %q does not say why", inbox.ErrorMessage(err))
	}
	_, _, err = s.CreateReply(ctx, conv.ID, op.ID, "Здравствуйте!")
	wantCode(t, "CreateReply to do-not-contact", err, inbox.ECONFLICT)
	if n := count(t, s, "outbox"); n != 0 {
		t.Errorf("a refused reply reached the outbox")
	}
	m, _, err := s.SendReply(ctx, inbox.ReplyRequest{ConversationID: conv.ID, AuthorID: op.ID, Text: "Удалили вас из базы", OverrideDNC: true})
	if err != nil || m.Delivery != inbox.DeliveryQueued {
		t.Fatalf("override = %+v, %v", m, err)
	}
	entries, err := s.AuditOfClient(ctx, conv.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	last := entries[len(entries)-1]
	if last.Action != "reply.override_dnc" || last.OperatorID == nil || *last.OperatorID != op.ID || last.EntityID != conv.ID ||
		!strings.Contains(string(last.Detail), fmt.Sprintf(`"message_id":%d`, m.ID)) {
		t.Errorf("override audit = %+v (%s)", last, last.Detail)
	}
}

func testSearch(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	op := operator(t, s, "search@example.com")
	ivan := cardOf(t, s, envelope("q1", "site", "Иван Петров", "x", phone("+79123456789"), email("ivan.petrov@example.com"))).ClientID
	olga := cardOf(t, s, envelope("q2", "site", "Ольга Smith", "x", phone("+74951234567"))).ClientID
	pat := cardOf(t, s, envelope("q3", "tg", "Pat_100%", "x", tg("424242"))).ClientID
	gone := cardOf(t, s, envelope("q4", "site", "Иван Дубль", "x", email("dubl@example.com"))).ClientID
	tags, company := []string{"VIP", "Опт"}, "ООО Ромашка"
	if _, _, err := s.UpdateClient(ctx, op.ID, olga, inbox.ClientPatch{Tags: &tags, Company: &company}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.MergeClients(ctx, op.ID, ivan, gone); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		q    string
		want []int64
	}{
		{"", []int64{pat, olga, ivan}},
		{"иван", []int64{ivan}},
		{"ПЕТРОВ", []int64{ivan}},
		{"ван пет", []int64{ivan}},
		{"smith", []int64{olga}},
		{"ромашка", []int64{olga}},
		{"8 (912) 345-67-89", []int64{ivan}},
		{"+7 912 345 67 89", []int64{ivan}},
		{"89123456789", []int64{ivan}},
		{"9123456789", []int64{ivan}},
		{"67-89", []int64{ivan}},     // the last digits
		{"345 67 89", []int64{ivan}}, // the last digits, spaced
		{"+7495", []int64{olga}},     // the first digits
		{"8 (495) 123-45-67", []int64{olga}},
		{"IVAN.PETROV@example.com", []int64{ivan}},
		{"ivan.petrov@", []int64{ivan}},
		{"dubl@example.com", []int64{ivan}}, // the merged card's email found on the survivor
		{"vip", []int64{olga}},
		{"опт", []int64{olga}},
		{"424242", []int64{pat}},
		{"_100%", []int64{pat}}, // LIKE wildcards are literal
		{"123", nil},            // too few digits for a phone search, in no name
		{"nobody", nil},
	}
	for _, tt := range tests {
		got, _, err := s.ListClients(ctx, tt.q, "", 0)
		if err != nil {
			t.Errorf("ListClients(%q): %v", tt.q, err)
			continue
		}
		var ids []int64
		for _, c := range got {
			ids = append(ids, c.ID)
		}
		if !slices.Equal(ids, tt.want) {
			t.Errorf("ListClients(%q) = %v, want %v", tt.q, ids, tt.want)
		}
	}
	if got, _, _ := s.ListClients(ctx, "vip", "", 0); len(got) == 1 && !slices.Equal(got[0].Tags, []string{"VIP", "Опт"}) {
		t.Errorf("listed card tags = %v", got[0].Tags)
	}
}

func testExportAndErase(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	op := operator(t, s, "dpo@example.com")
	e1 := envelope("email:mail:<1@x>", "mail", "Мария", "мой паспорт 1234 567890", email("maria@example.com"), phone("+79100000001"))
	e1.Attachments = []inbox.Attachment{{URL: "https://files.example.com/rec.mp3", Name: "call.mp3"}}
	e1.Meta = map[string]string{"utm_source": "ya"}
	e1.ExternalID = "<1@x>"
	conv := cardOf(t, s, e1)
	id := conv.ClientID
	file(t, s, envelope("email:mail:<2@x>", "mail", "", "второе письмо", email("maria@example.com")))
	if _, _, err := s.CreateReply(ctx, conv.ID, op.ID, "ответ Марии"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AddNote(ctx, op.ID, id, "Мария просила удалить данные"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AddConsent(ctx, op.ID, id, inbox.Consent{TextVersion: "v1", IP: "203.0.113.9"}); err != nil {
		t.Fatal(err)
	}
	// A card merged into Maria's before: its name goes too.
	old := cardOf(t, s, envelope("o1", "site", "Маша Старая", "x", phone("+79100000002")))
	if _, _, err := s.MergeClients(ctx, op.ID, id, old.ClientID); err != nil {
		t.Fatal(err)
	}

	exp, err := s.ExportClient(ctx, op.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	if exp.Client.Name != "Мария" || len(exp.Client.Identities) != 3 || len(exp.Messages) != 4 || len(exp.Notes) != 1 ||
		len(exp.Consents) != 1 || len(exp.Conversations) != 2 || exp.ExportedAt.IsZero() {
		t.Errorf("export = %+v", exp)
	}
	if last := exp.Audit[len(exp.Audit)-1]; last.Action != "client.export" || last.OperatorID == nil || *last.OperatorID != op.ID {
		t.Errorf("export audit = %+v", exp.Audit)
	}
	_, err = s.ExportClient(ctx, op.ID, 9999)
	wantCode(t, "export unknown", err, inbox.ENOTFOUND)

	card, evs, err := s.EraseClient(ctx, op.ID, id)
	if err != nil {
		t.Fatalf("EraseClient: %v", err)
	}
	wantName := fmt.Sprintf("Erased client #%d", id)
	if card.Name != wantName || card.ErasedAt == nil || len(card.Identities) != 0 || len(card.Tags) != 0 {
		t.Errorf("erased card = %+v", card)
	}
	if got := eventTypes(evs); !slices.Equal(got, []string{inbox.EventClientErased}) {
		t.Errorf("erase events = %v", got)
	}
	d := getClient(t, s, id)
	if len(d.Messages) != 4 || len(d.Notes) != 0 || len(d.Consents) != 1 || d.Consents[0].IP != "" || d.Consents[0].TextVersion != "v1" {
		t.Errorf("after erase: %d messages, notes %v, consents %+v", len(d.Messages), d.Notes, d.Consents)
	}
	for _, m := range d.Messages {
		if m.Text != "" || m.Subject != "" || len(m.Attachments) != 0 || len(m.Meta) != 0 || m.ExternalID != "" {
			t.Errorf("message %d not blanked: %+v", m.ID, m)
		}
		if m.Direction == inbox.DirectionOut && m.Delivery != inbox.DeliveryFailed {
			t.Errorf("queued reply %d still %s", m.ID, m.Delivery)
		}
	}
	if n := count(t, s, "outbox"); n != 0 {
		t.Errorf("outbox holds %d replies to an erased client", n)
	}
	for _, c := range d.Conversations {
		if c.Status != inbox.StatusClosed || c.ClientName != wantName {
			t.Errorf("conversation after erase = %+v", c)
		}
	}
	if tomb := getClient(t, s, old.ClientID); tomb.Name != fmt.Sprintf("Erased client #%d", old.ClientID) {
		t.Errorf("the merged card kept its name %q", tomb.Name)
	}
	// No event, old or new, still tells what Maria wrote.
	for _, e := range allEvents(t, s) {
		for _, secret := range []string{"паспорт", "maria@example.com", "Мария", "Маша", "79100000001", "rec.mp3"} {
			if strings.Contains(string(e.Data), secret) {
				t.Errorf("event %d (%s) still carries %q: %s", e.ID, e.Type, secret, e.Data)
			}
		}
	}
	var leftover int
	if err := s.DB().GetContext(ctx, &leftover, `SELECT count(*) FROM messages WHERE text LIKE '%паспорт%'`); err != nil || leftover != 0 {
		t.Errorf("message text left: %d (%v)", leftover, err)
	}
	if got := auditActions(t, s, id); !slices.Contains(got, "client.erase") {
		t.Errorf("audit = %v", got)
	}

	// A provider retry or a mailbox re-scan of an erased message is a
	// duplicate: nothing comes back.
	cards, msgs := count(t, s, "clients"), count(t, s, "messages")
	f, evs := file(t, s, e1)
	if !f[0].Dup || len(evs) != 0 || count(t, s, "clients") != cards || count(t, s, "messages") != msgs {
		t.Errorf("re-delivered erased message: %+v, events %v", f[0], eventTypes(evs))
	}
	// A new message from the same address is a new lawful contact.
	fresh := cardOf(t, s, envelope("email:mail:<3@x>", "mail", "Мария", "снова я", email("maria@example.com")))
	if fresh.ClientID == id || fresh.Status != inbox.StatusNew {
		t.Errorf("new contact after erasure = %+v", fresh)
	}

	// Idempotent; replies to the erased client are refused; the merged
	// tombstone cannot be erased on its own.
	if again, evs, err := s.EraseClient(ctx, op.ID, id); err != nil || len(evs) != 0 || again.Name != wantName {
		t.Errorf("erase again = %+v, %d events, %v", again, len(evs), err)
	}
	_, _, err = s.SendReply(ctx, inbox.ReplyRequest{ConversationID: conv.ID, AuthorID: op.ID, Text: "x", OverrideDNC: true})
	wantCode(t, "reply to erased", err, inbox.ECONFLICT)
	_, _, err = s.EraseClient(ctx, op.ID, old.ClientID)
	wantCode(t, "erase a tombstone", err, inbox.ECONFLICT)
	_, _, err = s.EraseClient(ctx, op.ID, 9999)
	wantCode(t, "erase unknown", err, inbox.ENOTFOUND)
	_, _, err = s.MergeClients(ctx, op.ID, fresh.ClientID, id)
	wantCode(t, "merge an erased card", err, inbox.ECONFLICT)
	yes := true
	_, _, err = s.UpdateClient(ctx, op.ID, id, inbox.ClientPatch{Spam: &yes})
	wantCode(t, "edit an erased card", err, inbox.ECONFLICT)
}

func testUnreachable(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	conv := cardOf(t, s, envelope("u1", "bot", "Вика", "привет", tg("4242"), phone("+79180000001")))
	evs, err := s.MarkUnreachable(ctx, conv.ClientID, tg("4242"), "Forbidden: bot was blocked by the user")
	if err != nil || len(evs) != 1 || evs[0].Type != inbox.EventClientUpdated {
		t.Fatalf("MarkUnreachable = %v, %v", eventTypes(evs), err)
	}
	d := getClient(t, s, conv.ClientID)
	if len(d.Unreachable) != 1 || d.Unreachable[0].Identity != tg("4242") || d.Unreachable[0].Reason != "Forbidden: bot was blocked by the user" ||
		d.Unreachable[0].Since.IsZero() || len(d.Identities) != 2 {
		t.Errorf("card = %+v", d.Client)
	}
	// Not this card's identity: nothing happens.
	if evs, err := s.MarkUnreachable(ctx, conv.ClientID, tg("1"), "x"); err != nil || len(evs) != 0 {
		t.Errorf("foreign identity: %v, %v", eventTypes(evs), err)
	}
	_, err = s.MarkUnreachable(ctx, 9999, tg("4242"), "x")
	wantCode(t, "unknown card", err, inbox.ENOTFOUND)
	// The client writes again from Telegram: reachable again.
	_, evs = file(t, s, envelope("u2", "bot", "", "я снова тут", tg("4242")))
	if got := eventTypes(evs); !slices.Equal(got, []string{inbox.EventClientUpdated, inbox.EventMessageCreated}) {
		t.Errorf("events = %v", got)
	}
	if d := getClient(t, s, conv.ClientID); len(d.Unreachable) != 0 {
		t.Errorf("still unreachable: %+v", d.Unreachable)
	}
}
