package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/leadhub/leadhub/config"
)

const (
	uiEmail    = "olga@example.com"
	uiPassword = "correct horse battery"
)

// pausableProxy forwards TCP connections to the hub. pause cuts every open
// connection (the page's websocket among them) and refuses new ones until
// resume: a network drop the test controls.
type pausableProxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	paused bool
	conns  map[net.Conn]bool
}

func newProxy(t *testing.T, target string) *pausableProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pausableProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.pause() })
	return p
}

func (p *pausableProxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *pausableProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.paused {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		go func() { io.Copy(up, c); up.Close() }()
		go func() { io.Copy(c, up); c.Close() }()
	}
}

func (p *pausableProxy) pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paused = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *pausableProxy) resume() {
	p.mu.Lock()
	p.paused = false
	p.mu.Unlock()
}

// page is the operators' page in the browser.
type page struct {
	t   *testing.T
	ctx context.Context
}

func (p page) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		p.t.Fatalf("browser: %v", err)
	}
}

func (p page) eval(expr string) string {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`String(`+expr+`)`))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// wait polls expr with Runtime.evaluate (the page's CSP forbids the
// new Function chromedp.Poll relies on).
func (p page) wait(what, expr string) {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`Boolean(`+expr+`)`))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("timed out waiting for %s (last error %v)", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWorkspaceEndToEnd drives the real operators' page in headless
// Chromium against the real hub: log in; a message from each channel
// appears live; a reply's status changes to sent; a dropped socket shows
// the banner and, once back, the missed messages are replayed; hostile
// text through every channel runs nothing; the Russian UI renders. It
// measures the time from a webhook's acceptance to its message being
// visible in the page.
func TestWorkspaceEndToEnd(t *testing.T) {
	ctx := newBrowser(t)
	bot := &fakeBotAPI{}
	botAPI := httptest.NewServer(bot)
	defer botAPI.Close()
	callbacks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"id":"x"}`) }))
	defer callbacks.Close()

	cfg := testConfig(t, false, false, callbacks.URL)
	cfg.Channels = append(cfg.Channels,
		config.Channel{ID: "site", Type: "form", MinFillTime: config.Duration{Duration: -1}},
		config.Channel{ID: "tg", Type: "telegram", Token: tgToken, Secret: tgSecret, Mode: "webhook", APIURL: botAPI.URL})
	var out bytes.Buffer
	if err := run(context.Background(), []string{"operator", "add", "--email", uiEmail, "--role", "admin", "--name", "Ольга"},
		strings.NewReader(uiPassword+"\n"), &out, io.Discard, envFor(t, cfg)); err != nil {
		t.Fatalf("operator add: %v", err)
	}
	hub := startHub(t, cfg)
	t.Cleanup(func() {
		if t.Failed() {
			for _, l := range strings.Split(hub.logs.String(), "\n") {
				if !strings.Contains(l, "level=DEBUG") || strings.Contains(l, "/ws") {
					t.Log(l)
				}
			}
		}
	})
	proxy := newProxy(t, strings.TrimPrefix(hub.base, "http://"))
	p := page{t: t, ctx: ctx}
	var consoleMu sync.Mutex
	var console []string
	chromedp.Listen(ctx, func(ev any) {
		consoleMu.Lock()
		defer consoleMu.Unlock()
		switch e := ev.(type) {
		case *cdpruntime.EventExceptionThrown:
			console = append(console, "exception: "+e.ExceptionDetails.Text+" "+fmt.Sprint(e.ExceptionDetails.Exception.Description))
		case *cdpruntime.EventConsoleAPICalled:
			for _, a := range e.Args {
				console = append(console, string(e.Type)+": "+string(a.Value)+a.Description)
			}
		}
	})
	t.Cleanup(func() {
		if t.Failed() {
			consoleMu.Lock()
			defer consoleMu.Unlock()
			for _, l := range console {
				t.Log("browser console: " + l)
			}
		}
	})

	// The page is 1366×768 itself, not the window around it: the size
	// operators' laptops show and the README's pictures have.
	p.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: 1366, Height: 768, DeviceScaleFactor: 1})
		return err
	}))
	p.do(chromedp.Navigate(proxy.URL()),
		chromedp.WaitVisible(`[data-testid="login-form"]`),
		chromedp.SendKeys(`[data-testid="login-email"]`, uiEmail),
		chromedp.SendKeys(`[data-testid="login-password"]`, uiPassword),
		chromedp.Click(`[data-testid="login-submit"]`))
	p.wait("the websocket", `document.body.dataset.ws === 'open'`)
	// Record when each marker first becomes visible, as the page renders it.
	observe := func() {
		p.eval(`(window.__seen = {}, window.__markers = [], new MutationObserver(() => {
			const text = document.body.innerText;
			for (const m of window.__markers) if (!window.__seen[m] && text.includes(m)) window.__seen[m] = Date.now();
		}).observe(document.body, {subtree: true, childList: true, characterData: true}), 'ok')`)
	}
	observe()

	var latencies []time.Duration
	send := func(channel, marker string, post func() int) {
		t.Helper()
		p.eval(fmt.Sprintf(`window.__markers.push(%q)`, marker))
		if code := post(); code != http.StatusOK {
			t.Fatalf("%s webhook: %d", channel, code)
		}
		accepted := time.Now()
		p.wait(channel+" message visible", fmt.Sprintf(`window.__seen[%q]`, marker))
		ms := p.eval(fmt.Sprintf(`window.__seen[%q]`, marker))
		var seen int64
		fmt.Sscan(ms, &seen)
		latencies = append(latencies, max(0, time.UnixMilli(seen).Sub(accepted)))
	}
	apiPost := func(id, name, text string) func() int {
		return func() int {
			body := fmt.Sprintf(`{"id":%q,"from":{"name":%q,"phone":"+7912%07d"},"text":%q}`, id, name, len(id)*7919%10000000, text)
			return signedPost(t, hub.base+"/hooks/api/crm", body).StatusCode
		}
	}
	formPost := func(name, phone, text string) func() int {
		return func() int {
			resp, err := http.PostForm(hub.base+"/hooks/form/site", url.Values{"name": {name}, "phone": {phone}, "message": {text}, "utm_source": {"yandex"}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
	}
	update, err := os.ReadFile("../../connectors/telegram/testdata/telegram-update-text.json")
	if err != nil {
		t.Fatal(err)
	}
	tgPost := func(updateID int, user, name, text string) func() int {
		return func() int {
			body := strings.NewReplacer(`"update_id":10000`, fmt.Sprintf(`"update_id":%d`, updateID), "1111111", user,
				`"first_name":"Test Firstname"`, fmt.Sprintf(`"first_name":%q`, name), `"text":"/start"`, fmt.Sprintf(`"text":%q`, text)).Replace(string(update))
			return postUpdate(t, hub.base, tgSecret, []byte(body))
		}
	}

	// 1. A message from each channel appears live.
	send("api", "API-LIVE-1 доставка", apiPost("live-1", "Иван Петров", "API-LIVE-1 доставка в Казань?"))
	send("form", "FORM-LIVE-1", formPost("Мария", "8 912 777-66-55", "FORM-LIVE-1 перезвоните"))
	send("telegram", "TG-LIVE-1", tgPost(20001, "3333333", "Анна", "TG-LIVE-1 есть в наличии?"))

	// A fresh load of the inbox shows each conversation's last message,
	// not only its channel.
	p.do(chromedp.Reload())
	p.wait("the inbox after reload", `document.querySelectorAll('[data-testid="conversation-row"]').length >= 3`)
	p.wait("previews on first load", `[...document.querySelectorAll('[data-testid="conversation-row"]')].find(r => r.textContent.includes('Анна')).querySelector('[data-testid="row-preview"]').textContent.includes('TG-LIVE-1 есть в наличии?')`)
	p.wait("the websocket after reload", `document.body.dataset.ws === 'open'`)
	observe()

	// Reading clears the operator's unread badge, in the page and in the
	// API; "Mark as unread" sets it back.
	var tokOut bytes.Buffer
	if err := run(context.Background(), []string{"token", "create", "--operator", uiEmail}, strings.NewReader(""), &tokOut, io.Discard, envFor(t, cfg)); err != nil {
		t.Fatalf("token create: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(tokOut.String()), "\n")
	token := strings.TrimSpace(lines[len(lines)-1])
	apiUnread := func(name string) int {
		t.Helper()
		var list struct {
			Items []struct {
				ClientName string `json:"client_name"`
				Unread     int    `json:"unread"`
			} `json:"items"`
		}
		if code := apiGet(t, hub.base, token, "/api/v1/conversations", &list); code != http.StatusOK {
			t.Fatalf("list: %d", code)
		}
		for _, c := range list.Items {
			if c.ClientName == name {
				return c.Unread
			}
		}
		t.Fatalf("no conversation of %s", name)
		return -1
	}
	rowUnread := `[...document.querySelectorAll('[data-testid="conversation-row"]')].find(r => r.textContent.includes('Мария')).dataset.unread`
	if got := p.eval(rowUnread); got != "1" || apiUnread("Мария") != 1 {
		t.Fatalf("Мария's lead before reading: badge %s, API %d; want 1", got, apiUnread("Мария"))
	}
	p.eval(`[...document.querySelectorAll('[data-testid="conversation-row"]')].find(r => r.textContent.includes('Мария')).click()`)
	p.wait("the badge cleared by reading", rowUnread+` === '0'`)
	for deadline := time.Now().Add(10 * time.Second); apiUnread("Мария") != 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the API still counts the lead unread after the operator read it")
		}
	}
	p.do(chromedp.Click(`[data-testid="mark-unread"]`))
	p.wait("the badge back after mark as unread", rowUnread+` === '1'`)
	if n := apiUnread("Мария"); n != 1 {
		t.Errorf("API unread after mark as unread: %d", n)
	}

	// 2. Reply from the page; its status goes from queued to sent.
	p.do(chromedp.Click(`[data-testid="conversation-row"]:has([data-testid="row-name"])`))
	p.wait("a conversation open", `document.querySelectorAll('#timeline [data-testid="message"]').length > 0`)
	p.do(chromedp.SendKeys(`[data-testid="reply-text"]`, "Добрый день! Уже отвечаем."),
		chromedp.Click(`[data-testid="reply-send"]`))
	p.wait("the reply sent", `[...document.querySelectorAll('[data-testid="message"]')].some(m => m.textContent.includes('Уже отвечаем') && m.dataset.delivery === 'sent')`)

	// A reply with a file: the operator attaches it, Telegram receives the
	// upload, and the timeline shows the file on the sent reply.
	p.eval(`[...document.querySelectorAll('[data-testid="conversation-row"]')].find(r => r.textContent.includes('Анна')).click()`)
	p.wait("Анна's conversation open", `document.querySelector('#timeline').textContent.includes('TG-LIVE-1')`)
	offer := filepath.Join(t.TempDir(), "смета-кухни.txt")
	if err := os.WriteFile(offer, []byte("кухня 350 000 руб."), 0o600); err != nil {
		t.Fatal(err)
	}
	p.do(chromedp.SetUploadFiles(`[data-testid="reply-attach"]`, []string{offer}))
	p.wait("the file listed under the reply box", `[...document.querySelectorAll('[data-testid="reply-file"]')].some(f => f.textContent.includes('смета-кухни.txt'))`)
	p.do(chromedp.SendKeys(`[data-testid="reply-text"]`, "Смета во вложении"),
		chromedp.Click(`[data-testid="reply-send"]`))
	p.wait("the reply with its file sent", `[...document.querySelectorAll('[data-testid="message"]')].some(m => m.textContent.includes('Смета во вложении') && m.textContent.includes('смета-кухни.txt') && m.dataset.delivery === 'sent')`)
	p.wait("the reply box emptied of files", `document.querySelector('[data-testid="reply-files"]').hidden`)
	if docs := bot.sent("sendDocument"); len(docs) != 1 || docs[0]["upload:document"] != "смета-кухни.txt:кухня 350 000 руб." || docs[0]["caption"] != "Смета во вложении" {
		t.Errorf("Telegram got documents %v", docs)
	}

	// A form lead is answered through another of the client's channels: a
	// client known to the CRM integration fills in the site form; the
	// reply box offers the API channel and the reply goes out there. A
	// form lead with no other channel says it cannot be written to.
	send("api", "CRM-KNOWN", func() int {
		body := `{"id":"crm-known-1","from":{"name":"Ольга Ким","phone":"+79125550011","external_id":"crm-77"},"text":"CRM-KNOWN вопрос"}`
		return signedPost(t, hub.base+"/hooks/api/crm", body).StatusCode
	})
	send("form", "FORM-KNOWN", formPost("Ольга Ким", "+79125550011", "FORM-KNOWN заявка с сайта"))
	p.eval(`[...document.querySelectorAll('[data-testid="conversation-row"]')].find(r => r.textContent.includes('Ольга Ким') && r.textContent.includes('FORM-KNOWN')).click()`)
	p.wait("the form conversation open", `document.querySelector('#timeline').textContent.includes('FORM-KNOWN')`)
	p.wait("the channel choice", `!document.querySelector('#reply-via-label').hidden && [...document.querySelectorAll('[data-testid="reply-via"] option')].some(o => o.value === 'crm')`)
	p.do(chromedp.SendKeys(`[data-testid="reply-text"]`, "Ответили через CRM"))
	readmeShot(t, ctx, "reply-picker-en")
	p.do(chromedp.Click(`[data-testid="reply-send"]`))
	p.wait("the reply sent through the CRM", `[...document.querySelectorAll('[data-testid="message"]')].some(m => m.textContent.includes('Ответили через CRM') && m.dataset.delivery === 'sent' && m.querySelector('[data-testid="msg-via"]'))`)
	p.eval(`[...document.querySelectorAll('[data-testid="conversation-row"]')].find(r => r.textContent.includes('Мария')).click()`)
	p.wait("no way to write to Мария", `!document.querySelector('[data-testid="reply-noroute"]').hidden`)

	// The form lead, for the README's picture of the workspace.
	p.eval(`[...document.querySelectorAll('[data-testid="conversation-row"]')].find(r => r.textContent.includes('Мария')).click()`)
	p.wait("the form lead open", `document.querySelector('#timeline').textContent.includes('FORM-LIVE-1')`)
	readmeShot(t, ctx, "workspace-en")

	// 3. The socket drops: banner; messages meanwhile are replayed after.
	proxy.pause()
	p.wait("the disconnected banner", `!document.querySelector('[data-testid="ws-banner"]').hidden`)
	p.eval(`window.__markers.push('MISSED-1', 'MISSED-2')`)
	if code := apiPost("missed-1", "Пётр", "MISSED-1 пока вас не было")(); code != http.StatusOK {
		t.Fatal(code)
	}
	if code := formPost("Ольга", "+79120001122", "MISSED-2 тоже")(); code != http.StatusOK {
		t.Fatal(code)
	}
	proxy.resume()
	p.wait("the replayed messages", `window.__seen['MISSED-1'] && window.__seen['MISSED-2']`)
	p.wait("the banner gone", `document.querySelector('[data-testid="ws-banner"]').hidden`)

	// 4. Hostile text through every channel: shown as text, never run.
	hostile := `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>`
	send("api xss", "XSS-API", apiPost("xss-1", hostile, "XSS-API "+hostile))
	send("form xss", "XSS-FORM", formPost(hostile, "+79120003344", "XSS-FORM "+hostile))
	send("telegram xss", "XSS-TG", tgPost(20002, "4444444", hostile, "XSS-TG "+hostile))
	rows := p.eval(`document.querySelectorAll('[data-testid="conversation-row"]').length`)
	if rows == "0" {
		t.Fatal("no conversations listed")
	}
	p.do(chromedp.Click(`[data-testid="conversation-row"]`)) // the newest: the Telegram one
	p.wait("the hostile message shown as text", `document.querySelector('#timeline').textContent.includes('<script>window.__xss=2</script>')`)
	if v := p.eval(`typeof window.__xss`); v != "undefined" {
		t.Fatalf("customer text ran in the page: window.__xss is %s", v)
	}
	if n := p.eval(`document.querySelectorAll('#timeline img[src="x"], #timeline script').length`); n != "0" {
		t.Fatalf("customer markup became %s elements", n)
	}

	// Clients CSV: an import runs in the background with a progress bar,
	// sums itself up and offers the rejected rows.
	csvFile := filepath.Join(t.TempDir(), "clients.csv")
	if err := os.WriteFile(csvFile, []byte("Телефон;Имя\n+79181110001;Ада\n+79181110002;Борис\nне телефон;Вера\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p.do(chromedp.Click(`[data-testid="csv-open"]`))
	p.wait("the CSV dialog", `document.querySelector('[data-testid="csv-dialog"]').open`)
	p.do(chromedp.SetUploadFiles(`[data-testid="csv-file"]`, []string{csvFile}), chromedp.Click(`[data-testid="csv-import"]`))
	p.wait("the import summed up", `document.querySelector('[data-testid="csv-status"]').textContent.includes('2 new cards')`)
	p.wait("the rejected rows offered", `!document.querySelector('[data-testid="csv-rejected"]').hidden`)
	if got := p.eval(`document.querySelector('[data-testid="csv-status"]').textContent`); !strings.Contains(got, "1 rejected") {
		t.Errorf("import summary %q", got)
	}
	readmeShot(t, ctx, "import-en")
	p.do(chromedp.Click(`[data-testid="csv-close"]`))

	// 5. The Russian UI.
	p.do(chromedp.SetValue(`[data-testid="lang-select"]`, "ru"))
	p.eval(`document.querySelector('[data-testid="lang-select"]').dispatchEvent(new Event('change', {bubbles: true}))`)
	p.wait("Russian labels", `document.documentElement.lang === 'ru' && document.querySelector('[data-testid="reply-send"]').textContent.trim() === 'Отправить'`)
	readmeShot(t, ctx, "workspace-ru")

	// The reply picker and an import, in Russian, for the README.
	p.eval(`[...document.querySelectorAll('[data-testid="conversation-row"]')].find(r => r.textContent.includes('Ольга Ким') && r.textContent.includes('Ответили через CRM')).click()`)
	p.wait("the channel choice in Russian", `!document.querySelector('#reply-via-label').hidden && document.querySelector('#timeline').textContent.includes('FORM-KNOWN')`)
	p.do(chromedp.SendKeys(`[data-testid="reply-text"]`, "Ольга, смета готова — отправить на почту?"))
	readmeShot(t, ctx, "reply-picker-ru")
	p.eval(`(document.querySelector('[data-testid="reply-text"]').value = '', document.querySelector('[data-testid="reply-text"]').dispatchEvent(new Event('input', {bubbles: true})), 'ok')`)
	csvRu := filepath.Join(t.TempDir(), "клиенты.csv")
	if err := os.WriteFile(csvRu, []byte("Телефон;Имя;Компания\n+79181110011;Галина;Кухни Юг\n+79181110012;Денис;\n+79181110013;Евгения;Мебель-Сити\n8 (918) 111-00-01;Ада;\n12345;Жанна;\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p.do(chromedp.Click(`[data-testid="csv-open"]`))
	p.wait("the CSV dialog in Russian", `document.querySelector('[data-testid="csv-dialog"]').open`)
	p.do(chromedp.SetUploadFiles(`[data-testid="csv-file"]`, []string{csvRu}), chromedp.Click(`[data-testid="csv-import"]`))
	p.wait("the Russian import summed up", `document.querySelector('[data-testid="csv-status"]').textContent.includes('Готово') && !document.querySelector('[data-testid="csv-rejected"]').hidden`)
	readmeShot(t, ctx, "import-ru")
	p.do(chromedp.Click(`[data-testid="csv-close"]`))

	slices.Sort(latencies)
	t.Logf("webhook accepted → visible in the page, %d messages: min %v, median %v, max %v",
		len(latencies), latencies[0], latencies[len(latencies)/2], latencies[len(latencies)-1])
	// Settings: an admin runs the hub from the page.
	p.do(chromedp.Click(`[data-testid="admin-open"]`))
	p.wait("the operators", `document.querySelector('[data-testid="admin-op"]')`)
	p.do(chromedp.SendKeys(`[data-testid="admin-new-email"]`, "petr@example.com"),
		chromedp.SendKeys(`[data-testid="admin-new-name"]`, "Пётр"),
		chromedp.Click(`[data-testid="admin-new-operator"] button[type=submit]`))
	p.wait("the new operator listed", `document.querySelector('[data-testid="admin-op"][data-email="petr@example.com"]')`)
	p.wait("their one-time password shown", `document.querySelector('[data-testid="admin-status"]').textContent.includes('petr@example.com')`)
	p.do(chromedp.Click(`[data-testid="admin-op"][data-email="petr@example.com"] [data-testid="admin-op-toggle"]`))
	p.wait("Пётр disabled", `document.querySelector('[data-testid="admin-op"][data-email="petr@example.com"]').textContent.match(/disabled|отключён/)`)
	p.do(chromedp.Click(`[data-testid="admin-tab-teams"]`))
	p.do(chromedp.SendKeys(`[data-testid="admin-new-team-name"]`, "sales"), chromedp.Click(`[data-testid="admin-body"] form button[type=submit]`))
	p.wait("the team listed", `document.querySelector('[data-testid="admin-team"][data-name="sales"]')`)
	// Пётр joins the team from the operators' tab.
	p.do(chromedp.Click(`[data-testid="admin-tab-operators"]`))
	p.wait("the team choice", `document.querySelector('[data-testid="admin-op"][data-email="petr@example.com"] [data-testid="admin-op-join"]')`)
	p.eval(`(() => { const s = document.querySelector('[data-testid="admin-op"][data-email="petr@example.com"] [data-testid="admin-op-join"]');
		s.value = 'sales'; s.dispatchEvent(new Event('change')); return 'ok'; })()`)
	p.wait("Пётр in sales", `[...document.querySelectorAll('[data-testid="admin-op"][data-email="petr@example.com"] [data-testid="admin-op-teams"] .chip')].some(c => c.textContent.includes('sales'))`)
	readmeShot(t, ctx, "admin-operators-ru")
	// Channels: the Telegram row shows what Telegram says of the webhook,
	// asked when the tab opens.
	bot.mu.Lock()
	bot.hookURL, bot.hookPending = "https://hub.example.com/hooks/telegram/tg", 3
	bot.hookError, bot.hookErrorAt = "Wrong response from the webhook: 502 Bad Gateway", time.Now().Add(-40*time.Minute).Unix()
	bot.mu.Unlock()
	asked := len(bot.sent("getWebhookInfo"))
	p.do(chromedp.Click(`[data-testid="admin-tab-channels"]`))
	p.wait("the channels with their health", `document.querySelector('[data-testid="admin-channel"][data-channel="tg"]') && document.querySelector('[data-testid="admin-channel"][data-channel="site"]')`)
	details := `document.querySelector('[data-testid="admin-channel-details"][data-channel="tg"]')`
	p.wait("Telegram's webhook details", details+`.dataset.state === 'ok'`)
	if got := p.eval(details + `.querySelector('[data-testid="details-webhook"]').textContent`); got != "https://hub.example.com/hooks/telegram/tg" {
		t.Errorf("webhook shown as %q", got)
	}
	if got := p.eval(details + `.querySelector('[data-testid="details-pending"]').textContent`); got != "3" {
		t.Errorf("pending updates shown as %q", got)
	}
	if got := p.eval(details + `.querySelector('[data-testid="details-error"]').textContent`); !strings.Contains(got, "502 Bad Gateway") {
		t.Errorf("last error shown as %q", got)
	}
	if n := len(bot.sent("getWebhookInfo")); n != asked+1 {
		t.Errorf("opening Channels asked Telegram %d times", n-asked)
	}
	if p.eval(`document.querySelector('[data-testid="admin-channel-details"][data-channel="site"]') === null`) != "true" {
		t.Error("the site form offers details it has none of")
	}
	if strings.Contains(p.eval(`document.querySelector('[data-testid="admin-channels"]').textContent`), strings.SplitN(tgToken, ":", 2)[1]) {
		t.Fatal("the bot token is shown in Settings")
	}
	readmeShot(t, ctx, "admin-channels-ru")
	p.do(chromedp.Click(`[data-testid="admin-tab-audit"]`))
	p.wait("the audit log", `document.querySelectorAll('[data-testid="admin-audit-entry"]').length > 0`)
	p.do(chromedp.Click(`[data-testid="admin-tab-tokens"]`))
	p.do(chromedp.SendKeys(`[data-testid="admin-new-token-name"]`, "crm sync"), chromedp.Click(`[data-testid="admin-new-token"]`))
	p.wait("the token shown once", `document.querySelector('[data-testid="admin-status"]').textContent.includes('lh_') || /[A-Za-z0-9_-]{20,}/.test(document.querySelector('[data-testid="admin-status"]').textContent)`)
	p.wait("the token listed", `document.querySelector('[data-testid="admin-token"][data-name="crm sync"]')`)
	p.do(chromedp.Click(`[data-testid="admin-close"]`))

	// The operator changes their own password: signed out, they sign in
	// with the new one.
	p.do(chromedp.Click(`[data-testid="me"]`))
	p.wait("the account dialog", `document.querySelector('[data-testid="account-dialog"]').open`)
	p.do(chromedp.SendKeys(`[data-testid="password-current"]`, "wrong password"),
		chromedp.SendKeys(`[data-testid="password-new"]`, "Новый-пароль-2026"),
		chromedp.Click(`[data-testid="password-change"]`))
	p.wait("the wrong password refused", `!document.querySelector('[data-testid="password-error"]').hidden`)
	p.eval(`(document.querySelector('[data-testid="password-current"]').value = '', 'ok')`)
	p.do(chromedp.SendKeys(`[data-testid="password-current"]`, uiPassword), chromedp.Click(`[data-testid="password-change"]`))
	p.wait("signed out after the change", `!document.querySelector('[data-testid="login-form"]').closest('[hidden]') && document.body.dataset.view === 'login'`)
	p.do(chromedp.SendKeys(`[data-testid="login-email"]`, uiEmail),
		chromedp.SendKeys(`[data-testid="login-password"]`, "Новый-пароль-2026"),
		chromedp.Click(`[data-testid="login-submit"]`))
	p.wait("signed in with the new password", `document.body.dataset.view === 'app'`)

	// Settings in English, for the README.
	if os.Getenv("LEADHUB_UI_SCREENSHOTS") == "1" {
		p.do(chromedp.SetValue(`[data-testid="lang-select"]`, "en"))
		p.eval(`document.querySelector('[data-testid="lang-select"]').dispatchEvent(new Event('change', {bubbles: true}))`)
		p.wait("English labels", `document.documentElement.lang === 'en'`)
		p.do(chromedp.Click(`[data-testid="admin-open"]`))
		p.wait("the operators in English", `document.querySelector('[data-testid="admin-op"][data-email="petr@example.com"]')`)
		readmeShot(t, ctx, "admin-operators-en")
		p.do(chromedp.Click(`[data-testid="admin-tab-channels"]`))
		p.wait("Telegram's webhook details in English", `document.querySelector('[data-testid="admin-channel-details"][data-channel="tg"]').dataset.state === 'ok'`)
		readmeShot(t, ctx, "admin-channels-en")
		p.do(chromedp.Click(`[data-testid="admin-close"]`))
	}

	if strings.Contains(hub.logs.String(), uiPassword) || strings.Contains(hub.logs.String(), "Новый-пароль-2026") {
		t.Fatal("the operator's password appears in the logs")
	}
}

// readmeShot saves the README's screenshots of the workspace when
// LEADHUB_UI_SCREENSHOTS=1.
func readmeShot(t *testing.T, ctx context.Context, name string) {
	if os.Getenv("LEADHUB_UI_SCREENSHOTS") != "1" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := "../../web/testdata/screenshots/" + name + ".png"
	if err := os.MkdirAll("../../web/testdata/screenshots", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("saved %s", path)
}
