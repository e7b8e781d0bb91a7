package inbox

import (
	"bytes"
	"testing"
	"time"
)

// TestNewReportQuery: days in the business's zone, inclusive; a reversed,
// malformed or too long range is EINVALID with a reason.
func TestNewReportQuery(t *testing.T) {
	msk := time.FixedZone("MSK", 3*3600)
	q, err := NewReportQuery("2026-12-01", "2026-12-31", msk, []string{"site"})
	if err != nil {
		t.Fatal(err)
	}
	if !q.From.Equal(time.Date(2026, 11, 30, 21, 0, 0, 0, time.UTC)) || !q.To.Equal(time.Date(2026, 12, 31, 21, 0, 0, 0, time.UTC)) {
		t.Errorf("range = %v .. %v", q.From, q.To)
	}
	for _, c := range []struct{ from, to, reason string }{
		{"2026-12-31", "2026-12-01", "range_reversed"},
		{"2025-01-01", "2026-12-31", "range_too_long"},
		{"01.12.2026", "2026-12-31", "bad_date"},
		{"2026-12-01", "", "bad_date"},
	} {
		_, err := NewReportQuery(c.from, c.to, msk, nil)
		if reason, _ := ErrorReason(err); ErrorCode(err) != EINVALID || reason != c.reason {
			t.Errorf("%s..%s: %v (%s), want %s", c.from, c.to, err, reason, c.reason)
		}
	}
	if _, err := NewReportQuery("2026-01-01", "2026-12-31", msk, nil); err != nil {
		t.Errorf("a whole year: %v", err)
	}
}

// TestWriteTableCSV: a campaign mark that a spreadsheet would run is
// written inert; numbers stay numbers, negative ones too.
func TestWriteTableCSV(t *testing.T) {
	var b bytes.Buffer
	err := WriteTableCSV(&b, ReportTable{Columns: []string{"utm_source", "leads"},
		Rows: [][]any{{`=HYPERLINK("http://x")`, 3}, {"yandex", -1}}}, ';')
	if err != nil {
		t.Fatal(err)
	}
	want := "\xef\xbb\xbf" + "utm_source;leads\n" + `"'=HYPERLINK(""http://x"")";3` + "\nyandex;-1\n"
	if b.String() != want {
		t.Errorf("csv = %q, want %q", b.String(), want)
	}
}
