package redisq

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/inbox/inboxtest"
)

func TestAOFWarning(t *testing.T) {
	off := "# Persistence\r\nloading:0\r\naof_enabled:0\r\naof_rewrite_in_progress:0\r\n"
	on := "# Persistence\r\nloading:0\r\naof_enabled:1\r\n"
	if w := aofWarning(off); !strings.Contains(w, "appendonly yes") {
		t.Errorf("AOF off: %q", w)
	}
	if w := aofWarning(on); w != "" {
		t.Errorf("AOF on: %q", w)
	}
}

// TestDurabilityWarning asks the test Redis and checks the answer against
// its own configuration.
func TestDurabilityWarning(t *testing.T) {
	rdb := testClient(t)
	q, err := New(rdb, Options{Stream: inboxtest.Unique("leadhub-test:")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	w, err := q.DurabilityWarning(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := rdb.ConfigGet(ctx, "appendonly").Result()
	if err != nil {
		t.Fatal(err)
	}
	if (conf["appendonly"] == "yes") != (w == "") {
		t.Errorf("appendonly %q, warning %q", conf["appendonly"], w)
	}
}

// TestForgetIdleConsumers: consumers of stopped processes leave the group
// once idle with nothing pending; one holding an entry stays until
// XAUTOCLAIM takes it over, and so does the queue's own.
func TestForgetIdleConsumers(t *testing.T) {
	rdb := testClient(t)
	ctx := context.Background()
	stream := inboxtest.Unique("leadhub-test:")
	t.Cleanup(func() { rdb.Del(context.Background(), stream, stream+":dead") })
	q, err := New(rdb, Options{Stream: stream, Consumer: "me", ConsumerIdle: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := q.Enqueue(ctx, inbox.Envelope{DedupeKey: "k", ChannelID: "crm"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"me", "gone", "holding"} {
		if err := rdb.XGroupCreateConsumer(ctx, stream, q.opts.Group, c).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// "holding" read the entry and died with it.
	if err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: q.opts.Group, Consumer: "holding", Streams: []string{stream, ">"}, Count: 1}).Err(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // all three idle past ConsumerIdle
	n, err := q.ForgetIdleConsumers(ctx)
	if err != nil || n != 1 {
		t.Fatalf("forgot %d (%v), want 1", n, err)
	}
	left, err := rdb.XInfoConsumers(ctx, stream, q.opts.Group).Result()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range left {
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "holding,me" {
		t.Errorf("consumers left: %v", names)
	}
}

func testClient(t *testing.T) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(inboxtest.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	return rdb
}
