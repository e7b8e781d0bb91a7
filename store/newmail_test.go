package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/store"
)

// testStartConversation: an operator writes first to an address on a card
// whose lead came through a form: an email conversation opens with the
// mail queued, its subject and address kept, and the outbox hands the
// sender the address; a second mail goes to the same open conversation;
// an address not on the card, or an erased card, is refused.
func testStartConversation(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	addr := inbox.Identity{Kind: inbox.IdentityEmail, Value: "lead@example.com"}
	filed, _ := file(t, s, envelope("form:site:1", "site", "Лид", "перезвоните", addr,
		inbox.Identity{Kind: inbox.IdentityPhone, Value: "+79120000001"}))
	conv, err := s.GetConversation(ctx, filed[0].Message.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	req := inbox.StartRequest{ClientID: conv.ClientID, ChannelID: "mail", ChannelType: inbox.ChannelEmail,
		To: addr, Subject: "Ваш заказ", Text: "Здравствуйте!", Meta: map[string]string{"to": addr.Value}}
	started, msg, evs, err := s.StartConversation(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if started.ChannelID != "mail" || started.ChannelType != inbox.ChannelEmail || started.Status != inbox.StatusOpen ||
		msg.Delivery != inbox.DeliveryQueued || msg.Subject != "Ваш заказ" || msg.Kind != inbox.KindEmail || msg.Meta["to"] != addr.Value {
		t.Fatalf("started %+v with %+v", started, msg)
	}
	if len(evs) != 2 || evs[0].Type != inbox.EventConversationCreated || evs[1].Type != inbox.EventMessageCreated {
		t.Fatalf("events %v", evs)
	}
	out, err := s.ClaimOutbound(ctx, 10, time.Minute)
	if err != nil || len(out) != 1 || out[0].Message.ID != msg.ID || out[0].Message.Meta["to"] != addr.Value || out[0].Parent != nil {
		t.Fatalf("claimed %+v, %v", out, err)
	}

	again, _, evs, err := s.StartConversation(ctx, req)
	if err != nil || again.ID != started.ID || len(evs) != 1 {
		t.Fatalf("second mail: %+v, %d events, %v", again, len(evs), err)
	}

	bad := req
	bad.To = inbox.Identity{Kind: inbox.IdentityEmail, Value: "stranger@example.com"}
	if _, _, _, err := s.StartConversation(ctx, bad); inbox.ErrorCode(err) != inbox.EINVALID {
		t.Fatalf("address not on the card: %v", err)
	}
	if _, _, err := s.EraseClient(ctx, 0, conv.ClientID); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.StartConversation(ctx, req); inbox.ErrorCode(err) != inbox.ECONFLICT {
		t.Fatalf("erased card: %v", err)
	}
}

// testThreadAcrossCards: a customer's message that answers a message of
// another card's open conversation (a colleague answering all) goes into
// that conversation; one that answers nothing known, or a closed
// conversation, goes the usual way.
func testThreadAcrossCards(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	ann := inbox.Identity{Kind: inbox.IdentityEmail, Value: "ann@client.test"}
	bob := inbox.Identity{Kind: inbox.IdentityEmail, Value: "bob@client.test"}
	first := envelope("email:mail:a1", "mail", "Ann", "Нужен счёт", ann)
	first.ExternalID = "a1@client.test"
	filed, _ := file(t, s, first)
	annConv := filed[0].Message.ConversationID

	reply := envelope("email:mail:b1", "mail", "Bob", "Добавьте доставку", bob)
	reply.ExternalID = "b1@client.test"
	reply.Thread = []string{"unknown@x", "a1@client.test"}
	filed, _ = file(t, s, reply)
	if filed[0].Message.ConversationID != annConv {
		t.Fatalf("the answer went to conversation %d, want Ann's %d", filed[0].Message.ConversationID, annConv)
	}

	other := envelope("email:mail:b2", "mail", "Bob", "Другой вопрос", bob)
	other.Thread = []string{"nothing-known@x"}
	filed, _ = file(t, s, other)
	if filed[0].Message.ConversationID == annConv {
		t.Fatal("a message answering nothing known went to Ann's conversation")
	}

	closed := inbox.StatusClosed
	if _, _, err := s.UpdateConversation(ctx, annConv, inbox.ConversationPatch{Status: &closed}); err != nil {
		t.Fatal(err)
	}
	late := envelope("email:mail:b3", "mail", "Bob", "Ещё", bob)
	late.Thread = []string{"a1@client.test"}
	filed, _ = file(t, s, late)
	if filed[0].Message.ConversationID == annConv {
		t.Fatal("another card's message went into a closed conversation")
	}

	// Ann answers her closed thread: it is opened again.
	back := envelope("email:mail:a2", "mail", "Ann", "Счёт оплачен", ann)
	back.Thread = []string{"a1@client.test"}
	filed, evs := file(t, s, back)
	if filed[0].Message.ConversationID != annConv {
		t.Fatalf("Ann's answer went to conversation %d, want her closed %d opened again", filed[0].Message.ConversationID, annConv)
	}
	if c, _ := s.GetConversation(ctx, annConv); c.Status != inbox.StatusOpen {
		t.Fatalf("status %q after the answer", c.Status)
	}
	if !slices.ContainsFunc(evs, func(e inbox.Event) bool { return e.Type == inbox.EventConversationUpdated }) {
		t.Fatalf("no conversation.updated among %v", evs)
	}

	// Closed again, and Ann has started another conversation meanwhile:
	// her answer to the old thread goes to the open one.
	if _, _, err := s.UpdateConversation(ctx, annConv, inbox.ConversationPatch{Status: &closed}); err != nil {
		t.Fatal(err)
	}
	filed, _ = file(t, s, envelope("email:mail:a3", "mail", "Ann", "Новый вопрос", ann))
	open := filed[0].Message.ConversationID
	again := envelope("email:mail:a4", "mail", "Ann", "И про старый счёт", ann)
	again.Thread = []string{"a1@client.test"}
	filed, _ = file(t, s, again)
	if filed[0].Message.ConversationID != open || open == annConv {
		t.Fatalf("answer to the old thread went to %d, want the open %d", filed[0].Message.ConversationID, open)
	}
}
