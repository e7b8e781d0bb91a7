package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/leadhub/leadhub/inbox"
)

// clientHistory is how many of a client's latest messages GetClient returns.
const clientHistory = 200

// ListClients returns live client cards (not merged away) with their
// identities and tags, newest card first, and the cursor of the next page
// ("" after the last). q finds a card by a substring of its name or company
// (case-insensitive, Cyrillic too), by a phone number in any spelling (read
// in the store's region) or its last digits (at least four), by the start of
// any identity value (an email address, a Telegram id), or by a tag. Limit
// defaults to 50, at most 200. A bad cursor is EINVALID.
func (s *Store) ListClients(ctx context.Context, q, cursor string, limit int) ([]inbox.Client, string, error) {
	return s.ListVisibleClients(ctx, inbox.Scope{All: true}, q, cursor, limit)
}

// ListVisibleClients is ListClients of the cards the scope sees: for a
// restricted operator, the cards with a conversation they see.
func (s *Store) ListVisibleClients(ctx context.Context, scope inbox.Scope, q, cursor string, limit int) ([]inbox.Client, string, error) {
	before, err := parseIDCursor(cursor)
	if err != nil {
		return nil, "", fmt.Errorf("store: list clients: %w", err)
	}
	limit = clampLimit(limit, 50, 200)
	var rows []clientRow
	f := newClientSearch(q, s.region)
	switch {
	case scope.All && f.on:
		err = s.db.SelectContext(ctx, &rows, s.q.SearchClients,
			f.sub, f.sub, flag(before != 0), before, limit+1,
			f.phone, f.lo, f.hi, f.plo, f.phi, f.rlo, f.rhi, f.tag, flag(before != 0), before, limit+1,
			limit+1)
	case scope.All:
		err = s.db.SelectContext(ctx, &rows, s.q.ListClients, flag(before != 0), before, limit+1)
	default:
		var hidden string
		if hidden, err = jsonArg(nonNilStrings(scope.HiddenChannels)); err != nil {
			break
		}
		op := scope.OperatorID
		if f.on {
			err = s.db.SelectContext(ctx, &rows, s.q.SearchClientsScoped,
				f.sub, f.sub, flag(before != 0), before, op, hidden, limit+1,
				f.phone, f.lo, f.hi, f.plo, f.phi, f.rlo, f.rhi, f.tag, flag(before != 0), before, op, hidden, limit+1,
				limit+1)
		} else {
			err = s.db.SelectContext(ctx, &rows, s.q.ListClientsScoped, flag(before != 0), before, op, hidden, limit+1)
		}
	}
	if err != nil {
		return nil, "", fmt.Errorf("store: list clients: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = idCursor(rows[limit-1].ID)
	}
	out, err := s.cards(ctx, s.db, rows)
	if err != nil {
		return nil, "", fmt.Errorf("store: list clients: %w", err)
	}
	return out, next, nil
}

// clientSearch is SearchClients' parameters for one q; every filter of the
// query is off when its value is "".
type clientSearch struct {
	on       bool   // false lists all cards
	sub      string // a substring of the name or company, lower-cased
	phone    string // q as an E.164 number
	lo, hi   string // q as the start of an identity value
	plo, phi string // q's digits as the start of a phone number
	rlo, rhi string // q's digits as the end of a phone number, reversed
	tag      string
}

// maxRune sorts after every character, so [p, p+maxRune) is "starts with p"
// in byte order (identity values compare bytewise on both dialects).
const maxRune = "\U0010FFFF"

func newClientSearch(q, region string) clientSearch {
	q = clean(strings.TrimSpace(q))
	if q == "" {
		return clientSearch{}
	}
	low := strings.ToLower(q)
	f := clientSearch{on: true, sub: low, lo: low, hi: low + maxRune, tag: low}
	if p, err := inbox.NormalizePhone(q, region); err == nil {
		f.phone = p
	}
	if d, ok := phoneDigits(q); ok && len(d) >= 4 {
		f.plo, f.phi = "+"+d, "+"+d+maxRune
		r := reversedDigits(d)
		f.rlo, f.rhi = r, r+maxRune
	}
	return f
}

// phoneDigits returns the digits of q when q looks like (part of) a phone
// number: digits, spaces, "+-().", nothing else.
func phoneDigits(q string) (string, bool) {
	var b strings.Builder
	for _, r := range q {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= '０' && r <= '９': // full-width, from some phone keyboards
			b.WriteRune('0' + r - '０')
		case strings.ContainsRune(" +-().\u00a0", r):
		default:
			return "", false
		}
	}
	return b.String(), b.Len() > 0
}

