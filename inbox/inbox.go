// Package inbox is leadhub's domain: the normalized envelope every channel
// produces, the client cards, conversations and messages it is filed into,
// and the contracts (Queue, Filer, Publisher, Sender) that the adapters in
// store, inbox/sqlq, inbox/redisq, connectors and web implement or use.
//
// It imports the standard library and tiny pure helpers only, so that every
// adapter can depend on it and it depends on none of them.
package inbox

import (
	"time"
)

// ChannelType is the kind of connector a channel is configured with.
type ChannelType string

const (
	ChannelAPI       ChannelType = "api"
	ChannelForm      ChannelType = "form"
	ChannelEmail     ChannelType = "email"
	ChannelTelegram  ChannelType = "telegram"
	ChannelVK        ChannelType = "vk"
	ChannelTelephony ChannelType = "telephony"
)

// IdentityKind says what an identity value is.
type IdentityKind string

const (
	IdentityPhone    IdentityKind = "phone"    // E.164, "+79123456789"
	IdentityEmail    IdentityKind = "email"    // lower-cased
	IdentityTelegram IdentityKind = "telegram" // Telegram user id
	IdentityVK       IdentityKind = "vk"       // VK user id
	IdentityExternal IdentityKind = "external" // "<channel>:<integration's id>"
)

// Identity is one normalized way to recognise a person. A client card has
// many; (Kind, Value) is unique across all cards.
type Identity struct {
	Kind  IdentityKind `json:"kind"`
	Value string       `json:"value"`
}

// Contact is who an envelope comes from. Identities are normalized; the first
// one is the identity the channel itself vouches for.
type Contact struct {
	Name       string     `json:"name,omitempty"`
	Identities []Identity `json:"identities"`
	// Fields are card fields the channel knows about the sender (a
	// Telegram username, the campaign a deep link came from). They fill the
	// card's custom fields that are still empty; an operator's value wins.
	Fields map[string]string `json:"fields,omitempty"`
	// RawPhones are phone numbers the sender wrote that did not parse. They
	// are kept on the card for the operator and never used for matching.
	RawPhones []string `json:"raw_phones,omitempty"`
}

// Attachment is a file that came with a message or goes out with a reply.
type Attachment struct {
	URL  string `json:"url"`
	Name string `json:"name,omitempty"`
	MIME string `json:"mime,omitempty"`
	Size int64  `json:"size,omitempty"`
}

// MessageKind says how a message should be rendered.
type MessageKind string

const (
	KindText  MessageKind = "text"
	KindEmail MessageKind = "email"
	KindForm  MessageKind = "form"
	KindCall  MessageKind = "call"
	KindNote  MessageKind = "note"
)

// Envelope is one normalized inbound item from any channel. It is what a
// connector produces, what the queue carries and what the worker files.
type Envelope struct {
	// Item says what the envelope carries (see Item); empty is a message,
	// as for envelopes queued before it existed (see Carries).
	Item Item `json:"item,omitempty"`
	// DedupeKey identifies the item across provider retries and queue
	// redeliveries: "api:<channel>:<id>", "tg:<channel>:<update_id>", ...
	DedupeKey   string            `json:"dedupe_key"`
	ChannelID   string            `json:"channel_id"`
	ChannelType ChannelType       `json:"channel_type"`
	Kind        MessageKind       `json:"kind"`
	From        Contact           `json:"from"`
	Subject     string            `json:"subject,omitempty"`
	Text        string            `json:"text"`
	Attachments []Attachment      `json:"attachments,omitempty"`
	Meta        map[string]string `json:"meta,omitempty"`
	// ExternalID is the provider's own id of the message, kept for replies.
	ExternalID string `json:"external_id,omitempty"`
	// Thread names earlier messages of the channel this one answers, by
	// their ExternalID, the most recent first (a mail's In-Reply-To, then
	// its References from last to first). A customer's message whose
	// thread is another card's open conversation goes there (a colleague
	// answering all, a client writing from another address).
	Thread []string `json:"thread,omitempty"`
	// Edit is how envelopes queued before Item existed said ItemEdit. It is
	// still read (Carries) so that they are filed right after an upgrade;
	// connectors set Item instead.
	Edit       bool      `json:"edit,omitempty"`
	ReceivedAt time.Time `json:"received_at"`
	// Consent, when set, is recorded on the sender's card (a form's
	// "I agree to the processing of my personal data" box).
	Consent *Consent `json:"consent,omitempty"`
	// Call is the call event of an ItemCall envelope.
	Call *Call `json:"call,omitempty"`
	// Fact is the fact of an ItemFact envelope.
	Fact *Fact `json:"fact,omitempty"`
}

// Validate reports whether the envelope can be filed at all: what every
// envelope needs, then what its kind of item needs.
func (e *Envelope) Validate() error {
	switch {
	case e.DedupeKey == "":
		return Errorf(EINVALID, "missing dedupe key")
	case e.ChannelID == "":
		return Errorf(EINVALID, "missing channel")
	case len(e.From.Identities) == 0 && !e.callAddendum():
		return Errorf(EINVALID, "missing sender identity")
	}
	for _, id := range e.From.Identities {
		if id.Kind == "" || id.Value == "" {
			return Errorf(EINVALID, "empty sender identity")
		}
		if len(id.Value) > MaxIdentityLen {
			return Errorf(EINVALID, "identity %s is longer than %d characters", id.Kind, MaxIdentityLen)
		}
	}
	return e.validateItem()
}

