package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/leadhub/leadhub/inbox"
)

// StartConversation stores the first message of a conversation an operator
// starts with a client in a channel, queued for sending like a reply. The
// client's open conversation in the channel is used when there is one (a
// client has at most one); otherwise one is opened, "open" since somebody
// has it in hand. r.To must be one of the card's identities: EINVALID
// otherwise, as is empty text. An erased client, or one who asked not to
// be contacted, is ECONFLICT; an unknown client ENOTFOUND. Events:
// conversation.created when it was opened, message.created.
func (s *Store) StartConversation(ctx context.Context, r inbox.StartRequest) (inbox.Conversation, inbox.Message, []inbox.Event, error) {
	text, subject := clean(r.Text), clean(strings.TrimSpace(r.Subject))
	if strings.TrimSpace(text) == "" {
		return inbox.Conversation{}, inbox.Message{}, nil, fmt.Errorf("store: start conversation: %w", inbox.Errorf(inbox.EINVALID, "text is required"))
	}
	var (
		started inbox.Conversation
		msg     inbox.Message
		evs     []inbox.Event
	)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var card clientRow
		err := tx.GetContext(ctx, &card, s.q.ClientByID, r.ClientID)
		if errors.Is(err, sql.ErrNoRows) {
			return inbox.Errorf(inbox.ENOTFOUND, "client not found")
		}
		if err != nil {
			return fmt.Errorf("read client: %w", err)
		}
		switch {
		case card.MergedInto.Valid:
			return inbox.Errorf(inbox.ECONFLICT, "client %d was merged into client %d", r.ClientID, card.MergedInto.Int64)
		case !card.ErasedAt.IsZero():
			return inbox.Errorf(inbox.ECONFLICT, "the client was erased")
		case card.DoNotContact:
			return inbox.Errorf(inbox.ECONFLICT, "the client asked not to be contacted")
		}
		ids, err := s.identities(ctx, tx, r.ClientID)
		if err != nil {
			return err
		}
		if !slices.Contains(ids, r.To) {
			return inbox.Errorf(inbox.EINVALID, "%s is not on the client's card", r.To.Value)
		}
		at := s.now()
		pending := []inbox.PendingEvent{}
		conv, created, err := s.openConversation(ctx, tx, r, dbTime(at))
		if err != nil {
			return err
		}
		if created {
			pending = append(pending, inbox.ConversationCreated(conv))
		}
		meta, err := metaText(r.Meta)
		if err != nil {
			return err
		}
		var author any
		if r.AuthorID != 0 {
			author = r.AuthorID
		}
		kind := inbox.KindText
		if r.ChannelType == inbox.ChannelEmail {
			kind = inbox.KindEmail
		}
		var row messageRow
		err = s.q.InsertStartedMessage.get(ctx, tx, &row, startedInsert{ConversationID: conv.ID, Kind: string(kind),
			Subject: subject, Text: text, Meta: meta, AuthorID: author, At: dbTime(at)})
		if err != nil {
			if isForeignKeyViolation(err) {
				return inbox.Errorf(inbox.EINVALID, "unknown author %d", r.AuthorID)
			}
			return fmt.Errorf("insert message: %w", err)
		}
		if msg, err = row.message(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q.InsertOutbox, msg.ID, dbTime(at)); err != nil {
			return fmt.Errorf("insert outbox: %w", err)
		}
		if err := s.replied(ctx, tx, &conv, r.AuthorID, at); err != nil {
			return err
		}
		started = conv
		pending = append(pending, inbox.MessageCreated(msg, conv))
		evs, err = s.writeEvents(ctx, tx, at, pending)
		return err
	})
	if err != nil {
		return inbox.Conversation{}, inbox.Message{}, nil, fmt.Errorf("store: start conversation with client %d: %w", r.ClientID, err)
	}
	return started, msg, evs, nil
}

// openConversation returns the client's open conversation in the channel,
// opening one when there is none (created).
func (s *Store) openConversation(ctx context.Context, tx *sqlx.Tx, r inbox.StartRequest, at string) (_ inbox.Conversation, created bool, _ error) {
	find := func() (*inbox.Conversation, error) {
		arg, err := jsonArg([][2]any{{r.ClientID, r.ChannelID}})
		if err != nil {
			return nil, err
		}
		var rows []conversationRow
		if err := tx.SelectContext(ctx, &rows, s.q.OpenConversations, arg); err != nil {
			return nil, fmt.Errorf("find conversation: %w", err)
		}
		if len(rows) == 0 {
			return nil, nil
		}
		c := rows[0].conversation()
		return &c, nil
	}
	if c, err := find(); err != nil || c != nil {
		if c == nil {
			return inbox.Conversation{}, false, err
		}
		return *c, false, nil
	}
	arg, err := jsonArg([]map[string]any{{"client_id": r.ClientID, "channel_id": r.ChannelID,
		"channel_type": string(r.ChannelType), "status": string(inbox.StatusOpen), "at": at}})
	if err != nil {
		return inbox.Conversation{}, false, err
	}
	var inserted []struct {
		ID        int64  `db:"id"`
		ClientID  int64  `db:"client_id"`
		ChannelID string `db:"channel_id"`
	}
	if err := tx.SelectContext(ctx, &inserted, s.q.InsertConversations, arg); err != nil {
		return inbox.Conversation{}, false, fmt.Errorf("open conversation: %w", err)
	}
	// Opened now, or by a concurrent transaction since the look-up (the
	// insert did nothing): read it either way.
	c, err := find()
	if err != nil {
		return inbox.Conversation{}, false, err
	}
	if c == nil {
		return inbox.Conversation{}, false, fmt.Errorf("conversation of client %d in %q vanished", r.ClientID, r.ChannelID)
	}
	return *c, len(inserted) == 1, nil
}