// cards turns rows into cards with their identities and tags, two queries
// for the whole list.
func (s *Store) cards(ctx context.Context, q queryer, rows []clientRow) ([]inbox.Client, error) {
	out := make([]inbox.Client, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]int64, len(rows))
	byID := make(map[int64]*inbox.Client, len(rows))
	for i, r := range rows {
		c, err := r.client()
		if err != nil {
			return nil, err
		}
		out[i] = c
		ids[i] = r.ID
		byID[r.ID] = &out[i]
	}
	arg, err := jsonArg(ids)
	if err != nil {
		return nil, err
	}
	var idents []identityRow
	if err := q.SelectContext(ctx, &idents, s.q.IdentitiesOfClients, arg); err != nil {
		return nil, fmt.Errorf("identities: %w", err)
	}
	for _, r := range idents {
		c := byID[r.ClientID]
		id := inbox.Identity{Kind: inbox.IdentityKind(r.Kind), Value: r.Value}
		c.Identities = append(c.Identities, id)
		if r.Unreachable != "" {
			c.Unreachable = append(c.Unreachable, inbox.UnreachableIdentity{Identity: id, Reason: r.Unreachable, Since: r.UnreachableAt.Time})
		}
	}
	var tags []tagRow
	if err := q.SelectContext(ctx, &tags, s.q.TagsOfClients, arg); err != nil {
		return nil, fmt.Errorf("tags: %w", err)
	}
	for _, r := range tags {
		c := byID[r.ClientID]
		c.Tags = append(c.Tags, r.Tag)
	}
	return out, nil
}

type tagRow struct {
	ClientID int64  `db:"client_id"`
	Tag      string `db:"tag"`
}

// GetClient returns a client card with its identities and tags, all its
// conversations (newest activity first), the latest 200 messages across all
// of them (oldest first), its notes, consents and tasks, and the open
// duplicate suggestions that involve it. The tombstone of a merged card is
// returned as it is, with MergedInto naming the survivor. An unknown client
// is ENOTFOUND.
func (s *Store) GetClient(ctx context.Context, id int64) (inbox.ClientDetail, error) {
	d, err := s.clientDetail(ctx, s.db, id)
	if err != nil {
		return inbox.ClientDetail{}, fmt.Errorf("store: get client %d: %w", id, err)
	}
	return d, nil
}

func (s *Store) clientDetail(ctx context.Context, q queryer, id int64) (inbox.ClientDetail, error) {
	c, err := s.client(ctx, q, id)
	if err != nil {
		return inbox.ClientDetail{}, err
	}
	d := inbox.ClientDetail{Client: c}
	var convs []conversationRow
	if err := q.SelectContext(ctx, &convs, s.q.ConversationsOfClient, id); err != nil {
		return inbox.ClientDetail{}, fmt.Errorf("conversations: %w", err)
	}
	d.Conversations = conversations(convs)
	var msgs []messageRow
	if err := q.SelectContext(ctx, &msgs, s.q.LatestMessagesOfClient, id, clientHistory); err != nil {
		return inbox.ClientDetail{}, fmt.Errorf("messages: %w", err)
	}
	slices.Reverse(msgs)
	if d.Messages, err = messages(msgs); err != nil {
		return inbox.ClientDetail{}, err
	}
	if d.Notes, d.Consents, d.Tasks, err = s.cardRecords(ctx, q, id); err != nil {
		return inbox.ClientDetail{}, err
	}
	var sugg []suggestionRow
	if err := q.SelectContext(ctx, &sugg, s.q.SuggestionsOfClient, id, id); err != nil {
		return inbox.ClientDetail{}, fmt.Errorf("duplicates: %w", err)
	}
	d.Duplicates = suggestions(sugg)
	return d, nil
}

