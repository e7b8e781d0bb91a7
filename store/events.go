package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/leadhub/leadhub/inbox"
)

// writeEvents inserts evs in order, each with its audience, as the last step
// of tx, and returns them with their ids. Every method that writes events
// goes through here, so the event lock (see lockEvents) is always taken. A
// payload that cannot be encoded fails the transaction: no socket ever gets
// half an event.
func (s *Store) writeEvents(ctx context.Context, tx *sqlx.Tx, at time.Time, evs []inbox.PendingEvent) ([]inbox.Event, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	type row struct {
		Type           string `json:"type"`
		Data           string `json:"data"`
		Audience       string `json:"audience"`
		ConversationID any    `json:"conversation_id"`
		ClientID       any    `json:"client_id"`
		ChannelID      string `json:"channel_id"`
		AssigneeID     any    `json:"assignee_id"`
		OperatorID     any    `json:"operator_id"`
		CreatedAt      string `json:"created_at"`
	}
	out := make([]inbox.Event, len(evs))
	rows := make([]row, len(evs))
	for i, e := range evs {
		b, err := e.Encode()
		if err != nil {
			return nil, err
		}
		a := e.Audience
		out[i] = inbox.Event{Type: e.Type, Data: b, CreatedAt: at, Audience: a}
		rows[i] = row{Type: e.Type, Data: string(b), Audience: string(a.Kind),
			ConversationID: optionalID(a.ConversationID), ClientID: optionalID(a.ClientID), ChannelID: a.ChannelID,
			AssigneeID: optionalID(a.AssigneeID), OperatorID: optionalID(a.OperatorID), CreatedAt: dbTime(at)}
	}
	arg, err := jsonArg(rows)
	if err != nil {
		return nil, err
	}
	if err := s.lockEvents(ctx, tx); err != nil {
		return nil, err
	}
	var ids []int64
	if err := tx.SelectContext(ctx, &ids, s.q.InsertEvents, arg); err != nil {
		return nil, fmt.Errorf("insert events: %w", err)
	}
	if len(ids) != len(evs) {
		return nil, fmt.Errorf("insert events: %d ids for %d events", len(ids), len(evs))
	}
	// One statement takes ids in row order (the rows come from the JSON
	// array in order, and the event lock keeps other writers out), but
	// RETURNING does not promise an order: sort instead of trusting it.
	slices.Sort(ids)
	for i := range out {
		out[i].ID = ids[i]
	}
	return out, nil
}

// EventsAfter returns up to limit events with ids greater than after, oldest
// first, with their audiences. It is what an instance's one event reader
// follows; limit defaults to 100 and is capped at 1000.
func (s *Store) EventsAfter(ctx context.Context, after int64, limit int) ([]inbox.Event, error) {
	limit = clampLimit(limit, 100, 1000)
	var rows []eventRow
	if err := s.db.SelectContext(ctx, &rows, s.q.EventsAfter, after, limit); err != nil {
		return nil, fmt.Errorf("store: events after %d: %w", after, err)
	}
	return eventsOf(rows), nil
}

// EventsFor returns up to limit events with ids in (after, upTo] that v may
// see now, oldest first: a websocket's replay. Visibility is decided by the
// conversations and cards as they are now, not as they were when the event
// was written, so an operator who lost a conversation does not get its
// history replayed. limit defaults to 100 and is capped at 1000.
func (s *Store) EventsFor(ctx context.Context, v inbox.Viewer, after, upTo int64, limit int) ([]inbox.Event, error) {
	limit = clampLimit(limit, 100, 1000)
	hidden, err := jsonArg(nonNilStrings(v.Scope.HiddenChannels))
	if err != nil {
		return nil, err
	}
	var rows []eventRow
	err = s.q.EventsFor.selectAll(ctx, s.db, &rows, eventsForParams{After: after, UpTo: upTo,
		Admin: flag(v.Role == inbox.RoleAdmin), Supervisor: flag(v.Role.Rank() >= inbox.RoleSupervisor.Rank()),
		SeesAll: flag(v.Scope.All), Operator: v.Scope.OperatorID, Hidden: hidden, Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("store: events for operator %d after %d: %w", v.OperatorID, after, err)
	}
	return eventsOf(rows), nil
}

// ConversationPlaces returns, for each of the cards ids, where its
// conversations are. The event reader asks it once per batch of card
// events, for all the restricted operators connected at once.
func (s *Store) ConversationPlaces(ctx context.Context, clientIDs []int64) (map[int64][]inbox.ConversationPlace, error) {
	out := make(map[int64][]inbox.ConversationPlace, len(clientIDs))
	if len(clientIDs) == 0 {
		return out, nil
	}
	arg, err := jsonArg(clientIDs)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		ClientID   int64         `db:"client_id"`
		ChannelID  string        `db:"channel_id"`
		AssigneeID sql.NullInt64 `db:"assignee_id"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.q.ConversationPlaces, arg); err != nil {
		return nil, fmt.Errorf("store: conversation places: %w", err)
	}
	for _, r := range rows {
		out[r.ClientID] = append(out[r.ClientID], inbox.ConversationPlace{ChannelID: r.ChannelID, AssigneeID: r.AssigneeID.Int64})
	}
	return out, nil
}

func eventsOf(rows []eventRow) []inbox.Event {
	out := make([]inbox.Event, len(rows))
	for i, r := range rows {
		out[i] = inbox.Event{ID: r.ID, Type: r.Type, Data: json.RawMessage(r.Data), CreatedAt: r.CreatedAt.Time,
			Audience: inbox.Audience{
				Kind:           inbox.AudienceKind(r.Audience),
				ConversationID: r.ConversationID.Int64,
				ClientID:       r.ClientID.Int64,
				ChannelID:      r.ChannelID,
				AssigneeID:     r.AssigneeID.Int64,
				OperatorID:     r.OperatorID.Int64,
			}}
	}
	return out
}

// clampLimit applies a list's default and maximum page size.
func clampLimit(limit, def, max int) int {
	if limit <= 0 {
		return def
	}
	return min(limit, max)
}
