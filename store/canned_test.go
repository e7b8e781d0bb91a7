package store_test

import (
	"testing"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/store"
	"github.com/leadhub/leadhub/store/storetest"
)

func TestCannedRepliesSQLite(t *testing.T) {
	testCannedReplies(t, storetest.Open(t, store.DialectSQLite))
}
func TestCannedRepliesPostgres(t *testing.T) {
	testCannedReplies(t, storetest.Open(t, store.DialectPostgres))
}

// testCannedReplies: each operator sees their own, their teams' and
// everyone's replies, and changes only what the rules allow.
func testCannedReplies(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	for _, team := range []string{"sales", "support"} {
		if _, _, err := s.CreateTeam(ctx, 0, team); err != nil {
			t.Fatal(err)
		}
	}
	olga := addOperator(t, s, "olga@example.com", inbox.RoleOperator, "sales")
	ivan := addOperator(t, s, "ivan@example.com", inbox.RoleOperator, "support")
	boss := addOperator(t, s, "boss@example.com", inbox.RoleSupervisor)

	mine, err := s.CreateCannedReply(ctx, olga.ID, olga.Role, inbox.CannedReply{Title: "привет", Text: "Здравствуйте, {{client.name}}!", Scope: inbox.CannedPersonal})
	if err != nil || mine.Scope != inbox.CannedPersonal || mine.OwnerID == nil || *mine.OwnerID != olga.ID {
		t.Fatalf("personal: %+v %v", mine, err)
	}
	sales, err := s.CreateCannedReply(ctx, olga.ID, olga.Role, inbox.CannedReply{Title: "цена", Text: "Кухня от 350 000 руб.", Scope: inbox.CannedTeam, Team: "sales"})
	if err != nil || sales.Team != "sales" || sales.Scope != inbox.CannedTeam {
		t.Fatalf("team: %+v %v", sales, err)
	}
	if _, err := s.CreateCannedReply(ctx, olga.ID, olga.Role, inbox.CannedReply{Title: "x", Text: "y", Scope: inbox.CannedTeam, Team: "support"}); inbox.ErrorCode(err) != inbox.EFORBIDDEN {
		t.Errorf("another team's reply by an operator: %v", err)
	}
	if _, err := s.CreateCannedReply(ctx, olga.ID, olga.Role, inbox.CannedReply{Title: "x", Text: "y", Scope: inbox.CannedEveryone}); inbox.ErrorCode(err) != inbox.EFORBIDDEN {
		t.Errorf("everyone's reply by an operator: %v", err)
	}
	all, err := s.CreateCannedReply(ctx, boss.ID, boss.Role, inbox.CannedReply{Title: "часы", Text: "Мы работаем с 9 до 18.", Scope: inbox.CannedEveryone})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []inbox.CannedReply{
		{Title: "две слова", Text: "x", Scope: inbox.CannedPersonal},
		{Title: "t", Text: " ", Scope: inbox.CannedPersonal},
		{Title: "t", Text: "x", Scope: "secret"},
		{Title: "t", Text: "x", Scope: inbox.CannedTeam, Team: "nobody"},
	} {
		if _, err := s.CreateCannedReply(ctx, boss.ID, boss.Role, bad); inbox.ErrorCode(err) != inbox.EINVALID {
			t.Errorf("%+v: %v, want EINVALID", bad, err)
		}
	}

	titles := func(op int64) []string {
		t.Helper()
		list, err := s.CannedReplies(ctx, op)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range list {
			out = append(out, c.Title)
		}
		return out
	}
	if got := titles(olga.ID); len(got) != 3 || got[0] != "привет" || got[1] != "цена" || got[2] != "часы" {
		t.Errorf("Olga's replies %q", got)
	}
	if got := titles(ivan.ID); len(got) != 1 || got[0] != "часы" {
		t.Errorf("Ivan's replies %q", got)
	}

	text := "Кухня от 340 000 руб."
	if c, err := s.UpdateCannedReply(ctx, olga.ID, olga.Role, sales.ID, inbox.CannedPatch{Text: &text}); err != nil || c.Text != text {
		t.Errorf("team member edits the team's reply: %+v %v", c, err)
	}
	if _, err := s.UpdateCannedReply(ctx, ivan.ID, ivan.Role, sales.ID, inbox.CannedPatch{Text: &text}); inbox.ErrorCode(err) != inbox.ENOTFOUND {
		t.Errorf("another team's reply: %v, want ENOTFOUND", err)
	}
	if _, err := s.UpdateCannedReply(ctx, ivan.ID, ivan.Role, mine.ID, inbox.CannedPatch{Text: &text}); inbox.ErrorCode(err) != inbox.ENOTFOUND {
		t.Errorf("someone's personal reply: %v, want ENOTFOUND", err)
	}
	if err := s.DeleteCannedReply(ctx, olga.ID, olga.Role, all.ID); inbox.ErrorCode(err) != inbox.EFORBIDDEN {
		t.Errorf("an operator deletes everyone's reply: %v, want EFORBIDDEN", err)
	}
	if err := s.DeleteCannedReply(ctx, olga.ID, olga.Role, mine.ID); err != nil {
		t.Errorf("delete own: %v", err)
	}
	if got := titles(olga.ID); len(got) != 2 {
		t.Errorf("after delete: %q", got)
	}
	if err := s.DeleteCannedReply(ctx, olga.ID, olga.Role, mine.ID); inbox.ErrorCode(err) != inbox.ENOTFOUND {
		t.Errorf("delete twice: %v", err)
	}
}
