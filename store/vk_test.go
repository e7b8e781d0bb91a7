package store_test

import (
	"strings"
	"testing"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/store"
	"github.com/leadhub/leadhub/store/storetest"
)

func TestVKReplyPermissionSQLite(t *testing.T) {
	testVKReplyPermission(t, storetest.Open(t, store.DialectSQLite))
}

func TestVKReplyPermissionPostgres(t *testing.T) {
	testVKReplyPermission(t, storetest.Open(t, store.DialectPostgres))
}

// testVKReplyPermission: a VK client who denied the community messages
// cannot be answered in their VK conversation (the reply box is refused
// with the reason) until they allow messages again.
func testVKReplyPermission(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	filed, _ := file(t, s, vkEnvelope("vk:vk:1", "Здравствуйте"))
	convID := filed[0].Message.ConversationID
	if _, _, err := s.CreateReply(ctx, convID, 0, "Добрый день!"); err != nil {
		t.Fatalf("reply before any denial: %v", err)
	}

	file(t, s, fact("vk:vk:2", inbox.FactMessagingDenied, "the client denied messages from the community in VK"))
	_, _, err := s.CreateReply(ctx, convID, 0, "Вы здесь?")
	if inbox.ErrorCode(err) != inbox.ECONFLICT || !strings.Contains(inbox.ErrorMessage(err), "denied messages") {
		t.Fatalf("reply after message_deny: %v, want ECONFLICT naming the denial", err)
	}
	if _, _, err := s.SendReply(ctx, inbox.ReplyRequest{ConversationID: convID, Text: "x", OverrideDNC: true}); inbox.ErrorCode(err) != inbox.ECONFLICT {
		t.Fatalf("override_dnc sent past a VK denial: %v", err)
	}

	file(t, s, fact("vk:vk:3", inbox.FactMessagingAllowed, ""))
	if _, _, err := s.CreateReply(ctx, convID, 0, "Спасибо, что разрешили сообщения"); err != nil {
		t.Fatalf("reply after message_allow: %v", err)
	}
}
