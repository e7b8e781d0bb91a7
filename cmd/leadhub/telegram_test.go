package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadhub/leadhub/config"
	"github.com/leadhub/leadhub/inbox"
)

const (
	tgToken   = "7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
	tgSecret  = "hook_Secret-123"
	tgBlocked = "2222222"
)

// fakeBotAPI speaks the Bot API's wire format for the methods the hub
// calls: POST /bot<token>/<method> with form parameters, answered with
// {"ok":true,"result":...} or {"ok":false,"error_code":N,"description":...}
// and the HTTP status equal to error_code.
type fakeBotAPI struct {
	mu      sync.Mutex
	calls   map[string][]map[string]string
	next    int
	updates []json.RawMessage // for getUpdates, kept until an offset passes them
	// getWebhookInfo answers with the URL the last setWebhook set (none
	// after deleteWebhook), hookPending and, when set, hookError as
	// Telegram's last delivery error, dated hookErrorAt (Unix seconds).
	hookURL     string
	hookPending int
	hookError   string
	hookErrorAt int64
	// failSetWebhook answers this many setWebhook calls with a 502, as
	// a proxy in front of an unreachable Bot API does.
	failSetWebhook int
}

// addUpdate makes update available to getUpdates.
func (f *fakeBotAPI) addUpdate(update []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updates = append(f.updates, update)
}

// pending returns the updates from offset on, forgetting those below it as
// Telegram does.
func (f *fakeBotAPI) pending(offset int64) []json.RawMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	var keep []json.RawMessage
	for _, u := range f.updates {
		var id struct {
			UpdateID int64 `json:"update_id"`
		}
		json.Unmarshal(u, &id)
		if id.UpdateID >= offset {
			keep = append(keep, u)
		}
	}
	f.updates = keep
	return keep
}

