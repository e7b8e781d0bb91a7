package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// TestWSCallRinging: call.ringing reaches the operator whose extension
// rings and nobody else, supervisors included; a ringing extension that
// maps to nobody reaches the channel's team (and those who see every
// channel).
func TestWSCallRinging(t *testing.T) {
	fx := newFixture(t, Options{})
	srv := httptest.NewServer(fx.h)
	defer srv.Close()
	ctx := context.Background()
	start, _ := fx.st.LastEventID(ctx)
	olgaWS := dialAs(t, srv.URL, fx.login("olga@example.com"), start)   // sales: channel "shop"
	petrWS := dialAs(t, srv.URL, fx.login("petr@example.com"), start)   // support: channel "help"
	superWS := dialAs(t, srv.URL, fx.login("super@example.com"), start) // sees every conversation

	ring := func(channel, callID, operator string) {
		t.Helper()
		env := inbox.Envelope{
			Item: inbox.ItemCall, DedupeKey: "call:" + channel + ":" + callID + ":ringing", ChannelID: channel,
			ChannelType: inbox.ChannelTelephony, Kind: inbox.KindCall, ReceivedAt: time.Now(),
			From: inbox.Contact{Identities: []inbox.Identity{{Kind: inbox.IdentityPhone, Value: fmt.Sprintf("+7913%07d", fx.seq.Add(1))}}},
			Call: &inbox.Call{ID: callID, Event: inbox.CallRinging, Direction: inbox.DirectionIn, From: "+79130000000",
				Extension: "101", Operator: operator},
		}
		_, evs, err := fx.st.FileBatch(ctx, []inbox.Envelope{env})
		if err != nil {
			t.Fatal(err)
		}
		fx.srv.Hub().Publish(ctx, evs)
	}
	// Sales' channel rings petr's extension: for petr alone, although olga
	// sees the channel's conversations.
	ring("shop", "to-petr", "petr@example.com")
	// Support's channel rings an extension of nobody: for support's team.
	ring("help", "to-support", "")
	// Sales' channel rings olga's extension.
	ring("shop", "to-olga", "olga@example.com")
	marker := fx.conv("site")
	fx.srv.Hub().Publish(ctx, nil)

	ringing := func(evs []inbox.Event) []string {
		var ids []string
		for _, ev := range evs {
			if ev.Type != inbox.EventCallRinging {
				continue
			}
			var p inbox.CallPayload
			if err := json.Unmarshal(ev.Data, &p); err != nil {
				t.Fatal(err)
			}
			if p.ClientID == 0 || p.Number == "" || p.Message.ID == 0 {
				t.Errorf("call.ringing payload %s lacks the card, number or entry", ev.Data)
			}
			ids = append(ids, p.Call.ID)
		}
		slices.Sort(ids)
		return ids
	}
	isMarker := func(ev inbox.Event) bool {
		id, _ := about(t, fx, ev)
		return ev.Type == inbox.EventConversationCreated && id == marker.ID
	}
	if got := ringing(eventsUntil(t, olgaWS, isMarker)); !slices.Equal(got, []string{"to-olga"}) {
		t.Errorf("olga's screen-pops = %v, want [to-olga]", got)
	}
	if got := ringing(eventsUntil(t, petrWS, isMarker)); !slices.Equal(got, []string{"to-petr", "to-support"}) {
		t.Errorf("petr's screen-pops = %v, want [to-petr to-support]", got)
	}
	// A supervisor sees every channel, so the unmapped ring is theirs too,
	// but a colleague's own extension is not.
	if got := ringing(eventsUntil(t, superWS, isMarker)); !slices.Equal(got, []string{"to-support"}) {
		t.Errorf("the supervisor's screen-pops = %v, want [to-support]", got)
	}
}
