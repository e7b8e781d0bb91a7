package store

import (
	"context"
	"fmt"

	"github.com/leadhub/leadhub/inbox"
)

// customerMessage is the piece for inbox.ItemMessage: what the customer
// wrote, stored inbound.
func customerMessage(env *inbox.Envelope) inbox.Message {
	return envelopeMessage(env, inbox.DirectionIn)
}

// envelopeMessage is what an envelope that carries a message says of it.
func envelopeMessage(env *inbox.Envelope, dir inbox.Direction) inbox.Message {
	kind := env.Kind
	if kind == "" {
		kind = inbox.KindText
	}
	return inbox.Message{
		Direction:   dir,
		Kind:        kind,
		Subject:     env.Subject,
		Text:        env.Text,
		Attachments: env.Attachments,
		Meta:        env.Meta,
		ExternalID:  env.ExternalID,
	}
}

// draftMessages asks each conversational item's piece what it files, so
// that the rest of filing (conversation status, the insert, unread counts)
// reads the direction from one place.
func (f *filing) draftMessages() {
	for _, i := range f.todo {
		env := &f.envs[i]
		switch f.item[i] {
		case inbox.ItemMessage:
			f.draft[i] = customerMessage(env)
		case inbox.ItemOutgoing:
			f.draft[i] = outgoingMessage(env)
		case inbox.ItemCall:
			f.draft[i] = callMessage(env)
		}
	}
}

// newMessage is one row of the batch's multi-row message insert.
type newMessage struct {
	ConversationID int64   `json:"conversation_id"`
	Direction      string  `json:"direction"`
	Kind           string  `json:"kind"`
	Subject        string  `json:"subject"`
	Text           string  `json:"text"`
	Attachments    string  `json:"attachments"`
	Meta           string  `json:"meta"`
	ExternalID     string  `json:"external_id"`
	Delivery       *string `json:"delivery"` // null: not a reply leadhub tracks
	DedupeKey      string  `json:"dedupe_key"`
	CreatedAt      string  `json:"created_at"`
}

// insertMessages stores the drafts of every kind that files a message, in
// one statement. A dedupe key that conflicts here was filed by a concurrent
// transaction after our look-up: that envelope becomes a Dup.
func (f *filing) insertMessages(ctx context.Context) error {
	var (
		rows []newMessage
		idx  []int // envelope of each row
	)
	for _, i := range f.todo {
		if !f.inConversation(i) || f.item[i] == inbox.ItemCall {
			continue // calls are filed by fileCalls
		}
		d := &f.draft[i]
		d.ConversationID = f.convOf[i].conv.ID
		d.Subject, d.Text, d.ExternalID = clean(d.Subject), clean(d.Text), clean(d.ExternalID)
		d.CreatedAt = f.now
		att, err := attachmentsText(d.Attachments)
		if err != nil {
			return fmt.Errorf("encode attachments: %w", err)
		}
		meta, err := metaText(d.Meta)
		if err != nil {
			return fmt.Errorf("encode meta: %w", err)
		}
		var delivery *string
		if d.Delivery != "" {
			v := string(d.Delivery)
			delivery = &v
		}
		rows = append(rows, newMessage{
			ConversationID: d.ConversationID,
			Direction:      string(d.Direction),
			Kind:           string(d.Kind),
			Subject:        d.Subject,
			Text:           d.Text,
			Attachments:    att,
			Meta:           meta,
			ExternalID:     d.ExternalID,
			Delivery:       delivery,
			DedupeKey:      clean(f.envs[i].DedupeKey),
			CreatedAt:      dbTime(f.now),
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
	var inserted []struct {
		ID        int64  `db:"id"`
		DedupeKey string `db:"dedupe_key"`
	}
	if err := f.tx.SelectContext(ctx, &inserted, f.s.q.InsertMessages, arg); err != nil {
		return fmt.Errorf("insert messages: %w", err)
	}
	ids := make(map[string]int64, len(inserted))
	for _, r := range inserted {
		ids[r.DedupeKey] = r.ID
	}
	var lost []string
	for k, i := range idx {
		id, ok := ids[rows[k].DedupeKey]
		if !ok {
			lost = append(lost, rows[k].DedupeKey)
			continue
		}
		m := f.draft[i]
		m.ID = id
		f.filed[i] = inbox.Filed{Message: m}
	}
	if len(lost) == 0 {
		return nil
	}
	stored, err := f.messagesByDedupeKey(ctx, lost)
	if err != nil {
		return err
	}
	for _, i := range idx {
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
