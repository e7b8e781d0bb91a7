package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/leadhub/leadhub/config"
	"github.com/leadhub/leadhub/inbox"
)

// TestSupervisionThroughTheHub: with [sla] and [alerts] configured, a
// Telegram lead nobody answers in time is late in the API, and the
// supervisors' chat hears about it once through the configured bot, with a
// link to the conversation. (The target is a second, so the test waits a
// few seconds of real time: the hub runs on the system clock. That an alert
// goes out once with several instances is the store's test.)
func TestSupervisionThroughTheHub(t *testing.T) {
	fake := &fakeBotAPI{}
	api := httptest.NewServer(fake)
	defer api.Close()
	cfg := testConfig(t, false, false, "")
	cfg.HTTP.PublicURL = "https://hub.example.com"
	cfg.Channels = append(cfg.Channels, config.Channel{ID: "tg", Type: "telegram", Token: tgToken, Secret: tgSecret, Mode: "webhook", APIURL: api.URL})
	cfg.SLA.FirstResponse = config.Duration{Duration: time.Second}
	cfg.Alerts = config.Alerts{TelegramChannel: "tg", TelegramChatIDs: []int64{-100777}, Language: "en"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	token := createToken(t, cfg)
	hub := startHub(t, cfg)
	waitFor(t, "setWebhook", func() bool { return len(fake.sent("setWebhook")) == 1 })
	update, err := os.ReadFile("../../connectors/telegram/testdata/telegram-update-text.json")
	if err != nil {
		t.Fatal(err)
	}
	if code := postUpdate(t, hub.base, tgSecret, update); code != http.StatusOK {
		t.Fatalf("update: %d", code)
	}
	alertsSent := func() []map[string]string {
		var out []map[string]string
		for _, m := range fake.sent("sendMessage") {
			if m["chat_id"] == "-100777" {
				out = append(out, m)
			}
		}
		return out
	}
	waitFor(t, "the alert in the supervisors' chat", func() bool { return len(alertsSent()) > 0 })
	var list struct {
		Items []inbox.Conversation `json:"items"`
	}
	apiGet(t, hub.base, token, "/api/v1/conversations", &list)
	if len(list.Items) != 1 || !list.Items[0].SLABreached || list.Items[0].SLADueAt == nil || list.Items[0].WaitingSince == nil {
		t.Fatalf("conversations = %+v", list.Items)
	}
	msg := alertsSent()[0]["text"]
	if !strings.Contains(msg, "An answer to a client is late: Test Firstname Test Lastname") ||
		!strings.Contains(msg, fmt.Sprintf("https://hub.example.com/#c=%d", list.Items[0].ID)) {
		t.Fatalf("the alert says %q", msg)
	}
	if n := len(alertsSent()); n != 1 {
		t.Fatalf("the alert was sent %d times", n)
	}
}
