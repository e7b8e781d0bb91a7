package inbox

import (
	"context"
	"time"
)

// Sink accepts envelopes from connectors. A nil error means the envelope is
// durably queued; only then may a provider be answered 2xx. An error that
// means "try again later" carries EUNAVAILABLE.
type Sink interface {
	Enqueue(ctx context.Context, e Envelope) error
}

// Delivery is one envelope handed out by a queue.
type Delivery struct {
	ID       string   // queue-specific id, used for ack and dead letters
	Envelope Envelope // the payload
	Attempt  int      // 1 on first delivery
}

// Handler processes a batch of deliveries and returns one error per delivery,
// in order: nil acknowledges it, non-nil has it delivered again later (or
// dead-lettered after too many attempts). Returning a slice of the wrong
// length is a bug; queues treat every delivery of such a batch as failed.
type Handler func(ctx context.Context, batch []Delivery) []error

// Queue is at-least-once: Consume hands out batches of at most max
// deliveries and acknowledges a delivery only after the handler returned nil
// for it. A delivery whose consumer died is handed out again after the
// queue's visibility timeout. Two consumers never hold the same delivery at
// the same time. Consume blocks until ctx is done, then returns ctx.Err()
// promptly; transient backend failures are retried inside Consume.
type Queue interface {
	Sink
	Consume(ctx context.Context, max int, h Handler) error
}

// DeadLetter is an envelope that failed too many times.
type DeadLetter struct {
	ID       string    `json:"id"`
	Envelope Envelope  `json:"envelope"`
	Attempts int       `json:"attempts"`
	Error    string    `json:"error"`
	FailedAt time.Time `json:"failed_at"`
}

// DeadLetters lets an operator inspect and replay poison envelopes.
type DeadLetters interface {
	ListDead(ctx context.Context, limit int) ([]DeadLetter, error)
	// ReplayDead puts the dead letter back on the queue as a fresh delivery.
	// An unknown id is ENOTFOUND.
	ReplayDead(ctx context.Context, id string) error
}

// QueueStats is what a queue reports for metrics.
type QueueStats struct {
	Depth     int64         // envelopes accepted and not yet acknowledged
	OldestAge time.Duration // age of the oldest of them, 0 when empty
	Dead      int64         // dead letters waiting for an operator
	// Pending are the envelopes delivered to a consumer at least once and
	// not acknowledged (in a handler, or failed and waiting to be
	// retried); OldestPendingAge is the age of the oldest of them since it
	// was accepted. A pending count that stays up with an old age means a
	// consumer died holding work or an envelope keeps failing.
	Pending          int64
	OldestPendingAge time.Duration
}

// Inspector is implemented by queues that can report their state.
type Inspector interface {
	Stats(ctx context.Context) (QueueStats, error)
	Ping(ctx context.Context) error
}