// Client is a client card: one person, whatever channel they write from.
type Client struct {
	ID           int64             `json:"id"`
	Name         string            `json:"name"`
	Identities   []Identity        `json:"identities"`
	Company      string            `json:"company"`
	Tags         []string          `json:"tags"`
	CustomFields map[string]string `json:"custom_fields"`
	// RawPhones are numbers seen for this client that are not phone
	// numbers; they never match cards.
	RawPhones          []string `json:"raw_phones"`
	DoNotContact       bool     `json:"do_not_contact"`
	DoNotContactReason string   `json:"do_not_contact_reason"`
	// Spam cards' later messages are stored in a closed conversation and
	// not announced.
	Spam bool `json:"spam"`
	// Unreachable are the identities replies cannot reach any more.
	Unreachable []UnreachableIdentity `json:"unreachable"`
	// MergedInto is set on the tombstone of a card merged into another.
	MergedInto *int64     `json:"merged_into,omitempty"`
	ErasedAt   *time.Time `json:"erased_at,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// ConversationStatus is where a conversation is in its life.
type ConversationStatus string

const (
	StatusNew     ConversationStatus = "new" // a first contact nobody has taken yet
	StatusOpen    ConversationStatus = "open"
	StatusPending ConversationStatus = "pending"
	StatusClosed  ConversationStatus = "closed"
)

// Valid reports whether s is a known status.
func (s ConversationStatus) Valid() bool {
	switch s {
	case StatusNew, StatusOpen, StatusPending, StatusClosed:
		return true
	}
	return false
}

// Conversation is a client's thread in one channel. A client has at most one
// conversation per channel that is not closed.
type Conversation struct {
	ID            int64              `json:"id"`
	ClientID      int64              `json:"client_id"`
	ClientName    string             `json:"client_name"`
	ChannelID     string             `json:"channel"`
	ChannelType   ChannelType        `json:"channel_type"`
	Status        ConversationStatus `json:"status"`
	AssigneeID    *int64             `json:"assignee_id"`
	Unread        int                `json:"unread"`
	LastMessageAt time.Time          `json:"last_message_at"`
	CreatedAt     time.Time          `json:"created_at"`
	// LastMessage is the newest message, its text cut short, for the
	// inbox's preview; only lists fill it in.
	LastMessage *Message `json:"last_message,omitempty"`
	// WaitingSince is when the client's oldest unanswered message came;
	// nil when nobody is waiting for an answer.
	WaitingSince *time.Time `json:"waiting_since"`
	// SLADueAt is when the answer the client waits for is due (nil: no
	// timer runs); SLABreached says it came and went.
	SLADueAt    *time.Time `json:"sla_due_at"`
	SLABreached bool       `json:"sla_breached"`
	SLAKind     SLAKind    `json:"sla_kind,omitempty"`
	// FirstReplyAt is when the business first answered in it.
	FirstReplyAt *time.Time `json:"first_reply_at"`
}

// MessageHit is a message found by a search, with its conversation.
type MessageHit struct {
	Message      Message      `json:"message"`
	Conversation Conversation `json:"conversation"`
}

// MessageSearch is a search inside messages.
type MessageSearch struct {
	Q string
	// Scope limits the hits to what a restricted operator sees; nil is
	// everything.
	Scope  *Scope
	Cursor string
	Limit  int
}

// ConversationCounts are how many conversations that are not closed an
// operator sees, by the inbox's tabs.
type ConversationCounts struct {
	New        int `json:"new" db:"new"`
	Open       int `json:"open" db:"open"`
	Pending    int `json:"pending" db:"pending"`
	Mine       int `json:"mine" db:"mine"`
	Unassigned int `json:"unassigned" db:"unassigned"`
}

// Direction of a message.
type Direction string

const (
	DirectionIn  Direction = "in"
	DirectionOut Direction = "out"
)

// Delivery status of an outbound message.
type DeliveryStatus string

const (
	DeliveryQueued    DeliveryStatus = "queued"
	DeliverySent      DeliveryStatus = "sent"
	DeliveryDelivered DeliveryStatus = "delivered"
	DeliveryFailed    DeliveryStatus = "failed"
)

// Message is one item in a conversation, inbound or outbound.
type Message struct {
	ID             int64             `json:"id"`
	ConversationID int64             `json:"conversation_id"`
	Direction      Direction         `json:"direction"`
	Kind           MessageKind       `json:"kind"`
	Subject        string            `json:"subject,omitempty"`
	Text           string            `json:"text"`
	Attachments    []Attachment      `json:"attachments,omitempty"`
	Meta           map[string]string `json:"meta,omitempty"`
	AuthorID       *int64            `json:"author_id,omitempty"`
	ExternalID     string            `json:"external_id,omitempty"`
	Delivery       DeliveryStatus    `json:"delivery,omitempty"`
	Error          string            `json:"error,omitempty"`
	CreatedAt      time.Time         `json:"created_at"`
}

// Role of an operator.
type Role string

const (
	RoleAdmin      Role = "admin"
	RoleSupervisor Role = "supervisor"
	RoleOperator   Role = "operator"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	return r == RoleAdmin || r == RoleSupervisor || r == RoleOperator
}

// Operator is a person who works in the inbox.
type Operator struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
}