// cardRecords reads a card's notes, consents and tasks, oldest first.
func (s *Store) cardRecords(ctx context.Context, q queryer, id int64) ([]inbox.Note, []inbox.Consent, []inbox.Task, error) {
	var notes []noteRow
	if err := q.SelectContext(ctx, &notes, s.q.NotesOfClient, id); err != nil {
		return nil, nil, nil, fmt.Errorf("notes: %w", err)
	}
	var consents []consentRow
	if err := q.SelectContext(ctx, &consents, s.q.ConsentsOfClient, id); err != nil {
		return nil, nil, nil, fmt.Errorf("consents: %w", err)
	}
	var tasks []taskRow
	if err := q.SelectContext(ctx, &tasks, s.q.TasksOfClient, id); err != nil {
		return nil, nil, nil, fmt.Errorf("tasks: %w", err)
	}
	n := make([]inbox.Note, len(notes))
	for i, r := range notes {
		n[i] = r.note()
	}
	c := make([]inbox.Consent, len(consents))
	for i, r := range consents {
		c[i] = r.consent()
	}
	t := make([]inbox.Task, len(tasks))
	for i, r := range tasks {
		t[i] = r.task()
	}
	return n, c, t, nil
}

// client reads one card with its identities and tags; ENOTFOUND if there is
// none.
func (s *Store) client(ctx context.Context, q queryer, id int64) (inbox.Client, error) {
	var row clientRow
	err := q.GetContext(ctx, &row, s.q.ClientByID, id)
	if errors.Is(err, sql.ErrNoRows) {
		return inbox.Client{}, inbox.Errorf(inbox.ENOTFOUND, "client not found")
	}
	if err != nil {
		return inbox.Client{}, fmt.Errorf("read client: %w", err)
	}
	cs, err := s.cards(ctx, q, []clientRow{row})
	if err != nil {
		return inbox.Client{}, err
	}
	return cs[0], nil
}

// identities returns a client's identities, oldest first.
func (s *Store) identities(ctx context.Context, q queryer, clientID int64) ([]inbox.Identity, error) {
	var rows []identityRow
	if err := q.SelectContext(ctx, &rows, s.q.IdentitiesOfClient, clientID); err != nil {
		return nil, fmt.Errorf("read identities: %w", err)
	}
	out := make([]inbox.Identity, len(rows))
	for i, r := range rows {
		out[i] = inbox.Identity{Kind: inbox.IdentityKind(r.Kind), Value: r.Value}
	}
	return out, nil
}

// lockCards reads the cards with ids and, on PostgreSQL, locks them for
// update until the commit, in id order. Missing ids are ENOTFOUND.
func (s *Store) lockCards(ctx context.Context, tx *sqlx.Tx, ids ...int64) (map[int64]clientRow, error) {
	sorted := slices.Compact(slices.Sorted(slices.Values(ids)))
	arg, err := jsonArg(sorted)
	if err != nil {
		return nil, err
	}
	var rows []clientRow
	if err := tx.SelectContext(ctx, &rows, s.q.ClientsForUpdate, arg); err != nil {
		return nil, fmt.Errorf("lock clients: %w", err)
	}
	out := make(map[int64]clientRow, len(rows))
	for _, r := range rows {
		out[r.ID] = r
	}
	for _, id := range sorted {
		if _, ok := out[id]; !ok {
			return nil, inbox.Errorf(inbox.ENOTFOUND, "client %d not found", id)
		}
	}
	return out, nil
}

// lockLiveCard locks one card that operators may change: it exists, was not
// merged away and was not erased.
func (s *Store) lockLiveCard(ctx context.Context, tx *sqlx.Tx, id int64) (clientRow, error) {
	rows, err := s.lockCards(ctx, tx, id)
	if err != nil {
		return clientRow{}, err
	}
	return rows[id], live(rows[id])
}

// live says why a card cannot be changed, or nil.
func live(r clientRow) error {
	switch {
	case r.MergedInto.Valid:
		return inbox.Errorf(inbox.ECONFLICT, "client %d was merged into client %d", r.ID, r.MergedInto.Int64)
	case !r.ErasedAt.IsZero():
		return inbox.Errorf(inbox.ECONFLICT, "client %d was erased", r.ID)
	}
	return nil
}

