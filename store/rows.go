package store

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/leadhub/leadhub/inbox"
)

// timeLayout is how times are written: UTC, fixed width, microseconds. On
// SQLite the column is TEXT and fixed width makes text order time order; on
// PostgreSQL the same string is read into TIMESTAMPTZ. Times are passed to
// queries as these strings, never as time.Time, so both drivers see the same
// value.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// dbTime formats t for a query parameter.
func dbTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// sqlTime scans a time column of either dialect: a time.Time from pgx, a
// string from SQLite. NULL scans as the zero time.
type sqlTime struct{ time.Time }

func (t *sqlTime) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		t.Time = time.Time{}
		return nil
	case time.Time:
		t.Time = v.UTC()
		return nil
	case string:
		return t.parse(v)
	case []byte:
		return t.parse(string(v))
	}
	return fmt.Errorf("store: cannot scan %T as a time", v)
}

func (t *sqlTime) parse(s string) error {
	p, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("store: parse time %q: %w", s, err)
	}
	t.Time = p.UTC()
	return nil
}

type conversationRow struct {
	ID            int64         `db:"id"`
	ClientID      int64         `db:"client_id"`
	ClientName    string        `db:"client_name"`
	ChannelID     string        `db:"channel_id"`
	ChannelType   string        `db:"channel_type"`
	Status        string        `db:"status"`
	AssigneeID    sql.NullInt64 `db:"assignee_id"`
	Unread        int           `db:"unread"`
	LastMessageAt sqlTime       `db:"last_message_at"`
	CreatedAt     sqlTime       `db:"created_at"`
}

func (r conversationRow) conversation() inbox.Conversation {
	c := inbox.Conversation{
		ID:            r.ID,
		ClientID:      r.ClientID,
		ClientName:    r.ClientName,
		ChannelID:     r.ChannelID,
		ChannelType:   inbox.ChannelType(r.ChannelType),
		Status:        inbox.ConversationStatus(r.Status),
		Unread:        r.Unread,
		LastMessageAt: r.LastMessageAt.Time,
		CreatedAt:     r.CreatedAt.Time,
	}
	if r.AssigneeID.Valid {
		id := r.AssigneeID.Int64
		c.AssigneeID = &id
	}
	return c
}

func conversations(rows []conversationRow) []inbox.Conversation {
	out := make([]inbox.Conversation, len(rows))
	for i, r := range rows {
		out[i] = r.conversation()
	}
	return out
}

type messageRow struct {
	ID             int64          `db:"id"`
	ConversationID int64          `db:"conversation_id"`
	Direction      string         `db:"direction"`
	Kind           string         `db:"kind"`
	Subject        string         `db:"subject"`
	Text           string         `db:"text"`
	Attachments    string         `db:"attachments"`
	Meta           string         `db:"meta"`
	AuthorID       sql.NullInt64  `db:"author_id"`
	ExternalID     string         `db:"external_id"`
	Delivery       sql.NullString `db:"delivery"`
	Error          string         `db:"error"`
	CreatedAt      sqlTime        `db:"created_at"`
}

func (r messageRow) message() (inbox.Message, error) {
	m := inbox.Message{
		ID:             r.ID,
		ConversationID: r.ConversationID,
		Direction:      inbox.Direction(r.Direction),
		Kind:           inbox.MessageKind(r.Kind),
		Subject:        r.Subject,
		Text:           r.Text,
		ExternalID:     r.ExternalID,
		Delivery:       inbox.DeliveryStatus(r.Delivery.String),
		Error:          r.Error,
		CreatedAt:      r.CreatedAt.Time,
	}
	if r.AuthorID.Valid {
		id := r.AuthorID.Int64
		m.AuthorID = &id
	}
	if r.Attachments != "" {
		if err := json.Unmarshal([]byte(r.Attachments), &m.Attachments); err != nil {
			return inbox.Message{}, fmt.Errorf("message %d attachments: %w", r.ID, err)
		}
	}
	if r.Meta != "" {
		if err := json.Unmarshal([]byte(r.Meta), &m.Meta); err != nil {
			return inbox.Message{}, fmt.Errorf("message %d meta: %w", r.ID, err)
		}
	}
	return m, nil
}

func messages(rows []messageRow) ([]inbox.Message, error) {
	out := make([]inbox.Message, len(rows))
	for i, r := range rows {
		m, err := r.message()
		if err != nil {
			return nil, err
		}
		out[i] = m
	}
	return out, nil
}

type clientRow struct {
	ID        int64   `db:"id"`
	Name      string  `db:"name"`
	CreatedAt sqlTime `db:"created_at"`
	UpdatedAt sqlTime `db:"updated_at"`
}

func (r clientRow) client() inbox.Client {
	return inbox.Client{
		ID:         r.ID,
		Name:       r.Name,
		Identities: []inbox.Identity{},
		CreatedAt:  r.CreatedAt.Time,
		UpdatedAt:  r.UpdatedAt.Time,
	}
}

type identityRow struct {
	ClientID int64  `db:"client_id"`
	Kind     string `db:"kind"`
	Value    string `db:"value"`
}

type operatorRow struct {
	ID        int64   `db:"id"`
	Email     string  `db:"email"`
	Name      string  `db:"name"`
	Role      string  `db:"role"`
	Disabled  bool    `db:"disabled"`
	CreatedAt sqlTime `db:"created_at"`
}

func (r operatorRow) operator() inbox.Operator {
	return inbox.Operator{
		ID:        r.ID,
		Email:     r.Email,
		Name:      r.Name,
		Role:      inbox.Role(r.Role),
		Disabled:  r.Disabled,
		CreatedAt: r.CreatedAt.Time,
	}
}

type eventRow struct {
	ID        int64   `db:"id"`
	Type      string  `db:"type"`
	Data      string  `db:"data"`
	CreatedAt sqlTime `db:"created_at"`
}

// clean makes text safe for both dialects: PostgreSQL rejects NUL bytes and
// invalid UTF-8 in text columns, and a customer's form can carry either.
func clean(s string) string {
	if !strings.ContainsRune(s, 0) && utf8.ValidString(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// attachmentsText and metaText encode for a TEXT column, "" when empty.
func attachmentsText(a []inbox.Attachment) (string, error) {
	if len(a) == 0 {
		return "", nil
	}
	b, err := json.Marshal(a)
	return string(b), err
}

func metaText(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "", nil
	}
	b, err := json.Marshal(m)
	return string(b), err
}

// jsonArg marshals a parameter that travels as one JSON document.
func jsonArg(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode parameter: %w", err)
	}
	return string(b), nil
}
