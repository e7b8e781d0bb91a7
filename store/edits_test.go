package store_test

import (
	"testing"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/store"
)

func tgEnvelope(key, extID, text string, edit bool) inbox.Envelope {
	e := envelope(key, "tg", "Анна", text, inbox.Identity{Kind: inbox.IdentityTelegram, Value: "5012345678"})
	e.ChannelType = inbox.ChannelTelegram
	e.ExternalID = extID
	e.Edit = edit
	return e
}

// testEdits: an edit changes the stored message once (message.updated), a
// retried edit changes nothing, an edit in the same batch as its original
// files the edited text, and an edit of an unknown message is kept as a
// message of its own.
func testEdits(t *testing.T, s *store.Store) {
	filed, _ := file(t, s, tgEnvelope("tg:tg:1", "5012345678:10", "Добрый день, нужна доставка в Казань", false))
	orig := filed[0].Message

	filed, evs := file(t, s, tgEnvelope("tg:tg:2", "5012345678:10", "Добрый день, нужна доставка в Казань и Уфу", true))
	if filed[0].Dup || filed[0].Message.ID != orig.ID || filed[0].Message.Text != "Добрый день, нужна доставка в Казань и Уфу" {
		t.Fatalf("edit filed as %+v", filed[0])
	}
	if len(evs) != 1 || evs[0].Type != inbox.EventMessageUpdated {
		t.Fatalf("edit events = %v, want one message.updated", evs)
	}
	msgs, _, err := s.ListMessages(ctxT(t), orig.ConversationID, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].Text != "Добрый день, нужна доставка в Казань и Уфу" || msgs[0].Meta["edited_at"] == "" {
		t.Fatalf("messages after edit = %+v", msgs)
	}

	// Telegram retries the same edit: nothing changes, no event.
	filed, evs = file(t, s, tgEnvelope("tg:tg:2", "5012345678:10", "something else", true))
	if !filed[0].Dup || len(evs) != 0 {
		t.Fatalf("retried edit: %+v, events %v", filed[0], evs)
	}

	// Original and edit in one batch: one message, with the edited text.
	filed, _ = file(t, s,
		tgEnvelope("tg:tg:3", "5012345678:11", "Сколько стоит?", false),
		tgEnvelope("tg:tg:4", "5012345678:11", "Сколько стоит доставка?", true))
	if filed[0].Message.Text != "Сколько стоит доставка?" || !filed[1].Dup || filed[1].Message.ID != filed[0].Message.ID {
		t.Fatalf("same-batch edit: %+v", filed)
	}

	// An edit of a message never seen is not lost.
	filed, _ = file(t, s, tgEnvelope("tg:tg:5", "5012345678:9", "старое сообщение, исправленное", true))
	if filed[0].Dup || filed[0].Message.Text != "старое сообщение, исправленное" {
		t.Fatalf("edit of an unknown message: %+v", filed[0])
	}
	if got := count(t, s, "messages"); got != 3 {
		t.Fatalf("messages = %d, want 3", got)
	}
}

// testCardFields: fields a channel reports fill empty custom fields of the
// card and never overwrite what is there.
func testCardFields(t *testing.T, s *store.Store) {
	e := tgEnvelope("tg:tg:20", "1:1", "/start", false)
	e.From.Fields = map[string]string{"telegram_username": "@anna_k", "source": "telegram:spring_sale"}
	filed, _ := file(t, s, e)
	conv, err := s.GetConversation(ctxT(t), filed[0].Message.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.GetClient(ctxT(t), conv.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if c.CustomFields["telegram_username"] != "@anna_k" || c.CustomFields["source"] != "telegram:spring_sale" {
		t.Fatalf("custom fields = %v", c.CustomFields)
	}
	e2 := tgEnvelope("tg:tg:21", "1:2", "hi", false)
	e2.From.Fields = map[string]string{"telegram_username": "@anna_new", "source": "telegram:other"}
	file(t, s, e2)
	c, _ = s.GetClient(ctxT(t), conv.ClientID)
	if c.CustomFields["telegram_username"] != "@anna_k" || c.CustomFields["source"] != "telegram:spring_sale" {
		t.Fatalf("custom fields overwritten: %v", c.CustomFields)
	}
}
