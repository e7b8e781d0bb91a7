package store

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
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

// ptr is the time, or nil for NULL.
func (t sqlTime) ptr() *time.Time {
	if t.IsZero() {
		return nil
	}
	v := t.Time
	return &v
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
	WaitingSince  sqlTime       `db:"waiting_since"`
	SLAKind       string        `db:"sla_kind"`
	SLADueAt      sqlTime       `db:"sla_due_at"`
	SLAWarnAt     sqlTime       `db:"sla_warn_at"`
	SLABreached   bool          `db:"sla_breached"`
	FirstReplyAt  sqlTime       `db:"first_reply_at"`
}

// timer is the row's answer timer.
func (r conversationRow) timer() slaTimer {
	return slaTimer{WaitingSince: r.WaitingSince.ptr(), Kind: inbox.SLAKind(r.SLAKind), DueAt: r.SLADueAt.ptr(),
		WarnAt: r.SLAWarnAt.ptr(), Breached: r.SLABreached, FirstReplyAt: r.FirstReplyAt.ptr()}
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
	r.timer().apply(&c)
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
	ID           int64         `db:"id"`
	Name         string        `db:"name"`
	Company      string        `db:"company"`
	CustomFields string        `db:"custom_fields"`
	RawPhones    string        `db:"raw_phones"`
	DoNotContact bool          `db:"do_not_contact"`
	DNCReason    string        `db:"dnc_reason"`
	Spam         bool          `db:"spam"`
	MergedInto   sql.NullInt64 `db:"merged_into"`
	ErasedAt     sqlTime       `db:"erased_at"`
	CreatedAt    sqlTime       `db:"created_at"`
	UpdatedAt    sqlTime       `db:"updated_at"`
}

// client returns the card without its identities and tags, which live in
// their own tables; both are empty lists, never nil.
func (r clientRow) client() (inbox.Client, error) {
	c := inbox.Client{
		ID:                 r.ID,
		Name:               r.Name,
		Identities:         []inbox.Identity{},
		Company:            r.Company,
		Tags:               []string{},
		CustomFields:       map[string]string{},
		RawPhones:          []string{},
		Unreachable:        []inbox.UnreachableIdentity{},
		DoNotContact:       r.DoNotContact,
		DoNotContactReason: r.DNCReason,
		Spam:               r.Spam,
		CreatedAt:          r.CreatedAt.Time,
		UpdatedAt:          r.UpdatedAt.Time,
	}
	if r.MergedInto.Valid {
		id := r.MergedInto.Int64
		c.MergedInto = &id
	}
	if !r.ErasedAt.IsZero() {
		at := r.ErasedAt.Time
		c.ErasedAt = &at
	}
	if err := decodeText(r.CustomFields, &c.CustomFields); err != nil {
		return inbox.Client{}, fmt.Errorf("client %d custom fields: %w", r.ID, err)
	}
	if err := decodeText(r.RawPhones, &c.RawPhones); err != nil {
		return inbox.Client{}, fmt.Errorf("client %d raw phones: %w", r.ID, err)
	}
	return c, nil
}

type identityRow struct {
	ClientID      int64   `db:"client_id"`
	Kind          string  `db:"kind"`
	Value         string  `db:"value"`
	Unreachable   string  `db:"unreachable"`
	UnreachableAt sqlTime `db:"unreachable_at"`
}

// identityInsert is one identity row of a multi-row insert.
type identityInsert struct {
	ClientID int64  `json:"client_id"`
	Kind     string `json:"kind"`
	Value    string `json:"value"`
	Rev      string `json:"rev"`
	At       string `json:"at"`
}

func newIdentityInsert(clientID int64, key identityKey, at time.Time) identityInsert {
	r := identityInsert{ClientID: clientID, Kind: key.kind, Value: key.value, At: dbTime(at)}
	if key.kind == string(inbox.IdentityPhone) {
		r.Rev = reversedDigits(key.value)
	}
	return r
}

// reversedDigits returns the ASCII digits of s, last first: the suffix of a
// phone number becomes a prefix that an index can find.
func reversedDigits(s string) string {
	b := make([]byte, 0, len(s))
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] >= '0' && s[i] <= '9' {
			b = append(b, s[i])
		}
	}
	return string(b)
}

type suggestionRow struct {
	ID            int64   `db:"id"`
	ClientID      int64   `db:"client_id"`
	OtherClientID int64   `db:"other_client_id"`
	Kind          string  `db:"kind"`
	Value         string  `db:"value"`
	Resolved      bool    `db:"resolved"`
	CreatedAt     sqlTime `db:"created_at"`
}

func (r suggestionRow) suggestion() inbox.DuplicateSuggestion {
	return inbox.DuplicateSuggestion{
		ID:            r.ID,
		ClientID:      r.ClientID,
		OtherClientID: r.OtherClientID,
		Identity:      inbox.Identity{Kind: inbox.IdentityKind(r.Kind), Value: r.Value},
		Resolved:      r.Resolved,
		CreatedAt:     r.CreatedAt.Time,
	}
}

func suggestions(rows []suggestionRow) []inbox.DuplicateSuggestion {
	out := make([]inbox.DuplicateSuggestion, len(rows))
	for i, r := range rows {
		out[i] = r.suggestion()
	}
	return out
}

type noteRow struct {
	ID        int64         `db:"id"`
	ClientID  int64         `db:"client_id"`
	AuthorID  sql.NullInt64 `db:"author_id"`
	Text      string        `db:"text"`
	CreatedAt sqlTime       `db:"created_at"`
}

func (r noteRow) note() inbox.Note {
	return inbox.Note{ID: r.ID, ClientID: r.ClientID, AuthorID: nullID(r.AuthorID), Text: r.Text, CreatedAt: r.CreatedAt.Time}
}

