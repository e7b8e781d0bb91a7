package inbox

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Recordings: a call whose provider named a recording is marked pending
// when it is filed; RecordingWorker fetches it through the channel's
// connector (the provider's signed API where it needs one) into file
// storage and attaches it to the call's entry, where the operator's page
// plays it. A recording that cannot be fetched yet (providers publish them
// a while after the call ends) is tried again with growing pauses, and the
// entry says so; after MaxAttempts it is marked failed.

// RecordingJob is one recording to fetch.
type RecordingJob struct {
	// CallID is leadhub's id of the call (not the provider's).
	CallID    int64
	ChannelID string
	// Call is the call as folded so far: its provider id, its Recording
	// id or RecordingURL.
	Call Call
	// Attempt counts this one (1 on the first).
	Attempt int
}

// RecordingStore is what the worker needs of the store.
type RecordingStore interface {
	// ClaimRecordings returns up to limit recordings due at now, each
	// leased for lease: another instance does not claim it meanwhile.
	ClaimRecordings(ctx context.Context, limit int, lease time.Duration) ([]RecordingJob, error)
	// RecordingFetched attaches att to the call's entry.
	RecordingFetched(ctx context.Context, callID int64, att Attachment) ([]Event, error)
	// RecordingFailed records why the recording could not be fetched:
	// to be tried again at retryAt, or, when final, never.
	RecordingFailed(ctx context.Context, callID int64, reason string, retryAt time.Time, final bool) ([]Event, error)
}

// RecordingFetcher opens a call's recording at the provider: the body, a
// file name and its MIME type.
type RecordingFetcher interface {
	FetchRecording(ctx context.Context, job RecordingJob) (body io.ReadCloser, name, mime string, err error)
}

// MaxRecordingSize bounds one stored recording (an hour of MP3 at 64 kbit/s
// is about 29 MB).
const MaxRecordingSize = 100 << 20

// RecordingOptions configures a RecordingWorker.
type RecordingOptions struct {
	Store     RecordingStore
	Fetchers  map[string]RecordingFetcher // by channel id
	Files     Files
	Publisher Publisher
	Clock     Clock
	Logger    *slog.Logger
	// Poll is how often due recordings are looked for. Default 15 s.
	Poll time.Duration
	// MaxAttempts before a recording is given up. Default 10 (the pauses
	// double from a minute: about 17 hours in all).
	MaxAttempts int
	// FetchTimeout bounds one download. Default 5 minutes.
	FetchTimeout time.Duration
}

// RecordingWorker fetches recordings; Run it once per instance.
type RecordingWorker struct{ opts RecordingOptions }

// NewRecordingWorker returns the worker with defaults filled in.
func NewRecordingWorker(o RecordingOptions) *RecordingWorker {
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Poll <= 0 {
		o.Poll = 15 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = 5 * time.Minute
	}
	return &RecordingWorker{opts: o}
}

// Doubling is the pause after failed attempt n (1, 2, ...) of work retried
// with growing pauses: first, doubling, at most most.
func Doubling(first, most time.Duration, n int) time.Duration {
	d := first
	for i := 1; i < n && d < most; i++ {
		d *= 2
	}
	return min(d, most)
}

// RecordingBackoff is the pause after failed attempt n (1, 2, ...): a
// minute, doubling, at most four hours.
func RecordingBackoff(n int) time.Duration { return Doubling(time.Minute, 4*time.Hour, n) }

// Run fetches due recordings until ctx ends.
func (w *RecordingWorker) Run(ctx context.Context) error {
	return drain(ctx, w.opts.Poll, nil, w.opts.Logger, "recordings claim", w.RunOnce)
}

// RunOnce claims one batch of due recordings and fetches them; it returns
// how many it claimed.
func (w *RecordingWorker) RunOnce(ctx context.Context) (int, error) {
	jobs, err := w.opts.Store.ClaimRecordings(ctx, 8, w.opts.FetchTimeout+time.Minute)
	if err != nil {
		return 0, fmt.Errorf("claim recordings: %w", err)
	}
	for _, j := range jobs {
		if ctx.Err() != nil {
			return len(jobs), nil // the lease runs out and another run takes it
		}
		w.fetch(ctx, j)
	}
	return len(jobs), nil
}

func (w *RecordingWorker) fetch(ctx context.Context, j RecordingJob) {
	log := w.opts.Logger.With("channel", j.ChannelID, "call_id", j.CallID, "attempt", j.Attempt)
	var (
		evs []Event
		err error
	)
	att, ferr := w.download(ctx, j)
	if ferr == nil {
		evs, err = w.opts.Store.RecordingFetched(ctx, j.CallID, att)
	} else {
		final := j.Attempt >= w.opts.MaxAttempts || ErrorCode(ferr) == EINVALID
		retry := w.opts.Clock.Now().Add(RecordingBackoff(j.Attempt))
		log.Warn("recording not fetched", "err", ferr, "final", final)
		evs, err = w.opts.Store.RecordingFailed(ctx, j.CallID, ErrorMessage(ferr), retry, final)
	}
	if err != nil {
		log.Error("recording state", "err", err)
		return
	}
	if w.opts.Publisher != nil && len(evs) > 0 {
		w.opts.Publisher.Publish(ctx, evs)
	}
}

// download fetches the recording into file storage.
func (w *RecordingWorker) download(ctx context.Context, j RecordingJob) (Attachment, error) {
	f, ok := w.opts.Fetchers[j.ChannelID]
	if !ok {
		return Attachment{}, Errorf(EINVALID, "channel %s does not fetch recordings", j.ChannelID)
	}
	ctx, cancel := context.WithTimeout(ctx, w.opts.FetchTimeout)
	defer cancel()
	body, name, mime, err := f.FetchRecording(ctx, j)
	if err != nil {
		return Attachment{}, err
	}
	defer body.Close()
	att, err := w.opts.Files.Save(ctx, name, mime, MaxRecordingSize, body)
	if err != nil {
		if ErrorCode(err) == ETOOLARGE {
			return Attachment{}, Errorf(EINVALID, "the recording is larger than %d bytes", MaxRecordingSize)
		}
		return Attachment{}, Errorf(EUNAVAILABLE, "store the recording: %v", err)
	}
	return att, nil
}
