package store

import (
	"context"
	"fmt"

	"github.com/leadhub/leadhub/inbox"
)

// maxThread bounds the ids of a thread looked up per message.
const maxThread = 20

// threadConversations finds, for each customer's message that names the
// messages it answers (inbox.Envelope.Thread), the open conversation of its
// channel that holds the most recent of them. When that is another card's
// conversation, the message is filed there, and the returned map says so
// (envelope index → the conversation's key, read into f.convs). A message
// whose thread is its own card's conversation, or closed, or unknown, is
// filed as any other. Spam cards' messages are never moved.
func (f *filing) threadConversations(ctx context.Context) (map[int]convKey, error) {
	threaded := map[int]convKey{}
	var keys []convKey
	for _, i := range f.todo {
		env := &f.envs[i]
		if f.item[i] != inbox.ItemMessage || len(env.Thread) == 0 || f.silent(f.clientOf[i]) {
			continue
		}
		ids := env.Thread[:min(len(env.Thread), maxThread)]
		arg, err := jsonArg(ids)
		if err != nil {
			return nil, err
		}
		var rows []struct {
			ClientID   int64  `db:"client_id"`
			ExternalID string `db:"external_id"`
		}
		if err := f.tx.SelectContext(ctx, &rows, f.s.q.ThreadConversations, env.ChannelID, arg); err != nil {
			return nil, fmt.Errorf("find thread: %w", err)
		}
		best, owner := len(ids), int64(0)
		for _, r := range rows {
			for rank, id := range ids[:best] {
				if id == r.ExternalID {
					best, owner = rank, r.ClientID
					break
				}
			}
		}
		if owner == 0 || owner == f.clientOf[i] {
			continue
		}
		k := convKey{owner, env.ChannelID}
		threaded[i] = k
		keys = append(keys, k)
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
