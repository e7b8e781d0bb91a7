package store_test

import (
	"testing"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/store"
	"github.com/leadhub/leadhub/store/storetest"
)

func TestFileVisibleSQLite(t *testing.T) { testFileVisible(t, storetest.Open(t, store.DialectSQLite)) }
func TestFileVisiblePostgres(t *testing.T) {
	testFileVisible(t, storetest.Open(t, store.DialectPostgres))
}

// testFileVisible: a stored file is visible exactly where a message that
// carries it is, whichever way the message was written or changed.
func testFileVisible(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	const id = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	env := envelope("f1", "help", "Борис", "фото поломки", phone("+79120000002"))
	env.Attachments = []inbox.Attachment{
		{URL: "/files/" + id + "/photo.jpg", Name: "photo.jpg", MIME: "image/jpeg"},
		{URL: "https://example.com/elsewhere.pdf", Name: "elsewhere.pdf"},
	}
	filed, _ := file(t, s, env)
	conv, err := s.GetConversation(ctx, filed[0].Message.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	olga := addOperator(t, s, "olga@example.com", inbox.RoleOperator)
	sales := inbox.Scope{OperatorID: olga.ID, HiddenChannels: []string{"help"}}
	support := inbox.Scope{OperatorID: olga.ID + 1, HiddenChannels: []string{"shop"}}
	visible := func(sc inbox.Scope, fileID string) bool {
		t.Helper()
		ok, err := s.FileVisible(ctx, sc, fileID)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if visible(sales, id) || !visible(support, id) || !visible(inbox.Scope{All: true}, id) {
		t.Errorf("help's file: sales %v, support %v, all %v; want false, true, true",
			visible(sales, id), visible(support, id), visible(inbox.Scope{All: true}, id))
	}
	if visible(inbox.Scope{All: true}, "0000") {
		t.Error("a file no message carries is visible")
	}
	// A file an operator attached to a reply is stored on the reply and
	// seen where the reply is.
	const replyFile = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
	offer := inbox.Attachment{URL: "/files/" + replyFile + "/offer.pdf", Name: "offer.pdf", MIME: "application/pdf", Size: 3}
	reply, _, err := s.SendReply(ctx, inbox.ReplyRequest{ConversationID: conv.ID, AuthorID: olga.ID, Attachments: []inbox.Attachment{offer}})
	if err != nil {
		t.Fatalf("reply with only a file: %v", err)
	}
	if len(reply.Attachments) != 1 || reply.Attachments[0] != offer || reply.Text != "" {
		t.Errorf("reply = %+v", reply)
	}
	if !visible(support, replyFile) || visible(sales, replyFile) {
		t.Error("a reply's file is not seen exactly where the reply is")
	}
	if _, _, err := s.SendReply(ctx, inbox.ReplyRequest{ConversationID: conv.ID, AuthorID: olga.ID, Text: "  "}); inbox.ErrorCode(err) != inbox.EINVALID {
		t.Errorf("empty reply without files: %v, want EINVALID", err)
	}
	// Assigned to the sales operator, the conversation and its file are theirs.
	if _, _, err := s.UpdateConversation(ctx, conv.ID, inbox.ConversationPatch{SetAssignee: true, AssigneeID: &olga.ID}); err != nil {
		t.Fatal(err)
	}
	if !visible(sales, id) || visible(support, id) {
		t.Error("after assignment the file does not follow its conversation")
	}
	// Erasing the card blanks the message: the file goes with it.
	if _, _, err := s.EraseClient(ctx, 0, conv.ClientID); err != nil {
		t.Fatal(err)
	}
	if visible(inbox.Scope{All: true}, id) {
		t.Error("a file of an erased message is still visible")
	}
}
