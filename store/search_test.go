package store_test

import (
	"testing"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/store"
	"github.com/leadhub/leadhub/store/storetest"
)

func TestSearchMessagesSQLite(t *testing.T) {
	testSearchMessages(t, storetest.Open(t, store.DialectSQLite))
}
func TestSearchMessagesPostgres(t *testing.T) {
	testSearchMessages(t, storetest.Open(t, store.DialectPostgres))
}

// testSearchMessages: every word must be there; hits are newest first,
// paged, limited to what the operator sees, and gone once erased.
func testSearchMessages(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	filed, _ := file(t, s,
		envelope("s1", "shop", "Елена", "Сколько стоит кухня из массива?", phone("+79120000021")),
		envelope("s2", "help", "Дмитрий", "Кухня пришла с царапиной", phone("+79120000022")),
		envelope("s3", "shop", "Олег", "Нужен шкаф-купе", phone("+79120000023")),
		envelope("s4", "shop", "Елена", "А доставка кухни в Казань?", phone("+79120000021")),
	)
	search := func(q string, sc *inbox.Scope, cursor string, limit int) ([]inbox.MessageHit, string) {
		t.Helper()
		hits, next, err := s.SearchMessages(ctx, inbox.MessageSearch{Q: q, Scope: sc, Cursor: cursor, Limit: limit})
		if err != nil {
			t.Fatalf("search %q: %v", q, err)
		}
		return hits, next
	}
	texts := func(hits []inbox.MessageHit) []string {
		var out []string
		for _, h := range hits {
			out = append(out, h.Message.Text)
		}
		return out
	}
	hits, _ := search("кухня", nil, "", 0)
	if len(hits) < 2 || hits[0].Message.ID < hits[1].Message.ID {
		t.Fatalf("кухня: %q", texts(hits))
	}
	if hits[0].Conversation.ID != hits[0].Message.ConversationID || hits[0].Conversation.ClientName == "" {
		t.Errorf("hit's conversation %+v", hits[0].Conversation)
	}
	if got, _ := search("кухня массива", nil, "", 0); len(got) != 1 || got[0].Message.ID != filed[0].Message.ID {
		t.Errorf("every word must match: %q", texts(got))
	}
	if got, _ := search("шкаф", nil, "", 0); len(got) != 1 || got[0].Conversation.ClientName != "Олег" {
		t.Errorf("шкаф: %q", texts(got))
	}
	// Paging: one at a time, no repeats.
	seen := map[int64]bool{}
	cursor := ""
	for i := 0; i < 5; i++ {
		page, next := search("кухня", nil, cursor, 1)
		for _, h := range page {
			if seen[h.Message.ID] {
				t.Fatalf("page repeats %d", h.Message.ID)
			}
			seen[h.Message.ID] = true
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != len(hits) {
		t.Errorf("paged %d hits, one page had %d", len(seen), len(hits))
	}
	// An operator who does not see "help" does not find its message.
	op := addOperator(t, s, "olga@example.com", inbox.RoleOperator)
	restricted := &inbox.Scope{OperatorID: op.ID, HiddenChannels: []string{"help"}}
	for _, h := range func() []inbox.MessageHit { h, _ := search("кухня", restricted, "", 0); return h }() {
		if h.Conversation.ChannelID == "help" {
			t.Errorf("a hidden channel's message was found: %q", h.Message.Text)
		}
	}
	// Characters of the query syntax are only separators.
	if _, _, err := s.SearchMessages(ctx, inbox.MessageSearch{Q: `"кух*" OR NEAR(`}); err != nil {
		t.Errorf("query syntax in the search: %v", err)
	}
	if _, _, err := s.SearchMessages(ctx, inbox.MessageSearch{Q: " ?! "}); inbox.ErrorCode(err) != inbox.EINVALID {
		t.Errorf("nothing to search for: %v", err)
	}
	// Erased, the words are gone from the index too.
	conv, _ := s.GetConversation(ctx, filed[2].Message.ConversationID)
	if _, _, err := s.EraseClient(ctx, 0, conv.ClientID); err != nil {
		t.Fatal(err)
	}
	if got, _ := search("шкаф", nil, "", 0); len(got) != 0 {
		t.Errorf("an erased message is still found: %q", texts(got))
	}
}
