package store

import (
	"context"
	"fmt"

	"github.com/leadhub/leadhub/inbox"
)

// factRow is one row of the batch's multi-row card_facts insert.
type factRow struct {
	ClientID  int64  `json:"client_id"`
	ChannelID string `json:"channel_id"`
	Name      string `json:"name"`
	Value     string `json:"value"`
	DedupeKey string `json:"dedupe_key"`
	At        string `json:"at"`
}

// recordFacts is the piece for inbox.ItemFact: the fact is recorded on its
// card under its dedupe key (a redelivery finds it and changes nothing), and
// then does what it says. A shared contact needs nothing more: the
// preparation attached the contact's number, found among the sender's
// identities, to the card. Permission withdrawn marks the channel's identity
// (the envelope's first) unreachable, so that replies stop there; permission
// given lifts that mark. Every recorded fact announces its card with
// client.updated, a card the fact created included (no conversation
// announces it). Within a batch, facts are applied after the messages.
func (f *filing) recordFacts(ctx context.Context) error {
	var (
		rows []factRow
		idx  []int
	)
	for _, i := range f.todo {
		if f.item[i] != inbox.ItemFact {
			continue
		}
		env := &f.envs[i]
		rows = append(rows, factRow{
			ClientID:  f.clientOf[i],
			ChannelID: env.ChannelID,
			Name:      string(env.Fact.Name),
			Value:     clean(env.Fact.Value),
			DedupeKey: clean(env.DedupeKey),
			At:        dbTime(f.now),
		})
		idx = append(idx, i)
	}
	if len(rows) == 0 {
		return nil
	}
	arg, err := jsonArg(rows)
	if err != nil {
		return err
	}
	var keys []string
	if err := f.tx.SelectContext(ctx, &keys, f.s.q.InsertFacts, arg); err != nil {
		return fmt.Errorf("record facts: %w", err)
	}
	inserted := make(map[string]bool, len(keys))
	for _, k := range keys {
		inserted[k] = true
	}
	for k, i := range idx {
		if !inserted[rows[k].DedupeKey] {
			// Recorded by a concurrent transaction after our look-up.
			f.filed[i] = inbox.Filed{Dup: true}
			continue
		}
		if err := f.applyFact(ctx, i); err != nil {
			return err
		}
		f.announce(f.clientOf[i])
	}
	return nil
}

// applyFact does what envelope i's fact says to its card.
func (f *filing) applyFact(ctx context.Context, i int) error {
	env := &f.envs[i]
	key := keyOf(env.From.Identities[0])
	switch env.Fact.Name {
	case inbox.FactMessagingDenied:
		reason := clean(env.Fact.Value)
		if reason == "" {
			reason = "the client withdrew permission to message them"
		}
		mark := unreachableMark{ClientID: f.clientOf[i], Kind: key.kind, Value: key.value, Reason: reason, At: dbTime(f.now)}
		if _, err := f.s.q.MarkUnreachable.exec(ctx, f.tx, mark); err != nil {
			return fmt.Errorf("mark %s unreachable: %w", key.kind, err)
		}
	case inbox.FactMessagingAllowed:
		if _, err := f.tx.ExecContext(ctx, f.s.q.ClearUnreachable, key.kind, key.value); err != nil {
			return fmt.Errorf("clear unreachable: %w", err)
		}
	}
	return nil
}

// factsByDedupeKey reports which of keys a recorded fact has.
func (f *filing) factsByDedupeKey(ctx context.Context, keys []string) (map[string]bool, error) {
	return foundKeys(ctx, f.tx, f.s.q.FactsByDedupeKeys, "find facts", keys)
}
