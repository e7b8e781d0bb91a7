package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/leadhub/leadhub/inbox"
)

// resolveConversations finds or opens the conversation of every (client,
// channel) pair of the batch's items that go into one: one look-up, one
// insert of the missing ones.
// Pairs go sorted, so concurrent batches lock conversation rows and index
// entries in one global order and never deadlock on each other. The pairs of
// spam cards get their latest closed conversation instead.
func (f *filing) resolveConversations(ctx context.Context) error {
	threaded, err := f.threadConversations(ctx)
	if err != nil {
		return err
	}
	var keys, quiet []convKey
	firstEnv := make(map[convKey]int)
	for _, i := range f.todo {
		if !f.inConversation(i) {
			continue
		}
		if _, ok := threaded[i]; ok {
			continue
		}
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
		if !f.inConversation(i) {
			continue
		}
		if k, ok := threaded[i]; ok {
			f.convOf[i] = f.convs[k]
			continue
		}
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
			f.convs[k] = &convState{conv: row.conversation(), timer: row.timer()}
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
		f.convs[convKey{r.ClientID, r.ChannelID}] = &convState{conv: r.conversation(), timer: r.timer()}
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
// created by the inbound item that needs the conversation (an unknown
// sender: someone has to triage it), "closed" for a spam card, else "open"
// (the business wrote or called first: somebody has it in hand). It
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
		case f.newCard[i] && f.draft[i].Direction == inbox.DirectionIn:
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

// buildEvents advances each conversation item by item, so every
// message.created carries its conversation as of that message: an inbound
// item adds to the unread count, an outbound one clears it (somebody
// answered, if from elsewhere). Spam cards' items get no events.
func (f *filing) buildEvents(ctx context.Context) ([]inbox.PendingEvent, error) {
	evs, err := f.cardEvents(ctx)
	if err != nil {
		return nil, err
	}
	for _, i := range f.todo {
		st := f.convOf[i]
		if st == nil || f.silent(st.conv.ClientID) {
			continue
		}
		if st.created && st.createdBy == i {
			evs = append(evs, inbox.ConversationCreated(st.conv))
		}
		if f.filed[i].Dup {
			continue
		}
		if f.item[i] == inbox.ItemCall {
			evs = append(evs, f.callEvents(i, st)...)
			continue
		}
		st.added++
		if f.filed[i].Message.Direction == inbox.DirectionOut {
			st.conv.Unread = 0
			st.timer.answered(f.now)
		} else {
			st.conv.Unread++
			if st.conv.Status == inbox.StatusPending {
				st.conv.Status = inbox.StatusOpen // set aside until the client wrote again
			}
			if st.conv.Status != inbox.StatusClosed {
				st.timer.clientWrote(f.s.sla, st.conv.ChannelID, f.now)
			}
		}
		st.timer.apply(&st.conv)
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
		Status        string `json:"status"`
		timerArgs
	}
	var rows []row
	for _, st := range f.convs {
		if st.added > 0 {
			rows = append(rows, row{ID: st.conv.ID, Unread: st.conv.Unread, LastMessageAt: dbTime(st.conv.LastMessageAt),
				Status: string(st.conv.Status), timerArgs: st.timer.args()})
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
