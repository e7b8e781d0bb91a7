package store

import (
	"context"
	"fmt"

	"github.com/leadhub/leadhub/inbox"
)

// maxThread bounds the ids of a thread looked up per message.
const maxThread = 20

// threadConversations finds, for each customer's message that names the
// messages it answers (inbox.Envelope.Thread), the conversation of its
// channel that holds the most recent of them, and files the message there
// when the usual way would not:
//   - another card's open conversation (a colleague answering all, a
//     client writing from another address): the message goes there;
//   - the client's own closed conversation, while the client has no open
//     one in the channel: it is opened again (conversation.updated) rather
//     than a new one started, so the thread's history stays together.
//
// The returned map says which envelopes go where (index → the key of a
// conversation read into f.convs). Other messages, and spam cards', are
// filed as any other.
func (f *filing) threadConversations(ctx context.Context) (map[int]convKey, error) {
	threaded := map[int]convKey{}
	var keys []convKey
	for _, i := range f.todo {
		env := &f.envs[i]
		if f.item[i] != inbox.ItemMessage || len(env.Thread) == 0 || f.silent(f.clientOf[i]) {
			continue
		}
		t, ok, err := f.threadOf(ctx, env)
		if err != nil {
			return nil, err
		}
		switch {
		case !ok:
		case t.Status != string(inbox.StatusClosed) && t.ClientID != f.clientOf[i]:
			k := convKey{t.ClientID, env.ChannelID}
			threaded[i] = k
			keys = append(keys, k)
		case t.Status == string(inbox.StatusClosed) && t.ClientID == f.clientOf[i]:
			k := convKey{t.ClientID, env.ChannelID}
			reopened, err := f.reopen(ctx, k, t.ID)
			if err != nil {
				return nil, err
			}
			if reopened {
				threaded[i] = k
			}
		}
	}
	if len(keys) == 0 {
		return threaded, nil
	}
	// Read (and on PostgreSQL lock) those conversations. One closed or
	// moved since the look-up leaves its messages to the usual way.
	missing, err := f.findConversations(ctx, keys)
	if err != nil {
		return nil, err
	}
	for _, k := range missing {
		for i, tk := range threaded {
			if tk == k {
				delete(threaded, i)
			}
		}
	}
	return threaded, nil
}

type threadRow struct {
	ID         int64  `db:"id"`
	ClientID   int64  `db:"client_id"`
	Status     string `db:"status"`
	ExternalID string `db:"external_id"`
}

// threadOf returns the conversation holding the most recent message of
// env's thread.
func (f *filing) threadOf(ctx context.Context, env *inbox.Envelope) (threadRow, bool, error) {
	ids := env.Thread[:min(len(env.Thread), maxThread)]
	arg, err := jsonArg(ids)
	if err != nil {
		return threadRow{}, false, err
	}
	var rows []threadRow
	if err := f.tx.SelectContext(ctx, &rows, f.s.q.ThreadConversations, env.ChannelID, arg); err != nil {
		return threadRow{}, false, fmt.Errorf("find thread: %w", err)
	}
	best, found := len(ids), threadRow{}
	for _, r := range rows {
		for rank, id := range ids[:best] {
			if id == r.ExternalID {
				best, found = rank, r
				break
			}
		}
	}
	return found, best < len(ids), nil
}

// reopen opens the client's closed conversation id again when the client
// has no open conversation in the channel (k), and reads it into f.convs.
// It reports false, changing nothing, when there is an open one: the
// message goes there.
func (f *filing) reopen(ctx context.Context, k convKey, id int64) (bool, error) {
	if _, ok := f.convs[k]; ok {
		return false, nil // the batch has the client's open conversation
	}
	missing, err := f.findConversations(ctx, []convKey{k})
	if err != nil {
		return false, err
	}
	if len(missing) == 0 {
		return false, nil
	}
	res, err := f.tx.ExecContext(ctx, f.s.q.ReopenConversation, id)
	if err != nil {
		return false, fmt.Errorf("reopen conversation %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return false, nil
	}
	conv, err := f.s.conversation(ctx, f.tx, f.s.q.ConversationByID, id)
	if err != nil {
		return false, fmt.Errorf("read reopened conversation %d: %w", id, err)
	}
	f.convs[k] = &convState{conv: conv, timer: timerOf(conv)}
	f.pending = append(f.pending, inbox.ConversationUpdated(conv))
	return true, nil
}
