// Command leadhub-bench drives a running hub and measures what the issues
// ask for: accepted webhook requests per second, and the time from a
// webhook's acceptance to the operator's websocket frame for it.
//
//	leadhub-bench --url http://localhost:8080 --channel crm --secret S --token T \
//	    --n 5000 --concurrency 32 --senders 500
//
// It posts signed messages to the API channel while one websocket listens
// (from event 0, so point it at a fresh hub to keep the replay short), and
// prints the accepted rate and p50/p90/p99 of accept→frame latency.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/leadhub/leadhub/connectors"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "leadhub-bench:", err)
		os.Exit(1)
	}
}

func run() error {
	base := flag.String("url", "http://localhost:8080", "hub base URL")
	channel := flag.String("channel", "crm", "API channel id")
	secret := flag.String("secret", os.Getenv("LEADHUB_BENCH_SECRET"), "API channel secret")
	token := flag.String("token", os.Getenv("LEADHUB_BENCH_TOKEN"), "operator API token (for the websocket)")
	n := flag.Int("n", 2000, "messages to send")
	conc := flag.Int("concurrency", 16, "concurrent senders")
	senders := flag.Int("senders", 200, "distinct people the messages come from")
	timeout := flag.Duration("timeout", 2*time.Minute, "give up waiting for frames after this")
	flag.Parse()
	if *secret == "" || *token == "" {
		return fmt.Errorf("--secret and --token are required")
	}
	runID := fmt.Sprintf("%d", time.Now().UnixNano())

	wsURL := strings.Replace(strings.Replace(*base, "https://", "wss://", 1), "http://", "ws://", 1) + "/api/v1/ws?after=0"
	conn, _, err := websocket.DefaultDialer.Dial(wsURL, http.Header{"Authorization": {"Bearer " + *token}})
	if err != nil {
		return fmt.Errorf("websocket: %w", err)
	}
	defer conn.Close()

	var (
		mu       sync.Mutex
		accepted = make(map[string]time.Time, *n)
		seen     = make(map[string]time.Time, *n)
	)
	frames := make(chan struct{})
	go func() {
		defer close(frames)
		for {
			var ev struct {
				Type string `json:"type"`
				Data struct {
					Message struct {
						ExternalID string `json:"external_id"`
					} `json:"message"`
				} `json:"data"`
			}
			if err := conn.ReadJSON(&ev); err != nil {
				return
			}
			if ev.Type != "message.created" || !strings.HasPrefix(ev.Data.Message.ExternalID, runID) {
				continue
			}
			mu.Lock()
			seen[ev.Data.Message.ExternalID] = time.Now()
			done := len(seen) == *n
			mu.Unlock()
			if done {
				return
			}
		}
	}()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc}, Timeout: 30 * time.Second}
	var next, failed atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= *n {
					return
				}
				id := fmt.Sprintf("%s-%d", runID, i)
				body := fmt.Sprintf(`{"id":%q,"from":{"name":"Bench %d","phone":"+7999%07d"},"text":"bench message %d"}`, id, i%*senders, i%*senders, i)
				req, _ := http.NewRequest(http.MethodPost, *base+"/hooks/api/"+*channel, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(connectors.SignatureHeader, connectors.Sign(*secret, []byte(body)))
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
					continue
				}
				mu.Lock()
				accepted[id] = time.Now()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sendTime := time.Since(start)
	select {
	case <-frames:
	case <-time.After(*timeout):
		fmt.Fprintln(os.Stderr, "timed out waiting for websocket frames")
	}
	total := time.Since(start)

	mu.Lock()
	defer mu.Unlock()
	lat := make([]time.Duration, 0, len(accepted))
	for id, at := range accepted {
		if s, ok := seen[id]; ok {
			// A frame can beat the HTTP response back to us; that is 0.
			lat = append(lat, max(0, s.Sub(at)))
		}
	}
	slices.Sort(lat)
	fmt.Printf("sent %d messages with %d concurrent senders from %d people\n", *n, *conc, *senders)
	fmt.Printf("accepted %d (failed %d) in %v: %.0f accepted requests/s\n", len(accepted), failed.Load(), sendTime.Round(time.Millisecond), float64(len(accepted))/sendTime.Seconds())
	fmt.Printf("websocket frames %d/%d, all filed and pushed after %v: %.0f messages/s end to end\n", len(seen), len(accepted), total.Round(time.Millisecond), float64(len(seen))/total.Seconds())
	if len(lat) > 0 {
		fmt.Printf("accept→frame latency p50 %v  p90 %v  p99 %v  max %v\n", pct(lat, 50), pct(lat, 90), pct(lat, 99), lat[len(lat)-1])
	}
	if len(seen) != len(accepted) {
		return fmt.Errorf("%d accepted messages never reached the websocket", len(accepted)-len(seen))
	}
	return nil
}

func pct(d []time.Duration, p int) time.Duration {
	i := (len(d)*p + 99) / 100
	if i > 0 {
		i--
	}
	return d[i].Round(100 * time.Microsecond)
}
