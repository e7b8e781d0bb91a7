package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

func TestNewAsksGetMe(t *testing.T) {
	f := newFake(t)
	c, _ := newChannel(t, f.srv.URL, nil)
	if got := len(f.callsOf("getMe")); got != 1 {
		t.Errorf("getMe calls = %d, want 1", got)
	}
	if c.Username() != "oknaplus_bot" {
		t.Errorf("username = %q, want oknaplus_bot", c.Username())
	}
}

func TestNewRejectsTokenTelegramRejects(t *testing.T) {
	for _, code := range []int{401, 404} {
		f := newFake(t)
		f.reply("getMe", func(url.Values) (int, string) {
			if code == 401 {
				return 401, `{"ok":false,"error_code":401,"description":"Unauthorized"}`
			}
			return 404, `{"ok":false,"error_code":404,"description":"Not Found"}`
		})
		_, err := New(context.Background(), Options{ChannelID: "tg", Token: testToken, Secret: testSecret, APIURL: f.srv.URL})
		if err == nil || !strings.Contains(err.Error(), "rejected the bot token") {
			t.Fatalf("%d: err = %v, want a rejected token", code, err)
		}
		assertNoToken(t, err)
	}
}

func TestNewValidatesOptions(t *testing.T) {
	f := newFake(t)
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no channel", Options{Token: testToken, Secret: testSecret}, "channel id"},
		{"no token", Options{ChannelID: "tg", Secret: testSecret}, "token is required"},
		{"token without colon", Options{ChannelID: "tg", Token: "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", Secret: testSecret}, "malformed"},
		{"token with slash", Options{ChannelID: "tg", Token: "7000000001:AAHdqTcvCH1vGWJx/fSeofSAs0K5PALDsaw", Secret: testSecret}, "malformed"},
		{"bad mode", Options{ChannelID: "tg", Token: testToken, Secret: testSecret, Mode: "push"}, "mode"},
		{"webhook without secret", Options{ChannelID: "tg", Token: testToken}, "secret is required"},
		{"secret with bad characters", Options{ChannelID: "tg", Token: testToken, Secret: "a b"}, "secret must be"},
		{"secret too long", Options{ChannelID: "tg", Token: testToken, Secret: strings.Repeat("a", 257)}, "secret must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.APIURL = f.srv.URL
			_, err := New(context.Background(), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
			assertNoToken(t, err)
			if strings.Contains(err.Error(), "AAHdqTcvCH1vGWJx") {
				t.Errorf("error echoes the token: %v", err)
			}
		})
	}
	if len(f.callsOf("getMe")) != 0 {
		t.Errorf("invalid options reached Telegram")
	}
}

// closingServer accepts connections and closes them without an answer.
func closingServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func assertNoToken(t *testing.T, err error) {
	t.Helper()
	for e := err; e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), testToken) || strings.Contains(e.Error(), "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw") {
			t.Errorf("error text carries the bot token: %q", e.Error())
		}
	}
}

func TestTokenNeverInErrorsOrLogs(t *testing.T) {
	srv := closingServer(t)
	// Telegram down at start is not fatal: the status shows it later.
	c, logs := newChannel(t, srv.URL, func(o *Options) { o.Files = &memFiles{} })
	if c.Username() != "" {
		t.Errorf("username = %q without an answer", c.Username())
	}
	ctx := context.Background()
	_, err := c.Send(ctx, outbound("hi"))
	if err == nil {
		t.Fatal("Send succeeded against a dead server")
	}
	assertNoToken(t, err)
	if isPermanent(err) {
		t.Errorf("a network failure is permanent: %v", err)
	}
	_, err = c.Status(ctx)
	assertNoToken(t, err)
	err = c.Start(ctx)
	assertNoToken(t, err)
	_, err = c.Download(ctx, fileRef())
	assertNoToken(t, err)
	_, err = c.getUpdates(ctx, 5)
	if err == nil {
		t.Fatal("getUpdates succeeded against a dead server")
	}
	assertNoToken(t, err)

	// The poller logs its failures; the log must not carry the token
	// either.
	pc, plogs := newChannel(t, srv.URL, func(o *Options) { o.Mode = ModePolling })
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- pc.Run(ctx, &sink{}, newMemPollers(inbox.SystemClock{})) }()
	waitFor(t, "a logged poll failure", func() bool {
		return strings.Contains(plogs.String(), "poll failed") && strings.Contains(plogs.String(), "getUpdates")
	})
	cancel()
	<-done
	for _, out := range []string{logs.String(), plogs.String()} {
		if strings.Contains(out, testToken) || strings.Contains(out, "AAHdqTcvCH1vGWJx") {
			t.Errorf("log carries the bot token: %s", out)
		}
	}
}

