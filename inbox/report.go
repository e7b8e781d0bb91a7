package inbox

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Reports: what the leads do, over a range of the business's days. Every
// report is one or more tables of plain values, so that the page, the
// charts and the CSV export all read the same thing.

// Report names.
const (
	ReportLeads         = "leads"          // leads per channel per day
	ReportFirstResponse = "first_response" // first-answer time p50/p90 per channel and per operator
	ReportUnanswered    = "unanswered"     // clients waiting for an answer now
	ReportTriage        = "triage"         // new senders: accepted vs spam
	ReportUTM           = "utm"            // leads by first- and last-touch campaign marks
	ReportCalls         = "calls"          // missed calls and the time to call back
	ReportSLA           = "sla"            // missed answer targets
)

// Reports lists the report names in the order the page shows them.
var Reports = []string{ReportLeads, ReportFirstResponse, ReportUnanswered, ReportTriage, ReportUTM, ReportCalls, ReportSLA}

// MaxReportDays bounds a report's range.
const MaxReportDays = 366

// ReportQuery is what a report covers: the instants [From, To) — whole days
// in Location — and the channels (nil: all).
type ReportQuery struct {
	From, To time.Time
	Location *time.Location
	Channels []string
}

// NewReportQuery reads a range of days "2026-11-01".."2026-11-30"
// (inclusive) in loc: EINVALID when a date is malformed, the range reversed
// or longer than MaxReportDays.
func NewReportQuery(from, to string, loc *time.Location, channels []string) (ReportQuery, error) {
	if loc == nil {
		loc = time.UTC
	}
	f, err := time.ParseInLocation(time.DateOnly, from, loc)
	if err != nil {
		return ReportQuery{}, Reasonf(EINVALID, "bad_date", map[string]string{"field": "from"}, "from must be a date like 2026-11-01")
	}
	t, err := time.ParseInLocation(time.DateOnly, to, loc)
	if err != nil {
		return ReportQuery{}, Reasonf(EINVALID, "bad_date", map[string]string{"field": "to"}, "to must be a date like 2026-11-30")
	}
	if t.Before(f) {
		return ReportQuery{}, Reasonf(EINVALID, "range_reversed", nil, "the range ends (%s) before it starts (%s)", to, from)
	}
	end := t.AddDate(0, 0, 1)
	if days := int(end.Sub(f).Hours()/24 + 0.5); days > MaxReportDays {
		return ReportQuery{}, Reasonf(EINVALID, "range_too_long", map[string]string{"max": fmt.Sprint(MaxReportDays)},
			"a report covers at most %d days, not %d", MaxReportDays, days)
	}
	return ReportQuery{From: f.UTC(), To: end.UTC(), Location: loc, Channels: channels}, nil
}

// ReportTable is one table of a report: named columns, rows of values.
type ReportTable struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns"`
	Rows    [][]any  `json:"rows"`
}

// Report is a report's tables over its range.
type Report struct {
	Name   string        `json:"name"`
	From   string        `json:"from"`
	To     string        `json:"to"`
	Tables []ReportTable `json:"tables"`
}

// Table returns the report's table of that name ("" the first).
func (r Report) Table(name string) (ReportTable, bool) {
	if name == "" && len(r.Tables) > 0 {
		return r.Tables[0], true
	}
	i := slices.IndexFunc(r.Tables, func(t ReportTable) bool { return t.Name == name })
	if i < 0 {
		return ReportTable{}, false
	}
	return r.Tables[i], true
}

// Percentile is the p-th percentile (0..1) of sorted values, by nearest
// rank; 0 for none.
func Percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// SheetSafe keeps a spreadsheet from running a cell as a formula: text
// that starts with = + - or @ gets a leading "'".
func SheetSafe(cell string) string {
	if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
		return "'" + cell
	}
	return cell
}

// WriteTableCSV writes t as CSV the way the clients export is written:
// UTF-8 with a byte order mark (Excel reads Cyrillic), separated by sep,
// text cells made SheetSafe (campaign marks come from the open web).
func WriteTableCSV(w io.Writer, t ReportTable, sep rune) error {
	if _, err := io.WriteString(w, "\xef\xbb\xbf"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Comma = sep
	if err := cw.Write(t.Columns); err != nil {
		return err
	}
	rec := make([]string, len(t.Columns))
	for _, row := range t.Rows {
		for i, v := range row {
			if s, ok := v.(string); ok {
				rec[i] = SheetSafe(s)
			} else {
				rec[i] = fmt.Sprint(v)
			}
		}
		if err := cw.Write(rec[:len(row)]); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