// UpdateClient applies p to a card, writes a client.updated event and an
// audit entry naming the fields that changed (never their values, except
// the do-not-contact and spam flags). A patch that changes nothing writes
// nothing. Invalid values are EINVALID, an unknown card ENOTFOUND, a merged
// or erased one ECONFLICT.
func (s *Store) UpdateClient(ctx context.Context, operatorID, id int64, p inbox.ClientPatch) (inbox.Client, []inbox.Event, error) {
	var (
		card inbox.Client
		evs  []inbox.Event
	)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := s.lockLiveCard(ctx, tx, id); err != nil {
			return err
		}
		var err error
		if card, err = s.client(ctx, tx, id); err != nil {
			return err
		}
		changed, err := applyPatch(&card, p)
		if err != nil {
			return err
		}
		if len(changed) == 0 {
			return nil
		}
		at := s.now()
		if err := s.saveClient(ctx, tx, card, at); err != nil {
			return err
		}
		if slices.Contains(changed, "tags") {
			if err := s.replaceTags(ctx, tx, id, card.Tags); err != nil {
				return err
			}
		}
		detail := map[string]any{"fields": changed}
		if slices.Contains(changed, "do_not_contact") {
			detail["do_not_contact"] = card.DoNotContact
		}
		if slices.Contains(changed, "spam") {
			detail["spam"] = card.Spam
		}
		if err := s.audit(ctx, tx, operatorID, "client.update", "client", id, detail, at); err != nil {
			return err
		}
		card.UpdatedAt = at
		evs, err = s.writeEvents(ctx, tx, at, []inbox.PendingEvent{inbox.ClientUpdated(card)})
		return err
	})
	if err != nil {
		return inbox.Client{}, nil, fmt.Errorf("store: update client %d: %w", id, err)
	}
	return card, evs, nil
}

// applyPatch applies p to c and returns the names of the fields that
// changed.
func applyPatch(c *inbox.Client, p inbox.ClientPatch) ([]string, error) {
	var changed []string
	set := func(field string, dst *string, v *string, max int) error {
		if v == nil {
			return nil
		}
		nv := clean(strings.TrimSpace(*v))
		if utf8.RuneCountInString(nv) > max {
			return inbox.Errorf(inbox.EINVALID, "%s is longer than %d characters", field, max)
		}
		if nv != *dst {
			*dst = nv
			changed = append(changed, field)
		}
		return nil
	}
	if err := set("name", &c.Name, p.Name, inbox.MaxNameLen); err != nil {
		return nil, err
	}
	if err := set("company", &c.Company, p.Company, inbox.MaxNameLen); err != nil {
		return nil, err
	}
	if p.Tags != nil {
		tags, err := normalizeTags(*p.Tags)
		if err != nil {
			return nil, err
		}
		if !slices.Equal(tags, c.Tags) {
			c.Tags = tags
			changed = append(changed, "tags")
		}
	}
	if len(p.CustomFields) > 0 {
		fields, err := mergeCustomFields(c.CustomFields, p.CustomFields)
		if err != nil {
			return nil, err
		}
		if !mapsEqual(fields, c.CustomFields) {
			c.CustomFields = fields
			changed = append(changed, "custom_fields")
		}
	}
	if p.Spam != nil && *p.Spam != c.Spam {
		c.Spam = *p.Spam
		changed = append(changed, "spam")
	}
	if p.DoNotContact != nil && *p.DoNotContact != c.DoNotContact {
		c.DoNotContact = *p.DoNotContact
		changed = append(changed, "do_not_contact")
	}
	if err := set("do_not_contact_reason", &c.DoNotContactReason, p.DoNotContactReason, 1000); err != nil {
		return nil, err
	}
	if !c.DoNotContact && c.DoNotContactReason != "" {
		// The reason belongs to the flag: it goes when the flag does.
		c.DoNotContactReason = ""
		if !slices.Contains(changed, "do_not_contact_reason") {
			changed = append(changed, "do_not_contact_reason")
		}
	}
	return changed, nil
}

