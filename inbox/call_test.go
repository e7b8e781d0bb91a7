package inbox

import (
	"testing"
	"time"
)

// TestCallFold: the events of a call give the same call in any order.
func TestCallFold(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)
	evs := []Call{
		{ID: "c", Event: CallRinging, Direction: DirectionIn, From: "+79123456789", StartedAt: t0},
		{ID: "c", Event: CallRinging, Direction: DirectionIn, Extension: "102"},
		{ID: "c", Event: CallAnswered, Direction: DirectionIn, Extension: "101", AnsweredAt: t0.Add(5 * time.Second)},
		{ID: "c", Event: CallAnswered, Direction: DirectionIn, Extension: "103", AnsweredAt: t0.Add(time.Minute)}, // transfer
		{ID: "c", Event: CallEnded, Direction: DirectionIn, EndedAt: t0.Add(2 * time.Minute), Disposition: DispositionAnswered},
	}
	want := Call{ID: "c", Event: CallEnded, Direction: DirectionIn, From: "+79123456789", StartedAt: t0,
		AnsweredAt: t0.Add(5 * time.Second), EndedAt: t0.Add(2 * time.Minute), Disposition: DispositionAnswered, Extension: "101"}
	for _, order := range [][]int{{0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}, {2, 4, 0, 3, 1}, {1, 4, 3, 0, 2}} {
		var c Call
		for _, i := range order {
			c = c.Fold(evs[i])
		}
		if c != want {
			t.Errorf("order %v: %+v, want %+v", order, c, want)
		}
		if c.Missed() || c.Talk() != 115*time.Second {
			t.Errorf("order %v: missed %v, talk %v", order, c.Missed(), c.Talk())
		}
	}
	missed := Call{ID: "m", Event: CallEnded, Direction: DirectionIn}.Fold(Call{ID: "m", Event: CallRinging, Direction: DirectionIn})
	if !missed.Missed() || missed.Outcome() != DispositionMissed || missed.Event != CallEnded {
		t.Errorf("end before start: %+v", missed)
	}
	if o := (Call{ID: "a", Event: CallAnswered, Direction: DirectionIn}).Outcome(); o != DispositionAnswered {
		t.Errorf("an answered event alone: outcome %q", o)
	}
	if o := (Call{ID: "r", Event: CallRinging}).Outcome(); o != "" {
		t.Errorf("ringing: outcome %q", o)
	}
}
