package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/leadhub/leadhub/config"
	"github.com/leadhub/leadhub/connectors"
	"github.com/leadhub/leadhub/inbox"
)

// TestNoSecretsInLogsOrAnswers runs the hub through a realistic day with
// every log line at debug level: operators and tokens made with the
// commands, sign-ins right and wrong, webhooks with right and wrong
// signatures and keys, Telegram through a fake Bot API, replies that are
// delivered and replies that fail. Then it looks for every configured
// secret, password, session and token in everything the hub and the
// commands logged, and in every API answer: there must be none.
func TestNoSecretsInLogsOrAnswers(t *testing.T) {
	const (
		formKey       = "tilda-api-key-3141592653"
		adminPassword = "admin-Pa55word-never-logged"
		olgaPassword  = "olga-Pa55word-never-logged"
		wrongPassword = "typed-into-the-wrong-box-2718"
	)
	bot := &fakeBotAPI{}
	botAPI := httptest.NewServer(bot)
	defer botAPI.Close()
	// The CRM's callback fails once, as integrations do.
	var failed atomic.Bool
	crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failed.CompareAndSwap(false, true) {
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, `{"error":"upstream down"}`)
			return
		}
		io.WriteString(w, `{"id":"crm-reply"}`)
	}))
	defer crm.Close()

	cfg := testConfig(t, false, false, crm.URL)
	cfg.Log.Level = "debug"
	cfg.HTTP.PublicURL = "https://hub.example.com"
	cfg.Channels[0].Team = "sales"
	cfg.Channels = append(cfg.Channels,
		config.Channel{ID: "tg", Type: "telegram", Token: tgToken, Secret: tgSecret, Mode: "webhook", APIURL: botAPI.URL, Team: "support"},
		config.Channel{ID: "site", Type: "form", Secret: formKey, MinFillTime: config.Duration{Duration: -1}},
	)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}

	// The commands, logging at debug into the same buffer as the hub.
	cmdLogs := &syncBuffer{}
	env := func(k string) string {
		if k == "LEADHUB_LOG_LEVEL" {
			return "debug"
		}
		return envFor(t, cfg)(k)
	}
	cli := func(stdin string, args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := run(context.Background(), args, strings.NewReader(stdin), &out, cmdLogs, env); err != nil {
			t.Fatalf("leadhub %s: %v", strings.Join(args, " "), err)
		}
		return out.String()
	}
	cli(adminPassword+"\n", "operator", "add", "--email", "admin@example.com", "--role", "admin")
	cli(olgaPassword+"\n", "operator", "add", "--email", "olga@example.com", "--role", "operator")
	cli("", "team", "add", "sales")
	cli("", "operator", "teams", "--email", "olga@example.com", "--set", "sales")
	lines := strings.Split(strings.TrimSpace(cli("", "token", "create", "--operator", "admin@example.com", "--scope", "admin")), "\n")
	token := lines[len(lines)-1]

	hub := startHub(t, cfg)
	secrets := map[string]string{
		"api channel secret": crmSecret, "telegram token": tgToken, "telegram secret": tgSecret, "form key": formKey,
		"admin password": adminPassword, "operator password": olgaPassword, "a wrong password": wrongPassword,
		"API token": token, "API token hash": inbox.HashToken(token),
	}
	var answers bytes.Buffer
	do := func(method, path, body string, header ...string) int {
		t.Helper()
		req, _ := http.NewRequest(method, hub.base+path, strings.NewReader(body))
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		fmt.Fprintf(&answers, "%d %v %s\n", resp.StatusCode, resp.Header, b) // not the request: its URL may carry a key
		return resp.StatusCode
	}

	// Signing in: wrong, then right; the session and its CSRF token are
	// secrets too.
	login := func(email, password string) (cookie, csrf string) {
		req, _ := http.NewRequest("POST", hub.base+"/api/v1/session", strings.NewReader(fmt.Sprintf(`{"email":%q,"password":%q}`, email, password)))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			CSRFToken string `json:"csrf_token"`
		}
		json.NewDecoder(resp.Body).Decode(&body)
		for _, c := range resp.Cookies() {
			if c.Name == "leadhub_session" {
				return c.Value, body.CSRFToken
			}
		}
		return "", ""
	}
	if c, _ := login("olga@example.com", wrongPassword); c != "" {
		t.Fatal("a wrong password signed in")
	}
	if c, _ := login("nobody@example.com", wrongPassword); c != "" {
		t.Fatal("an unknown account signed in")
	}
	olgaCookie, olgaCSRF := login("olga@example.com", olgaPassword)
	adminCookie, adminCSRF := login("admin@example.com", adminPassword)
	if olgaCookie == "" || adminCookie == "" {
		t.Fatal("sign-in failed")
	}
	secrets["session cookie"], secrets["session hash"], secrets["CSRF token"] = olgaCookie, inbox.HashToken(olgaCookie), olgaCSRF
	secrets["admin session"], secrets["admin CSRF token"] = adminCookie, adminCSRF
	olga := []string{"Cookie", "leadhub_session=" + olgaCookie, "X-CSRF-Token", olgaCSRF, "Content-Type", "application/json"}
	admin := []string{"Cookie", "leadhub_session=" + adminCookie, "X-CSRF-Token", adminCSRF, "Content-Type", "application/json"}

	// Webhooks with right and wrong credentials.
	body := `{"id":"m-1","from":{"name":"Иван Петров","phone":"8 912 345-67-89"},"text":"Здравствуйте!"}`
	if code := do("POST", "/hooks/api/crm", body, connectors.SignatureHeader, connectors.Sign(crmSecret, []byte(body))); code != 200 {
		t.Fatalf("signed post: %d", code)
	}
	if code := do("POST", "/hooks/api/crm", body, connectors.SignatureHeader, connectors.Sign("not-"+crmSecret, []byte(body))); code != 401 {
		t.Errorf("wrong signature: %d", code)
	}
	update, err := os.ReadFile("../../connectors/telegram/testdata/telegram-update-text.json")
	if err != nil {
		t.Fatal(err)
	}
	if code := do("POST", "/hooks/telegram/tg", string(update), "X-Telegram-Bot-Api-Secret-Token", tgSecret); code != 200 {
		t.Fatalf("telegram update: %d", code)
	}
	if code := do("POST", "/hooks/telegram/tg", string(update), "X-Telegram-Bot-Api-Secret-Token", tgSecret+"x"); code != 403 {
		t.Errorf("telegram with a wrong secret: %d", code)
	}
	form := url.Values{"Name": {"Анна"}, "Phone": {"+7 912 111-22-33"}, "tranid": {"1:2"}, "formid": {"form1"}}.Encode()
	if code := do("POST", "/hooks/form/site?api_key="+url.QueryEscape(formKey), form, "Content-Type", "application/x-www-form-urlencoded", "User-Agent", "Tilda.cc"); code != 200 {
		t.Errorf("Tilda with its key: %d", code)
	}
	if code := do("POST", "/hooks/form/site?api_key=wrong-"+formKey, form, "Content-Type", "application/x-www-form-urlencoded"); code != 401 {
		t.Errorf("Tilda with a wrong key: %d", code)
	}
	waitFor(t, "three conversations", func() bool { return count(t, hub.hub, "conversations") == 3 })

	// Replies: to the CRM (the first callback fails, the retry succeeds),
	// through Telegram, and to a Telegram user who blocked the bot.
	var convs struct {
		Items []inbox.Conversation `json:"items"`
	}
	apiGet(t, hub.base, token, "/api/v1/conversations", &convs)
	for _, c := range convs.Items {
		// A site form cannot send: its lead is refused up front.
		want := 202
		if c.ChannelType == inbox.ChannelForm {
			want = 409
		}
		if code := do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", c.ID), `{"text":"Добрый день!"}`, admin...); code != want {
			t.Errorf("reply in %s: %d, want %d", c.ChannelID, code, want)
		}
	}
	blocked := strings.NewReplacer("1111111", tgBlocked, `"update_id":10000`, `"update_id":10001`).Replace(string(update))
	do("POST", "/hooks/telegram/tg", blocked, "X-Telegram-Bot-Api-Secret-Token", tgSecret)
	waitFor(t, "four conversations", func() bool { return count(t, hub.hub, "conversations") == 4 })
	apiGet(t, hub.base, token, "/api/v1/conversations?channel=tg", &convs)
	for _, c := range convs.Items {
		do("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", c.ID), `{"text":"Вы здесь?"}`, admin...)
	}
	waitFor(t, "replies settled", func() bool {
		var n int
		hub.hub.backend.store.DB().Get(&n, `SELECT count(*) FROM messages WHERE delivery = 'queued'`)
		return n == 0
	})

	// Everything an operator and an admin look at.
	for _, path := range []string{"/api/v1/session", "/api/v1/sessions", "/api/v1/tokens", "/api/v1/conversations", "/api/v1/clients"} {
		do("GET", path, "", olga...)
	}
	for _, path := range []string{"/api/v1/channels", "/api/v1/operators", "/api/v1/audit", "/api/v1/teams",
		"/api/v1/channels/tg/status", "/api/v1/channels/tg/details", "/api/v1/clients.csv"} {
		if code := do("GET", path, "", admin...); code != 200 {
			t.Errorf("GET %s: %d", path, code)
		}
	}
	do("GET", "/api/v1/operators", "", "Authorization", "Bearer "+token)
	do("DELETE", "/api/v1/session", "", olga...)
	hub.stop()

	logs := hub.logs.String() + cmdLogs.String()
	if !strings.Contains(logs, "level=DEBUG") || !strings.Contains(logs, "webhook rejected") || !strings.Contains(logs, "login failed") {
		t.Fatalf("the logs lack debug lines, rejections or failed logins: the check would be vacuous\n%s", logs)
	}
	for name, secret := range secrets {
		if secret == "" {
			t.Fatalf("%s is empty: the check would be vacuous", name)
		}
		if strings.Contains(logs, secret) {
			t.Errorf("the %s appears in the logs", name)
		}
		// GET /session gives the page its own CSRF token back; nothing
		// else secret is ever in an answer.
		if !strings.Contains(name, "CSRF") && strings.Contains(answers.String(), secret) {
			t.Errorf("the %s appears in an API answer", name)
		}
	}
}