// normalizeTags trims tags, drops empty ones and case-insensitive repeats
// (the first spelling wins) and sorts them as the store returns them.
func normalizeTags(in []string) ([]string, error) {
	out := []string{}
	seen := make(map[string]bool)
	for _, t := range in {
		t = clean(strings.TrimSpace(t))
		if t == "" {
			continue
		}
		if utf8.RuneCountInString(t) > inbox.MaxTagLen {
			return nil, inbox.Errorf(inbox.EINVALID, "tag %q is longer than %d characters", t, inbox.MaxTagLen)
		}
		low := strings.ToLower(t)
		if seen[low] {
			continue
		}
		seen[low] = true
		out = append(out, t)
	}
	if len(out) > inbox.MaxTags {
		return nil, inbox.Errorf(inbox.EINVALID, "more than %d tags", inbox.MaxTags)
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return out, nil
}

// mergeCustomFields returns have with set applied: a nil value deletes its
// key. Keys are trimmed; limits are EINVALID.
func mergeCustomFields(have map[string]string, set map[string]*string) (map[string]string, error) {
	out := make(map[string]string, len(have)+len(set))
	for k, v := range have {
		out[k] = v
	}
	for k, v := range set {
		k = clean(strings.TrimSpace(k))
		switch {
		case k == "":
			return nil, inbox.Errorf(inbox.EINVALID, "custom field with an empty name")
		case utf8.RuneCountInString(k) > inbox.MaxCustomKeyLen:
			return nil, inbox.Errorf(inbox.EINVALID, "custom field name %q is longer than %d characters", k, inbox.MaxCustomKeyLen)
		case v == nil:
			delete(out, k)
		case utf8.RuneCountInString(*v) > inbox.MaxCustomValueLen:
			return nil, inbox.Errorf(inbox.EINVALID, "custom field %q is longer than %d characters", k, inbox.MaxCustomValueLen)
		default:
			out[k] = clean(*v)
		}
	}
	if len(out) > inbox.MaxCustomFields {
		return nil, inbox.Errorf(inbox.EINVALID, "more than %d custom fields", inbox.MaxCustomFields)
	}
	return out, nil
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// saveClient writes a card's own columns (not identities, tags or the merge
// and erasure marks).
func (s *Store) saveClient(ctx context.Context, tx *sqlx.Tx, c inbox.Client, at time.Time) error {
	fields, err := encodeMap(c.CustomFields)
	if err != nil {
		return fmt.Errorf("encode custom fields: %w", err)
	}
	raw, err := encodeText(c.RawPhones)
	if err != nil {
		return fmt.Errorf("encode raw phones: %w", err)
	}
	_, err = s.q.SaveClient.exec(ctx, tx, clientSave{ID: c.ID, Name: c.Name, NameLower: strings.ToLower(c.Name),
		Company: c.Company, CompanyLower: strings.ToLower(c.Company), CustomFields: fields, RawPhones: raw,
		DoNotContact: c.DoNotContact, DNCReason: c.DoNotContactReason, Spam: c.Spam, At: dbTime(at)})
	if err != nil {
		return fmt.Errorf("save client: %w", err)
	}
	return nil
}

// replaceTags sets a card's tags to tags.
func (s *Store) replaceTags(ctx context.Context, tx *sqlx.Tx, clientID int64, tags []string) error {
	if _, err := tx.ExecContext(ctx, s.q.DeleteTags, clientID); err != nil {
		return fmt.Errorf("delete tags: %w", err)
	}
	return s.addTags(ctx, tx, clientID, tags)
}

// addTags adds tags to a card; tags it has (in any case) stay as they are.
func (s *Store) addTags(ctx context.Context, tx *sqlx.Tx, clientID int64, tags []string) error {
	if len(tags) == 0 {
		return nil
	}
	type row struct {
		ClientID int64  `json:"client_id"`
		Tag      string `json:"tag"`
		TagLower string `json:"tag_lower"`
	}
	rows := make([]row, len(tags))
	for i, t := range tags {
		rows[i] = row{ClientID: clientID, Tag: t, TagLower: strings.ToLower(t)}
	}
	arg, err := jsonArg(rows)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.q.InsertTags, arg); err != nil {
		return fmt.Errorf("insert tags: %w", err)
	}
	return nil
}

// AddNote adds an operator's note to a card and writes a client.updated
// event. Empty or over-long text is EINVALID; an unknown card ENOTFOUND, a
// merged or erased one ECONFLICT.
func (s *Store) AddNote(ctx context.Context, operatorID, clientID int64, text string) (inbox.Note, []inbox.Event, error) {
	text = clean(strings.TrimSpace(text))
	switch {
	case text == "":
		return inbox.Note{}, nil, fmt.Errorf("store: add note: %w", inbox.Errorf(inbox.EINVALID, "empty note"))
	case utf8.RuneCountInString(text) > inbox.MaxNoteLen:
		return inbox.Note{}, nil, fmt.Errorf("store: add note: %w",
			inbox.Errorf(inbox.EINVALID, "note is longer than %d characters", inbox.MaxNoteLen))
	}
	var (
		note inbox.Note
		evs  []inbox.Event
	)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := s.lockLiveCard(ctx, tx, clientID); err != nil {
			return err
		}
		at := s.now()
		ids, err := s.insertNotes(ctx, tx, []noteInsert{{ClientID: clientID, AuthorID: optionalID(operatorID), Text: text, At: dbTime(at)}})
		if err != nil {
			return err
		}
		note = inbox.Note{ID: ids[0], ClientID: clientID, AuthorID: nullID(sql.NullInt64{Int64: operatorID, Valid: operatorID != 0}),
			Text: text, CreatedAt: at}
		evs, err = s.cardTouched(ctx, tx, operatorID, "client.note", clientID, map[string]any{"note_id": note.ID}, at)
		return err
	})
	if err != nil {
		return inbox.Note{}, nil, fmt.Errorf("store: add note to client %d: %w", clientID, err)
	}
	return note, evs, nil
}

