package inbox

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
)

// ConversationFilter narrows a conversation list. Zero values match all.
type ConversationFilter struct {
	Status     ConversationStatus
	ChannelID  string
	AssigneeID int64 // > 0: assigned to this operator
	Unassigned bool  // only conversations nobody is assigned to
	Q          string
	Cursor     string // opaque, from the previous page's next
	Limit      int    // default 50, at most 200
	// Scope, when set, lists only what it lets its operator see; nil
	// lists everything.
	Scope *Scope
}

// ConversationPatch changes a conversation; nil fields stay as they are.
type ConversationPatch struct {
	Status *ConversationStatus
	// SetAssignee says AssigneeID is to be written; a nil AssigneeID then
	// unassigns the conversation.
	SetAssignee bool
	AssigneeID  *int64
}

// ClientDetail is a client card with its whole cross-channel history.
type ClientDetail struct {
	Client
	Conversations []Conversation `json:"conversations"`
	// Messages are the latest messages of all the client's conversations,
	// oldest first.
	Messages []Message `json:"messages"`
	Notes    []Note    `json:"notes"`
	Consents []Consent `json:"consents"`
	Tasks    []Task    `json:"tasks"`
	// Duplicates are the open suggestions that involve this card.
	Duplicates []DuplicateSuggestion `json:"duplicates"`
}

// NewToken returns a fresh API token and the hash under which it is stored.
// The token itself is shown once and never stored.
func NewToken() (token, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	token = "lh_" + hex.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken returns the stored form of an API token. Tokens carry 256 random
// bits, so a plain SHA-256 is enough: there is nothing to brute-force.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
