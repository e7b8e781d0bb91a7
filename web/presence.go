package web

import (
	"context"
	"slices"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// online returns the operators with a signed-in page open on this instance
// (a script's token socket is not somebody at work).
func (h *Hub) online() []int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := make(map[int64]bool)
	var ids []int64
	for c := range h.clients {
		if c.sessionID != 0 && !seen[c.operatorID] {
			seen[c.operatorID] = true
			ids = append(ids, c.operatorID)
		}
	}
	slices.Sort(ids)
	return ids
}

// joined wakes TrackPresence when an operator opens a page, so that
// round-robin counts them at once rather than at the next beat.
func (h *Hub) joined() {
	select {
	case h.arrived <- struct{}{}:
	default:
	}
}

// TrackPresence records, until ctx ends, which operators have a page open
// on this instance: at once when one arrives and every third of
// inbox.PresenceTTL, so that an operator whose last page closed counts as
// offline within the TTL on every instance.
func (h *Hub) TrackPresence(ctx context.Context, touch func(ctx context.Context, operatorIDs []int64) error) error {
	t := time.NewTicker(inbox.PresenceTTL / 3)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-h.arrived:
		}
		err := touch(ctx, h.online())
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			// One line per outage, not one per beat.
			h.log.Warn("presence not recorded", "err", err)
			failing = true
		case err == nil && failing:
			h.log.Info("presence recorded again")
			failing = false
		}
	}
}
