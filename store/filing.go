package store

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/leadhub/leadhub/inbox"
)

var (
	_ inbox.Filer         = (*Store)(nil)
	_ inbox.OutboundStore = (*Store)(nil)
)

// FileBatch files envs in one transaction (inbox.Filer). Every envelope
// says what it carries (inbox.Envelope.Carries), and filing runs in three
// parts:
//
// The shared preparation, for every kind. A dedupe key seen before (in the
// database, among the tombstones of erased clients, or earlier in the batch)
// makes the envelope a Dup that changes nothing. Otherwise the client card
// is the owner of its first identity (the one the channel vouches for), else
// of any other identity, else a new card; the envelope's free identities are
// attached to that card, and identities that belong to other cards stay
// there and become duplicate suggestions; unparsed phone numbers, channel
// fields and a consent are recorded on the card. Every kind but a fact then
// needs the client's conversation in this channel that is not closed, or a
// new one ("new" when an inbound item created the card, else "open").
//
// One piece per kind (edits.go, filing_message.go, filing_outgoing.go,
// filing_call.go, filing_fact.go): an edit changes the stored message it
// names; a customer's message is stored inbound; a message the business
// sent from the provider's own interface is stored outbound as sent, with
// no outbox entry; a call event creates its call's "call" message or folds
// into it (an event of a call stored already does so before any card or
// conversation is resolved, like an edit); a fact changes the card. The
// message kinds but calls share one multi-row insert.
//
// Then the events: client.updated for an existing card that changed (or
// any card a fact changed), client.duplicate_suggested,
// conversation.created, message.created (message.updated for an edit). An
// inbound item bumps its conversation's unread count, an outbound one
// clears it (somebody answered); both bump the last activity. A card flagged
// as spam is the exception: its items go into its latest closed
// conversation in the channel (or a new closed one), unread and activity
// stay as they are, and no event is written about it.
//
// Concurrent batches filing the same new person end with one card and one
// conversation: on PostgreSQL each batch first takes advisory locks on the
// hashes of its identities and dedupe keys, in sorted order, so batches that
// share a person run one after the other and batches that do not never wait
// for each other; the ON CONFLICT fallbacks still settle any writer that
// does not take those locks. SQLite runs one writer at a time. The existing
// cards a batch files into are share-locked until it commits, so a merge
// never moves a card's data from under a batch; a batch that finds a card
// merged meanwhile starts over.
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
	timer     slaTimer
}

// filing is the state of one FileBatch transaction.
type filing struct {
	s    *Store
	tx   *sqlx.Tx
	now  time.Time
	envs []inbox.Envelope

	filed  []inbox.Filed
	events []inbox.Event

	// item is what each envelope carries; an edit of a message leadhub
	// never saw becomes a message.
	item []inbox.Item
	// draft is, per envelope that files a message, the message its kind's
	// piece made of it (draftMessages).
	draft    []inbox.Message
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
	// calls is, per call envelope filed, what filing its event did.
	calls map[int]*callFiled
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
		item:        make([]inbox.Item, n),
		draft:       make([]inbox.Message, n),
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
		calls:       make(map[int]*callFiled),
	}
	for i := range f.dupOf {
		f.dupOf[i] = -1
		f.item[i] = envs[i].Carries()
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
	// Edits of stored messages need neither a card nor a conversation:
	// they are filed first and leave f.todo.
	evs, err := f.applyEdits(ctx)
	if err != nil {
		return err
	}
	// So do the events of calls stored already: they join their call.
	addenda, err := f.foldStoredCalls(ctx)
	if err != nil {
		return err
	}
	evs = append(evs, addenda...)
	if len(f.todo) > 0 {
		if err := f.prepare(ctx); err != nil {
			return err
		}
		if err := f.insertMessages(ctx); err != nil {
			return err
		}
		if err := f.fileCalls(ctx); err != nil {
			return err
		}
		if err := f.clearUnreachable(ctx); err != nil {
			return err
		}
		if err := f.recordFacts(ctx); err != nil {
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
		if err := f.saveContacts(ctx); err != nil {
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

// prepare is what every kind of item needs before its piece files it: the
// cards matched or created and what the envelopes say about them, and the
// conversations of the kinds that go into one.
func (f *filing) prepare(ctx context.Context) error {
	f.draftMessages()
	if err := f.matchCards(ctx); err != nil {
		return err
	}
	if err := f.recordConsents(ctx); err != nil {
		return err
	}
	if err := f.fillCardFields(ctx); err != nil {
		return err
	}
	return f.resolveConversations(ctx)
}

// inConversation reports whether envelope i's item goes into a conversation:
// everything but a fact about the card.
func (f *filing) inConversation(i int) bool { return f.item[i] != inbox.ItemFact }

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

// findDuplicates marks envelopes whose dedupe key is stored already (with
// a message, or with a fact for fact envelopes), was erased, or repeats an
// earlier envelope of the batch, and lists the rest in f.todo.
func (f *filing) findDuplicates(ctx context.Context) error {
	keys := make([]string, 0, len(f.envs))
	var factKeys, callKeys []string
	for i, e := range f.envs {
		keys = append(keys, clean(e.DedupeKey))
		switch f.item[i] {
		case inbox.ItemFact:
			factKeys = append(factKeys, clean(e.DedupeKey))
		case inbox.ItemCall:
			callKeys = append(callKeys, clean(e.DedupeKey))
		}
	}
	stored, err := f.messagesByDedupeKey(ctx, keys)
	if err != nil {
		return err
	}
	facts, err := f.factsByDedupeKey(ctx, factKeys)
	if err != nil {
		return err
	}
	// A call event folded into its call earlier: its key is among the
	// call's events, not on a message of its own.
	callEvents, err := f.callEventKeys(ctx, callKeys)
	if err != nil {
		return err
	}
	for k := range callEvents {
		facts[k] = true
	}
	var unseen []string
	for _, k := range keys {
		if _, ok := stored[k]; !ok && !facts[k] {
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
		if facts[k] || erased[erasureHash("dedupe", k)] {
			// A fact recorded before, or an erased client's item
			// delivered again: it stays as it is.
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