func TestStartWebhook(t *testing.T) {
	f := newFake(t)
	c, _ := newChannel(t, f.srv.URL, nil)
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	calls := f.callsOf("setWebhook")
	if len(calls) != 1 {
		t.Fatalf("setWebhook calls = %d, want 1", len(calls))
	}
	form := calls[0].Form
	if got, want := form.Get("url"), "https://hub.example.com/hooks/telegram/tg"; got != want {
		t.Errorf("url = %q, want %q", got, want)
	}
	if got := form.Get("secret_token"); got != testSecret {
		t.Errorf("secret_token = %q, want %q", got, testSecret)
	}
	var allowed []string
	if err := json.Unmarshal([]byte(form.Get("allowed_updates")), &allowed); err != nil || !reflect.DeepEqual(allowed, []string{"message", "edited_message"}) {
		t.Errorf("allowed_updates = %q (%v)", form.Get("allowed_updates"), err)
	}
	if len(f.callsOf("deleteWebhook")) != 0 {
		t.Errorf("webhook mode deleted the webhook")
	}
	if c.WebhookURL() != "https://hub.example.com/hooks/telegram/tg" {
		t.Errorf("WebhookURL = %q", c.WebhookURL())
	}
}

func TestStartWebhookFailureSaysWhy(t *testing.T) {
	f := newFake(t)
	f.reply("setWebhook", func(url.Values) (int, string) {
		return 400, `{"ok":false,"error_code":400,"description":"Bad Request: bad webhook: An HTTPS URL must be provided for webhook"}`
	})
	c, _ := newChannel(t, f.srv.URL, func(o *Options) { o.PublicURL = "http://hub.example.com" })
	err := c.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "HTTPS URL must be provided") {
		t.Fatalf("err = %v, want Telegram's reason", err)
	}
	assertNoToken(t, err)
}

func TestStartWithoutPublicURLRegistersNothing(t *testing.T) {
	f := newFake(t)
	c, logs := newChannel(t, f.srv.URL, func(o *Options) { o.PublicURL = "" })
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if n := len(f.callsOf("setWebhook")) + len(f.callsOf("deleteWebhook")); n != 0 {
		t.Errorf("%d webhook calls without a public URL", n)
	}
	if !strings.Contains(logs.String(), "public_url is not set") {
		t.Errorf("no warning logged: %s", logs.String())
	}
}

func TestStartPollingDeletesWebhook(t *testing.T) {
	f := newFake(t)
	c, _ := newChannel(t, f.srv.URL, func(o *Options) { o.Mode = ModePolling; o.Secret = "" })
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	calls := f.callsOf("deleteWebhook")
	if len(calls) != 1 {
		t.Fatalf("deleteWebhook calls = %d, want 1", len(calls))
	}
	if calls[0].Form.Get("drop_pending_updates") == "true" {
		t.Errorf("pending updates dropped")
	}
	if len(f.callsOf("setWebhook")) != 0 {
		t.Errorf("polling mode set a webhook")
	}
}

func TestStatus(t *testing.T) {
	f := newFake(t)
	f.reply("getWebhookInfo", func(url.Values) (int, string) {
		return 200, `{"ok":true,"result":{"url":"https://hub.example.com/hooks/telegram/tg","has_custom_certificate":false,"pending_update_count":17,"last_error_date":1767261000,"last_error_message":"Wrong response from the webhook: 503 Service Unavailable","max_connections":40,"ip_address":"203.0.113.7"}}`
	})
	c, _ := newChannel(t, f.srv.URL, nil)
	s, err := c.Status(context.Background())
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	want := Status{
		ChannelID:          "tg",
		Mode:               ModeWebhook,
		BotUsername:        "oknaplus_bot",
		WebhookURL:         "https://hub.example.com/hooks/telegram/tg",
		PendingUpdateCount: 17,
		LastErrorDate:      time.Unix(1767261000, 0).UTC(),
		LastErrorMessage:   "Wrong response from the webhook: 503 Service Unavailable",
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("status = %+v\nwant     %+v", s, want)
	}
	b, _ := json.Marshal(s)
	for _, key := range []string{`"pending_update_count":17`, `"last_error_message":"Wrong response`, `"last_error_date":"2026-01-01T`, `"bot_username":"oknaplus_bot"`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON %s lacks %s", b, key)
		}
	}
}

