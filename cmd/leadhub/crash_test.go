package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/leadhub/leadhub/config"
	"github.com/leadhub/leadhub/connectors"
)

// TestKillNineLosesNothing runs the real binary, posts messages at it from
// several goroutines, and SIGKILLs it mid-stream. A restarted hub, given the
// provider retries of every request that did not get its 200, must end with
// each message exactly once: nothing that was acknowledged is lost, nothing
// is doubled. The second process is stopped with SIGTERM, which must end it
// within 10 s.
func TestKillNineLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "leadhub")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	for _, s := range setups[:2] {
		t.Run(s.name, func(t *testing.T) {
			cfg := testConfig(t, s.postgres, s.rds, "")
			cfg.HTTP.Addr = freeAddr(t)
			start := func() *exec.Cmd {
				cmd := exec.Command(bin, "serve")
				cmd.Env = append(os.Environ(),
					"LEADHUB_DATA_DIR="+cfg.DataDir, "LEADHUB_HTTP_ADDR="+cfg.HTTP.Addr,
					"LEADHUB_DATABASE_URL="+cfg.Database.URL, "LEADHUB_REDIS_URL="+cfg.Redis.URL,
					"LEADHUB_CONFIG="+writeConfig(t, cfg), "LEADHUB_LOG_LEVEL=warn")
				cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				// readyz, not healthz: the process is alive (healthz)
				// while it still waits for the database and the queue.
				waitFor(t, "readyz", func() bool {
					resp, err := http.Get("http://" + cfg.HTTP.Addr + "/readyz")
					if err == nil {
						resp.Body.Close()
					}
					return err == nil && resp.StatusCode == http.StatusOK
				})
				return cmd
			}
			base := "http://" + cfg.HTTP.Addr
			const n = 400
			post := func(i int) bool {
				body := fmt.Sprintf(`{"id":"kill-%d","from":{"phone":"+7912555%04d"},"text":"message %d"}`, i, i%50, i)
				req, _ := http.NewRequest(http.MethodPost, base+"/hooks/api/crm", strings.NewReader(body))
				req.Header.Set(connectors.SignatureHeader, connectors.Sign(crmSecret, []byte(body)))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return false
				}
				resp.Body.Close()
				return resp.StatusCode == http.StatusOK
			}

			first := start()
			var mu sync.Mutex
			accepted := map[int]bool{}
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < n; i += 8 {
						if post(i) {
							mu.Lock()
							accepted[i] = true
							if len(accepted) == n/2 {
								// Mid-stream, with requests and filing in flight.
								first.Process.Kill()
							}
							mu.Unlock()
						}
					}
				}()
			}
			wg.Wait()
			first.Wait()
			if len(accepted) < n/2 || len(accepted) == n {
				t.Fatalf("accepted %d of %d; the kill did not land mid-stream", len(accepted), n)
			}

			second := start()
			for i := range n {
				if !accepted[i] {
					if !post(i) { // the provider's retry
						t.Fatalf("retry of %d refused", i)
					}
				}
			}
			waitFor(t, "queue drained", func() bool { return metric(t, base, "leadhub_queue_depth") == "0" })
			second.Process.Signal(syscall.SIGTERM)
			exited := make(chan error, 1)
			go func() { exited <- second.Wait() }()
			select {
			case err := <-exited:
				if err != nil {
					t.Errorf("after SIGTERM the hub exited with %v", err)
				}
			case <-time.After(10 * time.Second):
				second.Process.Kill()
				t.Fatal("the hub did not exit within 10 s of SIGTERM")
			}

			b, err := openBackend(context.Background(), cfg, slog.New(slog.DiscardHandler), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			var keys []string
			if err := b.store.DB().Select(&keys, "SELECT dedupe_key FROM messages WHERE dedupe_key IS NOT NULL"); err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			for _, k := range keys {
				seen[k]++
			}
			for i := range n {
				if c := seen[fmt.Sprintf("api:crm:kill-%d", i)]; c != 1 {
					t.Errorf("message %d (accepted before the kill: %v) is stored %d times", i, accepted[i], c)
				}
			}
			if len(keys) != n {
				t.Errorf("%d messages stored, want %d", len(keys), n)
			}
		})
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// writeConfig writes the channels and tuning of cfg as a TOML file; the
// database, queue and address travel in the environment.
func writeConfig(t *testing.T, cfg config.Config) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "[redis]\nstream = %q\n[inbox]\nvisibility = %q\n[http]\nhook_rate = 0\n", cfg.Redis.Stream, cfg.Inbox.Visibility.String())
	for _, ch := range cfg.Channels {
		fmt.Fprintf(&b, "[[channels]]\nid = %q\ntype = %q\nsecret = %q\n", ch.ID, ch.Type, ch.Secret)
	}
	path := filepath.Join(t.TempDir(), "leadhub.toml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// metric reads one unlabelled sample from /metrics ("" when absent).
func metric(t *testing.T, base, name string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}
