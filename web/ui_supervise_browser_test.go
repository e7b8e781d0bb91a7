package web

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/store"
)

// readmeShot saves the window as web/testdata/screenshots/<name>.png for the
// README when LEADHUB_UI_SCREENSHOTS=1.
func (p *uiPage) readmeShot(name string) {
	p.t.Helper()
	if os.Getenv("LEADHUB_UI_SCREENSHOTS") != "1" {
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join("testdata", "screenshots", name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.t.Logf("saved %s", path)
}

// signIn signs in through the page's form.
func (p *uiPage) signIn(email, password string) {
	p.t.Helper()
	p.do(
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-email"]`), email),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="login-password"]`), password),
		chromedp.Click(chromedp.CSS(`[data-testid="login-submit"]`)),
	)
	p.waitJS("the websocket", `document.body.dataset.ws === 'open'`)
}

// TestUIBrowserSupervision, on the real store and a fake clock: a
// conversation shows when its answer is due, then that it is late; the
// supervisor's bell rings for each breach and the overdue task (live, over
// the websocket), opening it marks them read, and an alert opens its
// conversation; the supervisor's view lists what is open with its SLA
// state, who is online, the overdue task, and reassigns in place.
func TestUIBrowserSupervision(t *testing.T) {
	clock := inbox.NewFakeClock(time.Now().UTC().Truncate(time.Second))
	policy := &inbox.SLAPolicy{Default: inbox.SLATargets{First: 15 * time.Minute, Next: time.Hour}}
	fx := newFixtureWith(t, Options{}, store.Options{Clock: clock, SLA: policy})
	ctx := context.Background()
	shop := fx.first("shop", "Сколько стоит кухня?")
	help := fx.first("help", "Не работает доставка")
	due := clock.Now().Add(-2 * time.Hour)
	if _, _, err := fx.st.CreateTask(ctx, 0, shop.ClientID, inbox.Task{Title: "Перезвонить по кухне", Kind: inbox.TaskCallback,
		DueAt: &due, AssigneeID: &fx.olga.ID}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(fx.h)
	t.Cleanup(srv.Close)
	p := newUIPage(t, srv.URL)
	p.do(chromedp.EmulateViewport(1366, 768))
	p.signIn("super@example.com", fxPassword)
	row := func(id int64) string {
		return fmt.Sprintf(`document.querySelector('[data-testid="conversation-row"][data-conversation-id="%d"] [data-testid="row-sla"]')`, id)
	}
	p.waitJS("the due time on the row", row(shop.ID)+` && `+row(shop.ID)+`.textContent.startsWith('Answer by')`)
	var hidden bool
	p.eval(`document.querySelector('[data-testid="alert-count"]').hidden`, &hidden)
	if !hidden {
		t.Fatal("the bell counts alerts before any")
	}

	// Sixteen minutes later nobody has answered: the supervisor hears of
	// both conversations and of the task two hours late.
	clock.Advance(16 * time.Minute)
	if _, err := fx.st.RaiseAlerts(ctx, time.Hour, 100); err != nil {
		t.Fatal(err)
	}
	fx.srv.Hub().Publish(ctx, nil)
	p.waitJS("the bell's count", `document.querySelector('[data-testid="alert-count"]').textContent === '3'`)
	p.waitJS("the late row", row(shop.ID)+`.textContent === 'Late' && `+row(help.ID)+`.textContent === 'Late'`)

	p.click(`[data-testid="alert-bell"]`)
	p.waitJS("the alerts", `document.querySelectorAll('[data-testid="alert-item"]').length === 3`)
	p.waitJS("read", `document.querySelector('[data-testid="alert-count"]').hidden`)
	var kinds []string
	p.eval(`[...document.querySelectorAll('[data-testid="alert-item"]')].map((b) => b.dataset.kind)`, &kinds)
	want := map[string]int{inbox.AlertSLABreached: 2, inbox.AlertTaskOverdue: 1}
	for _, k := range kinds {
		want[k]--
	}
	for k, n := range want {
		if n != 0 {
			t.Errorf("alert kinds %v: %s off by %d", kinds, k, n)
		}
	}
	item := fmt.Sprintf(`[data-testid="alert-item"][data-kind="sla.breached"][data-conversation-id="%d"]`, shop.ID)
	if got := p.text(item); !strings.Contains(got, "Клиент") || !strings.Contains(got, "late by 1 min") {
		t.Errorf("the breach alert says %q", got)
	}
	p.readmeShot("alerts-en")
	p.click(item)
	p.waitJS("the conversation the alert is about", fmt.Sprintf(`window.location.hash === '#c=%d' && document.querySelector('#timeline [data-testid="message"]') !== null`, shop.ID))
	var panelHidden bool
	p.eval(`document.querySelector('[data-testid="alert-panel"]').hidden`, &panelHidden)
	if !panelHidden {
		t.Error("the alert panel stayed open")
	}
	// Read alerts stay read after a reload.
	p.do(chromedp.Reload())
	p.waitJS("the websocket", `document.body.dataset.ws === 'open'`)
	p.eval(`document.querySelector('[data-testid="alert-count"]').hidden`, &hidden)
	if !hidden {
		t.Error("read alerts count again after a reload")
	}

	// The supervisor's view.
	p.click(`[data-testid="supervise-open"]`)
	p.waitJS("the view", `document.querySelectorAll('[data-testid="supervise-conversation"]').length === 2 && document.querySelectorAll('[data-testid="supervise-task"]').length === 1`)
	var late int
	p.eval(`document.querySelectorAll('[data-testid="supervise-conversation"] [data-testid="sla-breached"]').length`, &late)
	if late != 2 {
		t.Errorf("%d conversations shown late, want 2", late)
	}
	var online []string
	p.eval(`[...document.querySelectorAll('[data-testid="supervise-operator"]')].map((r) => r.dataset.online)`, &online)
	if len(online) != 4 {
		t.Errorf("operators %v, want 4", online)
	}
	if got := p.text(`[data-testid="supervise-task"]`); !strings.Contains(got, "Перезвонить по кухне") || !strings.Contains(got, "olga@example.com") {
		t.Errorf("the overdue task row: %q", got)
	}
	p.readmeShot("supervision-en")
	sel := fmt.Sprintf(`document.querySelector('[data-testid="supervise-conversation"][data-conversation-id="%d"] [data-testid="supervise-assignee"]')`, shop.ID)
	p.eval(fmt.Sprintf(`(() => { const s = %s; s.value = '%d'; s.dispatchEvent(new Event('change')); return true; })()`, sel, fx.olga.ID), nil)
	p.waitJS("reassigned", `document.querySelector('[data-testid="supervise-status"]').textContent === 'Reassigned.'`)
	p.waitJS("the new assignee", sel+`.value === '`+fmt.Sprint(fx.olga.ID)+`'`)
	c, err := fx.st.GetConversation(ctx, shop.ID)
	if err != nil || c.AssigneeID == nil || *c.AssigneeID != fx.olga.ID {
		t.Fatalf("after reassigning: %+v %v", c.AssigneeID, err)
	}

	// In Russian, for the README.
	p.click(`[data-testid="supervise-close"]`)
	p.do(chromedp.SetValue(chromedp.CSS(`[data-testid="lang-select"]`), "ru"))
	p.eval(`document.querySelector('[data-testid="lang-select"]').dispatchEvent(new Event('change')), true`, nil)
	p.click(`[data-testid="supervise-open"]`)
	p.waitJS("the view in Russian", `document.querySelector('#supervise-title').textContent === 'Контроль' && document.querySelectorAll('[data-testid="supervise-conversation"]').length === 2`)
	p.readmeShot("supervision-ru")
	p.click(`[data-testid="supervise-close"]`)
	p.click(`[data-testid="alert-bell"]`)
	p.waitJS("the alerts in Russian", `document.querySelector('[data-testid="alert-item"] .alert__title').textContent.includes('просроч')`)
	p.readmeShot("alerts-ru")
	p.noCSPViolations()
}
