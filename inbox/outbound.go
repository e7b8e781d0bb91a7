package inbox

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"
)

// Outbound is an operator's reply on its way out through a channel.
type Outbound struct {
	Message     Message
	ChannelID   string
	ChannelType ChannelType
	ClientID    int64
	// To are the client's identities; a sender picks the one its channel
	// speaks (a Telegram id, an email address, an external id).
	To []Identity
	// ReplyTo is the provider's id of the latest inbound message in the
	// conversation, for channels that thread replies.
	ReplyTo string
	// Parent is that latest inbound message itself (nil when there is
	// none), for channels that thread with more than its id: a mail reply
	// takes its subject and its References.
	Parent *Message
	// Attempt is 1 on the first try.
	Attempt int
}

// Sender delivers a reply through one channel. It returns the provider's id
// for the sent message. Errors are retried unless marked Permanent.
type Sender interface {
	Send(ctx context.Context, o Outbound) (externalID string, err error)
}

// SendError qualifies a Sender's failure.
type SendError struct {
	Err error
	// Permanent failures (the provider answered 4xx: blocked, bad address)
	// are not retried.
	Permanent bool
	// RetryAfter, when set, is the provider's own wait before a retry.
	RetryAfter time.Duration
	// Unreachable says the client cannot be reached through Identity any
	// more (a Telegram user blocked the bot); implies Permanent.
	Unreachable bool
	Identity    Identity
}

func (e *SendError) Error() string { return e.Err.Error() }
func (e *SendError) Unwrap() error { return e.Err }

// Permanent marks err as not worth retrying.
func Permanent(err error) error { return &SendError{Err: err, Permanent: true} }

// OutboundStore is the durable outbox the outbound worker drains.
type OutboundStore interface {
	// ClaimOutbound leases up to limit queued messages that are due, so that
	// no other worker takes them until the lease ends.
	ClaimOutbound(ctx context.Context, limit int, lease time.Duration) ([]Outbound, error)
	// MarkSent records a delivered reply and returns the events it wrote.
	MarkSent(ctx context.Context, messageID int64, externalID string) ([]Event, error)
	// MarkFailed records a reply that will not be retried and why.
	MarkFailed(ctx context.Context, messageID int64, reason string) ([]Event, error)
	// RetryLater schedules another attempt at the given time.
	RetryLater(ctx context.Context, messageID int64, at time.Time, reason string) error
}

// UnreachableMarker is implemented by outbound stores that can record that
// a client cannot be reached through one identity, so operators see it on
// the card instead of replying into the void again.
type UnreachableMarker interface {
	MarkUnreachable(ctx context.Context, clientID int64, id Identity, reason string) ([]Event, error)
}

// OutboundOptions configures an OutboundWorker.
type OutboundOptions struct {
	Store     OutboundStore
	Senders   map[string]Sender // by channel id
	Publisher Publisher
	Logger    *slog.Logger
	// MaxAttempts before a reply is failed for good. Default 8.
	MaxAttempts int
	// BaseDelay and MaxDelay bound the exponential backoff. Defaults 1s, 5m.
	BaseDelay, MaxDelay time.Duration
	// Poll is how often the outbox is checked without a Kick. Default 1s.
	Poll time.Duration
	// SendTimeout bounds one Send. Default 30s.
	SendTimeout time.Duration
	// Clock decides when a retry is due. Default SystemClock.
	Clock Clock
	// OnResult, if set, is told each attempt's outcome for metrics:
	// "sent", "retry" or "failed".
	OnResult func(channelID, outcome string)
}

// OutboundWorker sends queued replies with retries and capped backoff.
type OutboundWorker struct {
	opts OutboundOptions
	kick chan struct{}
}

// NewOutboundWorker returns a worker; call Run to start it.
func NewOutboundWorker(opts OutboundOptions) *OutboundWorker {
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 8
	}
	if opts.BaseDelay <= 0 {
		opts.BaseDelay = time.Second
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = 5 * time.Minute
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.SendTimeout <= 0 {
		opts.SendTimeout = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = SystemClock{}
	}
	return &OutboundWorker{opts: opts, kick: make(chan struct{}, 1)}
}

// Kick wakes the worker now instead of at the next poll; it never blocks.
func (w *OutboundWorker) Kick() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Run drains the outbox until ctx ends.
func (w *OutboundWorker) Run(ctx context.Context) error {
	return drain(ctx, w.opts.Poll, w.kick, w.opts.Logger, "outbound claim", w.drain)
}

