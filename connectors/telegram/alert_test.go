package telegram

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/leadhub/leadhub/inbox"
)

const groupChat = int64(-1001234567890)

// alertText is what inbox.FormatAlert writes, with a client name that
// looks like markup in every parse mode Telegram has.
func alertText() inbox.AlertText {
	return inbox.AlertText{
		Subject: "Срок ответа клиенту истёк: <b>Иван</b> *Петров* _[ООО](http://evil.test)_",
		Body: "Срок ответа клиенту истёк: <b>Иван</b> *Петров* _[ООО](http://evil.test)_\n" +
			"Опоздание: 15m0s\nСрок: 2026-01-02 10:00 UTC\nhttps://crm.example.com/#c=42",
		Link: "https://crm.example.com/#c=42",
	}
}

func TestAlertNotifierSendsPlainTextToEachChat(t *testing.T) {
	f := newFake(t)
	c, _ := newChannel(t, f.srv.URL, nil)
	n := c.AlertNotifier([]int64{testUser, groupChat})
	text := alertText()
	if err := n.NotifyAlert(context.Background(), inbox.Alert{ID: 1, Kind: inbox.AlertSLABreached}, text); err != nil {
		t.Fatalf("NotifyAlert: %v", err)
	}
	calls := f.callsOf("sendMessage")
	if len(calls) != 2 {
		t.Fatalf("sendMessage calls = %d, want 2", len(calls))
	}
	for i, want := range []int64{testUser, groupChat} {
		form := calls[i].Form
		if got := form.Get("chat_id"); got != strconv.FormatInt(want, 10) {
			t.Errorf("call %d chat_id = %q, want %d", i, got, want)
		}
		if got := form.Get("text"); got != text.Body {
			t.Errorf("call %d text = %q, want the body exactly", i, got)
		}
		// Without a parse mode Telegram shows the name as it was typed.
		if form.Has("parse_mode") || form.Has("entities") || form.Has("reply_markup") {
			t.Errorf("call %d carries formatting: %v", i, form)
		}
		var lp struct {
			IsDisabled bool `json:"is_disabled"`
		}
		if err := json.Unmarshal([]byte(form.Get("link_preview_options")), &lp); err != nil || !lp.IsDisabled {
			t.Errorf("call %d link_preview_options = %q (%v), want disabled", i, form.Get("link_preview_options"), err)
		}
	}
}

// A body over Telegram's limit is cut rather than refused for good; an
// alert without any text is an error.
func TestAlertNotifierLongAndEmptyText(t *testing.T) {
	f := newFake(t)
	c, _ := newChannel(t, f.srv.URL, nil)
	n := c.AlertNotifier([]int64{testUser})
	long := inbox.AlertText{Subject: "Задача просрочена", Body: "Задача: " + strings.Repeat("ж", 5000)}
	if err := n.NotifyAlert(context.Background(), inbox.Alert{}, long); err != nil {
		t.Fatalf("NotifyAlert: %v", err)
	}
	calls := f.callsOf("sendMessage")
	if len(calls) != 1 {
		t.Fatalf("sendMessage calls = %d, want 1", len(calls))
	}
	got := calls[0].Form.Get("text")
	if utf16Len(got) != maxTextLen || !strings.HasPrefix(got, "Задача: жжж") || !strings.HasSuffix(got, "ж…") {
		t.Errorf("clipped text has %d units, ends %q", utf16Len(got), got[len(got)-10:])
	}

	// The subject stands in for an empty body.
	if err := n.NotifyAlert(context.Background(), inbox.Alert{}, inbox.AlertText{Subject: "Задача просрочена"}); err != nil {
		t.Fatalf("NotifyAlert: %v", err)
	}
	if calls := f.callsOf("sendMessage"); len(calls) != 2 || calls[1].Form.Get("text") != "Задача просрочена" {
		t.Errorf("subject-only alert sent as %v", calls)
	}
	if err := n.NotifyAlert(context.Background(), inbox.Alert{}, inbox.AlertText{Body: " \n"}); err == nil {
		t.Error("an alert without text was sent")
	}
}

// A chat that fails does not keep the alert from the others; the error
// names it, says what Telegram said, and never carries the token.
func TestAlertNotifierErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   string // in the error text
	}{
		{name: "429", status: 429, body: string(readFile(t, "telegram-error-429.json")), want: "Too Many Requests"},
		{name: "502 from the proxy", status: 502, body: `<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>`},
		{name: "500", status: 500, body: `{"ok":false,"error_code":500,"description":"Internal Server Error"}`},
		{name: "403 bot removed from the group", status: 403, body: `{"ok":false,"error_code":403,"description":"Forbidden: bot was kicked from the supergroup chat"}`, want: "kicked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.reply("sendMessage", func(form url.Values) (int, string) {
				if form.Get("chat_id") == strconv.FormatInt(groupChat, 10) {
					return tt.status, tt.body
				}
				return 200, fmt.Sprintf(`{"ok":true,"result":{"message_id":101,"chat":{"id":%s,"type":"private"},"date":1767261800,"text":"ok"}}`, form.Get("chat_id"))
			})
			c, _ := newChannel(t, f.srv.URL, nil)
			n := c.AlertNotifier([]int64{groupChat, testUser})
			err := n.NotifyAlert(context.Background(), inbox.Alert{ID: 1}, alertText())
			if err == nil {
				t.Fatal("NotifyAlert succeeded")
			}
			if !strings.Contains(err.Error(), "chat "+strconv.FormatInt(groupChat, 10)) || strings.Contains(err.Error(), strconv.FormatInt(testUser, 10)) {
				t.Errorf("error %q should name the failed chat alone", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q hides Telegram's reason %q", err, tt.want)
			}
			t.Logf("error: %v", err)
			assertNoTokenAnywhere(t, err)
			calls := f.callsOf("sendMessage")
			if len(calls) != 2 || calls[1].Form.Get("chat_id") != strconv.FormatInt(testUser, 10) {
				t.Errorf("the chat after the failed one did not get the alert: %v", calls)
			}
		})
	}
}

// A network failure prints the request URL, which holds the token.
func TestAlertNotifierNetworkErrorHidesToken(t *testing.T) {
	srv := closingServer(t)
	c, _ := newChannel(t, srv.URL, nil)
	err := c.AlertNotifier([]int64{testUser, groupChat}).NotifyAlert(context.Background(), inbox.Alert{ID: 1}, alertText())
	if err == nil {
		t.Fatal("NotifyAlert succeeded against a server that hangs up")
	}
	t.Logf("error: %v", err)
	for _, chat := range []int64{testUser, groupChat} {
		if !strings.Contains(err.Error(), "chat "+strconv.FormatInt(chat, 10)) {
			t.Errorf("error %q does not name chat %d", err, chat)
		}
	}
	assertNoTokenAnywhere(t, err)
}

// assertNoTokenAnywhere checks every error in err's tree, joined ones too.
func assertNoTokenAnywhere(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	assertNoToken(t, err)
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			assertNoTokenAnywhere(t, e)
		}
	}
}

func TestClipUTF16(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "ab…"},
		{"жжжж", 4, "жжжж"},
		{"ж😀ж", 3, "ж…"}, // the emoji is two units: it does not fit with the ellipsis
		{"😀😀", 3, "😀…"},
	}
	for _, tt := range tests {
		got := clipUTF16(tt.s, tt.n)
		if got != tt.want || utf16Len(got) > tt.n {
			t.Errorf("clipUTF16(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}
