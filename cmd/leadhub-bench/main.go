// Command leadhub-bench drives a running hub and measures what the issues
// ask for: accepted webhook requests per second, and the time from a
// webhook's acceptance to the operator's websocket frame for it.
//
//	leadhub-bench --url http://localhost:8080 --channel crm --secret S --token T \
//	    --n 5000 --concurrency 32 --senders 500
//
// It posts messages to an API, form (--type form) or Telegram (--type
// telegram) channel while one websocket listens (from event 0, so point it
// at a fresh hub to keep the replay short), and prints the accepted rate and p50/p90/p99 of accept→frame latency.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"os"
	"regexp"
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
	channel := flag.String("channel", "crm", "channel id")
	kind := flag.String("type", "api", "channel type: api (signed JSON), form (urlencoded) or telegram (Bot API updates)")
	secret := flag.String("secret", os.Getenv("LEADHUB_BENCH_SECRET"), "channel secret (API HMAC key, Telegram secret token; unused for forms)")
	token := flag.String("token", os.Getenv("LEADHUB_BENCH_TOKEN"), "operator API token (for the websocket)")
	n := flag.Int("n", 2000, "messages to send")
	conc := flag.Int("concurrency", 16, "concurrent senders")
	senders := flag.Int("senders", 200, "distinct people the messages come from")
	timeout := flag.Duration("timeout", 2*time.Minute, "give up waiting for frames after this")
	flag.Parse()
	if *token == "" || (*secret == "" && *kind != "form") {
		return fmt.Errorf("--token and (except for forms) --secret are required")
	}
	build, ok := requests[*kind]
	if !ok {
		return fmt.Errorf("--type must be api, form or telegram")
	}
	runID := fmt.Sprintf("%d", time.Now().UnixNano())
	seqBase := time.Now().Unix() % 1000000 * 100000

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
						Text string `json:"text"`
					} `json:"message"`
				} `json:"data"`
			}
			if err := conn.ReadJSON(&ev); err != nil {
				return
			}
			id := marker.FindString(ev.Data.Message.Text)
			if ev.Type != "message.created" || !strings.HasPrefix(id, runID) {
				continue
			}
			mu.Lock()
			seen[id] = time.Now()
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
				req := build(*base+"/hooks/"+*kind+"/"+*channel, *secret, id, seqBase+int64(i), i%*senders)
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

// marker finds a message's bench id ("<run>-<n>") in its text, whatever
// the channel made of the text around it.
var marker = regexp.MustCompile(`[0-9]{19}-[0-9]+`)

// requests build one inbound request per channel type, carrying id in the
// message text.
// seq is a number unique to this run and request (Telegram's update_id).
var requests = map[string]func(url, secret, id string, seq int64, sender int) *http.Request{
	"api": func(url, secret, id string, seq int64, sender int) *http.Request {
		body := fmt.Sprintf(`{"id":%q,"from":{"name":"Bench %d","phone":"+7999%07d"},"text":"bench message %s"}`, id, sender, sender, id)
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(connectors.SignatureHeader, connectors.Sign(secret, []byte(body)))
		return req
	},
	"form": func(url, _, id string, seq int64, sender int) *http.Request {
		form := neturl.Values{"name": {fmt.Sprintf("Bench %d", sender)}, "phone": {fmt.Sprintf("+7999%07d", sender)},
			"message": {"bench message " + id}, "utm_source": {"bench"}}
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		return req
	},
	"telegram": func(url, secret, id string, seq int64, sender int) *http.Request {
		user := 500000000 + sender
		body := fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"date":%d,"chat":{"id":%d,"type":"private","first_name":"Bench"},`+
			`"from":{"id":%d,"is_bot":false,"first_name":"Bench","last_name":"%d"},"text":"bench message %s"}}`,
			seq, seq%1000000+1, time.Now().Unix(), user, user, sender, id)
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
		return req
	},
}

func pct(d []time.Duration, p int) time.Duration {
	i := (len(d)*p + 99) / 100
	if i > 0 {
		i--
	}
	return d[i].Round(100 * time.Microsecond)
}
