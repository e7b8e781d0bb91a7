package store_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/inbox/inboxtest"
	"github.com/leadhub/leadhub/store"
)

// BenchmarkWebhookDeliveries measures one instance's webhook worker (8
// senders) working off 5,000 message.created events over 500
// conversations to a local receiver that answers 200 at once: events
// turned into deliveries per second, then deliveries (claims, signed
// POSTs, results) per second.
//
//	LEADHUB_TEST_POSTGRES=... go test -run '^$' -bench BenchmarkWebhookDeliveries -benchtime 1x ./store
func BenchmarkWebhookDeliveries(b *testing.B) {
	for _, dialect := range []string{store.DialectSQLite, store.DialectPostgres} {
		b.Run(dialect, func(b *testing.B) {
			const n, convs = 5000, 500
			ctx := context.Background()
			url := "sqlite:" + filepath.Join(b.TempDir(), "leadhub.db")
			if dialect == store.DialectPostgres {
				url = inboxtest.PostgresURL(b)
			}
			s, err := store.Open(ctx, store.Options{URL: url})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if err := s.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			var got atomic.Int64
			rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got.Add(1) }))
			defer rc.Close()
			if _, err := s.CreateWebhook(ctx, 0, inbox.Webhook{URL: rc.URL, Events: []string{"message.created"},
				Secret: "0123456789abcdef"}); err != nil {
				b.Fatal(err)
			}
			for i := 0; i < n; i += 100 {
				var envs []inbox.Envelope
				for j := i; j < i+100; j++ {
					envs = append(envs, envelope(fmt.Sprintf("bench%d", j), "crm", "Client", "hi",
						phone(fmt.Sprintf("+7912%07d", j%convs))))
				}
				if _, _, err := s.FileBatch(ctx, envs); err != nil {
					b.Fatal(err)
				}
			}
			w := inbox.NewWebhookWorker(inbox.WebhookOptions{Store: s, Workers: 8, Client: rc.Client()})
			b.ResetTimer()
			for b.Loop() {
				start := time.Now()
				for {
					k, err := w.Dispatch(ctx)
					if err != nil {
						b.Fatal(err)
					}
					if k == 0 {
						break
					}
				}
				b.ReportMetric(float64(n)/time.Since(start).Seconds(), "dispatched/s")
				if dialect == store.DialectPostgres {
					// As autovacuum would after such a burst: the claim's
					// anti-join needs the table's statistics.
					if _, err := s.DB().ExecContext(ctx, "ANALYZE webhook_deliveries"); err != nil {
						b.Fatal(err)
					}
				}
				start = time.Now()
				for got.Load() < n {
					if _, err := w.Deliver(ctx); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n)/time.Since(start).Seconds(), "deliveries/s")
			}
		})
	}
}
