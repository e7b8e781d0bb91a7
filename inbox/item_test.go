package inbox

import (
	"testing"
	"time"
)

func TestCarries(t *testing.T) {
	tests := []struct {
		name string
		env  Envelope
		want Item
	}{
		{"nothing said: a message", Envelope{}, ItemMessage},
		{"queued before Item: edit with the message it changes", Envelope{Edit: true, ExternalID: "1:2"}, ItemEdit},
		{"queued before Item: edit of nothing was filed as a message", Envelope{Edit: true}, ItemMessage},
		{"Item wins", Envelope{Item: ItemOutgoing, Edit: true, ExternalID: "1:2"}, ItemOutgoing},
	}
	for _, tt := range tests {
		if got := tt.env.Carries(); got != tt.want {
			t.Errorf("%s: Carries() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestValidateByItem(t *testing.T) {
	base := func(item Item) Envelope {
		return Envelope{Item: item, DedupeKey: "k", ChannelID: "c", Text: "t", ExternalID: "x",
			From: Contact{Identities: []Identity{{Kind: IdentityVK, Value: "1"}}}}
	}
	with := func(item Item, f func(e *Envelope)) Envelope {
		e := base(item)
		f(&e)
		return e
	}
	call := &Call{ID: "c-1", Event: CallRinging, Direction: DirectionIn}
	tests := []struct {
		name string
		env  Envelope
		ok   bool
	}{
		{"message", base(ItemMessage), true},
		{"old message without item", base(""), true},
		{"edit", base(ItemEdit), true},
		{"edit of nothing", with(ItemEdit, func(e *Envelope) { e.ExternalID = "" }), false},
		{"outgoing", base(ItemOutgoing), true},
		{"empty outgoing", with(ItemOutgoing, func(e *Envelope) { e.Text = "" }), false},
		{"call", with(ItemCall, func(e *Envelope) { e.Call = call }), true},
		{"call without a call", base(ItemCall), false},
		{"call without an id", with(ItemCall, func(e *Envelope) { e.Call = &Call{Event: CallEnded, Direction: DirectionIn} }), false},
		{"call going nowhere", with(ItemCall, func(e *Envelope) { e.Call = &Call{ID: "c", Event: CallEnded} }), false},
		{"a message carrying a call", with(ItemMessage, func(e *Envelope) { e.Call = call }), false},
		{"fact", with(ItemFact, func(e *Envelope) { e.Fact = &Fact{Name: FactMessagingDenied} }), true},
		{"fact without a fact", base(ItemFact), false},
		{"unknown fact", with(ItemFact, func(e *Envelope) { e.Fact = &Fact{Name: "likes_cats"} }), false},
		{"shared contact without the contact", with(ItemFact, func(e *Envelope) { e.Fact = &Fact{Name: FactContactShared} }), false},
		{"a message carrying a fact", with(ItemMessage, func(e *Envelope) { e.Fact = &Fact{Name: FactMessagingAllowed} }), false},
		{"unknown item", base("sticker"), false},
	}
	for _, tt := range tests {
		err := tt.env.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok %v", tt.name, err, tt.ok)
		}
		if err != nil && ErrorCode(err) != EINVALID {
			t.Errorf("%s: code %q, want %q", tt.name, ErrorCode(err), EINVALID)
		}
	}
}

func TestCallSummary(t *testing.T) {
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		call Call
		want string
	}{
		{Call{Event: CallRinging, Direction: DirectionIn}, "[incoming call: ringing]"},
		{Call{Event: CallEnded, Direction: DirectionIn, Disposition: "missed"}, "[incoming call: ended, missed]"},
		{Call{Event: CallEnded, Direction: DirectionOut, Disposition: "answered", AnsweredAt: at,
			EndedAt: at.Add(65 * time.Second)}, "[outgoing call: ended, answered, 1:05]"},
	}
	for _, tt := range tests {
		if got := tt.call.Summary(); got != tt.want {
			t.Errorf("Summary() = %q, want %q", got, tt.want)
		}
	}
}