func (f *fakeBotAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	method, ok := strings.CutPrefix(r.URL.Path, "/bot"+tgToken+"/")
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"ok":false,"error_code":401,"description":"Unauthorized"}`)
		return
	}
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		r.ParseForm()
	}
	params := map[string]string{}
	for k, v := range r.Form {
		params[k] = v[0]
	}
	// Uploaded files are recorded as "upload:<field>" = "<name>:<content>".
	if r.MultipartForm != nil {
		for field, fhs := range r.MultipartForm.File {
			if fr, err := fhs[0].Open(); err == nil {
				b, _ := io.ReadAll(fr)
				fr.Close()
				params["upload:"+field] = fhs[0].Filename + ":" + string(b)
			}
		}
	}
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string][]map[string]string{}
	}
	f.calls[method] = append(f.calls[method], params)
	f.next++
	id := f.next
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch method {
	case "getMe":
		io.WriteString(w, `{"ok":true,"result":{"id":7000000001,"is_bot":true,"first_name":"Shop","username":"shop_bot"}}`)
	case "setWebhook", "deleteWebhook":
		f.mu.Lock()
		if method == "setWebhook" && f.failSetWebhook > 0 {
			f.failSetWebhook--
			f.mu.Unlock()
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, `<html><body>502 Bad Gateway</body></html>`)
			return
		}
		f.hookURL = params["url"]
		f.mu.Unlock()
		io.WriteString(w, `{"ok":true,"result":true,"description":"Webhook was set"}`)
	case "getWebhookInfo":
		f.mu.Lock()
		info := map[string]any{"url": f.hookURL, "has_custom_certificate": false, "pending_update_count": f.hookPending}
		if f.hookError != "" {
			info["last_error_message"], info["last_error_date"] = f.hookError, f.hookErrorAt
		}
		f.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"ok": true, "result": info})
	case "getUpdates":
		offset, _ := strconv.ParseInt(params["offset"], 10, 64)
		ups := f.pending(offset)
		if len(ups) == 0 {
			// A short long poll: wait a little, then answer empty.
			select {
			case <-r.Context().Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
		body, _ := json.Marshal(ups)
		if ups == nil {
			body = []byte("[]")
		}
		fmt.Fprintf(w, `{"ok":true,"result":%s}`, body)
	case "sendDocument", "sendPhoto":
		fmt.Fprintf(w, `{"ok":true,"result":{"message_id":%d,"date":1700000000,"chat":{"id":%s,"type":"private"}}}`, id, params["chat_id"])
	case "sendMessage":
		if params["chat_id"] == tgBlocked {
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}`)
			return
		}
		fmt.Fprintf(w, `{"ok":true,"result":{"message_id":%d,"date":1700000000,"chat":{"id":%s,"type":"private"},"text":%q}}`,
			id, params["chat_id"], params["text"])
	default:
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"ok":false,"error_code":404,"description":"Not Found: method not found"}`)
	}
}

func (f *fakeBotAPI) sent(method string) []map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]string(nil), f.calls[method]...)
}

func postUpdate(t *testing.T, base, secret string, body []byte) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/hooks/telegram/tg", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestTelegramWebhookRetried: a setWebhook that fails at start is retried
// with backoff until it succeeds, one log line per failed attempt.
func TestTelegramWebhookRetried(t *testing.T) {
	fake := &fakeBotAPI{failSetWebhook: 2}
	api := httptest.NewServer(fake)
	defer api.Close()
	cfg := testConfig(t, false, false, "")
	cfg.HTTP.PublicURL = "https://hub.example.com"
	cfg.Channels = append(cfg.Channels, config.Channel{ID: "tg", Type: "telegram", Token: tgToken, Secret: tgSecret, Mode: "webhook", APIURL: api.URL})
	hub := startHub(t, cfg)
	waitFor(t, "the webhook registered", func() bool {
		fake.mu.Lock()
		defer fake.mu.Unlock()
		return fake.hookURL == "https://hub.example.com/hooks/telegram/tg"
	})
	if n := len(fake.sent("setWebhook")); n != 3 {
		t.Errorf("%d setWebhook calls, want 3 (two refused, then registered)", n)
	}
	logs := hub.logs.String()
	for _, want := range []string{"attempt=1", "attempt=2", "registered after failed attempts"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log does not say %q", want)
		}
	}
	if n := strings.Count(logs, "registration failed"); n != 2 {
		t.Errorf("%d lines about failed registrations, want 2", n)
	}
	if strings.Contains(logs, tgToken) {
		t.Error("the log shows the bot token")
	}
}

// TestTelegramThroughTheHub: a real update posted to the webhook (twice, as
// Telegram retries) becomes one message on a card with the Telegram
// identity; the operator's reply goes out with sendMessage and is marked
// sent; a reply to a user who blocked the bot fails with Telegram's reason
// and marks the identity unreachable. A wrong secret is 403.
func TestTelegramThroughTheHub(t *testing.T) {
	fake := &fakeBotAPI{}
	api := httptest.NewServer(fake)
	defer api.Close()
	cfg := testConfig(t, false, false, "")
	cfg.HTTP.PublicURL = "https://hub.example.com"
	cfg.Channels = append(cfg.Channels, config.Channel{ID: "tg", Type: "telegram", Token: tgToken, Secret: tgSecret, Mode: "webhook", APIURL: api.URL})
	token := createToken(t, cfg)
	hub := startHub(t, cfg)
	ws := dialWS(t, hub.base, token, 0)

	waitFor(t, "setWebhook", func() bool { return len(fake.sent("setWebhook")) == 1 })
	if hook := fake.sent("setWebhook")[0]; hook["url"] != "https://hub.example.com/hooks/telegram/tg" || hook["secret_token"] != tgSecret {
		t.Fatalf("setWebhook(%v)", hook)
	}

	update, err := os.ReadFile("../../connectors/telegram/testdata/telegram-update-text.json")
	if err != nil {
		t.Fatal(err)
	}
	if code := postUpdate(t, hub.base, "wrong", update); code != http.StatusForbidden {
		t.Fatalf("wrong secret: %d, want 403", code)
	}
	for range 2 {
		if code := postUpdate(t, hub.base, tgSecret, update); code != http.StatusOK {
			t.Fatalf("update: %d", code)
		}
	}
	var created struct {
		Message      inbox.Message      `json:"message"`
		Conversation inbox.Conversation `json:"conversation"`
	}
	json.Unmarshal(nextEvent(t, ws, inbox.EventMessageCreated).Data, &created)
	if created.Conversation.ChannelType != inbox.ChannelTelegram || created.Message.Text != "/start" {
		t.Fatalf("filed %+v", created)
	}
	waitFor(t, "queue drained", func() bool {
		st, err := hub.hub.backend.queue.Stats(t.Context())
		return err == nil && st.Depth == 0
	})
	if got := count(t, hub.hub, "messages"); got != 1 {
		t.Fatalf("one update posted twice gave %d messages", got)
	}
	var card inbox.ClientDetail
	apiGet(t, hub.base, token, fmt.Sprintf("/api/v1/clients/%d", created.Conversation.ClientID), &card)
	if card.Name != "Test Firstname Test Lastname" || len(card.Identities) != 1 || card.Identities[0] != (inbox.Identity{Kind: inbox.IdentityTelegram, Value: "1111111"}) ||
		card.CustomFields["telegram_username"] != "@Testusername" {
		t.Fatalf("card = %+v", card)
	}

	reply := func(convID int64, text string) {
		req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/v1/conversations/%d/messages", hub.base, convID), strings.NewReader(fmt.Sprintf(`{"text":%q}`, text)))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("reply: %d", resp.StatusCode)
		}
	}
	delivery := func() inbox.Message {
		for {
			var upd struct {
				Message inbox.Message `json:"message"`
			}
			json.Unmarshal(nextEvent(t, ws, inbox.EventMessageUpdated).Data, &upd)
			if upd.Message.Direction == inbox.DirectionOut && upd.Message.Delivery != inbox.DeliveryQueued {
				return upd.Message
			}
		}
	}
	reply(created.Conversation.ID, "Здравствуйте! Чем помочь?")
	if m := delivery(); m.Delivery != inbox.DeliverySent {
		t.Fatalf("reply delivery = %s (%s)", m.Delivery, m.Error)
	}
	sent := fake.sent("sendMessage")
	if len(sent) != 1 || sent[0]["chat_id"] != "1111111" || sent[0]["text"] != "Здравствуйте! Чем помочь?" {
		t.Fatalf("sendMessage calls %v", sent)
	}

	// A customer who blocked the bot.
	blocked := strings.NewReplacer("1111111", tgBlocked, `"update_id":10000`, `"update_id":10001`).Replace(string(update))
	if code := postUpdate(t, hub.base, tgSecret, []byte(blocked)); code != http.StatusOK {
		t.Fatalf("update: %d", code)
	}
	json.Unmarshal(nextEvent(t, ws, inbox.EventMessageCreated).Data, &created)
	reply(created.Conversation.ID, "Вы здесь?")
	m := delivery()
	if m.Delivery != inbox.DeliveryFailed || !strings.Contains(m.Error, "blocked") {
		t.Fatalf("reply to a blocked user: %s (%q)", m.Delivery, m.Error)
	}
	apiGet(t, hub.base, token, fmt.Sprintf("/api/v1/clients/%d", created.Conversation.ClientID), &card)
	if len(card.Unreachable) != 1 || card.Unreachable[0].Value != tgBlocked {
		t.Fatalf("blocked identity not marked unreachable: %+v", card.Unreachable)
	}
	// The channel status shows the webhook's health from getWebhookInfo.
	var status struct {
		BotUsername        string `json:"bot_username"`
		PendingUpdateCount int    `json:"pending_update_count"`
	}
	if code := apiGet(t, hub.base, token, "/api/v1/channels/tg/status", &status); code != http.StatusOK || status.BotUsername != "shop_bot" {
		t.Fatalf("channel status: %d %+v", code, status)
	}
	if len(fake.sent("getWebhookInfo")) == 0 {
		t.Fatal("status did not ask Telegram")
	}
	// Settings → Channels shows admins what Telegram says of the webhook.
	fake.mu.Lock()
	fake.hookPending, fake.hookError, fake.hookErrorAt = 2, "Wrong response from the webhook: 502 Bad Gateway", 1764800000
	fake.mu.Unlock()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"token", "create", "--operator", "admin@example.com", "--scope", "admin"}, nil, &out, io.Discard, envFor(t, cfg)); err != nil {
		t.Fatalf("token create: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	adminToken := lines[len(lines)-1]
	req, _ := http.NewRequest(http.MethodGet, hub.base+"/api/v1/channels/tg/details", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var details struct {
		Type    string `json:"type"`
		Details struct {
			WebhookURL       string    `json:"webhook_url"`
			Pending          int       `json:"pending_update_count"`
			LastErrorMessage string    `json:"last_error_message"`
			LastErrorDate    time.Time `json:"last_error_date"`
		} `json:"details"`
	}
	if err := json.Unmarshal(raw, &details); resp.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("channel details: %d %s", resp.StatusCode, raw)
	}
	if d := details.Details; details.Type != "telegram" || d.WebhookURL != "https://hub.example.com/hooks/telegram/tg" || d.Pending != 2 ||
		!strings.Contains(d.LastErrorMessage, "502 Bad Gateway") || !d.LastErrorDate.Equal(time.Unix(1764800000, 0)) {
		t.Errorf("channel details %s", raw)
	}
	_, tokenSecret, _ := strings.Cut(tgToken, ":")
	if strings.Contains(string(raw), tokenSecret) {
		t.Fatalf("the bot token appears in the channel details: %s", raw)
	}

	if strings.Contains(hub.logs.String(), tgToken) {
		t.Fatal("the bot token appears in the logs")
	}
}

// TestTelegramPollingAcrossInstances: two hubs on one PostgreSQL database
// poll one bot. One of them holds the lease and polls; the update is filed
// once and the offset past it lands in the database. When the holder stops,
// the other takes over at once (a clean stop releases the lease) and goes
// on from the saved offset.
func TestTelegramPollingAcrossInstances(t *testing.T) {
	fake := &fakeBotAPI{}
	api := httptest.NewServer(fake)
	defer api.Close()
	cfg := testConfig(t, true, false, "")
	cfg.Channels = append(cfg.Channels, config.Channel{ID: "tg", Type: "telegram", Token: tgToken, Mode: "polling", APIURL: api.URL})
	update, err := os.ReadFile("../../connectors/telegram/testdata/telegram-update-text.json")
	if err != nil {
		t.Fatal(err)
	}
	lease := func(h *hub) (holder string) {
		h.backend.store.DB().Get(&holder, "SELECT holder FROM leases WHERE name = 'telegram:tg'")
		return holder
	}
	checkpoint := func(h *hub) (pos string) {
		h.backend.store.DB().Get(&pos, "SELECT position FROM poller_checkpoints WHERE source = 'telegram:tg'")
		return pos
	}

	first := startHub(t, cfg)
	waitFor(t, "the first hub to take the lease", func() bool { return lease(first.hub) != "" })
	holder := lease(first.hub)
	second := startHub(t, cfg)
	defer second.stop()

	fake.addUpdate(update)
	waitFor(t, "the update filed and its offset saved", func() bool {
		return count(t, second.hub, "messages") == 1 && checkpoint(second.hub) == "10001"
	})
	if got := lease(second.hub); got != holder {
		t.Fatalf("lease holder = %q, want the first hub's %q", got, holder)
	}

	first.stop()
	stopped := time.Now()
	fake.addUpdate([]byte(strings.Replace(string(update), `"update_id":10000`, `"update_id":10001`, 1)))
	waitFor(t, "the second hub to file the next update", func() bool {
		return count(t, second.hub, "messages") == 2 && checkpoint(second.hub) == "10002"
	})
	t.Logf("the poller moved to the second instance %v after the first stopped", time.Since(stopped).Round(100*time.Millisecond))
	if got := lease(second.hub); got == holder || got == "" {
		t.Fatalf("lease holder = %q after the first hub stopped, want the second hub", got)
	}
	if n := count(t, second.hub, "messages"); n != 2 {
		t.Fatalf("%d messages, want each update filed once", n)
	}
}
