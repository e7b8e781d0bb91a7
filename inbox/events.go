package inbox

import (
	"encoding/json"
	"fmt"
	"time"
)

// Event types. Each is a "<noun>.<verb>" that outside clients (the page,
// scripts on the websocket, later outgoing webhooks) rely on.
const (
	EventMessageCreated      = "message.created"
	EventMessageUpdated      = "message.updated"
	EventConversationCreated = "conversation.created"
	EventConversationUpdated = "conversation.updated"
	EventClientUpdated       = "client.updated"
	// EventClientMerged: one card was merged into another; data is the
	// surviving card and the id of the card that is gone.
	EventClientMerged = "client.merged"
	// EventClientDuplicateSuggested: a message carried identities of two
	// different cards; data is the suggestion.
	EventClientDuplicateSuggested = "client.duplicate_suggested"
	// EventClientErased: a card's personal data was erased.
	EventClientErased = "client.erased"
	// Operators and teams, for admins.
	EventOperatorUpdated = "operator.updated"
	EventTeamUpdated     = "team.updated"
	// EventCredentialsRevoked says an operator's sessions or tokens were
	// revoked; it is delivered to nobody, but every instance's websockets
	// of that operator check their credentials again when they see it.
	EventCredentialsRevoked = "operator.credentials_revoked"
	// EventConversationMoved: a conversation changed hands (another
	// assignee, or none). It goes to whoever saw it before, so that a
	// list it left drops it; data is the conversation id. Whoever sees it
	// now gets conversation.updated.
	EventConversationMoved = "conversation.moved"
	// EventConversationRead: the operator read a conversation or marked it
	// unread; data is the conversation id and the operator's own unread
	// count. Only that operator's sockets (all their tabs) get it.
	EventConversationRead = "conversation.read"
	// EventCallRinging: a call is ringing; for the operator whose
	// extension rings, or the channel's team when the extension is not
	// mapped. Data is a CallPayload.
	EventCallRinging = "call.ringing"
	// EventCallUpdated: a call's entry changed as an event folded in.
	EventCallUpdated = "call.updated"
	// Tasks about a card.
	EventTaskCreated = "task.created"
	EventTaskUpdated = "task.updated"
)

// Event is a change operators must see. Events are written in the same
// transaction as the change and have monotonic ids, so a client that
// reconnects asks for everything after the last id it saw.
type Event struct {
	ID        int64           `json:"id"`
	Type      string          `json:"type"`
	Data      json.RawMessage `json:"data"`
	CreatedAt time.Time       `json:"-"`
	// Audience is who the event is for; it is stored beside the event,
	// never sent.
	Audience Audience `json:"-"`
}

// AudienceKind names who an event is for.
type AudienceKind string

const (
	// AudienceConversation: whoever sees the conversation (Scope.Sees).
	AudienceConversation AudienceKind = "conversation"
	// AudienceCard: whoever sees one of the card's conversations.
	AudienceCard AudienceKind = "card"
	// AudienceChannel: whoever sees the channel's unassigned conversations
	// (the channel's team, or everyone when it has none).
	AudienceChannel AudienceKind = "channel"
	// AudienceOperator: one operator (an assignee's reminder), and
	// supervisors.
	AudienceOperator AudienceKind = "operator"
	// AudienceSupervisors: supervisors and admins.
	AudienceSupervisors AudienceKind = "supervisors"
	// AudienceAdmins: admins only.
	AudienceAdmins AudienceKind = "admins"
	// AudienceNobody: no operator sees it; instances act on it (revoked
	// credentials close the operator's sockets everywhere).
	AudienceNobody AudienceKind = "nobody"
	// AudienceSelf: one operator and nobody else, not even admins (their
	// own read marks).
	AudienceSelf AudienceKind = "self"
)

// Valid reports whether k is a known audience.
func (k AudienceKind) Valid() bool {
	switch k {
	case AudienceConversation, AudienceCard, AudienceChannel, AudienceOperator,
		AudienceSupervisors, AudienceAdmins, AudienceNobody, AudienceSelf:
		return true
	}
	return false
}

// Audience says who an event is for. The fields an audience kind needs are
// set; the others are zero. ClientID is set on every event about a card
// (conversation events included), so that erasing or merging the card
// reaches its events.
type Audience struct {
	Kind           AudienceKind
	ConversationID int64
	ClientID       int64
	// ChannelID and AssigneeID are the conversation's when the event was
	// written (AudienceConversation), or the channel the event concerns
	// (AudienceChannel).
	ChannelID  string
	AssigneeID int64
	// OperatorID is the operator the event is for (AudienceOperator) or
	// about (operator.updated, credentials revoked).
	OperatorID int64
}

// Viewer is who an operator's websocket writes to.
type Viewer struct {
	OperatorID int64
	Role       Role
	Scope      Scope
}

