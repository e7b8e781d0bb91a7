package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/leadhub/leadhub/inbox"
)

// Event payloads. Every event names what changed in full, so an operator's
// page can apply it without a round trip.
type (
	messageEvent struct {
		Message      inbox.Message       `json:"message"`
		Conversation *inbox.Conversation `json:"conversation,omitempty"`
	}
	conversationEvent struct {
		Conversation inbox.Conversation `json:"conversation"`
	}
	clientEvent struct {
		Client inbox.Client `json:"client"`
	}
	mergedEvent struct {
		Client inbox.Client `json:"client"`  // the surviving card
		FromID int64        `json:"from_id"` // the card merged into it
	}
	suggestionEvent struct {
		Suggestion inbox.DuplicateSuggestion `json:"suggestion"`
	}
)

// newEvent is an event not yet written.
type newEvent struct {
	typ  string
	data any
	// client is the card the event is about (0: none), so that erasing the
	// card can blank the event.
	client int64
}

// writeEvents inserts evs in order, as the last step of tx, and returns them
// with their ids. Every method that writes events goes through here, so the
// event lock (see lockEvents) is always taken.
func (s *Store) writeEvents(ctx context.Context, tx *sqlx.Tx, at time.Time, evs []newEvent) ([]inbox.Event, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	type row struct {
		Type      string `json:"type"`
		Data      string `json:"data"`
		ClientID  any    `json:"client_id"`
		CreatedAt string `json:"created_at"`
	}
	out := make([]inbox.Event, len(evs))
	rows := make([]row, len(evs))
	for i, e := range evs {
		b, err := json.Marshal(e.data)
		if err != nil {
			return nil, fmt.Errorf("encode %s event: %w", e.typ, err)
		}
		out[i] = inbox.Event{Type: e.typ, Data: b, CreatedAt: at}
		rows[i] = row{Type: e.typ, Data: string(b), ClientID: optionalID(e.client), CreatedAt: dbTime(at)}
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
// first. limit defaults to 100 and is capped at 1000.
func (s *Store) EventsAfter(ctx context.Context, after int64, limit int) ([]inbox.Event, error) {
	limit = clampLimit(limit, 100, 1000)
	var rows []eventRow
	if err := s.db.SelectContext(ctx, &rows, s.q.EventsAfter, after, limit); err != nil {
		return nil, fmt.Errorf("store: events after %d: %w", after, err)
	}
	out := make([]inbox.Event, len(rows))
	for i, r := range rows {
		out[i] = inbox.Event{ID: r.ID, Type: r.Type, Data: json.RawMessage(r.Data), CreatedAt: r.CreatedAt.Time}
	}
	return out, nil
}

// clampLimit applies a list's default and maximum page size.
func clampLimit(limit, def, max int) int {
	if limit <= 0 {
		return def
	}
	return min(limit, max)
}
