package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/leadhub/leadhub/inbox"
)

// MarkRead records what operatorID has read of a conversation: all of it
// (unread false), or marks it unread. It returns the operator's own unread
// count and the conversation.read event for their other tabs. An unknown
// conversation is ENOTFOUND.
func (s *Store) MarkRead(ctx context.Context, conversationID, operatorID int64, unread bool) (int, []inbox.Event, error) {
	var (
		n   int
		evs []inbox.Event
	)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var conv conversationRow
		if err := tx.GetContext(ctx, &conv, s.q.ConversationByID, conversationID); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return inbox.Errorf(inbox.ENOTFOUND, "conversation not found")
			}
			return fmt.Errorf("read conversation: %w", err)
		}
		at := s.now()
		q := s.q.MarkRead
		if unread {
			q = s.q.MarkUnread
		}
		if _, err := q.exec(ctx, tx, readMark{ConversationID: conversationID, OperatorID: operatorID, Marked: unread, At: dbTime(at)}); err != nil {
			if isForeignKeyViolation(err) {
				return inbox.Errorf(inbox.EINVALID, "unknown operator %d", operatorID)
			}
			return fmt.Errorf("mark: %w", err)
		}
		convs := []inbox.Conversation{conv.conversation()}
		if err := s.unreadFor(ctx, tx, operatorID, convs); err != nil {
			return err
		}
		n = convs[0].Unread
		var err error
		evs, err = s.writeEvents(ctx, tx, at, []inbox.PendingEvent{inbox.ConversationRead(conversationID, operatorID, n)})
		return err
	})
	if err != nil {
		return 0, nil, fmt.Errorf("store: mark conversation %d read: %w", conversationID, err)
	}
	return n, evs, nil
}

// UnreadFor replaces each conversation's unread count (the client's
// messages nobody answered) with operatorID's own: those that came after
// what they read, at least 1 if they marked it unread. A conversation they
// never opened keeps its count.
func (s *Store) UnreadFor(ctx context.Context, operatorID int64, convs []inbox.Conversation) error {
	if err := s.unreadFor(ctx, s.db, operatorID, convs); err != nil {
		return fmt.Errorf("store: unread for operator %d: %w", operatorID, err)
	}
	return nil
}

func (s *Store) unreadFor(ctx context.Context, q sqlx.QueryerContext, operatorID int64, convs []inbox.Conversation) error {
	if len(convs) == 0 || operatorID == 0 {
		return nil
	}
	ids := make([]int64, len(convs))
	for i, c := range convs {
		ids[i] = c.ID
	}
	arg, err := jsonArg(ids)
	if err != nil {
		return err
	}
	var rows []struct {
		ConversationID int64 `db:"conversation_id"`
		Marked         bool  `db:"marked_unread"`
		After          int   `db:"after"`
	}
	if err := sqlx.SelectContext(ctx, q, &rows, s.q.ReadsOf, operatorID, arg); err != nil {
		return fmt.Errorf("reads: %w", err)
	}
	for _, r := range rows {
		for i := range convs {
			if convs[i].ID != r.ConversationID {
				continue
			}
			n := min(convs[i].Unread, r.After)
			if r.Marked {
				n = max(n, 1)
			}
			convs[i].Unread = n
		}
	}
	return nil
}
