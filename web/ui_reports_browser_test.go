package web

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/leadhub/leadhub/inbox"
)

// TestUIBrowserReports: a supervisor opens the reports, sees today's
// leads in the table and the server's chart drawn, switches to the
// campaigns where a hostile campaign name stays text, narrows to one
// channel, gets a CSV link for each table, and a reversed range says why
// in the page's language.
func TestUIBrowserReports(t *testing.T) {
	fx := newFixture(t, Options{})
	ctx := context.Background()
	fx.first("shop", "кухня")
	fx.first("shop", "шкаф")
	fx.first("help", "не работает")
	env := inbox.Envelope{DedupeKey: "utm-1", ChannelID: "site", ChannelType: inbox.ChannelForm, Text: "x", ReceivedAt: time.Now(),
		Meta: map[string]string{"utm_source": `<img src=x onerror=alert(1)>`, "utm_campaign": "kitchens"},
		From: inbox.Contact{Identities: []inbox.Identity{{Kind: inbox.IdentityPhone, Value: "+79990001122"}}}}
	if _, _, err := fx.st.FileBatch(ctx, []inbox.Envelope{env}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(fx.h)
	t.Cleanup(srv.Close)
	p := newUIPage(t, srv.URL)
	p.do(chromedp.EmulateViewport(1366, 768))
	p.signIn("super@example.com", fxPassword)
	p.waitJS("the inbox", `document.querySelectorAll('[data-testid="conversation-row"]').length === 4`)
	p.click(`[data-testid="reports-open"]`)
	today := `document.querySelector('[data-testid="report-table"][data-table="leads_per_day"] tbody tr:last-child')`
	p.waitJS("today's leads", today+` && `+today+`.lastElementChild.textContent === '4'`)
	p.waitJS("the chart", `(() => { const i = document.querySelector('[data-testid="report-chart"]'); return i.complete && i.naturalWidth === 720; })()`)
	p.readmeShot("reports-en")

	p.click(`[data-testid="report-tab-utm"]`)
	first := `document.querySelector('[data-testid="report-table"][data-table="first_touch"]')`
	p.waitJS("the campaigns", first+` && `+first+`.textContent.includes('<img src=x onerror=alert(1)>')`)
	var imgs int
	p.eval(`document.querySelectorAll('[data-testid="report-body"] table img').length`, &imgs)
	if imgs != 0 {
		t.Fatal("a campaign name became markup")
	}
	var links []string
	p.eval(`[...document.querySelectorAll('[data-testid="report-csv"]')].map((a) => a.getAttribute('href'))`, &links)
	if len(links) != 2 || !strings.Contains(links[0], "format=csv") || !strings.Contains(links[1], "table=last_touch") {
		t.Errorf("CSV links %v", links)
	}

	p.click(`[data-testid="report-tab-leads"]`)
	p.eval(`(() => { const s = document.querySelector('[data-testid="report-channel"]'); s.value = 'shop'; s.dispatchEvent(new Event('change')); return true; })()`, nil)
	p.waitJS("one channel", today+` && `+today+`.lastElementChild.textContent === '2'`)

	p.eval(`(() => { const f = document.querySelector('[data-testid="report-from"]'); f.value = '2026-12-31'; 
		const to = document.querySelector('[data-testid="report-to"]'); to.value = '2026-12-01'; to.dispatchEvent(new Event('change')); return true; })()`, nil)
	p.waitJS("the reason", `document.querySelector('[data-testid="report-status"]').textContent === 'the range ends before it starts'`)
	p.noCSPViolations()
}