func TestStatusWarnsAboutBrokenSetups(t *testing.T) {
	tests := []struct {
		name, mode, url, want string
	}{
		{"webhook not set", ModeWebhook, "", "no webhook is set"},
		{"webhook elsewhere", ModeWebhook, "https://old.example.com/tg", "another address"},
		{"polling with a webhook", ModePolling, "https://hub.example.com/hooks/telegram/tg", "polling gets nothing"},
		{"all well", ModeWebhook, "https://hub.example.com/hooks/telegram/tg", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.reply("getWebhookInfo", func(url.Values) (int, string) {
				b, _ := json.Marshal(map[string]any{"ok": true, "result": map[string]any{"url": tt.url, "pending_update_count": 0}})
				return 200, string(b)
			})
			c, _ := newChannel(t, f.srv.URL, func(o *Options) { o.Mode = tt.mode })
			s, err := c.Status(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if (tt.want == "") != (s.Warning == "") || !strings.Contains(s.Warning, tt.want) {
				t.Errorf("warning = %q, want %q", s.Warning, tt.want)
			}
		})
	}
}

func TestStatusRetriesGetMe(t *testing.T) {
	f := newFake(t)
	down := true
	f.reply("getMe", func(url.Values) (int, string) {
		if down {
			return 502, `<html><body><h1>502 Bad Gateway</h1></body></html>`
		}
		return 200, `{"ok":true,"result":{"id":7000000001,"is_bot":true,"first_name":"Окна Плюс","username":"oknaplus_bot"}}`
	})
	c, _ := newChannel(t, f.srv.URL, nil)
	if c.Username() != "" {
		t.Fatalf("username = %q while Telegram is down", c.Username())
	}
	f.mu.Lock()
	down = false
	f.mu.Unlock()
	s, err := c.Status(context.Background())
	if err != nil || s.BotUsername != "oknaplus_bot" {
		t.Fatalf("status = %+v, %v; want the username once Telegram answers", s, err)
	}
}

func pollingChannel(t *testing.T, f *fakeAPI) *Channel {
	c, _ := newChannel(t, f.srv.URL, func(o *Options) { o.Mode = ModePolling; o.Secret = "" })
	return c
}

// runInBackground runs c with a store of its own, or with the given one.
func runInBackground(t *testing.T, c *Channel, s *sink, ps ...inbox.PollerStore) (cancel func()) {
	var pollers inbox.PollerStore = newMemPollers(inbox.SystemClock{})
	if len(ps) > 0 {
		pollers = ps[0]
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, s, pollers) }()
	return func() {
		stop()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v, want nil after cancel", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
	}
}

