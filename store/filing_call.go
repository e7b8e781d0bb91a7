package store

import (
	"maps"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// callMessage is the piece for inbox.ItemCall: each event of a call is a
// "call" message in the client's conversation of the channel, going the
// call's way, so the history shows it. What the provider reported travels in
// the message's meta under call_* keys. (Folding the events of one call into
// one entry is for later; their dedupe keys already name call and event.)
func callMessage(env *inbox.Envelope) inbox.Message {
	c := env.Call
	meta := maps.Clone(env.Meta)
	if meta == nil {
		meta = map[string]string{}
	}
	set := func(k, v string) {
		if v != "" {
			meta[k] = v
		}
	}
	set("call_id", c.ID)
	set("call_event", c.Event)
	set("call_from", c.From)
	set("call_to", c.To)
	set("call_disposition", c.Disposition)
	set("call_recording_url", c.RecordingURL)
	for k, t := range map[string]time.Time{"call_started_at": c.StartedAt, "call_answered_at": c.AnsweredAt,
		"call_ended_at": c.EndedAt} {
		if !t.IsZero() {
			meta[k] = dbTime(t)
		}
	}
	text := env.Text
	if text == "" {
		text = c.Summary()
	}
	return inbox.Message{
		Direction:  c.Direction,
		Kind:       inbox.KindCall,
		Text:       text,
		Meta:       meta,
		ExternalID: env.ExternalID,
	}
}
