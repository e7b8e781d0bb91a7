package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadhub/leadhub/config"
)

// tcpProxy forwards connections on addr to target until the test ends.
// Started late, it is a database or a queue that comes back.
func tcpProxy(t *testing.T, addr, target string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("proxy listen %s: %v", addr, err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, up)
			mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); io.Copy(up, c); up.Close() }()
			go func() { defer wg.Done(); io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
}

// moveHost points a service URL at addr and returns the address it had.
func moveHost(t *testing.T, raw, addr string) (moved, was string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	was, u.Host = u.Host, addr
	return u.String(), was
}

// TestServeWaitsForBackend: `leadhub serve` started while PostgreSQL or
// Redis is unreachable listens at once, answers /healthz 200 and /readyz
// and webhooks 503 with the reason, and starts by itself once the service
// answers — here a proxy to it, started only after the first failed
// attempt was seen, so nothing depends on timing.
func TestServeWaitsForBackend(t *testing.T) {
	was := startRetry
	startRetry = retryPolicy{first: 50 * time.Millisecond, max: 200 * time.Millisecond, attempt: 5 * time.Second, logEvery: time.Hour}
	t.Cleanup(func() { startRetry = was })
	for _, tt := range []struct {
		name          string
		postgres, rds bool
		what          string
		move          func(cfg *config.Config, addr string) string
	}{
		{"redis", false, true, "queue", func(cfg *config.Config, addr string) (target string) {
			cfg.Redis.URL, target = moveHost(t, cfg.Redis.URL, addr)
			return target
		}},
		{"postgres", true, false, "database", func(cfg *config.Config, addr string) (target string) {
			cfg.Database.URL, target = moveHost(t, cfg.Database.URL, addr)
			return target
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t, tt.postgres, tt.rds, "") // migrated while the service is reachable
			addr := freeAddr(t)
			target := tt.move(&cfg, addr)
			logs := &syncBuffer{}
			logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out := &syncBuffer{}
			done := make(chan error, 1)
			go func() { done <- serve(ctx, cfg, logger, out) }()

			waitFor(t, "a failed attempt", func() bool { return strings.Contains(logs.String(), "waiting for the "+tt.what) })
			m := regexp.MustCompile(`addr=(\S+)`).FindStringSubmatch(logs.String())
			if m == nil {
				t.Fatalf("no listening address in the log:\n%s", logs)
			}
			base := "http://" + m[1]
			get := func(path string) (int, string) {
				resp, err := http.Get(base + path)
				if err != nil {
					t.Fatalf("GET %s while waiting: %v", path, err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			if code, _ := get("/healthz"); code != 200 {
				t.Errorf("healthz while waiting: %d, want 200", code)
			}
			if code, body := get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "the "+tt.what+" is unreachable") {
				t.Errorf("readyz while waiting: %d %s", code, body)
			}
			resp := signedPost(t, base+"/hooks/api/crm", `{"id":"wait-1","from":{"phone":"+79120000031"},"text":"anyone?"}`)
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("webhook while waiting: %d, want 503 (the provider retries)", resp.StatusCode)
			}
			if strings.Contains(out.String(), "leadhub is running") {
				t.Error("the welcome was printed before the hub could work")
			}

			tcpProxy(t, addr, target) // the service is back
			waitFor(t, "readyz 200", func() bool { code, _ := get("/readyz"); return code == 200 })
			if !strings.Contains(logs.String(), "the database and the queue answer; starting") {
				t.Errorf("no line saying the hub starts after waiting")
			}
			resp = signedPost(t, base+"/hooks/api/crm", `{"id":"wait-1","from":{"phone":"+79120000031"},"text":"anyone?"}`)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("webhook once started: %d", resp.StatusCode)
			}
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("serve stopped with %v", err)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("serve did not stop")
			}
		})
	}
}

// TestServeStopsWhileWaiting: a hub told to stop while it waits stops at
// once, cleanly.
func TestServeStopsWhileWaiting(t *testing.T) {
	cfg := testConfig(t, false, true, "")
	cfg.Redis.URL, _ = moveHost(t, cfg.Redis.URL, freeAddr(t))
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil)), io.Discard) }()
	waitFor(t, "a failed attempt", func() bool { return strings.Contains(logs.String(), "waiting for the queue") })
	if !strings.Contains(logs.String(), "attempt=1") {
		t.Errorf("the first line does not count attempts:\n%s", logs)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve stopped with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop while waiting")
	}
}
