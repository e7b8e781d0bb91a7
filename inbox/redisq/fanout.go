package redisq

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/leadhub/leadhub/inbox"
)

// Fanout spreads "events were committed" hints to every leadhub instance
// through Redis pub/sub, so operators connected to any instance behind a
// load balancer see what a worker on another instance filed. The hint only
// wakes each instance's local publisher (the websocket hub), which reads the
// events themselves from the database: a lost hint delays, never loses.
type Fanout struct {
	rdb     *redis.Client
	channel string
	local   inbox.Publisher
	log     *slog.Logger
}

var _ inbox.Publisher = (*Fanout)(nil)

// NewFanout returns a fanout on the pub/sub channel that wakes local. The
// caller owns rdb.
func NewFanout(rdb *redis.Client, channel string, local inbox.Publisher, log *slog.Logger) *Fanout {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Fanout{rdb: rdb, channel: channel, local: local, log: log}
}

// Publish announces evs to all instances, this one included. If Redis is
// unreachable the local hub is woken directly so this instance's operators
// still see the events at once.
func (f *Fanout) Publish(ctx context.Context, evs []inbox.Event) {
	var last int64
	for _, e := range evs {
		last = max(last, e.ID)
	}
	if err := f.rdb.Publish(ctx, f.channel, strconv.FormatInt(last, 10)).Err(); err != nil {
		f.log.Warn("fanout publish", "err", err)
		f.local.Publish(ctx, evs)
	}
}

// Run listens for hints until ctx ends. Every (re)subscription also wakes
// the local hub, since hints sent while the connection was down are lost.
func (f *Fanout) Run(ctx context.Context) error {
	ps := f.rdb.Subscribe(ctx, f.channel)
	defer ps.Close()
	ch := ps.ChannelWithSubscriptions()
	for {
		select {
		case <-ctx.Done():
			return nil
		case msg, ok := <-ch:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("redisq: fanout subscription closed")
			}
			switch msg.(type) {
			case *redis.Subscription, *redis.Message:
				f.local.Publish(ctx, nil)
			}
		}
	}
}
