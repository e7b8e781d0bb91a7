package inbox

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Filed is what filing one envelope did.
type Filed struct {
	Message Message
	// Dup is true when the envelope's dedupe key was filed before; nothing
	// changed this time.
	Dup bool
}

// Filer files envelopes into client cards and conversations.
type Filer interface {
	// FileBatch files every envelope in one transaction: the client card is
	// matched by any identity or created, the message is stored under its
	// unique dedupe key, and an event row is written for each change. Either
	// all envelopes are filed (duplicates reported with Dup and left
	// untouched) or none is and the error says why. The events written are
	// returned so the caller can publish them after the commit.
	FileBatch(ctx context.Context, envs []Envelope) ([]Filed, []Event, error)
}

// Publisher tells connected operators that events were committed. It is best
// effort and never blocks for long: the events table is the truth, and an
// operator who missed a hint catches up from it.
type Publisher interface {
	Publish(ctx context.Context, evs []Event)
}

// WorkerOptions configures a Worker.
type WorkerOptions struct {
	Queue     Queue
	Filer     Filer
	Publisher Publisher
	Logger    *slog.Logger
	// Batch is how many envelopes are filed in one transaction. Default 64.
	Batch int
	// OnFiled, if set, is told how many envelopes a successful filing
	// transaction committed and how long it took (for metrics).
	OnFiled func(n int, d time.Duration)
	// Resolvers, by channel id, turn an envelope's attachment references
	// into stored files before it is filed (see Resolver).
	Resolvers map[string]Resolver
}

// Resolver fetches what a connector could only reference while answering
// its provider quickly (a Telegram file id, a VK sender's name) and rewrites
// the envelope: attachments to stored files, an empty name to the
// provider's. It is called for every envelope of its channel and is best
// effort: an attachment it cannot fetch stays a reference with a note, and
// the message is filed anyway.
type Resolver interface {
	Resolve(ctx context.Context, e *Envelope)
}

// Worker moves envelopes from the queue into the store.
type Worker struct {
	opts WorkerOptions
}

// NewWorker returns a worker; call Run to start it.
func NewWorker(opts WorkerOptions) *Worker {
	if opts.Batch <= 0 {
		opts.Batch = 64
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Worker{opts: opts}
}

// Run consumes until ctx ends. A delivery is acknowledged only after the
// store committed it; redelivery of an already filed envelope is a no-op
// thanks to the dedupe key.
func (w *Worker) Run(ctx context.Context) error {
	err := w.opts.Queue.Consume(ctx, w.opts.Batch, w.Handle)
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// Handle files one batch and returns the per-delivery outcome. The whole
// batch goes in one transaction; if that fails, each envelope is retried in
// its own transaction so one bad envelope never poisons the others.
func (w *Worker) Handle(ctx context.Context, batch []Delivery) []error {
	errs := make([]error, len(batch))
	envs := make([]Envelope, 0, len(batch))
	idx := make([]int, 0, len(batch))
	for i, d := range batch {
		if r, ok := w.opts.Resolvers[d.Envelope.ChannelID]; ok {
			r.Resolve(ctx, &d.Envelope)
		}
		if err := d.Envelope.Validate(); err != nil {
			errs[i] = err
			w.opts.Logger.Warn("invalid envelope", "delivery_id", d.ID, "dedupe_key", d.Envelope.DedupeKey, "err", err)
			continue
		}
		envs = append(envs, d.Envelope)
		idx = append(idx, i)
	}
	if len(envs) == 0 {
		return errs
	}
	if err := w.file(ctx, envs); err == nil || len(envs) == 1 {
		for _, i := range idx {
			errs[i] = err
		}
		if err != nil {
			w.opts.Logger.Error("file envelope", "dedupe_key", envs[0].DedupeKey, "err", err)
		}
		return errs
	}
	for k, e := range envs {
		if err := w.file(ctx, []Envelope{e}); err != nil {
			errs[idx[k]] = err
			w.opts.Logger.Error("file envelope", "dedupe_key", e.DedupeKey, "err", err)
		}
	}
	return errs
}

func (w *Worker) file(ctx context.Context, envs []Envelope) error {
	start := time.Now()
	_, evs, err := w.opts.Filer.FileBatch(ctx, envs)
	if err != nil {
		return err
	}
	if w.opts.OnFiled != nil {
		w.opts.OnFiled(len(envs), time.Since(start))
	}
	if len(evs) > 0 && w.opts.Publisher != nil {
		w.opts.Publisher.Publish(ctx, evs)
	}
	return nil
}
