package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadhub/leadhub/config"
	"github.com/leadhub/leadhub/inbox/inboxtest"
)

// BenchmarkVKCallback measures the events per second the VK Callback API
// path sustains: POST /hooks/vk/<channel> over loopback HTTP, through the
// real hook handler (rate limits off), Parse, and a durable Enqueue before
// "ok", on the whole hub, whose workers file the events meanwhile. Every
// event is a new message_new from one of 1,000 senders.
//
//	go test -run '^$' -bench BenchmarkVKCallback -benchtime 5000x ./cmd/leadhub/
func BenchmarkVKCallback(b *testing.B) {
	for _, s := range []struct {
		name          string
		postgres, rds bool
	}{{"sqlite+sqlq", false, false}, {"postgres+redis", true, true}} {
		b.Run(s.name, func(b *testing.B) {
			cfg := config.Default()
			cfg.DataDir = b.TempDir()
			cfg.HTTP.HookRate, cfg.HTTP.HookChannelRate = 0, 0
			if s.postgres {
				cfg.Database.URL = inboxtest.PostgresURL(b)
			}
			if s.rds {
				cfg.Redis.URL = inboxtest.RedisURL(b)
				cfg.Redis.Stream = inboxtest.Unique("leadhub-bench:")
			}
			// users.get goes nowhere: names are best effort and must not
			// slow the path down.
			cfg.Channels = []config.Channel{{ID: "vk-shop", Type: "vk", GroupID: vkGroup, Secret: vkSecret,
				Confirmation: vkConfirm, Token: vkToken, APIURL: "http://127.0.0.1:1/method/"}}
			if err := cfg.Validate(); err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			h, err := build(ctx, cfg, slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- h.run(ctx, ln) }()
			defer func() {
				cancel()
				<-done
				h.backend.Close()
			}()
			url := "http://" + ln.Addr().String() + "/hooks/vk/vk-shop"
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}

			var seq atomic.Int64
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := seq.Add(1)
					user := 100000 + n%1000
					body := fmt.Sprintf(`{"group_id":%d,"type":"message_new","event_id":"bench%020d","v":"5.199","secret":%q,`+
						`"object":{"message":{"date":%d,"from_id":%d,"peer_id":%d,"id":%d,"out":0,"conversation_message_id":%d,`+
						`"text":"Здравствуйте! Сколько стоит доставка? #%d","attachments":[],"fwd_messages":[]},"client_info":{"lang_id":0}}}`,
						vkGroup, n, vkSecret, time.Now().Unix(), user, user, n, n, n)
					resp, err := client.Post(url, "application/json", bytes.NewReader([]byte(body)))
					if err != nil {
						b.Error(err)
						return
					}
					ack, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK || string(ack) != "ok" {
						b.Errorf("event %d: %d %q", n, resp.StatusCode, ack)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}