// noteInsert is one note row of a multi-row insert.
type noteInsert struct {
	ClientID int64  `json:"client_id"`
	AuthorID any    `json:"author_id"`
	Text     string `json:"text"`
	At       string `json:"at"`
}

// insertNotes inserts notes and returns their ids in order. An unknown
// author is EINVALID.
func (s *Store) insertNotes(ctx context.Context, tx *sqlx.Tx, rows []noteInsert) ([]int64, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	arg, err := jsonArg(rows)
	if err != nil {
		return nil, err
	}
	var ids []int64
	if err := tx.SelectContext(ctx, &ids, s.q.InsertNotes, arg); err != nil {
		if isForeignKeyViolation(err) {
			return nil, inbox.Errorf(inbox.EINVALID, "unknown author")
		}
		return nil, fmt.Errorf("insert notes: %w", err)
	}
	slices.Sort(ids) // one statement takes ids in row order; RETURNING does not promise it
	return ids, nil
}

// cardTouched records that an operator added something to a card (a note,
// a consent, a task): an audit entry, the card's updated_at bumped, and
// client.updated with the card as it is now.
func (s *Store) cardTouched(ctx context.Context, tx *sqlx.Tx, operatorID int64, action string, clientID int64, detail map[string]any, at time.Time) ([]inbox.Event, error) {
	if err := s.audit(ctx, tx, operatorID, action, "client", clientID, detail, at); err != nil {
		return nil, err
	}
	c, err := s.client(ctx, tx, clientID)
	if err != nil {
		return nil, err
	}
	c.UpdatedAt = at
	if err := s.saveClient(ctx, tx, c, at); err != nil {
		return nil, err
	}
	return s.writeEvents(ctx, tx, at, []inbox.PendingEvent{inbox.ClientUpdated(c)})
}

// AddConsent records a consent on a card, writes an audit entry and a
// client.updated event. The kind defaults to "personal_data" and the time to
// now. An unknown card is ENOTFOUND, a merged or erased one ECONFLICT.
func (s *Store) AddConsent(ctx context.Context, operatorID, clientID int64, c inbox.Consent) (inbox.Consent, []inbox.Event, error) {
	at := s.now()
	row, err := newConsentInsert(clientID, c, at)
	if err != nil {
		return inbox.Consent{}, nil, fmt.Errorf("store: add consent: %w", err)
	}
	var evs []inbox.Event
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := s.lockLiveCard(ctx, tx, clientID); err != nil {
			return err
		}
		ids, err := s.insertConsentsIDs(ctx, tx, []consentInsert{row})
		if err != nil {
			return err
		}
		c = inbox.Consent{ID: ids[0], ClientID: clientID, Kind: row.Kind, TextVersion: row.TextVersion, IP: row.IP, Source: row.Source}
		c.GivenAt, _ = time.Parse(timeLayout, row.GivenAt)
		detail := map[string]any{"consent_id": c.ID, "kind": c.Kind, "text_version": c.TextVersion}
		evs, err = s.cardTouched(ctx, tx, operatorID, "client.consent", clientID, detail, at)
		return err
	})
	if err != nil {
		return inbox.Consent{}, nil, fmt.Errorf("store: add consent to client %d: %w", clientID, err)
	}
	return c, evs, nil
}

