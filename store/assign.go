package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/leadhub/leadhub/inbox"
)

// TouchPresence records that the operators have a socket open now: for
// inbox.PresenceTTL they count as online, for round-robin and requeueing.
func (s *Store) TouchPresence(ctx context.Context, operatorIDs []int64) error {
	if len(operatorIDs) == 0 {
		return nil
	}
	ids, err := jsonArg(operatorIDs)
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, s.q.TouchPresence, dbTime(s.now()), ids); err != nil {
		return fmt.Errorf("store: touch presence: %w", err)
	}
	return nil
}

// Requeue takes the open conversations of each channel with a requeue rule
// from assignees offline longer than it allows, back to the channel's
// queue. Each is audited as done by nobody ("conversation.requeue").
func (s *Store) Requeue(ctx context.Context, rules map[string]inbox.AssignmentRule) ([]inbox.Event, error) {
	var evs []inbox.Event
	for _, ch := range slices.Sorted(maps.Keys(rules)) {
		r := rules[ch]
		if r.OfflineRequeue <= 0 {
			continue
		}
		err := s.inTx(ctx, func(tx *sqlx.Tx) error {
			now := s.now()
			cutoff := now.Add(-inbox.PresenceTTL - r.OfflineRequeue)
			var rows []conversationRow
			if err := tx.SelectContext(ctx, &rows, s.q.OfflineAssigned, dbTime(cutoff), ch, 200); err != nil {
				return fmt.Errorf("conversations of offline operators: %w", err)
			}
			var pending []inbox.PendingEvent
			for _, row := range rows {
				before := row.conversation()
				won, err := claimed(tx.ExecContext(ctx, s.q.Unassign, before.ID, *before.AssigneeID))
				if err != nil {
					return fmt.Errorf("unassign: %w", err)
				}
				if !won {
					continue
				}
				after := before
				after.AssigneeID = nil
				detail := map[string]any{"from": *before.AssigneeID, "by": "offline_requeue"}
				if err := s.audit(ctx, tx, 0, "conversation.requeue", "conversation", before.ID, detail, now); err != nil {
					return err
				}
				pending = append(pending, inbox.ConversationMoved(before), inbox.ConversationUpdated(after))
			}
			written, err := s.writeEvents(ctx, tx, now, pending)
			evs = append(evs, written...)
			return err
		})
		if err != nil {
			return evs, fmt.Errorf("store: requeue %s: %w", ch, err)
		}
	}
	return evs, nil
}

// candidate is an operator round-robin may give a conversation to.
type candidate struct {
	ID   int64 `db:"id"`
	Open int   `db:"open"`
}

// AssignWaiting gives the waiting conversations (nobody's, new or open) of
// each round-robin channel, oldest first, to its online operators in turn:
// the one who got a conversation least recently first, skipping those at
// the channel's cap. Each is audited as done by nobody
// ("conversation.assign", by round_robin).
func (s *Store) AssignWaiting(ctx context.Context, rules map[string]inbox.AssignmentRule, limit int) ([]inbox.Event, error) {
	var evs []inbox.Event
	for _, ch := range slices.Sorted(maps.Keys(rules)) {
		r := rules[ch]
		if !r.RoundRobin {
			continue
		}
		err := s.inTx(ctx, func(tx *sqlx.Tx) error {
			written, err := s.assignChannel(ctx, tx, ch, r, limit)
			evs = append(evs, written...)
			return err
		})
		if err != nil {
			return evs, fmt.Errorf("store: assign in %s: %w", ch, err)
		}
	}
	return evs, nil
}

func (s *Store) assignChannel(ctx context.Context, tx *sqlx.Tx, ch string, r inbox.AssignmentRule, limit int) ([]inbox.Event, error) {
	now := s.now()
	var waiting []conversationRow
	if err := tx.SelectContext(ctx, &waiting, s.q.WaitingInChannel, ch, limit); err != nil {
		return nil, fmt.Errorf("waiting conversations: %w", err)
	}
	if len(waiting) == 0 {
		return nil, nil
	}
	var team string
	if err := tx.GetContext(ctx, &team, s.q.ChannelTeam, ch); err != nil {
		return nil, fmt.Errorf("channel's team: %w", err)
	}
	var queue []candidate
	if err := tx.SelectContext(ctx, &queue, s.q.AssignCandidates, dbTime(now.Add(-inbox.PresenceTTL)), team, team); err != nil {
		return nil, fmt.Errorf("online operators: %w", err)
	}
	var pending []inbox.PendingEvent
	turn := 0 // orders the turns given in this pass after each other
	for _, row := range waiting {
		i := slices.IndexFunc(queue, func(c candidate) bool { return r.MaxOpen <= 0 || c.Open < r.MaxOpen })
		if i < 0 {
			break // everyone online is full
		}
		op := queue[i]
		before := row.conversation()
		won, err := claimed(tx.ExecContext(ctx, s.q.AssignWaiting, op.ID, before.ID))
		if err != nil {
			return nil, fmt.Errorf("assign: %w", err)
		}
		if !won {
			continue // an operator took it meanwhile
		}
		turn++
		if _, err := tx.ExecContext(ctx, s.q.AssignedAt, dbTime(now.Add(time.Duration(turn)*time.Microsecond)), op.ID); err != nil {
			return nil, fmt.Errorf("record turn: %w", err)
		}
		// The operator goes to the back of the line.
		op.Open++
		queue = append(slices.Delete(queue, i, i+1), op)
		after := before
		after.AssigneeID = &op.ID
		detail := map[string]any{"assignee_id": op.ID, "by": "round_robin"}
		if err := s.audit(ctx, tx, 0, "conversation.assign", "conversation", before.ID, detail, now); err != nil {
			return nil, err
		}
		pending = append(pending, inbox.ConversationMoved(before), inbox.ConversationUpdated(after))
	}
	return s.writeEvents(ctx, tx, now, pending)
}

// Supervise reads the supervisor's view, up to limit conversations and
// tasks.
func (s *Store) Supervise(ctx context.Context, limit int) (inbox.Supervision, error) {
	limit = clampLimit(limit, 200, 1000)
	now := s.now()
	var v inbox.Supervision
	var convs []conversationRow
	if err := s.db.SelectContext(ctx, &convs, s.q.SupervisedConvs, limit); err != nil {
		return v, fmt.Errorf("store: supervise: conversations: %w", err)
	}
	v.Conversations = make([]inbox.Conversation, len(convs))
	for i, r := range convs {
		v.Conversations[i] = r.conversation()
	}
	if err := s.db.SelectContext(ctx, &v.Operators, s.q.OnlineOperators, dbTime(now.Add(-inbox.PresenceTTL))); err != nil {
		return v, fmt.Errorf("store: supervise: operators: %w", err)
	}
	var load []candidate
	if err := s.db.SelectContext(ctx, &load, s.q.OpenLoad); err != nil {
		return v, fmt.Errorf("store: supervise: load: %w", err)
	}
	open := make(map[int64]int, len(load))
	for _, l := range load {
		open[l.ID] = l.Open
	}
	for i := range v.Operators {
		v.Operators[i].Open = open[v.Operators[i].ID]
	}
	var tasks []taskRow
	if err := s.db.SelectContext(ctx, &tasks, s.q.OverdueTasks, dbTime(now), limit); err != nil {
		return v, fmt.Errorf("store: supervise: tasks: %w", err)
	}
	v.OverdueTasks = make([]inbox.Task, len(tasks))
	for i, r := range tasks {
		v.OverdueTasks[i] = r.task()
	}
	return v, nil
}