// Sees reports whether v gets an event with audience a. For AudienceCard,
// where is where the card's conversations are (their channels and
// assignees), read by the caller when it has restricted viewers; it is not
// consulted otherwise. The decision uses nothing but memory, so one event
// costs the same whatever the number of viewers.
func (v Viewer) Sees(a Audience, where []ConversationPlace) bool {
	switch a.Kind {
	case AudienceNobody:
		return false
	case AudienceSelf:
		return a.OperatorID == v.OperatorID
	case AudienceAdmins:
		return v.Role == RoleAdmin
	case AudienceSupervisors:
		return v.Role.Rank() >= RoleSupervisor.Rank()
	}
	if v.Scope.All {
		return true
	}
	switch a.Kind {
	case AudienceConversation:
		return v.Scope.SeesPlace(ConversationPlace{ChannelID: a.ChannelID, AssigneeID: a.AssigneeID})
	case AudienceChannel:
		return v.Scope.SeesPlace(ConversationPlace{ChannelID: a.ChannelID})
	case AudienceOperator:
		return a.OperatorID == v.OperatorID
	case AudienceCard:
		for _, p := range where {
			if v.Scope.SeesPlace(p) {
				return true
			}
		}
	}
	return false
}

// ConversationPlace is where a conversation is: its channel and assignee
// (0: nobody). It is all that visibility depends on.
type ConversationPlace struct {
	ChannelID  string
	AssigneeID int64
}

// Place is where c is.
func (c Conversation) Place() ConversationPlace {
	p := ConversationPlace{ChannelID: c.ChannelID}
	if c.AssigneeID != nil {
		p.AssigneeID = *c.AssigneeID
	}
	return p
}

// Event payloads. Every event names what changed in full, so that an
// operator's page can apply it without a round trip.
type (
	MessagePayload struct {
		Message      Message       `json:"message"`
		Conversation *Conversation `json:"conversation,omitempty"`
	}
	ConversationPayload struct {
		Conversation Conversation `json:"conversation"`
	}
	ClientPayload struct {
		Client Client `json:"client"`
	}
	ClientMergedPayload struct {
		Client Client `json:"client"`  // the surviving card
		FromID int64  `json:"from_id"` // the card merged into it
	}
	SuggestionPayload struct {
		Suggestion DuplicateSuggestion `json:"suggestion"`
	}
	OperatorPayload struct {
		Operator OperatorDetail `json:"operator"`
	}
	TeamPayload struct {
		Team    Team `json:"team"`
		Deleted bool `json:"deleted,omitempty"`
	}
	CredentialsPayload struct {
		OperatorID int64 `json:"operator_id"`
	}
	// CallPayload is a call as its entry in the conversation shows it.
	// Client is the matched card; Number is the client's number as the
	// provider gave it, for when no card matched a number that does not
	// parse.
	CallPayload struct {
		Call         Call          `json:"call"`
		Message      Message       `json:"message"`
		Conversation *Conversation `json:"conversation,omitempty"`
		ClientID     int64         `json:"client_id"`
		ClientName   string        `json:"client_name"`
		Number       string        `json:"number"`
	}
	TaskPayload struct {
		Task    Task `json:"task"`
		Deleted bool `json:"deleted,omitempty"`
	}
)

// PendingEvent is an event not yet written: the store encodes Data and
// writes it with its audience in the transaction that made the change.
type PendingEvent struct {
	Type     string
	Data     any
	Audience Audience
}

// Encode returns the event's payload as JSON. A payload that cannot be
// encoded fails the transaction that wanted to write it.
func (p PendingEvent) Encode() (json.RawMessage, error) {
	if !p.Audience.Kind.Valid() {
		return nil, fmt.Errorf("event %s: unknown audience %q", p.Type, p.Audience.Kind)
	}
	b, err := json.Marshal(p.Data)
	if err != nil {
		return nil, fmt.Errorf("encode %s event: %w", p.Type, err)
	}
	return b, nil
}

// conversationAudience is the audience of events about c.
func conversationAudience(c Conversation) Audience {
	p := c.Place()
	return Audience{Kind: AudienceConversation, ConversationID: c.ID, ClientID: c.ClientID,
		ChannelID: p.ChannelID, AssigneeID: p.AssigneeID}
}

func cardAudience(clientID int64) Audience {
	return Audience{Kind: AudienceCard, ClientID: clientID}
}

// MessageCreated is a new message in conversation c.
func MessageCreated(m Message, c Conversation) PendingEvent {
	return PendingEvent{EventMessageCreated, MessagePayload{Message: m, Conversation: &c}, conversationAudience(c)}
}

