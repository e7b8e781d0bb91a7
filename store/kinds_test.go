package store_test

import (
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/store"
)

// kindCases are the suite's cases for each kind of item an envelope carries
// (inbox.Item), run on every dialect.
var kindCases = []struct {
	name string
	fn   func(t *testing.T, s *store.Store)
}{
	{"Outgoing", testOutgoing},
	{"FactsOnTheCard", testFactsOnTheCard},
	{"ContactShared", testContactShared},
	{"QueuedOldEdit", testQueuedOldEdit},
	{"MixedBatch", testMixedBatch},
}

func vk(v string) inbox.Identity { return inbox.Identity{Kind: inbox.IdentityVK, Value: v} }

func vkEnvelope(key, text string) inbox.Envelope {
	e := envelope(key, "vk", "Олег", text, vk("210700286"))
	e.ChannelType = inbox.ChannelVK
	return e
}

func outgoing(key, text string) inbox.Envelope {
	e := vkEnvelope(key, text)
	e.Item = inbox.ItemOutgoing
	return e
}

func messages(t *testing.T, s *store.Store, conversationID int64) []inbox.Message {
	t.Helper()
	msgs, _, err := s.ListMessages(ctxT(t), conversationID, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// testOutgoing: a message the business sent from VK's own interface is
// stored outbound and sent, clears the unread count, is never put in the
// outbox, and a redelivery changes nothing.
func testOutgoing(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	filed, _ := file(t, s, vkEnvelope("vk:vk:1", "Здравствуйте, есть доставка в Казань?"))
	convID := filed[0].Message.ConversationID

	reply := outgoing("vk:vk:2", "Да, доставляем за 2 дня.")
	reply.ExternalID = "5150"
	filed, evs := file(t, s, reply)
	m := filed[0].Message
	if filed[0].Dup || m.ID == 0 || m.ConversationID != convID || m.Direction != inbox.DirectionOut ||
		m.Delivery != inbox.DeliverySent || m.Text != "Да, доставляем за 2 дня." || m.ExternalID != "5150" {
		t.Fatalf("outgoing filed as %+v", filed[0])
	}
	if got := eventTypes(evs); !slices.Equal(got, []string{inbox.EventMessageCreated}) {
		t.Fatalf("events = %v, want message.created", got)
	}
	if d := decode[messageData](t, evs[0]); d.Conversation.Unread != 0 {
		t.Errorf("unread after the business answered = %d, want 0", d.Conversation.Unread)
	}
	msgs := messages(t, s, convID)
	if len(msgs) != 2 || msgs[1].Direction != inbox.DirectionOut || msgs[1].Delivery != inbox.DeliverySent ||
		msgs[1].AuthorID != nil {
		t.Fatalf("messages = %+v", msgs)
	}
	if conv, err := s.GetConversation(ctx, convID); err != nil || conv.Unread != 0 {
		t.Errorf("conversation = %+v, %v; want unread 0", conv, err)
	}

	// VK delivers the same event again: nothing changes.
	filed, evs = file(t, s, reply)
	if !filed[0].Dup || filed[0].Message.ID != m.ID || len(evs) != 0 {
		t.Fatalf("redelivery: %+v, events %v", filed[0], evs)
	}
	if got := count(t, s, "messages"); got != 2 {
		t.Errorf("%d messages after a redelivery, want 2", got)
	}
	// Never sent again: nothing in the outbox, nothing to claim.
	if got := count(t, s, "outbox"); got != 0 {
		t.Errorf("outbox has %d rows, want 0", got)
	}
	if out, err := s.ClaimOutbound(ctx, 10, time.Minute); err != nil || len(out) != 0 {
		t.Errorf("ClaimOutbound = %+v, %v; want nothing", out, err)
	}

	// The business writes first to someone new: a card and a conversation
	// somebody already has in hand.
	first := outgoing("vk:vk:3", "Добрый день! Ваш заказ готов.")
	first.From.Identities = []inbox.Identity{vk("99")}
	filed, evs = file(t, s, first)
	if got := eventTypes(evs); !slices.Equal(got, []string{inbox.EventConversationCreated, inbox.EventMessageCreated}) {
		t.Fatalf("events = %v", got)
	}
	if conv := decode[conversationData](t, evs[0]).Conversation; conv.Status != inbox.StatusOpen || conv.Unread != 0 {
		t.Errorf("conversation opened by an outgoing message = %+v, want open, unread 0", conv)
	}
	if filed[0].Message.Direction != inbox.DirectionOut {
		t.Errorf("filed %+v", filed[0].Message)
	}
}

func fact(key string, name inbox.FactName, value string) inbox.Envelope {
	e := vkEnvelope(key, "")
	e.Item = inbox.ItemFact
	e.Fact = &inbox.Fact{Name: name, Value: value}
	return e
}

// testFactsOnTheCard: permission to message withdrawn marks the channel's
// identity unreachable and announces the card; given again, it lifts the
// mark. No fact files a message; a redelivered fact changes nothing, after
// an erasure too.
func testFactsOnTheCard(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	filed, _ := file(t, s, vkEnvelope("vk:vk:1", "Подпишусь на рассылку"))
	clientID := filed[0].Message.ConversationID
	conv, err := s.GetConversation(ctx, clientID)
	if err != nil {
		t.Fatal(err)
	}
	clientID = conv.ClientID

	deny := fact("vk:vk:2", inbox.FactMessagingDenied, "")
	filed, evs := file(t, s, deny)
	if filed[0].Dup || filed[0].Message.ID != 0 {
		t.Fatalf("fact filed as %+v", filed[0])
	}
	if got := eventTypes(evs); !slices.Equal(got, []string{inbox.EventClientUpdated}) {
		t.Fatalf("events = %v, want client.updated", got)
	}
	card := decode[clientData](t, evs[0]).Client
	if card.ID != clientID || len(card.Unreachable) != 1 || card.Unreachable[0].Identity != vk("210700286") ||
		card.Unreachable[0].Reason == "" {
		t.Fatalf("card after permission withdrawn = %+v", card)
	}
	if got := count(t, s, "messages"); got != 1 {
		t.Errorf("%d messages, want the one message: a fact is not a message", got)
	}

	filed, evs = file(t, s, deny)
	if !filed[0].Dup || len(evs) != 0 {
		t.Fatalf("redelivered fact: %+v, events %v", filed[0], evs)
	}

	filed, evs = file(t, s, fact("vk:vk:3", inbox.FactMessagingAllowed, ""))
	if filed[0].Dup || !slices.Equal(eventTypes(evs), []string{inbox.EventClientUpdated}) {
		t.Fatalf("permission given: %+v, events %v", filed[0], eventTypes(evs))
	}
	d, err := s.GetClient(ctx, clientID)
	if err != nil || len(d.Unreachable) != 0 {
		t.Fatalf("card after permission given = %+v, %v", d.Client, err)
	}

	// A fact from someone new makes their card, announced by itself.
	stranger := fact("vk:vk:4", inbox.FactMessagingAllowed, "")
	stranger.From.Identities = []inbox.Identity{vk("77")}
	_, evs = file(t, s, stranger)
	if got := eventTypes(evs); !slices.Equal(got, []string{inbox.EventClientUpdated}) {
		t.Fatalf("a stranger's fact: events %v", got)
	}
	strangerID := decode[clientData](t, evs[0]).Client.ID
	if count(t, s, "conversations") != 1 {
		t.Errorf("a fact opened a conversation")
	}

	// Merged: the facts move with the card.
	op := operator(t, s, "facts@example.com")
	if _, _, err := s.MergeClients(ctx, op.ID, clientID, strangerID); err != nil {
		t.Fatal(err)
	}
	if got := count(t, s, "card_facts WHERE client_id = "+strconv.FormatInt(clientID, 10)); got != 3 {
		t.Errorf("%d facts on the merged card, want 3", got)
	}

	// Erased: the facts' records go, and a late redelivery stays erased.
	if _, _, err := s.EraseClient(ctx, op.ID, clientID); err != nil {
		t.Fatal(err)
	}
	if got := count(t, s, "card_facts WHERE client_id = "+strconv.FormatInt(clientID, 10)); got != 0 {
		t.Errorf("%d facts of an erased client remain", got)
	}
	filed, evs = file(t, s, deny, stranger)
	if !filed[0].Dup || !filed[1].Dup || len(evs) != 0 {
		t.Fatalf("facts of an erased client redelivered: %+v, events %v", filed, evs)
	}
}

// testContactShared: a customer sharing their own number in Telegram is a
// fact: the number joins their card, which is announced, and the
// conversation gets no message.
func testContactShared(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	filed, _ := file(t, s, tgEnvelope("tg:tg:1", "5012345678:10", "/start", false))
	conv, err := s.GetConversation(ctx, filed[0].Message.ConversationID)
	if err != nil {
		t.Fatal(err)
	}

	shared := tgEnvelope("tg:tg:2", "5012345678:11", "[contact: Анна, 79123456789]", false)
	shared.Item = inbox.ItemFact
	shared.Fact = &inbox.Fact{Name: inbox.FactContactShared, Value: "79123456789"}
	shared.From.Identities = append(shared.From.Identities, phone("+79123456789"))
	filed, evs := file(t, s, shared)
	if filed[0].Dup || !slices.Equal(eventTypes(evs), []string{inbox.EventClientUpdated}) {
		t.Fatalf("contact shared: %+v, events %v", filed[0], eventTypes(evs))
	}
	card := decode[clientData](t, evs[0]).Client
	if card.ID != conv.ClientID || !slices.Contains(card.Identities, phone("+79123456789")) {
		t.Fatalf("card after the contact was shared = %+v", card)
	}
	if msgs := messages(t, s, conv.ID); len(msgs) != 1 {
		t.Errorf("history = %+v, want the /start alone", msgs)
	}
	// The number now finds the card from any channel.
	filed, _ = file(t, s, envelope("form:1", "site", "Анна", "Перезвоните", phone("+79123456789")))
	other, err := s.GetConversation(ctx, filed[0].Message.ConversationID)
	if err != nil || other.ClientID != conv.ClientID {
		t.Errorf("a form with the shared number went to client %d, want %d (%v)", other.ClientID, conv.ClientID, err)
	}
}

// testQueuedOldEdit: an envelope queued before envelopes said what they
// carry, with only "edit": true, is still filed as an edit.
func testQueuedOldEdit(t *testing.T, s *store.Store) {
	filed, _ := file(t, s, tgEnvelope("tg:tg:1", "5012345678:10", "Нужна доставка", false))
	raw := `{"dedupe_key":"tg:tg:2","channel_id":"tg","channel_type":"telegram","kind":"text",
		"from":{"name":"Анна","identities":[{"kind":"telegram","value":"5012345678"}]},
		"text":"Нужна доставка в Уфу","external_id":"5012345678:10","edit":true,
		"received_at":"2026-03-02T10:15:00Z"}`
	var old inbox.Envelope
	if err := json.Unmarshal([]byte(raw), &old); err != nil {
		t.Fatal(err)
	}
	if old.Item != "" || old.Carries() != inbox.ItemEdit {
		t.Fatalf("old envelope: item %q carries %q", old.Item, old.Carries())
	}
	got, evs := file(t, s, old)
	if got[0].Dup || got[0].Message.ID != filed[0].Message.ID || got[0].Message.Text != "Нужна доставка в Уфу" {
		t.Fatalf("old edit filed as %+v", got[0])
	}
	if !slices.Equal(eventTypes(evs), []string{inbox.EventMessageUpdated}) {
		t.Fatalf("events = %v, want message.updated", eventTypes(evs))
	}
	if n := count(t, s, "messages"); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

// testMixedBatch: every kind in one batch, in one transaction, each filed
// its own way, in order.
func testMixedBatch(t *testing.T, s *store.Store) {
	filed, _ := file(t, s, vkEnvelope("vk:vk:1", "Сколько стоит?"))
	orig := filed[0].Message
	call := envelope("call:pbx:c-1:ringing", "pbx", "", "", phone("+79123450000"))
	call.Item, call.ChannelType = inbox.ItemCall, inbox.ChannelTelephony
	call.Call = &inbox.Call{ID: "c-1", Event: inbox.CallRinging, Direction: inbox.DirectionIn}
	filed, evs := file(t, s,
		vkEnvelope("vk:vk:2", "И в Казань?"),
		outgoing("vk:vk:3", "Да, 500 ₽."),
		fact("vk:vk:4", inbox.FactMessagingDenied, "отписался"),
		call,
		vkEnvelope("vk:vk:2", "И в Казань?"), // the same again within the batch
	)
	if filed[0].Message.Direction != inbox.DirectionIn || filed[1].Message.Direction != inbox.DirectionOut ||
		filed[2].Message.ID != 0 || filed[3].Message.Kind != inbox.KindCall || !filed[4].Dup ||
		filed[4].Message.ID != filed[0].Message.ID {
		t.Fatalf("mixed batch filed as %+v", filed)
	}
	if filed[0].Message.ConversationID != orig.ConversationID || filed[1].Message.ConversationID != orig.ConversationID {
		t.Errorf("VK items went to conversations %d and %d, want %d", filed[0].Message.ConversationID,
			filed[1].Message.ConversationID, orig.ConversationID)
	}
	want := []string{inbox.EventClientUpdated, inbox.EventMessageCreated, inbox.EventMessageCreated,
		inbox.EventConversationCreated, inbox.EventMessageCreated, inbox.EventCallUpdated, inbox.EventCallRinging}
	if got := eventTypes(evs); !slices.Equal(got, want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
	if c := decode[clientData](t, evs[0]).Client; len(c.Unreachable) != 1 || c.Unreachable[0].Reason != "отписался" {
		t.Errorf("card = %+v", c)
	}
}
