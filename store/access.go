package store

import (
	"context"
	"fmt"

	"github.com/leadhub/leadhub/inbox"
)

// scopeArgs are the parameters of a query's scope filter (restricted flag,
// operator id, hidden channels as a JSON array); nil or an All scope turns
// the filter off.
func scopeArgs(sc *inbox.Scope) (restricted int, operatorID int64, hidden string, err error) {
	if sc == nil || sc.All {
		return 0, 0, "[]", nil
	}
	hidden, err = jsonArg(nonNilStrings(sc.HiddenChannels))
	return 1, sc.OperatorID, hidden, err
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// VisibleConversations returns which of the conversations ids the scope
// sees, by their current assignee and channel. Unknown ids are not visible.
func (s *Store) VisibleConversations(ctx context.Context, scope inbox.Scope, ids []int64) (map[int64]bool, error) {
	out, err := s.visible(ctx, s.q.VisibleConversations, scope, ids)
	if err != nil {
		return nil, fmt.Errorf("store: visible conversations: %w", err)
	}
	return out, nil
}

// VisibleClients returns which of the client cards ids the scope sees: a
// card is visible when one of its conversations is. Admins and
// supervisors see every card, known or not.
func (s *Store) VisibleClients(ctx context.Context, scope inbox.Scope, ids []int64) (map[int64]bool, error) {
	out, err := s.visible(ctx, s.q.VisibleClients, scope, ids)
	if err != nil {
		return nil, fmt.Errorf("store: visible clients: %w", err)
	}
	return out, nil
}

func (s *Store) visible(ctx context.Context, query string, scope inbox.Scope, ids []int64) (map[int64]bool, error) {
	out := make(map[int64]bool, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	if scope.All {
		for _, id := range ids {
			out[id] = true
		}
		return out, nil
	}
	idArg, err := jsonArg(ids)
	if err != nil {
		return nil, err
	}
	hidden, err := jsonArg(nonNilStrings(scope.HiddenChannels))
	if err != nil {
		return nil, err
	}
	var seen []int64
	if err := s.db.SelectContext(ctx, &seen, query, idArg, scope.OperatorID, hidden); err != nil {
		return nil, err
	}
	for _, id := range seen {
		out[id] = true
	}
	return out, nil
}

// FileVisible reports whether the scope sees a message that carries the
// stored file id: files are served like the messages they came with.
func (s *Store) FileVisible(ctx context.Context, scope inbox.Scope, fileID string) (bool, error) {
	restricted, op, hidden, err := scopeArgs(&scope)
	if err != nil {
		return false, err
	}
	var n int
	if err := s.db.GetContext(ctx, &n, s.q.FileVisible, fileID, restricted, op, hidden); err != nil {
		return false, fmt.Errorf("store: file visible: %w", err)
	}
	return n > 0, nil
}

// LastEventID returns the id of the newest event, 0 when there is none: a
// page that has just loaded its lists follows the websocket from there.
func (s *Store) LastEventID(ctx context.Context) (int64, error) {
	var id int64
	if err := s.db.GetContext(ctx, &id, s.q.LastEventID); err != nil {
		return 0, fmt.Errorf("store: last event id: %w", err)
	}
	return id, nil
}
