package main

import (
	"fmt"
	"net/http"
	neturl "net/url"
	"strings"
	"time"

	"github.com/leadhub/leadhub/connectors"
)

// requestBuilder builds one inbound request of a channel type carrying
// marker in the message text. seq is a number unique to this run and
// request (Telegram's update_id).
type requestBuilder func(url, secret, marker string, seq int64, from sender) *http.Request

var requests = map[string]requestBuilder{
	"api": func(url, secret, marker string, seq int64, from sender) *http.Request {
		body := fmt.Sprintf(`{"id":%q,"from":{"name":%q,"phone":%q},"text":"bench message %s"}`,
			marker, from.name(), from.phone(), marker)
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(connectors.SignatureHeader, connectors.Sign(secret, []byte(body)))
		return req
	},
	"form": func(url, _, marker string, seq int64, from sender) *http.Request {
		form := neturl.Values{"name": {from.name()}, "phone": {from.phone()},
			"message": {"bench message " + marker}, "utm_source": {"bench"}}
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		return req
	},
	"telegram": func(url, secret, marker string, seq int64, from sender) *http.Request {
		user := from.telegramUser()
		body := fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"date":%d,"chat":{"id":%d,"type":"private","first_name":"Bench"},`+
			`"from":{"id":%d,"is_bot":false,"first_name":"Bench","last_name":"%d"},"text":"bench message %s"}}`,
			seq, seq%1000000+1, time.Now().Unix(), user, user, from.n, marker)
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
		return req
	},
}