func (s *Store) insertConsents(ctx context.Context, tx *sqlx.Tx, rows []consentInsert) error {
	_, err := s.insertConsentsIDs(ctx, tx, rows)
	return err
}

func (s *Store) insertConsentsIDs(ctx context.Context, tx *sqlx.Tx, rows []consentInsert) ([]int64, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	arg, err := jsonArg(rows)
	if err != nil {
		return nil, err
	}
	var ids []int64
	if err := tx.SelectContext(ctx, &ids, s.q.InsertConsents, arg); err != nil {
		return nil, fmt.Errorf("insert consents: %w", err)
	}
	slices.Sort(ids)
	return ids, nil
}

// CreateTask adds a to-do about a card and writes client.updated and
// task.created events. The kind defaults to follow_up. An empty or
// over-long title, an unknown kind or an unknown assignee is EINVALID; an
// unknown card ENOTFOUND, a merged or erased one ECONFLICT.
func (s *Store) CreateTask(ctx context.Context, operatorID, clientID int64, t inbox.Task) (inbox.Task, []inbox.Event, error) {
	t.Title = clean(strings.TrimSpace(t.Title))
	if t.Kind == "" {
		t.Kind = inbox.TaskFollowUp
	}
	switch {
	case t.Title == "":
		return inbox.Task{}, nil, fmt.Errorf("store: create task: %w", inbox.Errorf(inbox.EINVALID, "empty title"))
	case utf8.RuneCountInString(t.Title) > 500:
		return inbox.Task{}, nil, fmt.Errorf("store: create task: %w", inbox.Errorf(inbox.EINVALID, "title is longer than 500 characters"))
	case !t.Kind.Valid():
		return inbox.Task{}, nil, fmt.Errorf("store: create task: %w", inbox.Errorf(inbox.EINVALID, "unknown task kind %q", t.Kind))
	}
	var evs []inbox.Event
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := s.lockLiveCard(ctx, tx, clientID); err != nil {
			return err
		}
		at := s.now()
		var due, assignee any
		if t.DueAt != nil {
			d := t.DueAt.UTC().Truncate(time.Microsecond)
			t.DueAt = &d
			due = dbTime(d)
		}
		if t.AssigneeID != nil {
			assignee = *t.AssigneeID
		}
		err := s.q.InsertTask.get(ctx, tx, &t.ID, taskInsert{ClientID: clientID, Title: t.Title, DueAt: due,
			AssigneeID: assignee, CreatedBy: optionalID(operatorID), At: dbTime(at), Kind: string(t.Kind)})
		if err != nil {
			if isForeignKeyViolation(err) {
				return inbox.Errorf(inbox.EINVALID, "unknown operator")
			}
			return fmt.Errorf("insert task: %w", err)
		}
		t.ClientID, t.Done, t.CreatedAt = clientID, false, at
		t.CreatedBy = nullID(sql.NullInt64{Int64: operatorID, Valid: operatorID != 0})
		if evs, err = s.cardTouched(ctx, tx, operatorID, "client.task", clientID, map[string]any{"task_id": t.ID}, at); err != nil {
			return err
		}
		more, err := s.writeEvents(ctx, tx, at, []inbox.PendingEvent{inbox.TaskCreated(t)})
		evs = append(evs, more...)
		return err
	})
	if err != nil {
		return inbox.Task{}, nil, fmt.Errorf("store: create task for client %d: %w", clientID, err)
	}
	return t, evs, nil
}

