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

// applyEdits handles the batch's edit envelopes (inbox.Envelope.Edit): an
// edit of a message that is stored changes that message, once per edit
// (its dedupe key is kept in message_edits), and is announced with
// message.updated; an edit of a message earlier in the same batch is folded
// into it; an edit of a message leadhub never saw is filed as a message of
// its own, so the text is not lost. Handled edits leave f.todo.
func (f *filing) applyEdits(ctx context.Context) ([]inbox.PendingEvent, error) {
	var (
		evs  []inbox.PendingEvent
		rest = f.todo[:0:0]
	)
	for k, i := range f.todo {
		env := &f.envs[i]
		if !env.Edit || env.ExternalID == "" {
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
		err := f.tx.GetContext(ctx, &row, f.s.q.InboundByExternalID, env.ChannelID, clean(env.ExternalID))
		if errors.Is(err, sql.ErrNoRows) {
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

// earlierInBatch returns the index of an earlier envelope of the batch that
// the edit env changes, or -1.
func (f *filing) earlierInBatch(before []int, env *inbox.Envelope) int {
	for _, j := range slices.Backward(before) {
		o := &f.envs[j]
		if !o.Edit && o.ChannelID == env.ChannelID && o.ExternalID == env.ExternalID {
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
