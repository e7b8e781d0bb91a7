package inbox

import (
	"context"
	"log/slog"
	"time"
)

// drain runs once until it finds nothing to do or fails, then waits for the
// next poll or a kick (kick may be nil), until ctx ends. It is the loop of
// the workers that work off a table (the outbox, recordings to fetch).
func drain(ctx context.Context, poll time.Duration, kick <-chan struct{}, logger *slog.Logger, what string,
	once func(ctx context.Context) (int, error)) error {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		n, err := once(ctx)
		if err != nil && ctx.Err() == nil {
			logger.Error(what, "err", err)
		}
		if n > 0 && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-kick:
		}
	}
}
