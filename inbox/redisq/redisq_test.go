package redisq_test

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/inbox/inboxtest"
	"github.com/leadhub/leadhub/inbox/queuetest"
	"github.com/leadhub/leadhub/inbox/redisq"
)

func TestRedis(t *testing.T) {
	rdb := client(t)
	queuetest.Run(t, func(t *testing.T, opts queuetest.Options) queuetest.Queue {
		return newQueue(t, rdb, stream(t, rdb), func(o *redisq.Options) {
			o.Visibility = opts.Visibility
			o.MaxAttempts = opts.MaxAttempts
		})
	})
}

// Processes share the stream and group under their own consumer names.
func TestTwoConsumerNames(t *testing.T) {
	rdb := client(t)
	named := func(name string, visibility time.Duration) func(*redisq.Options) {
		return func(o *redisq.Options) { o.Consumer = name; o.Visibility = visibility }
	}
	t.Run("exclusive", func(t *testing.T) {
		s := stream(t, rdb)
		a := newQueue(t, rdb, s, named("a", 30*time.Second))
		b := newQueue(t, rdb, s, named("b", 30*time.Second))
		queuetest.CheckExclusive(t, a, b, a, b)
	})
	t.Run("takeover from a dead process", func(t *testing.T) {
		s := stream(t, rdb)
		a := newQueue(t, rdb, s, named("a", 300*time.Millisecond))
		b := newQueue(t, rdb, s, named("b", 300*time.Millisecond))
		queuetest.CheckTakeover(t, a, b)
	})
}

// Without persistence a Redis restart loses the stream with its group, and
// anyone may delete the key or destroy the group by hand. Consume must
// recreate the group and go on, never fail forever.
func TestGroupRecreated(t *testing.T) {
	tests := []struct {
		name string
		lose func(ctx context.Context, rdb *redis.Client, stream string) error
	}{
		{"stream deleted", func(ctx context.Context, rdb *redis.Client, stream string) error {
			return rdb.Del(ctx, stream).Err()
		}},
		{"group destroyed", func(ctx context.Context, rdb *redis.Client, stream string) error {
			return rdb.XGroupDestroy(ctx, stream, "leadhub").Err()
		}},
	}
	rdb := client(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := stream(t, rdb)
			var recreated atomic.Int32
			q := newQueue(t, rdb, s, func(o *redisq.Options) {
				o.Visibility = time.Second
				o.Block = 100 * time.Millisecond
				o.OnGroupRecreated = func() { recreated.Add(1) }
			})
			var (
				mu  sync.Mutex
				got = make(map[string]bool)
			)
			queuetest.Start(t, q, 8, func(ctx context.Context, batch []inbox.Delivery) []error {
				mu.Lock()
				defer mu.Unlock()
				for _, d := range batch {
					got[d.Envelope.DedupeKey] = true
				}
				return make([]error, len(batch))
			})
			seen := func(i int) func() bool {
				return func() bool {
					mu.Lock()
					defer mu.Unlock()
					return got[queuetest.Envelope(i).DedupeKey]
				}
			}
			if err := q.Enqueue(ctx, queuetest.Envelope(1)); err != nil {
				t.Fatal(err)
			}
			queuetest.Eventually(t, "first envelope consumed", seen(1))

			if err := tt.lose(ctx, rdb, s); err != nil {
				t.Fatal(err)
			}
			if err := q.Enqueue(ctx, queuetest.Envelope(2)); err != nil {
				t.Fatal(err)
			}
			queuetest.Eventually(t, "envelope after the loss consumed", seen(2))
			if recreated.Load() == 0 {
				t.Error("OnGroupRecreated was not called")
			}
		})
	}
}

func TestRedisDown(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	q, err := redisq.New(rdb, redisq.Options{Stream: inboxtest.Unique("leadhub:test:")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := q.Enqueue(ctx, queuetest.Envelope(1)); inbox.ErrorCode(err) != inbox.EUNAVAILABLE {
		t.Errorf("Enqueue with Redis down = %v, want code %s", err, inbox.EUNAVAILABLE)
	}
	if err := q.Ping(ctx); inbox.ErrorCode(err) != inbox.EUNAVAILABLE {
		t.Errorf("Ping with Redis down = %v, want code %s", err, inbox.EUNAVAILABLE)
	}
	// Consume keeps retrying until its context ends.
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	err = q.Consume(ctx, 1, func(ctx context.Context, batch []inbox.Delivery) []error {
		t.Error("handler called with Redis down")
		return make([]error, len(batch))
	})
	if err != context.DeadlineExceeded {
		t.Errorf("Consume = %v, want %v", err, context.DeadlineExceeded)
	}
}

func TestReplayUnknownID(t *testing.T) {
	rdb := client(t)
	q := newQueue(t, rdb, stream(t, rdb), nil)
	for _, id := range []string{"1-1", "0-0", "", "1-x"} {
		if err := q.ReplayDead(context.Background(), id); inbox.ErrorCode(err) != inbox.ENOTFOUND {
			t.Errorf("ReplayDead(%q) = %v, want code %s", id, err, inbox.ENOTFOUND)
		}
	}
}

func client(t *testing.T) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(inboxtest.RedisURL(t))
	if err != nil {
		t.Fatalf("parse LEADHUB_TEST_REDIS: %v", err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// stream returns a fresh stream key, deleted with its dead letters when t
// ends.
func stream(t *testing.T, rdb *redis.Client) string {
	t.Helper()
	s := inboxtest.Unique("leadhub:test:")
	t.Cleanup(func() {
		if err := rdb.Del(context.Background(), s, s+":dead").Err(); err != nil {
			t.Logf("delete %s: %v", s, err)
		}
	})
	return s
}

func newQueue(t *testing.T, rdb *redis.Client, stream string, set func(*redisq.Options)) *redisq.Queue {
	t.Helper()
	opts := redisq.Options{Stream: stream, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}
	if set != nil {
		set(&opts)
	}
	q, err := redisq.New(rdb, opts)
	if err != nil {
		t.Fatalf("redisq.New: %v", err)
	}
	if err := q.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return q
}
