package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/leadhub/leadhub/inbox"
)

// MergeClients merges card from into card into, in one transaction: from's
// identities, conversations (and so their messages and calls), tags, notes,
// consents and tasks move to into; into keeps its own name, company, custom
// fields and flags and takes from's where it has none (do-not-contact is
// kept if either card has it); suggestions involving from are resolved; from
// stays as a tombstone with MergedInto = into (and cards merged into from
// before now point at into). It writes an audit entry, conversation.updated
// for every moved conversation and client.merged, and returns the surviving
// card.
//
// When both cards have a conversation that is not closed in the same
// channel, the unique "one open conversation per client and channel" rule
// would break, so from's conversation is folded into into's: its messages
// move there (message ids keep the history in order), its unread count is
// added, the busier status (open > pending > new) and an assignee are kept,
// and the emptied conversation is closed rather than deleted, so links and
// past events that name it still resolve.
//
// Merging again a card merged into the same survivor returns the survivor
// and changes nothing (idempotent). Merging a card into itself is EINVALID;
// an unknown card ENOTFOUND; a from merged into another card, an into that
// was merged away, or an erased card ECONFLICT.
func (s *Store) MergeClients(ctx context.Context, operatorID, into, from int64) (inbox.Client, []inbox.Event, error) {
	var (
		survivor inbox.Client
		evs      []inbox.Event
	)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		at := s.now()
		m, err := s.merge(ctx, tx, operatorID, into, from, at)
		if err != nil {
			return err
		}
		survivor = m.survivor
		evs, err = s.writeEvents(ctx, tx, at, m.events)
		return err
	})
	if err != nil {
		return inbox.Client{}, nil, fmt.Errorf("store: merge client %d into %d: %w", from, into, err)
	}
	return survivor, evs, nil
}

// mergeResult is what merge did.
type mergeResult struct {
	survivor inbox.Client
	already  bool            // from had been merged into into before: nothing changed
	folded   map[int64]int64 // from's conversations folded into into's
	events   []inbox.PendingEvent
}