func TestRunPollsInOrderAndConfirmsAfterEnqueue(t *testing.T) {
	f := newFake(t)
	f.addUpdates(
		readFile(t, "constructed-start-payload.json"),
		readFile(t, "constructed-location.json"),
		// No envelope, but confirmed all the same.
		[]byte(strings.Replace(string(readFile(t, "telegram-update-callback-query.json")), `"update_id":10000`, `"update_id":800000104`, 1)),
		readFile(t, "constructed-contact-own.json"),
	)
	// The queue refuses the location once: it must be fetched again and
	// enqueued, and nothing after it confirmed before that.
	s := &sink{fail: map[string]int{"tg:tg:800000103": 1}}
	stop := runInBackground(t, pollingChannel(t, f), s)
	waitFor(t, "three envelopes and a poll past the last update", func() bool {
		got, _ := s.keys()
		offs := f.offsetsSeen()
		return len(got) == 3 && len(offs) > 0 && offs[len(offs)-1] == 800000106
	})
	stop()

	got, attempts := s.keys()
	if want := []string{"tg:tg:800000101", "tg:tg:800000103", "tg:tg:800000105"}; !reflect.DeepEqual(got, want) {
		t.Errorf("enqueued = %v, want %v", got, want)
	}
	if want := []string{"tg:tg:800000101", "tg:tg:800000103", "tg:tg:800000103", "tg:tg:800000105"}; !reflect.DeepEqual(attempts, want) {
		t.Errorf("attempts = %v, want %v", attempts, want)
	}
	// First poll without an offset; after the failed enqueue the offset
	// stops at the failed update; then past the last one.
	offs := f.offsetsSeen()
	if want := []int64{0, 800000102, 800000106}; len(offs) < 3 || !reflect.DeepEqual(offs[:3], want) {
		t.Errorf("offsets = %v, want %v first", offs, want)
	}
	for _, c := range f.callsOf("getUpdates") {
		if c.Form.Get("timeout") != "1" || c.Form.Get("allowed_updates") != `["message","edited_message"]` {
			t.Errorf("getUpdates form = %v", c.Form)
			break
		}
	}
}

func TestRunAfterCrashFetchesUnconfirmedAgain(t *testing.T) {
	f := newFake(t)
	f.addUpdates(readFile(t, "constructed-start-payload.json"), readFile(t, "constructed-location.json"))
	// The first process's queue never takes the second update; it dies.
	pollers := newMemPollers(inbox.SystemClock{})
	first := &sink{fail: map[string]int{"tg:tg:800000103": 1 << 30}}
	stop := runInBackground(t, pollingChannel(t, f), first, pollers)
	// The third attempt comes from a poll whose offset confirmed the first
	// update.
	waitFor(t, "a repeated failed enqueue", func() bool { _, a := first.keys(); return len(a) >= 3 })
	stop()

	second := &sink{}
	stop = runInBackground(t, pollingChannel(t, f), second, pollers)
	waitFor(t, "the unconfirmed update", func() bool { got, _ := second.keys(); return len(got) >= 1 })
	stop()
	if got, _ := second.keys(); !reflect.DeepEqual(got, []string{"tg:tg:800000103"}) {
		t.Errorf("after restart enqueued %v, want only the unconfirmed tg:tg:800000103", got)
	}
}

func TestRunReturnsWhenCancelledMidPoll(t *testing.T) {
	f := newFake(t)
	// A long poll the server would hold for a minute: only the context
	// can end it in time.
	c, _ := newChannel(t, f.srv.URL, func(o *Options) { o.Mode = ModePolling; o.PollTimeout = time.Minute })
	stop := runInBackground(t, c, &sink{})
	select {
	case <-f.polling:
	case <-time.After(10 * time.Second):
		t.Fatal("no poll arrived")
	}
	stop()
}

func TestRunSurvivesConflictAndRateLimit(t *testing.T) {
	f := newFake(t)
	conflict := readFile(t, "telegram-error-409-webhook-active.json")
	n := 0
	f.reply("getUpdates", func(url.Values) (int, string) {
		n++
		switch n {
		case 1:
			return 409, string(conflict)
		case 2:
			return 429, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 0","parameters":{"retry_after":0}}`
		case 3:
			return 200, `{"ok":true,"result":[` + string(readFile(t, "telegram-update-text.json")) + `]}`
		}
		return 200, `{"ok":true,"result":[]}`
	})
	c, logs := newChannel(t, f.srv.URL, func(o *Options) { o.Mode = ModePolling })
	s := &sink{}
	stop := runInBackground(t, c, s)
	waitFor(t, "the update after the errors", func() bool { got, _ := s.keys(); return len(got) == 1 })
	stop()
	if !strings.Contains(logs.String(), "use deleteWebhook") {
		t.Errorf("the conflict is not logged with Telegram's reason: %s", logs.String())
	}
}

func TestRunInWebhookModeWaits(t *testing.T) {
	f := newFake(t)
	c, _ := newChannel(t, f.srv.URL, nil)
	stop := runInBackground(t, c, &sink{})
	stop()
	if n := len(f.callsOf("getUpdates")); n != 0 {
		t.Errorf("webhook mode polled %d times", n)
	}
}
