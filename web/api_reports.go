package web

import (
	"context"
	"fmt"
	"html"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// ReportStore is what the reports need of the store.
type ReportStore interface {
	Report(ctx context.Context, name string, q inbox.ReportQuery) (inbox.Report, error)
}

// reportParams are the query parameters a report takes; any other is a
// mistake worth a 400 rather than a silently wider report.
var reportParams = []string{"from", "to", "channel", "team", "format", "table", "sep"}

// reportQuery reads a report request: the range (default: the last 30
// days), and the channels the operator may and asked to see. Admins see
// every channel; a supervisor in teams sees their teams' channels, one in
// none sees all.
func (a *apiHandler) reportQuery(r *http.Request) (inbox.ReportQuery, error) {
	q := r.URL.Query()
	for k := range q {
		if !slices.Contains(reportParams, k) {
			return inbox.ReportQuery{}, inbox.Reasonf(inbox.EINVALID, "unknown_parameter", map[string]string{"name": k}, "unknown parameter %q", k)
		}
	}
	loc := a.reportLoc
	from, to := q.Get("from"), q.Get("to")
	if to == "" {
		to = time.Now().In(loc).Format(time.DateOnly)
	}
	if from == "" {
		if t, err := time.ParseInLocation(time.DateOnly, to, loc); err == nil {
			from = t.AddDate(0, 0, -29).Format(time.DateOnly)
		}
	}
	allowed, err := a.reportChannels(r)
	if err != nil {
		return inbox.ReportQuery{}, err
	}
	chans := allowed
	pick := func(want []string) error {
		if allowed != nil {
			for _, ch := range want {
				if !slices.Contains(allowed, ch) {
					return inbox.Errorf(inbox.EFORBIDDEN, "channel %s is not one of your teams'", ch)
				}
			}
		}
		chans = want
		return nil
	}
	if team := q.Get("team"); team != "" {
		if err := pick(a.access.channelsWhere(func(t string) bool { return t == team })); err != nil {
			return inbox.ReportQuery{}, err
		}
	}
	if ch := q.Get("channel"); ch != "" {
		inTeam := q.Get("team") == "" || slices.Contains(chans, ch)
		if err := pick([]string{ch}); err != nil {
			return inbox.ReportQuery{}, err
		}
		if !inTeam {
			chans = []string{} // a channel outside the team asked for: nothing
		}
	}
	return inbox.NewReportQuery(from, to, loc, chans)
}

// reportChannels is nil (all) or the channels the operator's reports may
// cover.
func (a *apiHandler) reportChannels(r *http.Request) ([]string, error) {
	op, _ := operatorFrom(r.Context())
	if op.Role == inbox.RoleAdmin {
		return nil, nil
	}
	teams, err := a.store.OperatorTeams(r.Context(), op.ID)
	if err != nil || len(teams) == 0 {
		return nil, err
	}
	return a.access.channelsWhere(func(t string) bool { return slices.Contains(teams, t) }), nil
}

// getReport answers GET /api/v1/reports/{name}: the report as JSON, or one
// of its tables as CSV (GET /api/v1/reports/{name}.csv, or format=csv;
// table=, sep=).
func (a *apiHandler) getReport(w http.ResponseWriter, r *http.Request) {
	format := r.URL.Query().Get("format")
	if name, ok := strings.CutSuffix(r.PathValue("name"), ".csv"); ok {
		r.SetPathValue("name", name)
		format = "csv"
	}
	rep, ok := a.runReport(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	switch format {
	case "", "json":
		writeJSON(w, r, http.StatusOK, rep)
	case "csv":
		t, ok := rep.Table(q.Get("table"))
		if !ok {
			writeError(w, r, inbox.Errorf(inbox.EINVALID, "report %s has no table %q", rep.Name, q.Get("table")))
			return
		}
		sep := ';'
		if q.Get("sep") == "comma" {
			sep = ','
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="leadhub-%s-%s-%s-%s.csv"`, rep.Name, t.Name, rep.From, rep.To))
		if err := inbox.WriteTableCSV(w, t, sep); err != nil {
			loggerFrom(r.Context()).Warn("report CSV", "err", err)
		}
	default:
		writeError(w, r, inbox.Errorf(inbox.EINVALID, "format must be json or csv"))
	}
}

func (a *apiHandler) runReport(w http.ResponseWriter, r *http.Request) (inbox.Report, bool) {
	name := r.PathValue("name")
	if !slices.Contains(inbox.Reports, name) {
		writeError(w, r, inbox.Errorf(inbox.ENOTFOUND, "no report %q", name))
		return inbox.Report{}, false
	}
	q, err := a.reportQuery(r)
	if err != nil {
		writeError(w, r, err)
		return inbox.Report{}, false
	}
	rep, err := a.store.Report(r.Context(), name, q)
	if err != nil {
		writeError(w, r, err)
		return inbox.Report{}, false
	}
	return rep, true
}

// chartOf says which table and column a report's chart draws.
var chartOf = map[string]struct{ table, column string }{
	inbox.ReportLeads:         {"leads_per_day", "total"},
	inbox.ReportFirstResponse: {"by_channel", "p50_seconds"},
	inbox.ReportUnanswered:    {"waiting_now", "waiting"},
	inbox.ReportTriage:        {"triage", "accepted_percent"},
	inbox.ReportUTM:           {"first_touch", "leads"},
	inbox.ReportCalls:         {"missed_calls", "missed"},
	inbox.ReportSLA:           {"by_channel", "total"},
}

// reportChart answers GET /api/v1/reports/{name}/chart.svg: the report's
// main figure as a bar chart drawn here, so the page needs no chart
// library and the image can run nothing.
func (a *apiHandler) reportChart(w http.ResponseWriter, r *http.Request) {
	rep, ok := a.runReport(w, r)
	if !ok {
		return
	}
	c := chartOf[rep.Name]
	t, _ := rep.Table(c.table)
	col := slices.Index(t.Columns, c.column)
	var labels []string
	var values []float64
	for _, row := range t.Rows {
		var parts []string
		for i, v := range row {
			if s, ok := v.(string); ok && i < max(col, 1) && s != "" {
				parts = append(parts, s)
			}
		}
		labels = append(labels, strings.Join(parts, " / "))
		values = append(values, number(row[col]))
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(barChart(c.column, labels, values))
}

func number(v any) float64 {
	switch n := v.(type) {
	case int:
		return float64(n)
	case int64:
		return float64(n)
	case float64:
		return n
	}
	return 0
}

// barChart draws values as vertical bars with their labels under them and
// the largest value on the axis. Labels are text from the open web (a
// campaign name), so everything is escaped.
func barChart(title string, labels []string, values []float64) []byte {
	const w, h, left, bottom, top = 720.0, 260.0, 48.0, 56.0, 24.0
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`,
		w, h, w, h, html.EscapeString(title))
	b.WriteString(`<style>text{font:11px sans-serif;fill:#5d6576}</style>`)
	peak := 0.0
	for _, v := range values {
		peak = math.Max(peak, v)
	}
	plotH := h - bottom - top
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#dfe2e8"/>`, left, h-bottom, w, h-bottom)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="end">%s</text>`, left-6, top+4, html.EscapeString(strconv.FormatFloat(peak, 'f', -1, 64)))
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="end">0</text>`, left-6, h-bottom)
	if n := len(values); n > 0 {
		slot := (w - left) / float64(n)
		every := int(math.Ceil(float64(n) / 16)) // at most 16 labels fit
		for i, v := range values {
			bh := 0.0
			if peak > 0 {
				bh = v / peak * plotH
			}
			x := left + float64(i)*slot
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#2454d6"><title>%s: %s</title></rect>`,
				x+slot*0.15, h-bottom-bh, slot*0.7, bh, html.EscapeString(labels[i]), html.EscapeString(strconv.FormatFloat(v, 'f', -1, 64)))
			if i%every == 0 {
				label := []rune(labels[i])
				if len(label) > 14 {
					label = append(label[:13], '…')
				}
				fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="end" transform="rotate(-35 %.1f %.0f)">%s</text>`,
					x+slot/2, h-bottom+14, x+slot/2, h-bottom+14, html.EscapeString(string(label)))
			}
		}
	}
	b.WriteString(`</svg>`)
	return []byte(b.String())
}
