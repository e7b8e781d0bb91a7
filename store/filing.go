package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/leadhub/leadhub/inbox"
)

var (
	_ inbox.Filer         = (*Store)(nil)
	_ inbox.OutboundStore = (*Store)(nil)
)

// FileBatch files envs in one transaction (inbox.Filer). For each envelope in
// order: a dedupe key seen before (in the database, among the tombstones of
// erased messages, or earlier in the batch) makes it a Dup and changes
// nothing; otherwise the client card is the owner of its first identity (the
// one the channel vouches for), else of any other identity, else a new card;
// the envelope's free identities are attached to that card, and identities
// that belong to other cards stay there and become duplicate suggestions;
// unparsed phone numbers and a consent are recorded on the card; the message
// goes into the client's conversation in this channel that is not closed, or
// a new one ("new" when the card is new too, else "open"); the conversation's
// unread count and last activity are bumped; and events are written:
// client.updated for an existing card that gained an identity, its name or a
// raw phone, client.duplicate_suggested, conversation.created,
// message.created. A card flagged as spam is the exception: its messages go
// into its latest closed conversation in the channel (or a new closed one),
// unread and activity stay as they are, and no event is written.
//
// Concurrent batches filing the same new person end with one card and one
// conversation: on PostgreSQL each batch first takes advisory locks on the
// hashes of its identities and dedupe keys, in sorted order, so batches that
// share a person run one after the other and batches that do not never wait
// for each other; the ON CONFLICT fallbacks below still settle any writer
// that does not take those locks. SQLite runs one writer at a time. The
// existing cards a batch files into are share-locked until it commits, so a
// merge never moves a card's data from under a batch; a batch that finds a
// card merged meanwhile starts over.
func (s *Store) FileBatch(ctx context.Context, envs []inbox.Envelope) ([]inbox.Filed, []inbox.Event, error) {
	for i := range envs {
		if err := envs[i].Validate(); err != nil {
			return nil, nil, fmt.Errorf("store: file batch: envelope %d: %w", i, err)
		}
	}
	if len(envs) == 0 {
		return []inbox.Filed{}, nil, nil
	}
	var (
		filed  []inbox.Filed
		events []inbox.Event
		err    error
	)
	for attempt := 0; attempt < 3; attempt++ {
		err = s.inTx(ctx, func(tx *sqlx.Tx) error {
			f := newFiling(s, tx, envs)
			if err := f.run(ctx); err != nil {
				return err
			}
			filed, events = f.filed, f.events
			return nil
		})
		if !errors.Is(err, errCardMoved) {
			break
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("store: file batch: %w", err)
	}
	return filed, events, nil
}

// errCardMoved says a card the transaction looked up was merged into another
// before it could be locked: the transaction is rolled back and run again,
// and then finds the identities on the surviving card.
var errCardMoved = inbox.Errorf(inbox.EUNAVAILABLE, "a client card was merged meanwhile; try again")

type identityKey struct {
	kind  string
	value string
}

type convKey struct {
	clientID  int64
	channelID string
}

// convState is a conversation touched by a batch, as of the last message
// filed into it so far.
type convState struct {
	conv      inbox.Conversation
	created   bool
	createdBy int // index of the envelope it was created for
	added     int // messages filed into it by this batch
}

// filing is the state of one FileBatch transaction.
type filing struct {
	s    *Store
	tx   *sqlx.Tx
	now  time.Time
	envs []inbox.Envelope

	filed  []inbox.Filed
	events []inbox.Event

	todo     []int // envelopes to file, in order
	dupOf    []int // per envelope: index of the earlier envelope with its dedupe key, or -1
	owner    map[identityKey]int64
	names    map[int64]string    // client names known to this batch
	newCards map[int64]bool      // cards created by this batch
	cards    map[int64]cardState // existing cards the batch touches, locked
	changed  []int64             // existing cards that gained an identity or a name, in order
	clientOf []int64             // per envelope
	newCard  []bool              // per envelope: its card was created for it
	convOf   []*convState        // per envelope
	convs    map[convKey]*convState
	pending  []inbox.PendingEvent // events decided before the conversations are
	// unreachable are the identities of the batch marked unreachable, with
	// their cards.
	unreachable map[identityKey]int64
	// alias maps the placeholder ids of cards this batch creates to the
	// ids of the inserted cards or, for a card that lost its first
	// identity to a concurrent writer, of the winner's card.
	alias map[int64]int64
}

// cardState is what filing needs to know of an existing card.
type cardState struct {
	spam      bool
	rawPhones []string
}

func newFiling(s *Store, tx *sqlx.Tx, envs []inbox.Envelope) *filing {
	n := len(envs)
	f := &filing{
		s:           s,
		tx:          tx,
		now:         s.now(),
		envs:        envs,
		filed:       make([]inbox.Filed, n),
		dupOf:       make([]int, n),
		owner:       make(map[identityKey]int64),
		names:       make(map[int64]string),
		newCards:    make(map[int64]bool),
		cards:       make(map[int64]cardState),
		alias:       make(map[int64]int64),
		clientOf:    make([]int64, n),
		newCard:     make([]bool, n),
		convOf:      make([]*convState, n),
		convs:       make(map[convKey]*convState),
		unreachable: make(map[identityKey]int64),
	}
	for i := range f.dupOf {
		f.dupOf[i] = -1
	}
	return f
}

func (f *filing) run(ctx context.Context) error {
	if err := f.lockPersons(ctx); err != nil {
		return err
	}
	if err := f.findDuplicates(ctx); err != nil {
		return err
	}
	evs, err := f.applyEdits(ctx)
	if err != nil {
		return err
	}
	if len(f.todo) > 0 {
		if err := f.matchCards(ctx); err != nil {
			return err
		}
		if err := f.recordConsents(ctx); err != nil {
			return err
		}
		if err := f.fillCardFields(ctx); err != nil {
			return err
		}
		if err := f.resolveConversations(ctx); err != nil {
			return err
		}
		if err := f.insertMessages(ctx); err != nil {
			return err
		}
		if err := f.clearUnreachable(ctx); err != nil {
			return err
		}
		filedEvs, err := f.buildEvents(ctx)
		if err != nil {
			return err
		}
		evs = append(evs, filedEvs...)
		if err := f.saveConversations(ctx); err != nil {
			return err
		}
	}
	if f.events, err = f.s.writeEvents(ctx, f.tx, f.now, evs); err != nil {
		return err
	}
	for i, first := range f.dupOf {
		if first >= 0 {
			f.filed[i] = inbox.Filed{Message: f.filed[first].Message, Dup: true}
		}
	}
	return nil
}

// matchCards decides the card of every envelope in f.todo and writes what
// the envelopes say about their cards: new cards, attached identities,
// filled names, unparsed phones, duplicate suggestions. It is the part of
// filing the CSV import shares.
func (f *filing) matchCards(ctx context.Context) error {
	if err := f.lookUpIdentities(ctx); err != nil {
		return err
	}
	if err := f.resolveClients(ctx); err != nil {
		return err
	}
	if err := f.keepRawPhones(ctx); err != nil {
		return err
	}
	return f.suggestDuplicates(ctx)
}

// lockPersons takes the PostgreSQL advisory locks described on FileBatch.
// Hash collisions only make unrelated batches wait for each other.
func (f *filing) lockPersons(ctx context.Context) error {
	if f.s.q.LockPersons == "" {
		return nil
	}
	var keys []int32
	add := func(parts ...string) {
		h := fnv.New32a()
		for _, p := range parts {
			h.Write([]byte(p))
			h.Write([]byte{0})
		}
		keys = append(keys, int32(h.Sum32()))
	}
	for _, e := range f.envs {
		if e.DedupeKey != "" { // an import's rows have none
			add("dedupe", e.DedupeKey)
		}
		for _, id := range e.From.Identities {
			add(string(id.Kind), id.Value)
		}
	}
	slices.Sort(keys)
	arg, err := jsonArg(slices.Compact(keys))
	if err != nil {
		return err
	}
	if _, err := f.tx.ExecContext(ctx, f.s.q.LockPersons, arg); err != nil {
		return fmt.Errorf("lock persons: %w", err)
	}
	return nil
}

type dedupeRow struct {
	DedupeKey string `db:"dedupe_key"`
	messageRow
}

// messagesByDedupeKey returns the stored messages under keys.
func (f *filing) messagesByDedupeKey(ctx context.Context, keys []string) (map[string]inbox.Message, error) {
	arg, err := jsonArg(keys)
	if err != nil {
		return nil, err
	}
	var rows []dedupeRow
	if err := f.tx.SelectContext(ctx, &rows, f.s.q.MessagesByDedupeKeys, arg); err != nil {
		return nil, fmt.Errorf("find dedupe keys: %w", err)
	}
	out := make(map[string]inbox.Message, len(rows))
	for _, r := range rows {
		m, err := r.message()
		if err != nil {
			return nil, err
		}
		out[r.DedupeKey] = m
	}
	return out, nil
}

// findDuplicates marks envelopes whose dedupe key is stored already, was
// erased, or repeats an earlier envelope of the batch, and lists the rest in
// f.todo.
func (f *filing) findDuplicates(ctx context.Context) error {
	keys := make([]string, 0, len(f.envs))
	for _, e := range f.envs {
		keys = append(keys, clean(e.DedupeKey))
	}
	stored, err := f.messagesByDedupeKey(ctx, keys)
	if err != nil {
		return err
	}
	var unseen []string
	for _, k := range keys {
		if _, ok := stored[k]; !ok {
			unseen = append(unseen, erasureHash("dedupe", k))
		}
	}
	erased, err := f.s.erased(ctx, f.tx, unseen)
	if err != nil {
		return err
	}
	first := make(map[string]int, len(f.envs))
	for i, k := range keys {
		if m, ok := stored[k]; ok {
			f.filed[i] = inbox.Filed{Message: m, Dup: true}
			continue
		}
		if erased[erasureHash("dedupe", k)] {
			// An erased message delivered again: it stays erased.
			f.filed[i] = inbox.Filed{Dup: true}
			continue
		}
		if j, ok := first[k]; ok {
			f.dupOf[i] = j
			continue
		}
		first[k] = i
		f.todo = append(f.todo, i)
	}
	return nil
}

// ownerRow is an identity with its card's id and name.
type ownerRow struct {
	identityRow
	ClientName string `db:"client_name"`
}

// owners reads the cards that own keys, in one query.
func (f *filing) owners(ctx context.Context, keys []identityKey) ([]ownerRow, error) {
	pairs := make([][2]string, len(keys))
	for i, k := range keys {
		pairs[i] = [2]string{k.kind, k.value}
	}
	arg, err := jsonArg(pairs)
	if err != nil {
		return nil, err
	}
	var rows []ownerRow
	if err := f.tx.SelectContext(ctx, &rows, f.s.q.IdentitiesByKeys, arg); err != nil {
		return nil, fmt.Errorf("look up identities: %w", err)
	}
	return rows, nil
}

func keyOf(id inbox.Identity) identityKey { return identityKey{string(id.Kind), clean(id.Value)} }

// lookUpIdentities reads the owners of every identity of the envelopes to
// file, in one query, and locks their cards.
func (f *filing) lookUpIdentities(ctx context.Context) error {
	var keys []identityKey
	for _, i := range f.todo {
		for _, id := range f.envs[i].From.Identities {
			keys = append(keys, keyOf(id))
		}
	}
	rows, err := f.owners(ctx, keys)
	if err != nil {
		return err
	}
	ids := make([]int64, 0, len(rows))
	for _, r := range rows {
		f.owner[identityKey{r.Kind, r.Value}] = r.ClientID
		f.names[r.ClientID] = r.ClientName
		ids = append(ids, r.ClientID)
		if r.Unreachable != "" {
			f.unreachable[identityKey{r.Kind, r.Value}] = r.ClientID
		}
	}
	return f.loadCards(ctx, ids)
}

// clearUnreachable lifts the unreachable mark of the identities the batch's
// clients wrote from: whoever writes from an identity can be answered there
// again (the Telegram user unblocked the bot).
func (f *filing) clearUnreachable(ctx context.Context) error {
	for _, i := range f.todo {
		key := keyOf(f.envs[i].From.Identities[0])
		clientID, ok := f.unreachable[key]
		if !ok || f.filed[i].Dup {
			continue
		}
		delete(f.unreachable, key)
		if _, err := f.tx.ExecContext(ctx, f.s.q.ClearUnreachable, key.kind, key.value); err != nil {
			return fmt.Errorf("clear unreachable: %w", err)
		}
		f.markChanged(clientID)
	}
	return nil
}

// loadCards reads the state of existing cards the batch has not seen yet
// and, on PostgreSQL, share-locks them until the commit. A card merged into
// another between the look-up and the lock is errCardMoved.
func (f *filing) loadCards(ctx context.Context, ids []int64) error {
	var todo []int64
	for _, id := range ids {
		if _, ok := f.cards[id]; !ok && id > 0 && !f.newCards[id] {
			todo = append(todo, id)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	slices.Sort(todo)
	arg, err := jsonArg(slices.Compact(todo))
	if err != nil {
		return err
	}
	var rows []struct {
		ID         int64         `db:"id"`
		Spam       bool          `db:"spam"`
		MergedInto sql.NullInt64 `db:"merged_into"`
		RawPhones  string        `db:"raw_phones"`
	}
	if err := f.tx.SelectContext(ctx, &rows, f.s.q.LockCards, arg); err != nil {
		return fmt.Errorf("lock cards: %w", err)
	}
	for _, r := range rows {
		if r.MergedInto.Valid {
			return errCardMoved
		}
		st := cardState{spam: r.Spam}
		if err := decodeText(r.RawPhones, &st.rawPhones); err != nil {
			return fmt.Errorf("card %d raw phones: %w", r.ID, err)
		}
		f.cards[r.ID] = st
	}
	return nil
}

// silent reports whether a card's messages are filed without a word: it is
// flagged as spam.
func (f *filing) silent(clientID int64) bool { return f.cards[clientID].spam }

// pendingCard is a card the batch creates; until it is inserted it goes by
// a negative placeholder id.
type pendingCard struct {
	tmp      int64
	firstKey identityKey // the identity of the envelope that created it
}

// resolveClients decides, envelope by envelope in order, which card each one
// belongs to: the owner of its first identity, else of any other, else a new
// card (which later envelopes of the batch then find by its identities). The
// free identities go to that card and an empty name is filled. Decided in
// memory, written with one insert of the new cards and one of the identities.
func (f *filing) resolveClients(ctx context.Context) error {
	var (
		cards  []pendingCard
		claims []identityKey // in f.owner: the card each is claimed for
		fills  []int64       // existing cards whose empty name the batch fills
		next   = int64(-1)
	)
	for _, i := range f.todo {
		env := &f.envs[i]
		var clientID int64
		for _, id := range env.From.Identities {
			if owner, ok := f.owner[keyOf(id)]; ok {
				clientID = owner
				break
			}
		}
		created := clientID == 0
		if created {
			clientID = next
			next--
			cards = append(cards, pendingCard{tmp: clientID, firstKey: keyOf(env.From.Identities[0])})
		}
		for _, id := range env.From.Identities {
			key := keyOf(id)
			if _, ok := f.owner[key]; ok {
				continue // this card's already, or another card's: never moved
			}
			f.owner[key] = clientID
			claims = append(claims, key)
		}
		if name := clean(strings.TrimSpace(env.From.Name)); name != "" && f.names[clientID] == "" {
			f.names[clientID] = name
			if clientID > 0 {
				fills = append(fills, clientID)
			}
		}
		f.clientOf[i] = clientID
		f.newCard[i] = created
	}

	alias := f.alias
	if err := f.insertCards(ctx, cards, alias); err != nil {
		return err
	}
	lost, err := f.claimIdentities(ctx, claims, f.resolved)
	if err != nil {
		return err
	}
	merged := make(map[int64]bool)
	if len(lost) > 0 {
		if err := f.settleLostIdentities(ctx, cards, lost, alias, merged, &fills); err != nil {
			return err
		}
	}
	for _, i := range f.todo {
		tmp := f.clientOf[i]
		f.clientOf[i] = f.resolved(tmp)
		if merged[tmp] {
			f.newCard[i] = false
		}
	}
	for _, id := range fills {
		name := f.names[id]
		res, err := f.tx.ExecContext(ctx, f.s.q.FillClientName, name, strings.ToLower(name), dbTime(f.now), id)
		if err != nil {
			return fmt.Errorf("fill client name: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			f.markChanged(id)
		}
	}
	return nil
}

// resolved returns the card id a placeholder stands for.
func (f *filing) resolved(id int64) int64 {
	if id < 0 {
		return f.alias[id]
	}
	return id
}

// insertCards inserts the batch's new cards in one statement and records
// their ids in alias.
func (f *filing) insertCards(ctx context.Context, cards []pendingCard, alias map[int64]int64) error {
	if len(cards) == 0 {
		return nil
	}
	type row struct {
		Name      string `json:"name"`
		NameLower string `json:"name_lower"`
		At        string `json:"at"`
	}
	rows := make([]row, len(cards))
	for k, c := range cards {
		name := f.names[c.tmp]
		rows[k] = row{Name: name, NameLower: strings.ToLower(name), At: dbTime(f.now)}
	}
	arg, err := jsonArg(rows)
	if err != nil {
		return err
	}
	var ids []int64
	if err := f.tx.SelectContext(ctx, &ids, f.s.q.InsertClients, arg); err != nil {
		return fmt.Errorf("insert clients: %w", err)
	}
	if len(ids) != len(cards) {
		return fmt.Errorf("insert clients: %d ids for %d cards", len(ids), len(cards))
	}
	// One statement takes ids in row order; RETURNING does not promise
	// that order, so sort rather than trust it.
	slices.Sort(ids)
	for k, c := range cards {
		alias[c.tmp] = ids[k]
		f.names[ids[k]] = f.names[c.tmp]
		f.newCards[ids[k]] = true
	}
	return nil
}

// claimIdentities attaches the claimed identities to their cards in one
// statement and returns those another transaction attached first.
func (f *filing) claimIdentities(ctx context.Context, claims []identityKey, resolved func(int64) int64) ([]identityKey, error) {
	if len(claims) == 0 {
		return nil, nil
	}
	rows := make([]identityInsert, len(claims))
	for k, key := range claims {
		rows[k] = newIdentityInsert(resolved(f.owner[key]), key, f.now)
	}
	arg, err := jsonArg(rows)
	if err != nil {
		return nil, err
	}
	var won []identityRow
	if err := f.tx.SelectContext(ctx, &won, f.s.q.ClaimIdentities, arg); err != nil {
		return nil, fmt.Errorf("claim identities: %w", err)
	}
	got := make(map[identityKey]bool, len(won))
	for _, r := range won {
		got[identityKey{r.Kind, r.Value}] = true
	}
	var lost []identityKey
	for k, key := range claims {
		if !got[key] {
			lost = append(lost, key)
		} else if id := rows[k].ClientID; !f.newCards[id] {
			f.markChanged(id)
		}
	}
	return lost, nil
}

// settleLostIdentities deals with identities a concurrent transaction
// attached after our look-up (it has committed: ON CONFLICT waited for it).
// They stay with the winner. A new card that lost the very identity that
// would have found the person is that person's duplicate: its identities
// move to the winner's card, it is deleted, and its envelopes are filed as
// the winner's (merged).
func (f *filing) settleLostIdentities(ctx context.Context, cards []pendingCard, lost []identityKey,
	alias map[int64]int64, merged map[int64]bool, fills *[]int64) error {
	rows, err := f.owners(ctx, lost)
	if err != nil {
		return err
	}
	if len(rows) != len(lost) {
		return fmt.Errorf("%d of %d conflicting identities found", len(rows), len(lost))
	}
	winners := make([]int64, 0, len(rows))
	for _, r := range rows {
		f.owner[identityKey{r.Kind, r.Value}] = r.ClientID
		f.names[r.ClientID] = r.ClientName
		winners = append(winners, r.ClientID)
	}
	if err := f.loadCards(ctx, winners); err != nil {
		return err
	}
	for _, c := range cards {
		winner := f.owner[c.firstKey]
		if winner == c.tmp || winner == alias[c.tmp] {
			continue
		}
		loser := alias[c.tmp]
		res, err := f.tx.ExecContext(ctx, f.s.q.MoveIdentities, winner, loser)
		if err != nil {
			return fmt.Errorf("move identities to card %d: %w", winner, err)
		}
		if _, err := f.tx.ExecContext(ctx, f.s.q.DeleteClient, loser); err != nil {
			return fmt.Errorf("delete duplicate card: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			f.markChanged(winner)
		}
		if f.names[winner] == "" && f.names[loser] != "" {
			f.names[winner] = f.names[loser]
			*fills = append(*fills, winner)
		}
		delete(f.newCards, loser)
		alias[c.tmp] = winner
		merged[c.tmp] = true
	}
	return nil
}

// markChanged remembers an existing card that changed, for client.updated.
func (f *filing) markChanged(clientID int64) {
	if f.newCards[clientID] || f.silent(clientID) || slices.Contains(f.changed, clientID) {
		return
	}
	f.changed = append(f.changed, clientID)
}

// keepRawPhones records on each card the phone text its envelopes carried
// that did not parse (Contact.RawPhones, or the connector's
// MetaUnparsedPhone): the operator sees it, matching never uses it.
func (f *filing) keepRawPhones(ctx context.Context) error {
	add := make(map[int64][]string)
	var order []int64
	for _, i := range f.todo {
		env := &f.envs[i]
		raw := env.From.RawPhones
		if v := env.Meta[inbox.MetaUnparsedPhone]; v != "" {
			raw = append(slices.Clip(raw), v)
		}
		id := f.clientOf[i]
		for _, p := range raw {
			p = clean(strings.TrimSpace(p))
			if p == "" || len(p) > inbox.MaxIdentityLen {
				continue
			}
			if _, ok := add[id]; !ok {
				order = append(order, id)
			}
			add[id] = append(add[id], p)
		}
	}
	for _, id := range order {
		merged, changed := unionStrings(f.cards[id].rawPhones, add[id], inbox.MaxRawPhones)
		if !changed {
			continue
		}
		text, err := encodeText(merged)
		if err != nil {
			return err
		}
		if _, err := f.tx.ExecContext(ctx, f.s.q.SetRawPhones, text, id); err != nil {
			return fmt.Errorf("keep raw phones: %w", err)
		}
		st := f.cards[id]
		st.rawPhones = merged
		f.cards[id] = st
		f.markChanged(id)
	}
	return nil
}

// unionStrings appends the strings of add missing from have, up to max in
// all, and reports whether it added any.
func unionStrings(have, add []string, max int) ([]string, bool) {
	out := slices.Clone(have)
	changed := false
	for _, v := range add {
		if len(out) >= max {
			break
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
			changed = true
		}
	}
	return out, changed
}

// suggestDuplicates records, for every envelope whose identities belong to
// more than one card, that its card and each other owner may be one person.
// A suggestion is made once per pair and identity, ever.
func (f *filing) suggestDuplicates(ctx context.Context) error {
	type row struct {
		ClientID      int64  `json:"client_id"`
		OtherClientID int64  `json:"other_client_id"`
		Kind          string `json:"kind"`
		Value         string `json:"value"`
		At            string `json:"at"`
	}
	var rows []row
	seen := make(map[row]bool)
	for _, i := range f.todo {
		c := f.clientOf[i]
		if f.silent(c) {
			continue
		}
		for _, id := range f.envs[i].From.Identities {
			key := keyOf(id)
			o := f.resolved(f.owner[key])
			if o <= 0 || o == c {
				continue
			}
			r := row{ClientID: c, OtherClientID: o, Kind: key.kind, Value: key.value, At: dbTime(f.now)}
			if !seen[r] {
				seen[r] = true
				rows = append(rows, r)
			}
		}
	}
	if len(rows) == 0 {
		return nil
	}
	arg, err := jsonArg(rows)
	if err != nil {
		return err
	}
	var inserted []suggestionRow
	if err := f.tx.SelectContext(ctx, &inserted, f.s.q.InsertSuggestions, arg); err != nil {
		return fmt.Errorf("suggest duplicates: %w", err)
	}
	slices.SortFunc(inserted, func(a, b suggestionRow) int { return cmp.Compare(a.ID, b.ID) })
	for _, r := range inserted {
		d := r.suggestion()
		f.pending = append(f.pending, inbox.DuplicateSuggested(d))
	}
	return nil
}

// recordConsents stores the consents the envelopes carry on their cards.
func (f *filing) recordConsents(ctx context.Context) error {
	var rows []consentInsert
	for _, i := range f.todo {
		c := f.envs[i].Consent
		if c == nil {
			continue
		}
		r, err := newConsentInsert(f.clientOf[i], *c, f.now)
		if err != nil {
			// A malformed consent must not cost the customer's message.
			f.s.log.Warn("consent not recorded", "dedupe_key", f.envs[i].DedupeKey, "err", err)
			continue
		}
		rows = append(rows, r)
	}
	return f.s.insertConsents(ctx, f.tx, rows)
}

// resolveConversations finds or opens the conversation of every (client,
// channel) pair of the batch: one look-up, one insert of the missing ones.
// Pairs go sorted, so concurrent batches lock conversation rows and index
// entries in one global order and never deadlock on each other. The pairs of
// spam cards get their latest closed conversation instead.
func (f *filing) resolveConversations(ctx context.Context) error {
	var keys, quiet []convKey
	firstEnv := make(map[convKey]int)
	for _, i := range f.todo {
		k := convKey{f.clientOf[i], f.envs[i].ChannelID}
		if _, ok := firstEnv[k]; !ok {
			firstEnv[k] = i
			if f.silent(k.clientID) {
				quiet = append(quiet, k)
			} else {
				keys = append(keys, k)
			}
		}
	}
	slices.SortFunc(keys, func(a, b convKey) int {
		return cmp.Or(cmp.Compare(a.clientID, b.clientID), strings.Compare(a.channelID, b.channelID))
	})
	missing, err := f.findConversations(ctx, keys)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		if missing, err = f.insertConversations(ctx, missing, firstEnv); err != nil {
			return err
		}
	}
	if len(missing) > 0 {
		// Opened by a concurrent transaction after our look-up; it has
		// committed by now (ON CONFLICT waited for it), so read them.
		if missing, err = f.findConversations(ctx, missing); err != nil {
			return err
		}
		if len(missing) > 0 {
			return fmt.Errorf("conversation of client %d in %q vanished after a conflict", missing[0].clientID, missing[0].channelID)
		}
	}
	if err := f.closedConversations(ctx, quiet, firstEnv); err != nil {
		return err
	}
	for _, i := range f.todo {
		f.convOf[i] = f.convs[convKey{f.clientOf[i], f.envs[i].ChannelID}]
	}
	return nil
}

// closedConversations finds the latest closed conversation of each of a spam
// card's (client, channel) pairs, opening a closed one where there is none.
func (f *filing) closedConversations(ctx context.Context, keys []convKey, firstEnv map[convKey]int) error {
	var missing []convKey
	for _, k := range keys {
		var row conversationRow
		err := f.tx.GetContext(ctx, &row, f.s.q.LatestClosedConversation, k.clientID, k.channelID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			missing = append(missing, k)
		case err != nil:
			return fmt.Errorf("find closed conversation: %w", err)
		default:
			f.convs[k] = &convState{conv: row.conversation()}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	lost, err := f.insertConversations(ctx, missing, firstEnv)
	if err != nil {
		return err
	}
	if len(lost) > 0 { // a closed conversation conflicts with nothing
		return fmt.Errorf("closed conversation of client %d was not inserted", lost[0].clientID)
	}
	return nil
}

// findConversations reads (and on PostgreSQL locks) the open conversations
// of keys into f.convs and returns the keys that have none.
func (f *filing) findConversations(ctx context.Context, keys []convKey) ([]convKey, error) {
	pairs := make([][2]any, len(keys))
	for i, k := range keys {
		pairs[i] = [2]any{k.clientID, k.channelID}
	}
	arg, err := jsonArg(pairs)
	if err != nil {
		return nil, err
	}
	var rows []conversationRow
	if err := f.tx.SelectContext(ctx, &rows, f.s.q.OpenConversations, arg); err != nil {
		return nil, fmt.Errorf("find conversations: %w", err)
	}
	for _, r := range rows {
		f.convs[convKey{r.ClientID, r.ChannelID}] = &convState{conv: r.conversation()}
	}
	var missing []convKey
	for _, k := range keys {
		if _, ok := f.convs[k]; !ok {
			missing = append(missing, k)
		}
	}
	return missing, nil
}

// insertConversations opens conversations for keys, "new" when the card was
// created by the envelope that needs the conversation (an unknown sender:
// someone has to triage it), "closed" for a spam card, else "open". It
// returns the keys another transaction opened first.
func (f *filing) insertConversations(ctx context.Context, keys []convKey, firstEnv map[convKey]int) ([]convKey, error) {
	type row struct {
		ClientID    int64  `json:"client_id"`
		ChannelID   string `json:"channel_id"`
		ChannelType string `json:"channel_type"`
		Status      string `json:"status"`
		At          string `json:"at"`
	}
	rows := make([]row, len(keys))
	for k, key := range keys {
		i := firstEnv[key]
		status := inbox.StatusOpen
		switch {
		case f.silent(key.clientID):
			status = inbox.StatusClosed
		case f.newCard[i]:
			status = inbox.StatusNew
		}
		rows[k] = row{ClientID: key.clientID, ChannelID: key.channelID, ChannelType: string(f.envs[i].ChannelType),
			Status: string(status), At: dbTime(f.now)}
	}
	arg, err := jsonArg(rows)
	if err != nil {
		return nil, err
	}
	var inserted []struct {
		ID        int64  `db:"id"`
		ClientID  int64  `db:"client_id"`
		ChannelID string `db:"channel_id"`
	}
	if err := f.tx.SelectContext(ctx, &inserted, f.s.q.InsertConversations, arg); err != nil {
		return nil, fmt.Errorf("insert conversations: %w", err)
	}
	byKey := make(map[convKey]row, len(rows))
	for k, key := range keys {
		byKey[key] = rows[k]
	}
	for _, r := range inserted {
		key := convKey{r.ClientID, r.ChannelID}
		in := byKey[key]
		f.convs[key] = &convState{
			conv: inbox.Conversation{
				ID:            r.ID,
				ClientID:      r.ClientID,
				ClientName:    f.names[r.ClientID],
				ChannelID:     r.ChannelID,
				ChannelType:   inbox.ChannelType(in.ChannelType),
				Status:        inbox.ConversationStatus(in.Status),
				LastMessageAt: f.now,
				CreatedAt:     f.now,
			},
			created:   true,
			createdBy: firstEnv[key],
		}
	}
	var lost []convKey
	for _, k := range keys {
		if _, ok := f.convs[k]; !ok {
			lost = append(lost, k)
		}
	}
	return lost, nil
}

// insertMessages inserts the batch's messages in one statement. A dedupe
// key that conflicts here was filed by a concurrent transaction after our
// look-up: that envelope becomes a Dup.
func (f *filing) insertMessages(ctx context.Context) error {
	type row struct {
		ConversationID int64  `json:"conversation_id"`
		Kind           string `json:"kind"`
		Subject        string `json:"subject"`
		Text           string `json:"text"`
		Attachments    string `json:"attachments"`
		Meta           string `json:"meta"`
		ExternalID     string `json:"external_id"`
		DedupeKey      string `json:"dedupe_key"`
		CreatedAt      string `json:"created_at"`
	}
	rows := make([]row, 0, len(f.todo))
	for _, i := range f.todo {
		env := &f.envs[i]
		kind := env.Kind
		if kind == "" {
			kind = inbox.KindText
		}
		att, err := attachmentsText(env.Attachments)
		if err != nil {
			return fmt.Errorf("encode attachments: %w", err)
		}
		meta, err := metaText(env.Meta)
		if err != nil {
			return fmt.Errorf("encode meta: %w", err)
		}
		rows = append(rows, row{
			ConversationID: f.convOf[i].conv.ID,
			Kind:           string(kind),
			Subject:        clean(env.Subject),
			Text:           clean(env.Text),
			Attachments:    att,
			Meta:           meta,
			ExternalID:     clean(env.ExternalID),
			DedupeKey:      clean(env.DedupeKey),
			CreatedAt:      dbTime(f.now),
		})
	}
	arg, err := jsonArg(rows)
	if err != nil {
		return err
	}
	var inserted []struct {
		ID        int64  `db:"id"`
		DedupeKey string `db:"dedupe_key"`
	}
	if err := f.tx.SelectContext(ctx, &inserted, f.s.q.InsertInboundBatch, arg); err != nil {
		return fmt.Errorf("insert messages: %w", err)
	}
	ids := make(map[string]int64, len(inserted))
	for _, r := range inserted {
		ids[r.DedupeKey] = r.ID
	}
	var lost []string
	for k, i := range f.todo {
		r := rows[k]
		id, ok := ids[r.DedupeKey]
		if !ok {
			lost = append(lost, r.DedupeKey)
			continue
		}
		env := &f.envs[i]
		f.filed[i] = inbox.Filed{Message: inbox.Message{
			ID:             id,
			ConversationID: r.ConversationID,
			Direction:      inbox.DirectionIn,
			Kind:           inbox.MessageKind(r.Kind),
			Subject:        r.Subject,
			Text:           r.Text,
			Attachments:    env.Attachments,
			Meta:           env.Meta,
			ExternalID:     r.ExternalID,
			CreatedAt:      f.now,
		}}
	}
	if len(lost) == 0 {
		return nil
	}
	stored, err := f.messagesByDedupeKey(ctx, lost)
	if err != nil {
		return err
	}
	for _, i := range f.todo {
		if f.filed[i].Message.ID != 0 {
			continue
		}
		m, ok := stored[clean(f.envs[i].DedupeKey)]
		if !ok {
			return fmt.Errorf("message %q neither inserted nor found", f.envs[i].DedupeKey)
		}
		f.filed[i] = inbox.Filed{Message: m, Dup: true}
	}
	return nil
}

// buildEvents advances each conversation message by message, so every
// message.created carries its conversation as of that message. Spam cards'
// messages get no events.
func (f *filing) buildEvents(ctx context.Context) ([]inbox.PendingEvent, error) {
	evs, err := f.cardEvents(ctx)
	if err != nil {
		return nil, err
	}
	for _, i := range f.todo {
		st := f.convOf[i]
		if f.silent(st.conv.ClientID) {
			continue
		}
		if st.created && st.createdBy == i {
			evs = append(evs, inbox.ConversationCreated(st.conv))
		}
		if f.filed[i].Dup {
			continue
		}
		st.added++
		st.conv.Unread++
		st.conv.LastMessageAt = f.now
		conv := st.conv
		evs = append(evs, inbox.MessageCreated(f.filed[i].Message, conv))
	}
	return evs, nil
}

// cardEvents returns client.updated for every existing card that changed,
// then the duplicate suggestions' events.
func (f *filing) cardEvents(ctx context.Context) ([]inbox.PendingEvent, error) {
	var evs []inbox.PendingEvent
	for _, id := range f.changed {
		c, err := f.s.client(ctx, f.tx, id)
		if err != nil {
			return nil, err
		}
		evs = append(evs, inbox.ClientUpdated(c))
	}
	return append(evs, f.pending...), nil
}

// saveConversations writes the final state of every conversation that got
// messages, in one statement (the rows are locked already on PostgreSQL).
func (f *filing) saveConversations(ctx context.Context) error {
	type row struct {
		ID            int64  `json:"id"`
		Unread        int    `json:"unread"`
		LastMessageAt string `json:"last_message_at"`
	}
	var rows []row
	for _, st := range f.convs {
		if st.added > 0 {
			rows = append(rows, row{ID: st.conv.ID, Unread: st.conv.Unread, LastMessageAt: dbTime(st.conv.LastMessageAt)})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	slices.SortFunc(rows, func(a, b row) int { return cmp.Compare(a.ID, b.ID) })
	arg, err := jsonArg(rows)
	if err != nil {
		return err
	}
	if _, err := f.tx.ExecContext(ctx, f.s.q.SaveConversations, arg); err != nil {
		return fmt.Errorf("update conversations: %w", err)
	}
	return nil
}
