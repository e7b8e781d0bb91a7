package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/leadhub/leadhub/inbox"
)

// The outbox (inbox.OutboundStore) holds one row per queued reply. A claim
// leases the row; MarkSent and MarkFailed remove it; RetryLater puts it back
// with a later due time. While a reply waits for a retry its message stays
// "queued" with no error: the last error is kept in outbox.last_error only,
// and message.error is written when the reply fails for good.

// ClaimOutbound leases up to limit due, queued replies that no other worker
// holds a live lease on, for lease, and counts the attempt.
func (s *Store) ClaimOutbound(ctx context.Context, limit int, lease time.Duration) ([]inbox.Outbound, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []inbox.Outbound
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		at := s.now()
		var claimed []claimRow
		err := tx.SelectContext(ctx, &claimed, s.q.ClaimOutbound, dbTime(at), dbTime(at), limit, dbTime(at.Add(lease)))
		if err != nil {
			return fmt.Errorf("lease: %w", err)
		}
		slices.SortFunc(claimed, func(a, b claimRow) int { return cmp.Compare(a.MessageID, b.MessageID) })
		out = make([]inbox.Outbound, 0, len(claimed))
		for _, c := range claimed {
			o, err := s.outbound(ctx, tx, c.MessageID)
			if err != nil {
				return err
			}
			o.Attempt = c.Attempts
			out = append(out, o)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim outbound: %w", err)
	}
	return out, nil
}

type claimRow struct {
	MessageID int64 `db:"message_id"`
	Attempts  int   `db:"attempts"`
}

// outbound reads what a sender needs to deliver one reply.
func (s *Store) outbound(ctx context.Context, tx *sqlx.Tx, messageID int64) (inbox.Outbound, error) {
	var row messageRow
	if err := tx.GetContext(ctx, &row, s.q.MessageByID, messageID); err != nil {
		return inbox.Outbound{}, fmt.Errorf("read message %d: %w", messageID, err)
	}
	msg, err := row.message()
	if err != nil {
		return inbox.Outbound{}, err
	}
	conv, err := s.conversation(ctx, tx, s.q.ConversationByID, msg.ConversationID)
	if err != nil {
		return inbox.Outbound{}, fmt.Errorf("read conversation of message %d: %w", messageID, err)
	}
	to, err := s.identities(ctx, tx, conv.ClientID)
	if err != nil {
		return inbox.Outbound{}, err
	}
	out := inbox.Outbound{Message: msg, ChannelID: conv.ChannelID, ChannelType: conv.ChannelType, ClientID: conv.ClientID, To: to}
	if via := msg.Meta[inbox.MetaVia]; via != "" && via != conv.ChannelID {
		// Through another of the client's channels: nothing there to
		// thread under.
		var typ string
		if err := tx.GetContext(ctx, &typ, s.q.ChannelType, via); err != nil {
			return inbox.Outbound{}, fmt.Errorf("read channel %s of message %d: %w", via, messageID, err)
		}
		out.ChannelID, out.ChannelType = via, inbox.ChannelType(typ)
		return out, nil
	}
	var parent messageRow
	err = tx.GetContext(ctx, &parent, s.q.LatestInbound, conv.ID, string(inbox.DirectionIn))
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return inbox.Outbound{}, fmt.Errorf("read reply-to of message %d: %w", messageID, err)
	default:
		p, err := parent.message()
		if err != nil {
			return inbox.Outbound{}, err
		}
		out.ReplyTo, out.Parent = p.ExternalID, &p
	}
	return out, nil
}

// MarkSent records a delivered reply: delivery "sent" with the provider's
// id, out of the outbox, and a message.updated event. ENOTFOUND if there is
// no such outbound message.
func (s *Store) MarkSent(ctx context.Context, messageID int64, externalID string) ([]inbox.Event, error) {
	evs, err := s.finishOutbound(ctx, messageID, s.q.MarkSent, clean(externalID))
	if err != nil {
		return nil, fmt.Errorf("store: mark sent %d: %w", messageID, err)
	}
	return evs, nil
}

// MarkFailed records a reply that will not be retried: delivery "failed"
// with reason as the message's error, out of the outbox, and a
// message.updated event. ENOTFOUND if there is no such outbound message.
func (s *Store) MarkFailed(ctx context.Context, messageID int64, reason string) ([]inbox.Event, error) {
	evs, err := s.finishOutbound(ctx, messageID, s.q.MarkFailed, clean(reason))
	if err != nil {
		return nil, fmt.Errorf("store: mark failed %d: %w", messageID, err)
	}
	return evs, nil
}

func (s *Store) finishOutbound(ctx context.Context, messageID int64, query, arg string) ([]inbox.Event, error) {
	var evs []inbox.Event
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var row messageRow
		err := tx.GetContext(ctx, &row, query, arg, messageID)
		if errors.Is(err, sql.ErrNoRows) {
			return inbox.Errorf(inbox.ENOTFOUND, "outbound message not found")
		}
		if err != nil {
			return err
		}
		msg, err := row.message()
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q.DeleteOutbox, messageID); err != nil {
			return fmt.Errorf("delete from outbox: %w", err)
		}
		conv, err := s.conversation(ctx, tx, s.q.ConversationByID, msg.ConversationID)
		if err != nil {
			return fmt.Errorf("read conversation of message %d: %w", messageID, err)
		}
		evs, err = s.writeEvents(ctx, tx, s.now(), []inbox.PendingEvent{inbox.MessageUpdated(msg, conv)})
		return err
	})
	return evs, err
}

// RetryLater releases a claimed reply for another attempt at at, keeping
// reason as the outbox's last error (the message stays "queued", see
// above). ENOTFOUND if the reply is not in the outbox.
func (s *Store) RetryLater(ctx context.Context, messageID int64, at time.Time, reason string) error {
	res, err := s.db.ExecContext(ctx, s.q.RetryOutbox, dbTime(at.UTC().Truncate(time.Microsecond)), clean(reason), messageID)
	if err != nil {
		return fmt.Errorf("store: retry later %d: %w", messageID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: retry later %d: %w", messageID, err)
	}
	if n == 0 {
		return fmt.Errorf("store: retry later %d: %w", messageID, inbox.Errorf(inbox.ENOTFOUND, "outbound message not found"))
	}
	return nil
}
