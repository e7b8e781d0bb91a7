package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/leadhub/leadhub/config"
	"github.com/leadhub/leadhub/connectors"
	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/inbox/inboxtest"
	"github.com/leadhub/leadhub/inbox/redisq"
	"github.com/leadhub/leadhub/store"
	"github.com/leadhub/leadhub/store/storetest"
	"github.com/leadhub/leadhub/web"
)

const crmSecret = "crm-test-secret"

// setups are the two deployments the hub supports: the embedded default and
// production's PostgreSQL + Redis. The mixed ones prove the queue and the
// store are independent.
var setups = []struct {
	name          string
	postgres, rds bool
}{
	{"sqlite+sqlq", false, false},
	{"postgres+redis", true, true},
	{"postgres+sqlq", true, false},
	{"sqlite+redis", false, true},
}

func testConfig(t *testing.T, postgres, rds bool, callback string) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.HTTP.HookRate = 0
	cfg.Inbox.Visibility = config.Duration{Duration: 2 * time.Second}
	if postgres {
		cfg.Database.URL = inboxtest.PostgresURL(t)
	}
	if rds {
		cfg.Redis.URL = inboxtest.RedisURL(t)
		cfg.Redis.Stream = inboxtest.Unique("leadhub-test:")
	}
	cfg.Channels = []config.Channel{{ID: "crm", Type: "api", Secret: crmSecret, CallbackURL: callback}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	// The database exists, as after the README's first step: the admin
	// commands tests run before a hub starts refuse to create one.
	if err := run(context.Background(), []string{"migrate"}, nil, io.Discard, io.Discard, envFor(t, cfg)); err != nil {
		t.Fatalf("leadhub migrate: %v", err)
	}
	return cfg
}

type running struct {
	hub  *hub
	base string
	stop func()
	logs *syncBuffer // everything the hub logged, at debug level
}

// syncBuffer is a bytes.Buffer safe for the hub's concurrent log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startHub builds and runs the whole hub on a loopback port until the test
// ends (or stop is called).
func startHub(t testing.TB, cfg config.Config) *running {
	t.Helper()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	h, err := build(ctx, cfg, logger)
	if err != nil {
		cancel()
		t.Fatalf("build: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- h.run(ctx, ln) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("hub stopped with %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("hub did not stop within 10 s")
			}
			h.backend.Close()
		})
	}
	t.Cleanup(stop)
	return &running{hub: h, base: "http://" + ln.Addr().String(), stop: stop, logs: logs}
}