// MessageUpdated is a changed message (new text, delivery status) in c.
func MessageUpdated(m Message, c Conversation) PendingEvent {
	return PendingEvent{EventMessageUpdated, MessagePayload{Message: m, Conversation: &c}, conversationAudience(c)}
}

// ConversationCreated is a new conversation.
func ConversationCreated(c Conversation) PendingEvent {
	return PendingEvent{EventConversationCreated, ConversationPayload{c}, conversationAudience(c)}
}

// ConversationUpdated is a changed conversation (status, assignee, unread,
// a card merge moving it).
func ConversationUpdated(c Conversation) PendingEvent {
	return PendingEvent{EventConversationUpdated, ConversationPayload{c}, conversationAudience(c)}
}

// ClientUpdated is a changed card.
func ClientUpdated(c Client) PendingEvent {
	return PendingEvent{EventClientUpdated, ClientPayload{c}, cardAudience(c.ID)}
}

// ClientErased is a card whose personal data was erased.
func ClientErased(c Client) PendingEvent {
	return PendingEvent{EventClientErased, ClientPayload{c}, cardAudience(c.ID)}
}

// ClientMerged is card from merged into c.
func ClientMerged(c Client, from int64) PendingEvent {
	return PendingEvent{EventClientMerged, ClientMergedPayload{Client: c, FromID: from}, cardAudience(c.ID)}
}

// DuplicateSuggested is a suggestion that two cards are one person; it is
// for whoever sees the first card.
func DuplicateSuggested(s DuplicateSuggestion) PendingEvent {
	return PendingEvent{EventClientDuplicateSuggested, SuggestionPayload{s}, cardAudience(s.ClientID)}
}

// OperatorUpdated is an added or changed operator, for admins.
func OperatorUpdated(d OperatorDetail) PendingEvent {
	return PendingEvent{EventOperatorUpdated, OperatorPayload{d},
		Audience{Kind: AudienceAdmins, OperatorID: d.ID}}
}

// TeamUpdated is an added, changed or deleted team, for admins. Every
// restricted viewer's scope may change with it.
func TeamUpdated(t Team, deleted bool) PendingEvent {
	return PendingEvent{EventTeamUpdated, TeamPayload{Team: t, Deleted: deleted}, Audience{Kind: AudienceAdmins}}
}

// MovedPayload is a conversation.moved event's data.
type MovedPayload struct {
	ConversationID int64 `json:"conversation_id"`
}

// ConversationMoved tells those who saw the conversation where it was
// before that it moved.
func ConversationMoved(before Conversation) PendingEvent {
	return PendingEvent{EventConversationMoved, MovedPayload{ConversationID: before.ID}, conversationAudience(before)}
}

// ReadPayload is a conversation.read event's data.
type ReadPayload struct {
	ConversationID int64 `json:"conversation_id"`
	Unread         int   `json:"unread"`
}

// ConversationRead is an operator's own read mark on a conversation.
func ConversationRead(conversationID, operatorID int64, unread int) PendingEvent {
	return PendingEvent{EventConversationRead, ReadPayload{ConversationID: conversationID, Unread: unread},
		Audience{Kind: AudienceSelf, OperatorID: operatorID, ConversationID: conversationID}}
}

// CredentialsRevoked says an operator's sessions or tokens were revoked.
func CredentialsRevoked(operatorID int64) PendingEvent {
	return PendingEvent{EventCredentialsRevoked, CredentialsPayload{operatorID},
		Audience{Kind: AudienceNobody, OperatorID: operatorID}}
}

// CallRingingEvent tells operatorID (0: the channel's team) that call c
// rings. A ringing phone is that operator's alone: not even supervisors get
// a pop-up for a colleague's extension.
func CallRingingEvent(p CallPayload, channelID string, operatorID int64) PendingEvent {
	a := Audience{Kind: AudienceChannel, ChannelID: channelID, ClientID: p.ClientID}
	if operatorID != 0 {
		a = Audience{Kind: AudienceSelf, OperatorID: operatorID, ClientID: p.ClientID}
	}
	return PendingEvent{EventCallRinging, p, a}
}

// CallUpdatedEvent is a call's entry that changed, for whoever sees its
// conversation.
func CallUpdatedEvent(p CallPayload, c Conversation) PendingEvent {
	return PendingEvent{EventCallUpdated, p, conversationAudience(c)}
}

// TaskCreated is a new task about a card.
func TaskCreated(t Task) PendingEvent {
	return PendingEvent{EventTaskCreated, TaskPayload{Task: t}, cardAudience(t.ClientID)}
}

// TaskUpdated is a changed (or, with deleted, removed) task about a card.
func TaskUpdated(t Task, deleted bool) PendingEvent {
	return PendingEvent{EventTaskUpdated, TaskPayload{Task: t, Deleted: deleted}, cardAudience(t.ClientID)}
}
