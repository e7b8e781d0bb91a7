package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/leadhub/leadhub/config"
	"github.com/leadhub/leadhub/inbox"
)

// TestFormInBrowser: a marketer's landing page, served from another origin
// with a strict CSP, embeds embed.js from the running hub. Headless Chromium
// opens it with UTM tags, fills the form and submits it; the lead reaches
// the operator's websocket as a form message with its UTM and page.
func TestFormInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	var hubURL atomic.Value
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hub := hubURL.Load().(string)
		if r.URL.Path == "/site.css" {
			// The marketer's own rule about the form beats leadhub's default.
			w.Header().Set("Content-Type", "text/css")
			io.WriteString(w, `.leadhub-field textarea { border-color: rgb(0, 128, 0); }`)
			return
		}
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src "+hub+"; connect-src "+hub+"; style-src 'self'")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="ru"><head><title>Доставка по России</title><link rel="stylesheet" href="/site.css"></head><body>
<h1>Оставьте заявку</h1><div data-leadhub-form></div>
<script src="%s/hooks/form/site/embed.js" async></script></body></html>`, hub)
	}))
	defer page.Close()

	cfg := testConfig(t, false, false, "")
	cfg.Channels = append(cfg.Channels, config.Channel{ID: "site", Type: "form", AllowedOrigins: []string{page.URL},
		MinFillTime: config.Duration{Duration: -1}})
	token := createToken(t, cfg)
	hub := startHub(t, cfg)
	hubURL.Store(hub.base)
	ws := dialWS(t, hub.base, token, 0)

	const form = `form[data-leadhub-rendered] `
	if err := chromedp.Do(ctx,
		chromedp.Navigate(page.URL+"/landing?utm_source=yandex&utm_medium=cpc&utm_campaign=spring_sale"),
		chromedp.WaitVisible(form+`input[name=name]`),
	); err != nil {
		t.Fatalf("load: %v", err)
	}
	// leadhub's clean default look, under the page's strict style-src, and
	// the page's own rule wins where it has one.
	look, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const f = document.querySelector('form[data-leadhub-rendered]');
		return getComputedStyle(f.querySelector('button[type=submit]')).backgroundColor + '|' +
			getComputedStyle(f.querySelector('textarea')).borderTopColor + '|' + getComputedStyle(f).display; })()`))
	if err != nil || look != "rgb(37, 99, 235)|rgb(0, 128, 0)|grid" {
		t.Errorf("form look %q (%v): want leadhub's blue button, the page's green border, a grid", look, err)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(form+`input[name=name]`, "Мария Иванова"),
		chromedp.SendKeys(form+`input[name=phone]`, "8 (912) 777-66-55"),
		chromedp.SendKeys(form+`textarea[name=message]`, "Перезвоните после обеда"),
		chromedp.Click(form+`button[type=submit]`),
		chromedp.WaitVisible(form+`[data-leadhub-status][data-state=success]`),
	); err != nil {
		t.Fatalf("fill and submit: %v", err)
	}

	ev := nextEvent(t, ws, inbox.EventMessageCreated)
	var created struct {
		Message      inbox.Message      `json:"message"`
		Conversation inbox.Conversation `json:"conversation"`
	}
	if err := json.Unmarshal(ev.Data, &created); err != nil {
		t.Fatal(err)
	}
	m := created.Message
	if m.Kind != inbox.KindForm || created.Conversation.ChannelID != "site" || created.Conversation.Status != inbox.StatusNew {
		t.Fatalf("lead = %s", ev.Data)
	}
	for k, want := range map[string]string{"utm_source": "yandex", "utm_medium": "cpc", "utm_campaign": "spring_sale"} {
		if m.Meta[k] != want {
			t.Errorf("meta %s = %q, want %q (meta %v)", k, m.Meta[k], want, m.Meta)
		}
	}
	if m.Meta["page_url"] != page.URL+"/landing?utm_source=yandex&utm_medium=cpc&utm_campaign=spring_sale" {
		t.Errorf("page_url = %q", m.Meta["page_url"])
	}
	var client inbox.ClientDetail
	apiGet(t, hub.base, token, fmt.Sprintf("/api/v1/clients/%d", created.Conversation.ClientID), &client)
	if client.Name != "Мария Иванова" || len(client.Identities) != 1 || client.Identities[0].Value != "+79127776655" {
		t.Errorf("client card = %+v", client)
	}
}
