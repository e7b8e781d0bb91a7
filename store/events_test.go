package store_test

import (
	"slices"
	"testing"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/store"
	"github.com/leadhub/leadhub/store/storetest"
)

func TestEventAudienceSQLite(t *testing.T) {
	testEventAudience(t, storetest.Open(t, store.DialectSQLite))
}

func TestEventAudiencePostgres(t *testing.T) {
	testEventAudience(t, storetest.Open(t, store.DialectPostgres))
}

// testEventAudience: every event is written with its audience, read back
// the same by the hub's reader, and a websocket's replay shows an operator
// only what they may see now — not the history of a conversation that was
// reassigned away from them, nor anything to an operator who joined later
// and cannot see it.
func testEventAudience(t *testing.T, s *store.Store) {
	ctx := ctxT(t)
	addTeam(t, s, "sales")
	addTeam(t, s, "support")
	olga := addOperator(t, s, "olga@example.com", inbox.RoleOperator, "sales")
	petr := addOperator(t, s, "petr@example.com", inbox.RoleOperator, "sales")
	start, err := s.LastEventID(ctx)
	if err != nil {
		t.Fatal(err)
	}

	filed, written := file(t, s,
		envelope("a1", "shop", "Анна", "нужна кухня", phone("+79120000001")),
		envelope("b1", "help", "Борис", "сломалось", phone("+79120000002")),
	)
	anna, boris := filed[0].Message.ConversationID, filed[1].Message.ConversationID
	for _, ev := range written {
		a := ev.Audience
		if a.Kind != inbox.AudienceConversation || a.ConversationID == 0 || a.ClientID == 0 || a.ChannelID == "" {
			t.Errorf("filed %s has audience %+v, want its conversation", ev.Type, a)
		}
	}
	annaConv, err := s.GetConversation(ctx, anna)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AddNote(ctx, olga.ID, annaConv.ClientID, "перезвонить"); err != nil {
		t.Fatal(err)
	}
	// Anna's conversation goes to Petr: from now on it is his alone.
	_, evs, err := s.UpdateConversation(ctx, anna, inbox.ConversationPatch{SetAssignee: true, AssigneeID: &petr.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Type != inbox.EventConversationMoved || evs[1].Type != inbox.EventConversationUpdated {
		t.Fatalf("reassignment events %v, want moved then updated", eventTypes(evs))
	}
	// "moved" goes where the conversation was (unassigned in shop), the
	// update where it is now.
	if a := evs[0].Audience; a.Kind != inbox.AudienceConversation || a.AssigneeID != 0 || a.ChannelID != "shop" {
		t.Errorf("moved audience %+v, want unassigned in shop", a)
	}
	if a := evs[1].Audience; a.AssigneeID != petr.ID || a.ChannelID != "shop" {
		t.Errorf("reassignment audience %+v, want assignee %d in shop", a, petr.ID)
	}
	if _, _, err := s.UpdateOperator(ctx, 0, olga.ID, inbox.OperatorPatch{Name: ptr("Ольга")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.RevokeSessions(ctx, 0, olga.ID, 0); err != nil {
		t.Fatal(err)
	}
	last, _ := s.LastEventID(ctx)

	// The reader gets everything, audiences as written.
	all, err := s.EventsAfter(ctx, start, 1000)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]inbox.AudienceKind{}
	for _, ev := range all {
		kinds[ev.Type] = ev.Audience.Kind
	}
	want := map[string]inbox.AudienceKind{
		inbox.EventConversationCreated: inbox.AudienceConversation,
		inbox.EventMessageCreated:      inbox.AudienceConversation,
		inbox.EventClientUpdated:       inbox.AudienceCard,
		inbox.EventConversationUpdated: inbox.AudienceConversation,
		inbox.EventOperatorUpdated:     inbox.AudienceAdmins,
		inbox.EventCredentialsRevoked:  inbox.AudienceNobody,
	}
	for typ, k := range want {
		if kinds[typ] != k {
			t.Errorf("%s read back with audience %q, want %q", typ, kinds[typ], k)
		}
	}

	replay := func(v inbox.Viewer) (convs map[int64]bool, types []string) {
		t.Helper()
		evs, err := s.EventsFor(ctx, v, start, last, 1000)
		if err != nil {
			t.Fatal(err)
		}
		convs = map[int64]bool{}
		for _, ev := range evs {
			if ev.Audience.ConversationID != 0 {
				convs[ev.Audience.ConversationID] = true
			}
			types = append(types, ev.Type)
			// The replay and the live decision agree.
			if !v.Sees(ev.Audience, []inbox.ConversationPlace{{ChannelID: "shop", AssigneeID: petr.ID}}) &&
				ev.Audience.Kind != inbox.AudienceCard {
				t.Errorf("replayed %s to %d, which Viewer.Sees refuses", ev.Type, v.OperatorID)
			}
		}
		return convs, types
	}
	scope := func(op inbox.OperatorDetail) inbox.Viewer {
		return inbox.Viewer{OperatorID: op.ID, Role: inbox.RoleOperator,
			Scope: inbox.Scope{OperatorID: op.ID, HiddenChannels: []string{"help"}}}
	}

	convs, types := replay(scope(olga))
	if len(convs) != 0 || slices.Contains(types, inbox.EventClientUpdated) {
		t.Errorf("olga replays %v %v; Anna's conversation is Petr's now and Boris is support's", convs, types)
	}
	convs, types = replay(scope(petr))
	if !convs[anna] || convs[boris] || !slices.Contains(types, inbox.EventClientUpdated) {
		t.Errorf("petr replays %v %v, want Anna's conversation and card only", convs, types)
	}
	if slices.Contains(types, inbox.EventOperatorUpdated) || slices.Contains(types, inbox.EventCredentialsRevoked) {
		t.Errorf("an operator replays admin events: %v", types)
	}
	// Someone who joins sales later does not get Anna's history either.
	newcomer := addOperator(t, s, "vera@example.com", inbox.RoleOperator, "sales")
	if convs, _ := replay(scope(newcomer)); len(convs) != 0 {
		t.Errorf("a newcomer replays conversations %v", convs)
	}

	super := inbox.Viewer{OperatorID: 99, Role: inbox.RoleSupervisor, Scope: inbox.Scope{All: true, OperatorID: 99}}
	convs, types = replay(super)
	if !convs[anna] || !convs[boris] || slices.Contains(types, inbox.EventOperatorUpdated) {
		t.Errorf("supervisor replays %v %v, want both conversations and no admin events", convs, types)
	}
	admin := inbox.Viewer{OperatorID: 98, Role: inbox.RoleAdmin, Scope: inbox.Scope{All: true, OperatorID: 98}}
	if _, types = replay(admin); !slices.Contains(types, inbox.EventOperatorUpdated) ||
		slices.Contains(types, inbox.EventCredentialsRevoked) {
		t.Errorf("admin replays %v, want operator.updated and never credentials", types)
	}

	// Where a card's conversations are, for card events to restricted viewers.
	places, err := s.ConversationPlaces(ctx, []int64{annaConv.ClientID})
	if err != nil {
		t.Fatal(err)
	}
	if p := places[annaConv.ClientID]; len(p) != 1 || p[0] != (inbox.ConversationPlace{ChannelID: "shop", AssigneeID: petr.ID}) {
		t.Errorf("Anna's card is at %+v", p)
	}
}
