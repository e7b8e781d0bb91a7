package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/leadhub/leadhub/inbox"
)

func (f *fakeStore) Report(context.Context, string, inbox.ReportQuery) (inbox.Report, error) {
	return inbox.Report{}, nil
}

// TestReportsAPI: reports for supervisors and admins, a supervisor in a
// team limited to the team's channels, CSV export of a table, a chart
// image that cannot run what a campaign name carries, and the bad inputs.
func TestReportsAPI(t *testing.T) {
	fx := newFixture(t, Options{})
	ctx := context.Background()
	hash, _ := bcrypt.GenerateFromPassword([]byte(fxPassword), bcrypt.MinCost)
	if _, _, err := fx.st.AddOperator(ctx, 0, inbox.Operator{Email: "lead@example.com", Role: inbox.RoleSupervisor}, string(hash), []string{"sales"}); err != nil {
		t.Fatal(err)
	}
	fx.first("shop", "кухня")
	fx.first("shop", "шкаф")
	fx.first("help", "не работает")
	env := inbox.Envelope{DedupeKey: "utm-1", ChannelID: "site", ChannelType: inbox.ChannelForm, Text: "x", ReceivedAt: time.Now(),
		Meta: map[string]string{"utm_source": `<script>alert(1)</script>`},
		From: inbox.Contact{Identities: []inbox.Identity{{Kind: inbox.IdentityPhone, Value: "+79990001122"}}}}
	if _, _, err := fx.st.FileBatch(ctx, []inbox.Envelope{env}); err != nil {
		t.Fatal(err)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	get := func(who session, path string) *httptest.ResponseRecorder {
		t.Helper()
		return do(t, fx.h, "GET", path, "", who.header()...)
	}
	admin, lead, olga := fx.login("admin@example.com"), fx.login("lead@example.com"), fx.login("olga@example.com")
	leads := func(who session, q string) map[string]int {
		t.Helper()
		w := get(who, "/api/v1/reports/leads?from="+today+"&to="+today+q)
		var rep inbox.Report
		if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &rep) != nil {
			t.Fatalf("leads%s = %d %s", q, w.Code, w.Body)
		}
		out := map[string]int{}
		tb := rep.Tables[0]
		for i, c := range tb.Columns[1:] {
			out[c] = int(tb.Rows[0][i+1].(float64))
		}
		return out
	}
	if got := leads(admin, ""); got["shop"] != 2 || got["help"] != 1 || got["site"] != 1 || got["total"] != 4 {
		t.Errorf("the admin's leads = %v", got)
	}
	if got := leads(lead, ""); got["shop"] != 2 || got["help"] != 0 || got["total"] != 2 {
		t.Errorf("the sales supervisor's leads = %v, want sales' channel only", got)
	}
	if got := leads(admin, "&team=support"); got["help"] != 1 || got["total"] != 1 {
		t.Errorf("team=support = %v", got)
	}
	for _, c := range []struct {
		who  session
		path string
		code int
	}{
		{olga, "/api/v1/reports/leads", http.StatusForbidden},
		{lead, "/api/v1/reports/leads?channel=help", http.StatusForbidden},
		{admin, "/api/v1/reports/leads?from=2026-12-31&to=2026-12-01", http.StatusBadRequest},
		{admin, "/api/v1/reports/leads?from=2024-01-01&to=2026-12-01", http.StatusBadRequest},
		{admin, "/api/v1/reports/leads?colour=red", http.StatusBadRequest},
		{admin, "/api/v1/reports/leads?format=xml", http.StatusBadRequest},
		{admin, "/api/v1/reports/utm?format=csv&table=nope", http.StatusBadRequest},
		{admin, "/api/v1/reports/nope", http.StatusNotFound},
	} {
		if w := get(c.who, c.path); w.Code != c.code {
			t.Errorf("%s = %d %s, want %d", c.path, w.Code, w.Body, c.code)
		}
	}
	w := get(admin, "/api/v1/reports/utm?format=csv&table=first_touch")
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Body.String(), "\xef\xbb\xbfutm_source;utm_campaign;leads\n") ||
		!strings.Contains(w.Body.String(), "<script>alert(1)</script>;;1") || w.Header().Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Errorf("CSV = %d %q %v", w.Code, w.Body, w.Header())
	}
	if w := get(admin, "/api/v1/reports/utm.csv?table=last_touch&sep=comma"); w.Code != http.StatusOK ||
		!strings.HasPrefix(w.Body.String(), "\xef\xbb\xbfutm_source,utm_campaign,leads\n") {
		t.Errorf("utm.csv = %d %q", w.Code, w.Body)
	}
	w = get(admin, "/api/v1/reports/utm/chart.svg")
	body := w.Body.String()
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "image/svg+xml" || strings.Contains(body, "<script>") ||
		!strings.Contains(body, "&lt;script&gt;") || !strings.HasPrefix(body, "<svg") {
		t.Errorf("chart = %d %s", w.Code, body)
	}
	for _, name := range inbox.Reports {
		if w := get(admin, "/api/v1/reports/"+name+"/chart.svg"); w.Code != http.StatusOK {
			t.Errorf("%s chart = %d %s", name, w.Code, w.Body)
		}
	}
}
