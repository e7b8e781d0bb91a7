package store_test

import (
	"testing"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/store"
	"github.com/leadhub/leadhub/store/storetest"
)

func TestReadsSQLite(t *testing.T)   { testReads(t, storetest.Open(t, store.DialectSQLite)) }
func TestReadsPostgres(t *testing.T) { testReads(t, storetest.Open(t, store.DialectPostgres)) }

// testReads: opening a conversation clears its unread count for that
// operator only; later messages count again; "mark unread" shows at least
// one; a reply clears it for everyone.
func testReads(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	olga := addOperator(t, s, "olga@example.com", inbox.RoleOperator)
	ivan := addOperator(t, s, "ivan@example.com", inbox.RoleOperator)
	filed, _ := file(t, s,
		envelope("r1", "site", "Елена", "кухня", phone("+79120000011")),
		envelope("r2", "site", "Елена", "сколько стоит?", phone("+79120000011")),
		envelope("r3", "site", "Елена", "и доставка?", phone("+79120000011")))
	convID := filed[0].Message.ConversationID
	unread := func(op int64) int {
		t.Helper()
		c, err := s.GetConversation(ctx, convID)
		if err != nil {
			t.Fatal(err)
		}
		convs := []inbox.Conversation{c}
		if err := s.UnreadFor(ctx, op, convs); err != nil {
			t.Fatal(err)
		}
		return convs[0].Unread
	}
	if unread(olga.ID) != 3 || unread(ivan.ID) != 3 {
		t.Fatalf("before reading: %d, %d; want 3, 3", unread(olga.ID), unread(ivan.ID))
	}
	n, evs, err := s.MarkRead(ctx, convID, olga.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 || len(evs) != 1 || evs[0].Type != inbox.EventConversationRead ||
		evs[0].Audience.Kind != inbox.AudienceSelf || evs[0].Audience.OperatorID != olga.ID {
		t.Fatalf("mark read: %d, %+v", n, evs)
	}
	if unread(olga.ID) != 0 || unread(ivan.ID) != 3 {
		t.Fatalf("after Olga read: %d, %d; want 0, 3", unread(olga.ID), unread(ivan.ID))
	}
	// The replay gives the read mark to Olga alone, not even to an admin.
	if got, err := s.EventsFor(ctx, inbox.Viewer{OperatorID: ivan.ID, Role: inbox.RoleAdmin, Scope: inbox.Scope{All: true}}, evs[0].ID-1, evs[0].ID, 10); err != nil || len(got) != 0 {
		t.Errorf("an admin replays another's read mark: %v %v", got, err)
	}
	if got, err := s.EventsFor(ctx, inbox.Viewer{OperatorID: olga.ID, Role: inbox.RoleOperator, Scope: inbox.Scope{OperatorID: olga.ID}}, evs[0].ID-1, evs[0].ID, 10); err != nil || len(got) != 1 {
		t.Errorf("Olga's replay of her read mark: %v %v", got, err)
	}

	file(t, s, envelope("r4", "site", "Елена", "алло?", phone("+79120000011")))
	if unread(olga.ID) != 1 || unread(ivan.ID) != 4 {
		t.Fatalf("a new message: %d, %d; want 1, 4", unread(olga.ID), unread(ivan.ID))
	}
	if n, _, err := s.MarkRead(ctx, convID, olga.ID, false); err != nil || n != 0 {
		t.Fatalf("read again: %d %v", n, err)
	}
	if n, _, err := s.MarkRead(ctx, convID, olga.ID, true); err != nil || n != 1 {
		t.Fatalf("mark unread: %d %v, want 1", n, err)
	}
	file(t, s, envelope("r5", "site", "Елена", "ау", phone("+79120000011")))
	if unread(olga.ID) != 1 {
		t.Fatalf("marked unread plus a new message: %d, want 1 (the new one)", unread(olga.ID))
	}
	// A reply answers the client for everyone.
	if _, _, err := s.SendReply(ctx, inbox.ReplyRequest{ConversationID: convID, AuthorID: ivan.ID, Text: "Добрый день!"}); err != nil {
		t.Fatal(err)
	}
	if unread(olga.ID) != 1 || unread(ivan.ID) != 0 {
		// Olga's own mark stays until she opens it.
		t.Fatalf("after a reply: %d, %d; want 1 (marked), 0", unread(olga.ID), unread(ivan.ID))
	}
	if _, _, err := s.MarkRead(ctx, 99999, olga.ID, false); inbox.ErrorCode(err) != inbox.ENOTFOUND {
		t.Errorf("unknown conversation: %v", err)
	}
}
