package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/leadhub/leadhub/inbox"
)

// slaTimer is a conversation's answer timer as stored (migration 0016).
type slaTimer struct {
	WaitingSince *time.Time
	Kind         inbox.SLAKind
	DueAt        *time.Time
	WarnAt       *time.Time // nil once the warning went out
	Breached     bool
	FirstReplyAt *time.Time
}

// clientWrote starts the timer when the client was not waiting yet: a
// client who writes three times in a row waits since the first.
func (t *slaTimer) clientWrote(p *inbox.SLAPolicy, channelID string, at time.Time) {
	if t.WaitingSince != nil {
		return
	}
	w := at
	t.WaitingSince = &w
	t.Kind = inbox.SLAFirst
	if t.FirstReplyAt != nil {
		t.Kind = inbox.SLANext
	}
	t.DueAt, t.WarnAt, t.Breached = nil, nil, false
	if due, warn, ok := p.Due(channelID, t.Kind, at); ok {
		t.DueAt, t.WarnAt = &due, &warn
	}
}

// answered stops the timer: the business wrote to the client.
func (t *slaTimer) answered(at time.Time) {
	if t.FirstReplyAt == nil {
		a := at
		t.FirstReplyAt = &a
	}
	t.stop()
}

// stop ends the wait without an answer (closed, set aside).
func (t *slaTimer) stop() {
	t.WaitingSince, t.DueAt, t.WarnAt, t.Breached = nil, nil, nil, false
	t.Kind = ""
}

// apply copies what the API shows of the timer onto c.
func (t slaTimer) apply(c *inbox.Conversation) {
	c.WaitingSince, c.SLADueAt, c.SLABreached, c.SLAKind, c.FirstReplyAt = t.WaitingSince, t.DueAt, t.Breached, t.Kind, t.FirstReplyAt
}

// timerOf is the timer as c shows it; the warning time is not part of the
// API, so a timer read this way must not be written back unless stopped
// or restarted.
func timerOf(c inbox.Conversation) slaTimer {
	return slaTimer{WaitingSince: c.WaitingSince, Kind: c.SLAKind, DueAt: c.SLADueAt, Breached: c.SLABreached,
		FirstReplyAt: c.FirstReplyAt}
}

// timerArgs are the values of the timer's columns, for statements and
// JSON batches alike.
type timerArgs struct {
	WaitingSince any    `json:"waiting_since" db:"waiting_since"`
	Kind         string `json:"sla_kind" db:"sla_kind"`
	DueAt        any    `json:"sla_due_at" db:"sla_due_at"`
	WarnAt       any    `json:"sla_warn_at" db:"sla_warn_at"`
	Breached     bool   `json:"sla_breached" db:"sla_breached"`
	FirstReplyAt any    `json:"first_reply_at" db:"first_reply_at"`
}

func (t slaTimer) args() timerArgs {
	return timerArgs{WaitingSince: optTime(t.WaitingSince), Kind: string(t.Kind), DueAt: optTime(t.DueAt),
		WarnAt: optTime(t.WarnAt), Breached: t.Breached, FirstReplyAt: optTime(t.FirstReplyAt)}
}

// optTime is a nullable time column's value.
func optTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return dbTime(*t)
}

// replied records an operator's (authorID; 0: none) reply in c at at, in
// one statement: nothing is unread, the activity is at, the timer stops,
// the first reply and who wrote it are kept. The card's last contact moves.
func (s *Store) replied(ctx context.Context, tx *sqlx.Tx, c *inbox.Conversation, authorID int64, at time.Time) error {
	c.Unread, c.LastMessageAt = 0, at
	t := timerOf(*c)
	t.answered(at)
	a := t.args()
	if _, err := tx.ExecContext(ctx, s.q.SaveReply, dbTime(at), a.WaitingSince, a.Kind, a.DueAt, a.WarnAt, a.Breached,
		a.FirstReplyAt, optionalID(authorID), c.ID); err != nil {
		return fmt.Errorf("update conversation: %w", err)
	}
	t.apply(c)
	return s.touchContact(ctx, tx, c.ClientID, at)
}

// saveTimer writes a conversation's timer.
func (s *Store) saveTimer(ctx context.Context, tx *sqlx.Tx, conversationID int64, t slaTimer) error {
	a := t.args()
	if _, err := tx.ExecContext(ctx, s.q.SaveTimer, a.WaitingSince, a.Kind, a.DueAt, a.WarnAt, a.Breached,
		a.FirstReplyAt, conversationID); err != nil {
		return fmt.Errorf("save answer timer: %w", err)
	}
	return nil
}