type consentRow struct {
	ID          int64   `db:"id"`
	ClientID    int64   `db:"client_id"`
	Kind        string  `db:"kind"`
	TextVersion string  `db:"text_version"`
	GivenAt     sqlTime `db:"given_at"`
	IP          string  `db:"ip"`
	Source      string  `db:"source"`
}

func (r consentRow) consent() inbox.Consent {
	return inbox.Consent{ID: r.ID, ClientID: r.ClientID, Kind: r.Kind, TextVersion: r.TextVersion,
		GivenAt: r.GivenAt.Time, IP: r.IP, Source: r.Source}
}

// consentInsert is one consent row of a multi-row insert.
type consentInsert struct {
	ClientID    int64  `json:"client_id"`
	Kind        string `json:"kind"`
	TextVersion string `json:"text_version"`
	GivenAt     string `json:"given_at"`
	IP          string `json:"ip"`
	Source      string `json:"source"`
	At          string `json:"at"`
}

// newConsentInsert checks a consent: the kind defaults to "personal_data",
// the time to now; over-long text is EINVALID.
func newConsentInsert(clientID int64, c inbox.Consent, at time.Time) (consentInsert, error) {
	c.Kind = clean(strings.TrimSpace(c.Kind))
	if c.Kind == "" {
		c.Kind = "personal_data"
	}
	if c.GivenAt.IsZero() {
		c.GivenAt = at
	}
	if len(c.Kind) > 64 || len(c.TextVersion) > 200 || len(c.IP) > 64 || len(c.Source) > 1000 {
		return consentInsert{}, inbox.Errorf(inbox.EINVALID, "consent field too long")
	}
	return consentInsert{
		ClientID:    clientID,
		Kind:        c.Kind,
		TextVersion: clean(strings.TrimSpace(c.TextVersion)),
		GivenAt:     dbTime(c.GivenAt.UTC().Truncate(time.Microsecond)),
		IP:          clean(strings.TrimSpace(c.IP)),
		Source:      clean(strings.TrimSpace(c.Source)),
		At:          dbTime(at),
	}, nil
}

type taskRow struct {
	ID         int64         `db:"id"`
	ClientID   int64         `db:"client_id"`
	Title      string        `db:"title"`
	DueAt      sqlTime       `db:"due_at"`
	Done       bool          `db:"done"`
	AssigneeID sql.NullInt64 `db:"assignee_id"`
	CreatedBy  sql.NullInt64 `db:"created_by"`
	CreatedAt  sqlTime       `db:"created_at"`
	Kind       string        `db:"kind"`
	DoneAt     sqlTime       `db:"done_at"`
	DoneNote   string        `db:"done_note"`
}

func (r taskRow) task() inbox.Task {
	t := inbox.Task{ID: r.ID, ClientID: r.ClientID, Title: r.Title, Done: r.Done,
		AssigneeID: nullID(r.AssigneeID), CreatedBy: nullID(r.CreatedBy), CreatedAt: r.CreatedAt.Time,
		Kind: inbox.TaskKind(r.Kind), DoneNote: r.DoneNote}
	if !r.DoneAt.IsZero() {
		d := r.DoneAt.Time
		t.DoneAt = &d
	}
	if !r.DueAt.IsZero() {
		due := r.DueAt.Time
		t.DueAt = &due
	}
	return t
}

type auditRow struct {
	ID         int64         `db:"id"`
	OperatorID sql.NullInt64 `db:"operator_id"`
	Action     string        `db:"action"`
	Entity     string        `db:"entity"`
	EntityID   int64         `db:"entity_id"`
	Detail     string        `db:"detail"`
	CreatedAt  sqlTime       `db:"created_at"`
}

func (r auditRow) entry() inbox.AuditEntry {
	return inbox.AuditEntry{ID: r.ID, OperatorID: nullID(r.OperatorID), Action: r.Action, Entity: r.Entity,
		EntityID: r.EntityID, Detail: json.RawMessage(r.Detail), CreatedAt: r.CreatedAt.Time}
}

func nullID(n sql.NullInt64) *int64 {
	if !n.Valid {
		return nil
	}
	id := n.Int64
	return &id
}

// optionalID is an id parameter where 0 means NULL.
func optionalID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
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
	ID             int64         `db:"id"`
	Type           string        `db:"type"`
	Data           string        `db:"data"`
	CreatedAt      sqlTime       `db:"created_at"`
	Audience       string        `db:"audience"`
	ConversationID sql.NullInt64 `db:"conversation_id"`
	ClientID       sql.NullInt64 `db:"client_id"`
	ChannelID      string        `db:"channel_id"`
	AssigneeID     sql.NullInt64 `db:"assignee_id"`
	OperatorID     sql.NullInt64 `db:"operator_id"`
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

// encodeText encodes a list or map for a TEXT column, "" when empty.
func encodeText[T any](v []T) (string, error) {
	if len(v) == 0 {
		return "", nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

func encodeMap(m map[string]string) (string, error) { return metaText(m) }

// decodeText reads what encodeText and encodeMap wrote; "" leaves dst as it is.
func decodeText(s string, dst any) error {
	if s == "" {
		return nil
	}
	return json.Unmarshal([]byte(s), dst)
}

// erasureHash is the tombstone of an erased value of a kind ("identity",
// "dedupe"): enough to recognise the value again, not to read it back.
func erasureHash(kind, value string) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + value))
	return hex.EncodeToString(sum[:])
}

// jsonArg marshals a parameter that travels as one JSON document.
func jsonArg(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode parameter: %w", err)
	}
	return string(b), nil
}
