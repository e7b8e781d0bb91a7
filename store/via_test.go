package store_test

import (
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/store"
	"github.com/leadhub/leadhub/store/storetest"
)

func TestReplyViaSQLite(t *testing.T)   { testReplyVia(t, storetest.Open(t, store.DialectSQLite)) }
func TestReplyViaPostgres(t *testing.T) { testReplyVia(t, storetest.Open(t, store.DialectPostgres)) }

// testReplyVia: a form lead is answered through the client's Telegram; the
// reply stays in the form conversation, says which channel it took, goes
// out through that channel without threading, and a channel that cannot
// reach the client is refused.
func testReplyVia(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	if _, err := s.SyncChannels(ctx, []inbox.ChannelConfig{
		{ID: "site", Type: inbox.ChannelForm, Fingerprint: "1"},
		{ID: "tg", Type: inbox.ChannelTelegram, Fingerprint: "1"},
		{ID: "vk", Type: inbox.ChannelVK, Fingerprint: "1"},
	}); err != nil {
		t.Fatal(err)
	}
	file(t, s, envelope("v1", "tg", "Анна", "привет из телеграма", phone("+79120000031"), tg("5550001")))
	filed, _ := file(t, s, envelope("v2", "site", "Анна", "заявка с сайта", phone("+79120000031")))
	conv := filed[0].Message.ConversationID

	m, _, err := s.SendReply(ctx, inbox.ReplyRequest{ConversationID: conv, Text: "Ответим в Телеграме", Via: "tg"})
	if err != nil {
		t.Fatal(err)
	}
	if m.ConversationID != conv || m.Meta[inbox.MetaVia] != "tg" {
		t.Fatalf("reply = %+v", m)
	}
	claimed, err := s.ClaimOutbound(ctx, 10, time.Minute)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claimed %+v %v", claimed, err)
	}
	if o := claimed[0]; o.ChannelID != "tg" || o.ChannelType != inbox.ChannelTelegram || o.ReplyTo != "" || o.Message.ID != m.ID {
		t.Errorf("outbound = %+v", o)
	}
	for via, want := range map[string]string{"vk": inbox.EINVALID, "nowhere": inbox.EINVALID} {
		if _, _, err := s.SendReply(ctx, inbox.ReplyRequest{ConversationID: conv, Text: "x", Via: via}); inbox.ErrorCode(err) != want {
			t.Errorf("via %s: %v, want %s", via, err, want)
		}
	}
	// Its own channel named as via is the ordinary reply.
	if m, _, err := s.SendReply(ctx, inbox.ReplyRequest{ConversationID: conv, Text: "x", Via: "site"}); err != nil || m.Meta != nil {
		t.Errorf("via its own channel: %+v %v", m, err)
	}
}