// merge is MergeClients inside tx; the caller writes the events.
func (s *Store) merge(ctx context.Context, tx *sqlx.Tx, operatorID, into, from int64, at time.Time) (mergeResult, error) {
	if into == from {
		return mergeResult{}, inbox.Errorf(inbox.EINVALID, "cannot merge a client into itself")
	}
	// Locking both cards first keeps filing (which share-locks the cards it
	// files into) from writing to from while its data moves.
	cards, err := s.lockCards(ctx, tx, into, from)
	if err != nil {
		return mergeResult{}, err
	}
	t, f := cards[into], cards[from]
	if f.MergedInto.Valid {
		if f.MergedInto.Int64 != into {
			return mergeResult{}, inbox.Errorf(inbox.ECONFLICT, "client %d was merged into client %d", from, f.MergedInto.Int64)
		}
		c, err := s.client(ctx, tx, into)
		return mergeResult{survivor: c, already: true}, err
	}
	if t.MergedInto.Valid {
		return mergeResult{}, inbox.Errorf(inbox.ECONFLICT, "client %d was merged into client %d; merge into that one", into, t.MergedInto.Int64)
	}
	if !t.ErasedAt.IsZero() || !f.ErasedAt.IsZero() {
		return mergeResult{}, inbox.Reasonf(inbox.ECONFLICT, "client_erased", nil, "erased clients cannot be merged")
	}

	folded, foldedMessages, err := s.foldConversations(ctx, tx, into, from)
	if err != nil {
		return mergeResult{}, err
	}
	var moved []conversationRow
	if err := tx.SelectContext(ctx, &moved, s.q.ConversationsOfClient, from); err != nil {
		return mergeResult{}, fmt.Errorf("read conversations: %w", err)
	}
	if err := s.mergeContact(ctx, tx, into, from); err != nil {
		return mergeResult{}, err
	}
	if _, err := tx.ExecContext(ctx, s.q.MoveConversations, into, from); err != nil {
		return mergeResult{}, fmt.Errorf("move conversations: %w", err)
	}
	res, err := tx.ExecContext(ctx, s.q.MoveIdentities, into, from)
	if err != nil {
		return mergeResult{}, fmt.Errorf("move identities: %w", err)
	}
	identities, _ := res.RowsAffected()
	if _, err := tx.ExecContext(ctx, s.q.MoveTags, into, from); err != nil {
		return mergeResult{}, fmt.Errorf("move tags: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.q.DeleteTags, from); err != nil {
		return mergeResult{}, fmt.Errorf("drop moved tags: %w", err)
	}
	for _, q := range []string{s.q.MoveNotes, s.q.MoveConsents, s.q.MoveTasks, s.q.MoveFacts, s.q.MoveEvents} {
		if _, err := tx.ExecContext(ctx, q, into, from); err != nil {
			return mergeResult{}, fmt.Errorf("move card records: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, s.q.ResolveSuggestionsOf, from, from); err != nil {
		return mergeResult{}, fmt.Errorf("resolve suggestions: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.q.MarkMerged, into, dbTime(at), from); err != nil {
		return mergeResult{}, fmt.Errorf("mark merged: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.q.RepointTombstones, into, from); err != nil {
		return mergeResult{}, fmt.Errorf("repoint tombstones: %w", err)
	}

	tc, err := t.client()
	if err != nil {
		return mergeResult{}, err
	}
	fc, err := f.client()
	if err != nil {
		return mergeResult{}, err
	}
	combineCards(&tc, fc)
	if err := s.saveClient(ctx, tx, tc, at); err != nil {
		return mergeResult{}, err
	}
	survivor, err := s.client(ctx, tx, into)
	if err != nil {
		return mergeResult{}, err
	}
	detail := map[string]any{"from": from, "identities": identities, "conversations": len(moved),
		"folded_conversations": len(folded), "folded_messages": foldedMessages}
	if err := s.audit(ctx, tx, operatorID, "client.merge", "client", into, detail, at); err != nil {
		return mergeResult{}, err
	}

	// Every moved conversation, as it is now, then the merge itself.
	var evs []inbox.PendingEvent
	ids := make([]int64, 0, len(moved)+len(folded))
	for _, c := range moved {
		ids = append(ids, c.ID)
	}
	for _, target := range folded {
		ids = append(ids, target)
	}
	slices.Sort(ids)
	for _, id := range slices.Compact(ids) {
		c, err := s.conversation(ctx, tx, s.q.ConversationByID, id)
		if err != nil {
			return mergeResult{}, err
		}
		evs = append(evs, inbox.ConversationUpdated(c))
	}
	evs = append(evs, inbox.ClientMerged(survivor, from))
	return mergeResult{survivor: survivor, folded: folded, events: evs}, nil
}

// foldConversations folds each of from's conversations that is not closed
// into into's conversation of the same channel, if into has one (see
// MergeClients), and returns which went where and how many messages moved.
func (s *Store) foldConversations(ctx context.Context, tx *sqlx.Tx, into, from int64) (map[int64]int64, int64, error) {
	var target, source []conversationRow
	if err := tx.SelectContext(ctx, &target, s.q.OpenConversationsOf, into); err != nil {
		return nil, 0, fmt.Errorf("read open conversations: %w", err)
	}
	if err := tx.SelectContext(ctx, &source, s.q.OpenConversationsOf, from); err != nil {
		return nil, 0, fmt.Errorf("read open conversations: %w", err)
	}
	byChannel := make(map[string]inbox.Conversation, len(target))
	for _, r := range target {
		byChannel[r.ChannelID] = r.conversation()
	}
	folded := make(map[int64]int64)
	var messages int64
	for _, r := range source {
		src := r.conversation()
		dst, ok := byChannel[src.ChannelID]
		if !ok {
			continue
		}
		res, err := tx.ExecContext(ctx, s.q.MoveMessages, dst.ID, src.ID)
		if err != nil {
			return nil, 0, fmt.Errorf("move messages: %w", err)
		}
		n, _ := res.RowsAffected()
		messages += n
		dst.Unread += src.Unread
		if src.LastMessageAt.After(dst.LastMessageAt) {
			dst.LastMessageAt = src.LastMessageAt
		}
		if statusRank(src.Status) > statusRank(dst.Status) {
			dst.Status = src.Status
		}
		if dst.AssigneeID == nil {
			dst.AssigneeID = src.AssigneeID
		}
		// Close the emptied one first: the partial unique index allows one
		// open conversation per client and channel at every step.
		src.Status, src.Unread = inbox.StatusClosed, 0
		if err := s.saveConversation(ctx, tx, src); err != nil {
			return nil, 0, err
		}
		if err := s.saveConversation(ctx, tx, dst); err != nil {
			return nil, 0, err
		}
		byChannel[dst.ChannelID] = dst
		folded[src.ID] = dst.ID
	}
	return folded, messages, nil
}

// statusRank orders the statuses that are not closed by how much attention
// they have had: a conversation someone works on outranks an untriaged one.
func statusRank(s inbox.ConversationStatus) int {
	switch s {
	case inbox.StatusOpen:
		return 3
	case inbox.StatusPending:
		return 2
	case inbox.StatusNew:
		return 1
	}
	return 0
}

func (s *Store) saveConversation(ctx context.Context, tx *sqlx.Tx, c inbox.Conversation) error {
	var assignee any
	if c.AssigneeID != nil {
		assignee = *c.AssigneeID
	}
	_, err := s.q.SaveConversation.exec(ctx, tx, conversationSave{ID: c.ID, Status: string(c.Status), AssigneeID: assignee,
		Unread: c.Unread, LastMessageAt: dbTime(c.LastMessageAt)})
	if err != nil {
		if isUniqueViolation(err) {
			return inbox.Reasonf(inbox.ECONFLICT, "another_open_conversation", nil, "the client has another open conversation in this channel")
		}
		if isForeignKeyViolation(err) {
			return inbox.Errorf(inbox.EINVALID, "unknown operator")
		}
		return fmt.Errorf("save conversation %d: %w", c.ID, err)
	}
	return nil
}

// combineCards gives the survivor what only the merged card knew.
func combineCards(into *inbox.Client, from inbox.Client) {
	if into.Name == "" {
		into.Name = from.Name
	}
	if into.Company == "" {
		into.Company = from.Company
	}
	for k, v := range from.CustomFields {
		if _, ok := into.CustomFields[k]; !ok && len(into.CustomFields) < inbox.MaxCustomFields {
			into.CustomFields[k] = v
		}
	}
	into.RawPhones, _ = unionStrings(into.RawPhones, from.RawPhones, inbox.MaxRawPhones)
	if from.DoNotContact && !into.DoNotContact {
		// Someone asked not to be contacted: merging must never undo that.
		into.DoNotContact = true
		into.DoNotContactReason = from.DoNotContactReason
	}
}
