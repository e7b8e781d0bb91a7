package web

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/store"
)

// TestUIBrowserSegments, on the real store: a supervisor opens the clients
// page, sees the whole base counted, narrows it by tag and first-touch
// source and sees the count follow, saves the filter as a segment shared
// with the team, reloads the page and loads it again, and downloads its
// CSV through the page's export link (audited).
func TestUIBrowserSegments(t *testing.T) {
	fx := newFixtureWith(t, Options{}, store.Options{})
	ctx := context.Background()
	teams := []string{"sales"}
	if _, _, err := fx.st.UpdateOperator(ctx, 0, fx.super.ID, inbox.OperatorPatch{Teams: &teams}); err != nil {
		t.Fatal(err)
	}
	lead := func(channel, name, phone string, meta map[string]string, tags ...string) int64 {
		t.Helper()
		filed, _, err := fx.st.FileBatch(ctx, []inbox.Envelope{{DedupeKey: "seg:" + phone, ChannelID: channel,
			ChannelType: inbox.ChannelAPI, Kind: inbox.KindText, Text: "Заявка с сайта", Meta: meta,
			From: inbox.Contact{Name: name, Identities: []inbox.Identity{{Kind: inbox.IdentityPhone, Value: phone}}}}})
		if err != nil {
			t.Fatal(err)
		}
		c, err := fx.st.GetConversation(ctx, filed[0].Message.ConversationID)
		if err != nil {
			t.Fatal(err)
		}
		if len(tags) > 0 {
			if _, _, err := fx.st.UpdateClient(ctx, 0, c.ClientID, inbox.ClientPatch{Tags: &tags}); err != nil {
				t.Fatal(err)
			}
		}
		return c.ClientID
	}
	kitchens := map[string]string{"utm_source": "yandex", "utm_campaign": "kitchens"}
	anna := lead("shop", "Анна Смирнова", "+79161110001", kitchens, "vip")
	lead("shop", "Борис Петров", "+79161110002", map[string]string{"utm_source": "google", "utm_campaign": "sale"})
	lead("help", "Вера Кузнецова", "+79161110003", nil, "vip")
	lead("help", "Глеб Орлов", "+79161110004", kitchens)

	srv := httptest.NewServer(fx.h)
	t.Cleanup(srv.Close)
	p := newUIPage(t, srv.URL)
	p.do(chromedp.EmulateViewport(1366, 900))
	p.signIn("super@example.com", fxPassword)
	count := func(n int) string {
		return fmt.Sprintf(`document.querySelector('[data-testid="segment-count"]').dataset.count === '%d'`, n)
	}
	rows := `document.querySelectorAll('[data-testid="segment-client"]').length`

	p.click(`[data-testid="clients-open"]`)
	p.waitJS("the whole base", count(4)+` && `+rows+` === 4`)
	p.do(chromedp.SendKeys(chromedp.CSS(`[data-testid="filter-tags"]`), "vip"))
	p.waitJS("the count of vip", count(2)+` && `+rows+` === 2`)
	p.do(chromedp.SendKeys(chromedp.CSS(`[data-testid="filter-first_source"]`), "yandex"))
	p.waitJS("the count of vip from yandex", count(1)+` && `+rows+` === 1`)
	if got := p.text(`[data-testid="segment-client"]`); !strings.Contains(got, "Анна Смирнова") || !strings.Contains(got, "+79161110001") ||
		!strings.Contains(got, "yandex / kitchens") {
		t.Errorf("the row says %q", got)
	}
	// A bad value is the server's reason, not a silent zero.
	p.do(chromedp.SendKeys(chromedp.CSS(`[data-testid="filter-contacted_before"]`), "soon"))
	p.waitJS("the reason", `document.querySelector('[data-testid="clients-status"]').textContent.includes('contacted_before')`)
	p.eval(`(() => { const i = document.querySelector('[data-testid="filter-contacted_before"]'); i.value = '1d'; i.dispatchEvent(new Event('input')); return true; })()`, nil)
	p.waitJS("the count again", count(0)+` && document.querySelector('[data-testid="clients-status"]').hidden`)
	p.eval(`(() => { const i = document.querySelector('[data-testid="filter-contacted_before"]'); i.value = ''; i.dispatchEvent(new Event('input')); return true; })()`, nil)
	p.waitJS("back to one", count(1))

	p.do(chromedp.SendKeys(chromedp.CSS(`[data-testid="segment-name"]`), "VIP с кухнями"))
	p.do(chromedp.SetValue(chromedp.CSS(`[data-testid="segment-share"]`), "sales"))
	p.click(`[data-testid="segment-save"]`)
	p.waitJS("saved", `[...document.querySelectorAll('[data-testid="segment-list"] option')].some((o) => o.textContent === 'VIP с кухнями (sales)')`)
	gs, err := fx.st.Segments(ctx, fx.super.ID, inbox.RoleSupervisor)
	if err != nil || len(gs) != 1 || gs[0].Team != "sales" || gs[0].Filter.FirstSource != "yandex" || len(gs[0].Filter.Tags) != 1 {
		t.Fatalf("saved segments: %+v %v", gs, err)
	}
	seg := gs[0]
	p.readmeShot("segments-en")

	// After a reload the segment is loaded from the list.
	p.do(chromedp.Reload())
	p.waitJS("the websocket", `document.body.dataset.ws === 'open'`)
	p.click(`[data-testid="clients-open"]`)
	p.waitJS("the whole base again", count(4))
	p.eval(fmt.Sprintf(`(() => { const s = document.querySelector('[data-testid="segment-list"]'); s.value = '%d'; s.dispatchEvent(new Event('change')); return true; })()`, seg.ID), nil)
	p.waitJS("the segment's count", count(1))
	if got := p.value(`[data-testid="filter-tags"]`); got != "vip" {
		t.Errorf("the loaded tags: %q", got)
	}
	href := fmt.Sprintf("/api/v1/segments/%d/clients.csv", seg.ID)
	p.waitJS("the segment's export link", fmt.Sprintf(`document.querySelector('[data-testid="segment-export"]').getAttribute('href') === '%s'`, href))
	// The link downloads the CSV with the session's cookie.
	var csv string
	p.eval(`(fetch(document.querySelector('[data-testid="segment-export"]').href).then((r) => r.text()).then((s) => { window.segmentCSV = s; }), true)`, nil)
	p.waitJS("the download", `typeof window.segmentCSV === 'string'`)
	p.eval(`window.segmentCSV`, &csv)
	if lines := strings.Split(strings.TrimSpace(csv), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[1], fmt.Sprintf("%d;Анна Смирнова;", anna)) {
		t.Errorf("the segment's CSV: %q", csv)
	}
	entries, _, err := fx.st.ListAudit(ctx, inbox.AuditFilter{Action: "clients.export"})
	if err != nil || len(entries) != 1 || entries[0].EntityID != seg.ID {
		t.Errorf("the export's audit: %+v %v", entries, err)
	}
	// Changing the filter points the export at the filter as it is.
	p.eval(`(() => { const s = document.querySelector('[data-testid="filter-open"]'); s.value = 'true'; s.dispatchEvent(new Event('change')); return true; })()`, nil)
	p.waitJS("the filter's export link", `document.querySelector('[data-testid="segment-export"]').getAttribute('href').startsWith('/api/v1/clients/filter.csv?') && `+count(1))

	// In Russian, for the README.
	p.click(`[data-testid="clients-close"]`)
	p.do(chromedp.SetValue(chromedp.CSS(`[data-testid="lang-select"]`), "ru"))
	p.eval(`document.querySelector('[data-testid="lang-select"]').dispatchEvent(new Event('change')), true`, nil)
	p.click(`[data-testid="clients-open"]`)
	p.waitJS("the page in Russian", `document.querySelector('#clients-title').textContent === 'Клиенты: сегменты' && `+count(4))
	p.eval(fmt.Sprintf(`(() => { const s = document.querySelector('[data-testid="segment-list"]'); s.value = '%d'; s.dispatchEvent(new Event('change')); return true; })()`, seg.ID), nil)
	p.waitJS("the segment in Russian", count(1)+` && document.querySelector('[data-testid="segment-count"]').textContent === 'Клиентов: 1'`)
	p.readmeShot("segments-ru")
	p.noCSPViolations()
}