// ListDuplicates returns open duplicate suggestions, newest first: all of
// them, or those involving clientID when it is not 0, with the cursor of the
// next page. Limit defaults to 50, at most 200.
func (s *Store) ListDuplicates(ctx context.Context, clientID int64, cursor string, limit int) ([]inbox.DuplicateSuggestion, string, error) {
	before, err := parseIDCursor(cursor)
	if err != nil {
		return nil, "", fmt.Errorf("store: list duplicates: %w", err)
	}
	limit = clampLimit(limit, 50, 200)
	if clientID != 0 {
		if _, err := s.client(ctx, s.db, clientID); err != nil {
			return nil, "", fmt.Errorf("store: list duplicates of %d: %w", clientID, err)
		}
	}
	var rows []suggestionRow
	query, args := s.q.listSuggestions(clientID, before, limit+1)
	err = s.db.SelectContext(ctx, &rows, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: list duplicates: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = idCursor(rows[limit-1].ID)
	}
	return suggestions(rows), next, nil
}

// DismissDuplicate marks a suggestion resolved without merging (the cards
// are two people) and audits it; the same suggestion is never made again.
// An unknown id is ENOTFOUND.
func (s *Store) DismissDuplicate(ctx context.Context, operatorID, id int64) (inbox.DuplicateSuggestion, error) {
	var d inbox.DuplicateSuggestion
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var row suggestionRow
		err := tx.GetContext(ctx, &row, s.q.ResolveSuggestion, id)
		if errors.Is(err, sql.ErrNoRows) {
			return inbox.Errorf(inbox.ENOTFOUND, "duplicate suggestion not found")
		}
		if err != nil {
			return err
		}
		d = row.suggestion()
		detail := map[string]any{"client_id": d.ClientID, "other_client_id": d.OtherClientID}
		return s.audit(ctx, tx, operatorID, "duplicate.dismiss", "duplicate", id, detail, s.now())
	})
	if err != nil {
		return inbox.DuplicateSuggestion{}, fmt.Errorf("store: dismiss duplicate %d: %w", id, err)
	}
	return d, nil
}

var _ inbox.UnreachableMarker = (*Store)(nil)

// MarkUnreachable records that replies cannot reach a client through one of
// their identities any more (inbox.UnreachableMarker), with the reason, and
// writes client.updated. An identity that is not the client's (any more: the
// card was merged or erased meanwhile) changes nothing. The mark goes when
// the client writes from the identity again.
func (s *Store) MarkUnreachable(ctx context.Context, clientID int64, id inbox.Identity, reason string) ([]inbox.Event, error) {
	reason = clean(strings.TrimSpace(reason))
	if reason == "" {
		reason = "unreachable"
	}
	if utf8.RuneCountInString(reason) > 500 {
		reason = string([]rune(reason)[:500])
	}
	var evs []inbox.Event
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := s.lockCards(ctx, tx, clientID); err != nil {
			return err
		}
		at := s.now()
		res, err := s.q.MarkUnreachable.exec(ctx, tx, unreachableMark{ClientID: clientID, Kind: string(id.Kind),
			Value: id.Value, Reason: reason, At: dbTime(at)})
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		c, err := s.client(ctx, tx, clientID)
		if err != nil {
			return err
		}
		evs, err = s.writeEvents(ctx, tx, at, []inbox.PendingEvent{inbox.ClientUpdated(c)})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: mark %s unreachable: %w", id.Kind, err)
	}
	return evs, nil
}

// erased returns which of the hashes are erasure tombstones.
func (s *Store) erased(ctx context.Context, q queryer, hashes []string) (map[string]bool, error) {
	return foundKeys(ctx, q, s.q.ErasedHashes, "find erased keys", hashes)
}

// foundKeys runs query, which keeps the strings of the JSON array it is
// given that it finds, and returns them as a set.
func foundKeys(ctx context.Context, q queryer, query, what string, keys []string) (map[string]bool, error) {
	out := make(map[string]bool)
	if len(keys) == 0 {
		return out, nil
	}
	arg, err := jsonArg(keys)
	if err != nil {
		return nil, err
	}
	var found []string
	if err := q.SelectContext(ctx, &found, query, arg); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	for _, k := range found {
		out[k] = true
	}
	return out, nil
}