func signedPost(t *testing.T, url, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(connectors.SignatureHeader, connectors.Sign(crmSecret, []byte(body)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// createToken makes an admin and a token through the real commands, the way
// the README tells an admin to.
func createToken(t testing.TB, cfg config.Config) string {
	t.Helper()
	env := envFor(t, cfg)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"operator", "add", "--email", "Admin@Example.com", "--role", "admin"},
		strings.NewReader(""), &out, io.Discard, env); err != nil {
		t.Fatalf("operator add: %v", err)
	}
	if !strings.Contains(out.String(), "password: ") {
		t.Fatalf("operator add did not print a generated password: %q", out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"token", "create", "--operator", "admin@example.com"}, nil, &out, io.Discard, env); err != nil {
		t.Fatalf("token create: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	token := lines[len(lines)-1]
	if !strings.HasPrefix(token, "lh_") {
		t.Fatalf("token create's last line is %q", token)
	}
	return token
}

// envFor is the environment that points the commands at cfg's backend.
func envFor(t testing.TB, cfg config.Config) func(string) string {
	return func(k string) string {
		switch k {
		case "LEADHUB_DATA_DIR":
			return cfg.DataDir
		case "LEADHUB_DATABASE_URL":
			return cfg.Database.URL
		case "LEADHUB_LOG_LEVEL":
			return "error"
		}
		return ""
	}
}

func apiGet(t testing.TB, base, token, path string, v any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil && resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("decode %s: %v", path, err)
		}
	}
	return resp.StatusCode
}

type wsEvent struct {
	ID   int64           `json:"id"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

func dialWS(t *testing.T, base, token string, after int64) *websocket.Conn {
	t.Helper()
	u := strings.Replace(base, "http://", "ws://", 1) + fmt.Sprintf("/api/v1/ws?after=%d", after)
	c, resp, err := websocket.DefaultDialer.Dial(u, http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		t.Fatalf("dial ws: %v (%v)", err, resp)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// nextEvent reads frames until one of type typ arrives.
func nextEvent(t *testing.T, c *websocket.Conn, typ string) wsEvent {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		var ev wsEvent
		if err := c.ReadJSON(&ev); err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		if ev.Type == typ {
			return ev
		}
	}
}

// TestSpine sends one signed request ten times through the real HTTP
// endpoint, sees exactly one message appear over the websocket and the API,
// replies, and sees the reply POSTed to the integration and marked sent.
func TestSpine(t *testing.T) {
	for _, s := range setups[:2] {
		t.Run(s.name, func(t *testing.T) {
			callbacks := make(chan []byte, 4)
			cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if !connectors.VerifySignature(crmSecret, body, r.Header.Get(connectors.SignatureHeader)) {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				callbacks <- body
				io.WriteString(w, `{"id":"crm-reply-1"}`)
			}))
			defer cb.Close()
			cfg := testConfig(t, s.postgres, s.rds, cb.URL)
			token := createToken(t, cfg)
			hub := startHub(t, cfg)
			ws := dialWS(t, hub.base, token, 0)

			body := `{"id":"m-1","from":{"name":"Иван Петров","phone":"8 912 345-67-89","external_id":"crm-42"},"text":"Здравствуйте!"}`
			for i := range 10 {
				resp := signedPost(t, hub.base+"/hooks/api/crm", body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("post %d: status %d", i, resp.StatusCode)
				}
			}
			ev := nextEvent(t, ws, inbox.EventMessageCreated)
			var created struct {
				Message      inbox.Message      `json:"message"`
				Conversation inbox.Conversation `json:"conversation"`
			}
			if err := json.Unmarshal(ev.Data, &created); err != nil {
				t.Fatal(err)
			}
			if created.Message.Text != "Здравствуйте!" || created.Conversation.Status != inbox.StatusNew {
				t.Fatalf("message.created = %s", ev.Data)
			}
			convID := created.Conversation.ID

			// Every retry was absorbed: the queue drains to one message.
			waitFor(t, "queue drained", func() bool {
				st, err := hub.hub.backend.queue.Stats(context.Background())
				return err == nil && st.Depth == 0
			})
			var msgs struct {
				Items []inbox.Message `json:"items"`
			}
			if code := apiGet(t, hub.base, token, fmt.Sprintf("/api/v1/conversations/%d/messages", convID), &msgs); code != http.StatusOK {
				t.Fatalf("messages: %d", code)
			}
			if len(msgs.Items) != 1 {
				t.Fatalf("10 identical posts gave %d messages", len(msgs.Items))
			}
			var client inbox.ClientDetail
			apiGet(t, hub.base, token, fmt.Sprintf("/api/v1/clients/%d", created.Conversation.ClientID), &client)
			if client.Name != "Иван Петров" || len(client.Identities) != 2 {
				t.Fatalf("client = %+v", client)
			}

			// Reply: 202, POSTed signed to the callback, then marked sent.
			req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/v1/conversations/%d/messages", hub.base, convID), strings.NewReader(`{"text":"Добрый день!"}`))
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("reply: status %d", resp.StatusCode)
			}
			select {
			case got := <-callbacks:
				if !strings.Contains(string(got), "Добрый день!") || !strings.Contains(string(got), `"external_id":"crm-42"`) {
					t.Fatalf("callback body %s", got)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("reply never reached the callback URL")
			}
			for {
				ev := nextEvent(t, ws, inbox.EventMessageUpdated)
				var upd struct {
					Message inbox.Message `json:"message"`
				}
				json.Unmarshal(ev.Data, &upd)
				if upd.Message.Delivery == inbox.DeliverySent {
					break
				}
			}

			// A reconnect replays from the database what it missed.
			last := ev.ID
			ws.Close()
			ws2 := dialWS(t, hub.base, token, 0)
			if replay := nextEvent(t, ws2, inbox.EventMessageCreated); replay.ID != last {
				t.Fatalf("replay from 0 starts at message.created %d, want %d", replay.ID, last)
			}

			// Nothing secret reached the logs, though they were at debug level.
			hub.stop()
			logs := hub.logs.String()
			if !strings.Contains(logs, "request") {
				t.Fatal("no access log lines: the secrets check would be vacuous")
			}
			for _, secret := range []string{crmSecret, token, inbox.HashToken(token)} {
				if strings.Contains(logs, secret) {
					t.Errorf("a secret appears in the logs")
				}
			}
		})
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func count(t testing.TB, h *hub, table string) int {
	t.Helper()
	var n int
	if err := h.backend.store.DB().Get(&n, "SELECT count(*) FROM "+table); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// TestExactlyOnceBurst: 8 concurrent workers on a burst of 1,000 envelopes
// from 100 senders, with 200 redeliveries mixed in, file exactly 1,000
// messages, 100 cards and 100 conversations, on every store and queue.
func TestExactlyOnceBurst(t *testing.T) {
	for _, s := range setups {
		t.Run(s.name, func(t *testing.T) {
			cfg := testConfig(t, s.postgres, s.rds, "")
			cfg.Inbox.Workers = 8
			cfg.Inbox.Batch = 32
			logger := slog.New(slog.DiscardHandler)
			b, err := openBackend(context.Background(), cfg, logger, nil)
			if err != nil {
				t.Fatal(err)
			}
			envs := make([]inbox.Envelope, 0, 1200)
			for i := range 1000 {
				sender := i % 100
				envs = append(envs, inbox.Envelope{
					DedupeKey: fmt.Sprintf("api:crm:burst-%d", i), ChannelID: "crm", ChannelType: inbox.ChannelAPI, Kind: inbox.KindText,
					From: inbox.Contact{Name: fmt.Sprintf("Sender %d", sender),
						Identities: []inbox.Identity{{Kind: inbox.IdentityPhone, Value: fmt.Sprintf("+7912000%04d", sender)}}},
					Text: fmt.Sprintf("message %d", i), ReceivedAt: time.Now().UTC(),
				})
			}
			for i := range 200 {
				envs = append(envs, envs[i*5])
			}
			rand.Shuffle(len(envs), func(i, j int) { envs[i], envs[j] = envs[j], envs[i] })
			ctx := context.Background()
			var wg sync.WaitGroup
			for part := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := part; i < len(envs); i += 4 {
						if err := b.queue.Enqueue(ctx, envs[i]); err != nil {
							t.Errorf("enqueue: %v", err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.Close()

			h := startHub(t, cfg)
			waitFor(t, "1,000 messages", func() bool {
				st, err := h.hub.backend.queue.Stats(ctx)
				return err == nil && st.Depth == 0 && count(t, h.hub, "messages") >= 1000
			})
			h.stop()
			b2, err := openBackend(ctx, cfg, logger, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer b2.Close()
			h2 := &hub{backend: b2}
			if got := count(t, h2, "messages"); got != 1000 {
				t.Errorf("messages = %d, want 1000", got)
			}
			if got := count(t, h2, "clients"); got != 100 {
				t.Errorf("clients = %d, want 100", got)
			}
			if got := count(t, h2, "conversations"); got != 100 {
				t.Errorf("conversations = %d, want 100", got)
			}
		})
	}
}

// TestCrashAfterCommitBeforeAck: a worker whose context is cancelled after
// the store committed but before the queue acknowledged leaves the delivery
// pending; after a restart it is delivered again and still filed once.
func TestCrashAfterCommitBeforeAck(t *testing.T) {
	for _, s := range setups[:2] {
		t.Run(s.name, func(t *testing.T) {
			cfg := testConfig(t, s.postgres, s.rds, "")
			logger := slog.New(slog.DiscardHandler)
			ctx := context.Background()
			b, err := openBackend(ctx, cfg, logger, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			e := inbox.Envelope{DedupeKey: "api:crm:crash-1", ChannelID: "crm", ChannelType: inbox.ChannelAPI, Kind: inbox.KindText,
				From: inbox.Contact{Identities: []inbox.Identity{{Kind: inbox.IdentityPhone, Value: "+79120000001"}}}, Text: "once"}
			if err := b.queue.Enqueue(ctx, e); err != nil {
				t.Fatal(err)
			}
			w := inbox.NewWorker(inbox.WorkerOptions{Filer: b.store})
			cctx, kill := context.WithCancel(ctx)
			committed := make(chan struct{})
			done := make(chan error, 1)
			go func() {
				done <- b.queue.Consume(cctx, 8, func(hctx context.Context, batch []inbox.Delivery) []error {
					errs := w.Handle(hctx, batch) // the store commits here
					close(committed)
					kill() // the process dies before the ack
					<-hctx.Done()
					for i := range errs {
						errs[i] = hctx.Err()
					}
					return errs
				})
			}()
			<-committed
			<-done
			if got := count(t, &hub{backend: b}, "messages"); got != 1 {
				t.Fatalf("after commit: %d messages", got)
			}
			if st, err := b.queue.Stats(ctx); err != nil || st.Depth != 1 {
				t.Fatalf("un-acked delivery not pending: %+v %v", st, err)
			}

			// Restart: a fresh consumer gets it again; the store absorbs it.
			rctx, stop := context.WithCancel(ctx)
			defer stop()
			redelivered := make(chan struct{}, 1)
			go b.queue.Consume(rctx, 8, func(hctx context.Context, batch []inbox.Delivery) []error {
				errs := w.Handle(hctx, batch)
				select {
				case redelivered <- struct{}{}:
				default:
				}
				return errs
			})
			select {
			case <-redelivered:
			case <-time.After(30 * time.Second):
				t.Fatal("the un-acked delivery was never redelivered")
			}
			waitFor(t, "queue drained", func() bool {
				st, err := b.queue.Stats(ctx)
				return err == nil && st.Depth == 0
			})
			if got := count(t, &hub{backend: b}, "messages"); got != 1 {
				t.Fatalf("after redelivery: %d messages, want 1", got)
			}
		})
	}
}

// TestQueueDownAnswers503 puts the real Redis queue, pointed at a port
// where nothing listens, behind the real webhook handler: the provider gets
// 503 (so it retries) and nothing is filed.
func TestQueueDownAnswers503(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer rdb.Close()
	q, err := redisq.New(rdb, redisq.Options{Stream: inboxtest.Unique("down:")})
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.Open(t, store.DialectSQLite)
	cfg := testConfig(t, false, false, "")
	chans, err := channels(context.Background(), cfg, slog.New(slog.DiscardHandler), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(web.Options{Store: st, Sink: q, Hooks: chans.hooks})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	resp := signedPost(t, ts.URL+"/hooks/api/crm", `{"id":"down-1","from":{"phone":"+79120000009"},"text":"hello?"}`)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), `"error"`) {
		t.Fatalf("queue down: %d %s, want 503 with an error", resp.StatusCode, body)
	}
	var n int
	if err := st.DB().Get(&n, "SELECT count(*) FROM messages"); err != nil || n != 0 {
		t.Fatalf("messages = %d (%v), want 0", n, err)
	}
}

// TestDeadLettersCommands: an envelope that cannot be filed is parked after
// max_attempts, `leadhub dead list` shows it and `leadhub dead replay` puts
// it back.
func TestDeadLettersCommands(t *testing.T) {
	cfg := testConfig(t, false, false, "")
	cfg.Inbox.MaxAttempts = 1
	ctx := context.Background()
	b, err := openBackend(ctx, cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// No sender identity: the worker rejects it as invalid every time.
	bad := inbox.Envelope{DedupeKey: "api:crm:poison", ChannelID: "crm", Text: "x"}
	if err := b.queue.Enqueue(ctx, bad); err != nil {
		t.Fatal(err)
	}
	w := inbox.NewWorker(inbox.WorkerOptions{Queue: b.queue, Filer: b.store})
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	waitFor(t, "dead letter", func() bool {
		st, err := b.queue.Stats(ctx)
		return err == nil && st.Dead == 1
	})
	stop()
	<-done

	env := envFor(t, cfg)
	var out bytes.Buffer
	if err := run(ctx, []string{"dead", "list"}, nil, &out, io.Discard, env); err != nil {
		t.Fatalf("dead list: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "api:crm:poison") || !strings.Contains(lines[1], "identity") {
		t.Fatalf("dead list printed:\n%s", out.String())
	}
	id := strings.Fields(lines[1])[0]
	out.Reset()
	if err := run(ctx, []string{"dead", "replay", id}, nil, &out, io.Discard, env); err != nil {
		t.Fatalf("dead replay: %v", err)
	}
	if st, err := b.queue.Stats(ctx); err != nil || st.Dead != 0 || st.Depth != 1 {
		t.Fatalf("after replay: %+v %v; want it queued again", st, err)
	}
	if err := run(ctx, []string{"dead", "replay", "999999"}, nil, &out, io.Discard, env); inbox.ErrorCode(err) != inbox.ENOTFOUND {
		t.Fatalf("replay of an unknown id: %v, want ENOTFOUND", err)
	}
}
