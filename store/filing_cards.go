package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/leadhub/leadhub/inbox"
)

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
// again (the Telegram user unblocked the bot). Only a customer's message says
// so; a fact says it for itself (recordFacts).
func (f *filing) clearUnreachable(ctx context.Context) error {
	for _, i := range f.todo {
		if f.item[i] != inbox.ItemMessage {
			continue
		}
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

// announce remembers a card for client.updated even if this batch created
// it: a fact changes a card without a conversation to announce it.
func (f *filing) announce(clientID int64) {
	if f.silent(clientID) || slices.Contains(f.changed, clientID) {
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

// fillCardFields writes the card fields channels report about senders
// (inbox.Contact.Fields) into custom fields that are still empty; what an
// operator typed is never overwritten.
func (f *filing) fillCardFields(ctx context.Context) error {
	// A sender's every message carries the same fields: read each card
	// once per batch.
	cards := map[int64]inbox.Client{}
	for _, i := range f.todo {
		fields := f.envs[i].From.Fields
		if len(fields) == 0 {
			continue
		}
		id := f.resolved(f.clientOf[i])
		c, ok := cards[id]
		if !ok {
			var err error
			if c, err = f.s.client(ctx, f.tx, id); err != nil {
				return fmt.Errorf("read card %d: %w", id, err)
			}
			cards[id] = c
		}
		changed := false
		for k, v := range fields {
			k, v = clean(k), clean(v)
			if k == "" || v == "" || c.CustomFields[k] != "" {
				continue
			}
			if c.CustomFields == nil {
				c.CustomFields = map[string]string{}
			}
			c.CustomFields[k] = v
			changed = true
		}
		if !changed {
			continue
		}
		if err := f.s.saveClient(ctx, f.tx, c, f.now); err != nil {
			return err
		}
		cards[id] = c
		f.markChanged(id)
	}
	return nil
}
