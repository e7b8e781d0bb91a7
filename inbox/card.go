package inbox

import (
	"encoding/json"
	"time"
)

// MetaUnparsedPhone is the Meta key under which a connector keeps a phone
// number that did not parse; filing copies it to the card's RawPhones.
const MetaUnparsedPhone = "unparsed_phone"

// Limits on what operators and imports write onto a card.
const (
	MaxNameLen        = 200
	MaxTags           = 50
	MaxTagLen         = 64
	MaxCustomFields   = 50
	MaxCustomKeyLen   = 64
	MaxCustomValueLen = 1000
	MaxNoteLen        = 10000
	MaxRawPhones      = 10
)

// Note is an operator's note on a client card.
type Note struct {
	ID        int64     `json:"id"`
	ClientID  int64     `json:"client_id"`
	AuthorID  *int64    `json:"author_id"`
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"created_at"`
}

// Consent is a record of a client agreeing to something (processing of
// personal data, marketing mail): which text, in which version, when, from
// where.
type Consent struct {
	ID          int64     `json:"id"`
	ClientID    int64     `json:"client_id"`
	Kind        string    `json:"kind"`         // "personal_data", "marketing", ...
	TextVersion string    `json:"text_version"` // the version of the text agreed to
	GivenAt     time.Time `json:"given_at"`
	IP          string    `json:"ip"`
	Source      string    `json:"source"` // the channel or page it was given on
}

// Task is a to-do about a client.
type Task struct {
	ID         int64      `json:"id"`
	ClientID   int64      `json:"client_id"`
	Title      string     `json:"title"`
	DueAt      *time.Time `json:"due_at"`
	Done       bool       `json:"done"`
	AssigneeID *int64     `json:"assignee_id"`
	CreatedBy  *int64     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	// Kind is callback, meeting or follow_up (the default).
	Kind TaskKind `json:"kind"`
	// DoneAt is when the task was done; nil while open.
	DoneAt *time.Time `json:"done_at"`
	// DoneNote says how it got done when leadhub closed it by itself
	// ("closed by an answered call").
	DoneNote string `json:"done_note,omitempty"`
}

// DuplicateSuggestion says that a message filed to ClientID also carried
// Identity, which belongs to OtherClientID: the two cards may be one person.
// Nothing is merged until an operator says so.
type DuplicateSuggestion struct {
	ID            int64     `json:"id"`
	ClientID      int64     `json:"client_id"`
	OtherClientID int64     `json:"other_client_id"`
	Identity      Identity  `json:"identity"`
	Resolved      bool      `json:"resolved"`
	CreatedAt     time.Time `json:"created_at"`
}

// UnreachableIdentity is an identity a reply could not be delivered to for
// good (a Telegram user blocked the bot). It stays on the card, marked, until
// the client writes from it again.
type UnreachableIdentity struct {
	Identity
	Reason string    `json:"reason"`
	Since  time.Time `json:"since"`
}

// ClientPatch edits a card; nil fields stay as they are.
type ClientPatch struct {
	Name    *string
	Company *string
	// Tags, when set, replaces the card's tags.
	Tags *[]string
	// CustomFields are merged into the card's: a nil value deletes the key.
	CustomFields map[string]*string
	DoNotContact *bool
	// DoNotContactReason is kept only while DoNotContact is on.
	DoNotContactReason *string
	Spam               *bool
}

// ReplyRequest is an operator's reply to a conversation.
type ReplyRequest struct {
	ConversationID int64
	AuthorID       int64
	Text           string
	// Via is the channel to send through when not the conversation's own
	// (another of the client's channels); "" is the conversation's.
	Via string
	// Attachments are files the operator attached, already in storage;
	// the channel's sender uploads them with the reply.
	Attachments []Attachment
	// OverrideDNC sends the reply even though the client asked not to be
	// contacted; the override is written to the audit log.
	OverrideDNC bool
}

// StartRequest is an operator starting a conversation with a client in a
// channel: a new mail to one of the card's addresses (a lead that came
// through a form or Telegram). The first message is queued like a reply.
type StartRequest struct {
	ClientID    int64
	ChannelID   string
	ChannelType ChannelType
	AuthorID    int64
	// To is the address (an identity of Kind on the card) it goes to.
	To      Identity
	Subject string
	Text    string
	// Meta is kept on the message for the channel's sender (email: "to").
	Meta map[string]string
}

// AuditEntry records who did what to which entity.
type AuditEntry struct {
	ID         int64           `json:"id"`
	OperatorID *int64          `json:"operator_id"`
	Action     string          `json:"action"` // "client.merge", "client.erase", ...
	Entity     string          `json:"entity"` // "client", "conversation", ...
	EntityID   int64           `json:"entity_id"`
	Detail     json.RawMessage `json:"detail"`
	CreatedAt  time.Time       `json:"created_at"`
}

// ClientExport is everything stored about one client, for a data subject's
// access request.
type ClientExport struct {
	Client        Client                `json:"client"`
	Conversations []Conversation        `json:"conversations"`
	Messages      []Message             `json:"messages"` // all of them, oldest first
	Notes         []Note                `json:"notes"`
	Consents      []Consent             `json:"consents"`
	Tasks         []Task                `json:"tasks"`
	Duplicates    []DuplicateSuggestion `json:"duplicates"`
	Audit         []AuditEntry          `json:"audit"`
	ExportedAt    time.Time             `json:"exported_at"`
}

// Import row outcomes.
const (
	ImportImported = "imported" // a new card
	ImportMerged   = "merged"   // added to a card that existed (or an earlier row's)
	ImportRejected = "rejected"
)

// ImportRow is what happened to one data row of an import.
type ImportRow struct {
	Line     int    `json:"line"` // 1-based line of the file where the row starts
	Outcome  string `json:"outcome"`
	ClientID int64  `json:"client_id,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// ImportOptions configures a CSV import of client cards.
type ImportOptions struct {
	// Region reads phone numbers without a country code. Default: the
	// store's.
	Region string
	// OperatorID is who imports, for the audit log and as the author of
	// imported notes; 0 is the command line.
	OperatorID int64
	// MaxBytes bounds the file; more is ETOOLARGE. Default 50 MiB.
	MaxBytes int64
	// Progress, when set, is told how many of the file's rows are done,
	// after reading the file and after each chunk written.
	Progress func(done, total int)
}

// ImportJob is a CSV import running in the background, as the page follows
// it.
type ImportJob struct {
	ID         int64      `json:"id"`
	OperatorID *int64     `json:"operator_id"`
	State      string     `json:"state"` // running, done, failed
	Total      int        `json:"total"`
	Done       int        `json:"done"`
	Imported   int        `json:"imported"`
	Merged     int        `json:"merged"`
	Rejected   int        `json:"rejected"`
	Error      string     `json:"error,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

// Import job states.
const (
	ImportRunning = "running"
	ImportDone    = "done"
	ImportFailed  = "failed"
)

// ImportReport sums up an import.
type ImportReport struct {
	Imported int         `json:"imported"`
	Merged   int         `json:"merged"`
	Rejected int         `json:"rejected"`
	Rows     []ImportRow `json:"rows"`
}
