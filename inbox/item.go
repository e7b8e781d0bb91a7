package inbox

import (
	"strconv"
	"time"
)

// Item says what an envelope carries. The store files each item in its own
// way, so a channel that brings a new kind of item adds a kind here and a
// piece to the store, not a branch to every path.
type Item string

const (
	// ItemMessage is a customer's message: an inbound message in the
	// client's conversation of the channel.
	ItemMessage Item = "message"
	// ItemEdit is a customer's change to a message they sent before: the
	// channel's message with the same ExternalID gets the new subject, text
	// and attachments (message.updated). An edit of a message leadhub never
	// saw is filed as a message, so the text is not lost.
	ItemEdit Item = "edit"
	// ItemOutgoing is a message the business sent from the provider's own
	// interface (a VK message_reply, mail sent from another mail client).
	// It is stored as an outbound message that was sent already: leadhub
	// never sends it again.
	ItemOutgoing Item = "outgoing"
	// ItemCall is an event of a telephone call (Envelope.Call). All events
	// of one call (one provider call id in one channel) fold into one
	// "call" message in the client's conversation, whatever their order.
	ItemCall Item = "call"
	// ItemFact is something learned about the client rather than said by
	// them (Envelope.Fact): it is recorded on the card and changes no
	// conversation.
	ItemFact Item = "fact"
)

// Call is one event of a telephone call as a telephony provider reports it.
// From and To are the numbers as the provider gives them; the caller's
// normalized number is the envelope's identity.
type Call struct {
	// ID is the provider's id of the call; every event of a call has it.
	ID string `json:"id"`
	// Event is what happened: CallRinging, CallAnswered, CallEnded, or a
	// provider's own word.
	Event     string    `json:"event"`
	Direction Direction `json:"direction"` // in: the client called; out: the business called the client
	From      string    `json:"from,omitempty"`
	To        string    `json:"to,omitempty"`
	// Times the provider reported; zero when not (yet) known.
	StartedAt  time.Time `json:"started_at,omitzero"`
	AnsweredAt time.Time `json:"answered_at,omitzero"`
	EndedAt    time.Time `json:"ended_at,omitzero"`
	// Disposition is how the call ended: CallAnsweredDisposition, "missed",
	// "busy", "failed", ... Empty until it ended.
	Disposition  string `json:"disposition,omitempty"`
	RecordingURL string `json:"recording_url,omitempty"`
	// Extension is the business's extension that rang, answered or placed
	// the call, when the provider says.
	Extension string `json:"extension,omitempty"`
	// Operator is the email of the operator Extension belongs to (the
	// channel's extensions setting); empty when unmapped.
	Operator string `json:"operator,omitempty"`
	// Duration is the talk time in seconds when the provider reports it
	// rather than the times.
	Duration int `json:"duration,omitempty"`
	// Recording is the provider's id of the call's recording (Zadarma's
	// call_id_with_rec, Mango's recording_id), fetched through its API.
	Recording string `json:"recording,omitempty"`
	// CallbackWithin is when a missed inbound call's callback task falls
	// due, from the moment it is filed; 0 means DefaultCallbackWithin.
	CallbackWithin time.Duration `json:"callback_within,omitempty"`
}

// Call events every provider has a word for.
const (
	CallRinging   = "ringing"
	CallAnswered  = "answered"
	CallEnded     = "ended"
	CallRecording = "recording"
)

// Summary is the text a call shows in the conversation when the connector
// gave none: "[incoming call: ended, answered, 2:35, ext. 101]".
func (c Call) Summary() string {
	s := "[incoming call: "
	if c.Direction == DirectionOut {
		s = "[outgoing call: "
	}
	s += c.Event
	if o := c.Outcome(); o != "" && o != c.Event {
		s += ", " + o
	}
	if d := int(c.Talk() / time.Second); d > 0 {
		s += ", " + strconv.Itoa(d/60) + ":" + twoDigits(d%60)
	}
	if c.Extension != "" {
		s += ", ext. " + c.Extension
	}
	return s + "]"
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// FactName names a fact about a client.
type FactName string

const (
	// FactContactShared: the client shared their own contact. Value is the
	// number as shared; the connector also puts the normalized number among
	// the sender's identities, so it joins the card.
	FactContactShared FactName = "contact_shared"
	// FactMessagingAllowed: the client allowed the business to message them
	// in this channel (VK message_allow). The channel's identity becomes
	// reachable again.
	FactMessagingAllowed FactName = "messaging_allowed"
	// FactMessagingDenied: the client withdrew that permission (VK
	// message_deny). The channel's identity is marked unreachable, with
	// Value as the reason when given.
	FactMessagingDenied FactName = "messaging_denied"
)

// Valid reports whether n is a known fact.
func (n FactName) Valid() bool {
	switch n {
	case FactContactShared, FactMessagingAllowed, FactMessagingDenied:
		return true
	}
	return false
}

// Fact is something learned about a client (Envelope.Fact).
type Fact struct {
	Name  FactName `json:"name"`
	Value string   `json:"value,omitempty"`
}

// MaxFactValueLen bounds a fact's value.
const MaxFactValueLen = 1000

// Carries returns what the envelope carries. Envelopes queued before Item
// existed say it with Edit alone: Edit with an ExternalID is an edit, and
// anything else without an Item is a customer's message, as it was filed
// then.
func (e *Envelope) Carries() Item {
	switch {
	case e.Item != "":
		return e.Item
	case e.Edit && e.ExternalID != "":
		return ItemEdit
	}
	return ItemMessage
}

// validateItem checks what the envelope's kind of item needs.
func (e *Envelope) validateItem() error {
	item := e.Carries()
	if e.Call != nil && item != ItemCall {
		return Errorf(EINVALID, "a %s envelope carries a call", item)
	}
	if e.Fact != nil && item != ItemFact {
		return Errorf(EINVALID, "a %s envelope carries a fact", item)
	}
	switch item {
	case ItemMessage:
		return nil
	case ItemEdit:
		if e.ExternalID == "" {
			return Errorf(EINVALID, "an edit must name the message it changes (external id)")
		}
		return nil
	case ItemOutgoing:
		if e.Text == "" && len(e.Attachments) == 0 {
			return Errorf(EINVALID, "an outgoing message has neither text nor attachments")
		}
		return nil
	case ItemCall:
		c := e.Call
		switch {
		case c == nil:
			return Errorf(EINVALID, "a call envelope without a call")
		case c.ID == "" || c.Event == "":
			return Errorf(EINVALID, "a call event needs the call's id and the event")
		case c.Direction != DirectionIn && c.Direction != DirectionOut && !e.callAddendum():
			return Errorf(EINVALID, "call direction %q is neither in nor out", c.Direction)
		}
		return nil
	case ItemFact:
		f := e.Fact
		switch {
		case f == nil:
			return Errorf(EINVALID, "a fact envelope without a fact")
		case !f.Name.Valid():
			return Errorf(EINVALID, "unknown fact %q", f.Name)
		case f.Name == FactContactShared && f.Value == "":
			return Errorf(EINVALID, "a shared contact without the contact")
		case len(f.Value) > MaxFactValueLen:
			return Errorf(EINVALID, "fact value is longer than %d characters", MaxFactValueLen)
		}
		return nil
	}
	return Errorf(EINVALID, "unknown item %q", item)
}