// drain claims one batch and sends it; it returns how many it claimed.
func (w *OutboundWorker) drain(ctx context.Context) (int, error) {
	lease := w.opts.SendTimeout + 30*time.Second
	batch, err := w.opts.Store.ClaimOutbound(ctx, 16, lease)
	if err != nil {
		return 0, err
	}
	for _, o := range batch {
		if ctx.Err() != nil {
			// The lease runs out and the reply is claimed again later.
			return len(batch), nil
		}
		w.deliver(ctx, o)
	}
	return len(batch), nil
}

func (w *OutboundWorker) deliver(ctx context.Context, o Outbound) {
	log := w.opts.Logger.With("message_id", o.Message.ID, "channel", o.ChannelID, "attempt", o.Attempt)
	var (
		evs []Event
		err error
	)
	sender, ok := w.opts.Senders[o.ChannelID]
	if !ok {
		evs, err = w.opts.Store.MarkFailed(ctx, o.Message.ID, "channel cannot send replies")
		w.result(o.ChannelID, "failed")
		w.publish(ctx, evs, err, log)
		return
	}
	sctx, cancel := context.WithTimeout(ctx, w.opts.SendTimeout)
	extID, sendErr := sender.Send(sctx, o)
	cancel()
	if sendErr == nil {
		evs, err = w.opts.Store.MarkSent(ctx, o.Message.ID, extID)
		w.result(o.ChannelID, "sent")
		w.publish(ctx, evs, err, log)
		return
	}
	if ctx.Err() != nil {
		return // shutting down: the lease expires and the reply is retried
	}
	var se *SendError
	permanent := errors.As(sendErr, &se) && (se.Permanent || se.Unreachable)
	if se != nil && se.Unreachable {
		if m, ok := w.opts.Store.(UnreachableMarker); ok {
			evs, err := m.MarkUnreachable(ctx, o.ClientID, se.Identity, sendErr.Error())
			w.publish(ctx, evs, err, log)
		}
	}
	if permanent || o.Attempt >= w.opts.MaxAttempts {
		log.Warn("reply failed", "err", sendErr, "permanent", permanent)
		evs, err = w.opts.Store.MarkFailed(ctx, o.Message.ID, sendErr.Error())
		w.result(o.ChannelID, "failed")
		w.publish(ctx, evs, err, log)
		return
	}
	delay := Backoff(o.Attempt, w.opts.BaseDelay, w.opts.MaxDelay)
	if se != nil && se.RetryAfter > delay {
		delay = se.RetryAfter
	}
	log.Info("reply will be retried", "err", sendErr, "delay", delay)
	w.result(o.ChannelID, "retry")
	if err := w.opts.Store.RetryLater(ctx, o.Message.ID, w.opts.Clock.Now().Add(delay), sendErr.Error()); err != nil {
		log.Error("schedule retry", "err", err)
	}
}

func (w *OutboundWorker) result(channelID, outcome string) {
	if w.opts.OnResult != nil {
		w.opts.OnResult(channelID, outcome)
	}
}

func (w *OutboundWorker) publish(ctx context.Context, evs []Event, err error, log *slog.Logger) {
	if err != nil {
		log.Error("record delivery", "err", err)
		return
	}
	if w.opts.Publisher != nil && len(evs) > 0 {
		w.opts.Publisher.Publish(ctx, evs)
	}
}

// Backoff returns the wait before attempt+1: base·2^(attempt-1), capped at
// max, with up to 20% jitter so retries of many messages spread out.
func Backoff(attempt int, base, max time.Duration) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := base
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

// MetaVia is the key of a reply's meta that names the channel it goes out
// through when that is not its conversation's channel (the operator chose
// another of the client's channels).
const MetaVia = "via"

// Reaches reports whether a channel of type t, with id channelID, can send
// to identity id: Telegram and VK to their user ids, email to addresses,
// an API channel to its own integration's ids.
func (t ChannelType) Reaches(id Identity, channelID string) bool {
	switch t {
	case ChannelTelegram:
		return id.Kind == IdentityTelegram
	case ChannelVK:
		return id.Kind == IdentityVK
	case ChannelEmail:
		return id.Kind == IdentityEmail
	case ChannelAPI:
		return id.Kind == IdentityExternal && len(id.Value) > len(channelID) && id.Value[:len(channelID)+1] == channelID+":"
	}
	return false
}

// ReplyRoute is one way to answer a client: a channel that can send and
// the client's identity it sends to.
type ReplyRoute struct {
	Channel string      `json:"channel"`
	Type    ChannelType `json:"type"`
	To      string      `json:"to"`
	// Current is the conversation's own channel.
	Current bool `json:"current"`
}
