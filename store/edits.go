package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/leadhub/leadhub/inbox"
)

// applyEdits is the piece for inbox.ItemEdit: an edit of a message that is
// stored changes that message, once per edit (its dedupe key is kept in
// message_edits), and is announced with message.updated; an edit of a
// message earlier in the same batch is folded into it; an edit of a message
// leadhub never saw becomes a message of its own, so the text is not lost.
// Handled edits leave f.todo. Edits run before the shared preparation: an
// edit of a stored message needs neither card nor conversation.
func (f *filing) applyEdits(ctx context.Context) ([]inbox.PendingEvent, error) {
	var (
		evs  []inbox.PendingEvent
		rest = f.todo[:0:0]
	)
	for k, i := range f.todo {
		env := &f.envs[i]
		if f.item[i] != inbox.ItemEdit {
			rest = append(rest, i)
			continue
		}
		if j := f.earlierInBatch(f.todo[:k], env); j >= 0 {
			// The original is filed by this very batch: file it as edited.
			orig := &f.envs[j]
			orig.Subject, orig.Text, orig.Attachments = env.Subject, env.Text, env.Attachments
			f.dupOf[i] = j
			continue
		}
		var row messageRow
		err := f.tx.GetContext(ctx, &row, f.s.q.MessageByExternalID, env.ChannelID, clean(env.ExternalID),
			string(inbox.DirectionIn))
		if errors.Is(err, sql.ErrNoRows) {
			f.item[i] = inbox.ItemMessage
			rest = append(rest, i)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("find edited message: %w", err)
		}
		ev, msg, err := f.edit(ctx, row, env)
		if err != nil {
			return nil, err
		}
		f.filed[i] = inbox.Filed{Message: msg, Dup: ev == nil}
		if ev != nil {
			evs = append(evs, *ev)
		}
	}
	f.todo = rest
	return evs, nil
}

// earlierInBatch returns the index of an earlier customer's message of the
// batch that the edit env changes, or -1.
func (f *filing) earlierInBatch(before []int, env *inbox.Envelope) int {
	for _, j := range slices.Backward(before) {
		o := &f.envs[j]
		if f.item[j] == inbox.ItemMessage && o.ChannelID == env.ChannelID && o.ExternalID == env.ExternalID {
			return j
		}
	}
	return -1
}

// edit writes one edit of a stored message; a nil event means this edit was
// applied before (a provider retry).
func (f *filing) edit(ctx context.Context, row messageRow, env *inbox.Envelope) (*inbox.PendingEvent, inbox.Message, error) {
	res, err := f.tx.ExecContext(ctx, f.s.q.InsertEdit, clean(env.DedupeKey), row.ID, dbTime(f.now))
	if err != nil {
		return nil, inbox.Message{}, fmt.Errorf("record edit: %w", err)
	}
	msg, err := row.message()
	if err != nil {
		return nil, inbox.Message{}, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return nil, msg, err
	}
	msg.Subject, msg.Text, msg.Attachments = clean(env.Subject), clean(env.Text), env.Attachments
	meta := maps.Clone(msg.Meta)
	if meta == nil {
		meta = map[string]string{}
	}
	meta["edited_at"] = dbTime(f.now)
	msg.Meta = meta
	att, err := attachmentsText(msg.Attachments)
	if err != nil {
		return nil, inbox.Message{}, fmt.Errorf("encode attachments: %w", err)
	}
	metaJSON, err := metaText(meta)
	if err != nil {
		return nil, inbox.Message{}, fmt.Errorf("encode meta: %w", err)
	}
	if _, err := f.tx.ExecContext(ctx, f.s.q.EditMessage, msg.Subject, msg.Text, att, metaJSON, msg.ID); err != nil {
		return nil, inbox.Message{}, fmt.Errorf("edit message %d: %w", msg.ID, err)
	}
	conv, err := f.s.conversation(ctx, f.tx, f.s.q.ConversationByID, msg.ConversationID)
	if err != nil {
		return nil, inbox.Message{}, fmt.Errorf("conversation of edited message: %w", err)
	}
	ev := inbox.MessageUpdated(msg, conv)
	return &ev, msg, nil
}
