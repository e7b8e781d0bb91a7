package inbox

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestClientFilter: the filter reads the same from query parameters and
// JSON, names an unknown field, and works its times out for a moment.
func TestClientFilter(t *testing.T) {
	q, _ := url.ParseQuery("tags=vip,%20opt&tags=new&open=false&contacted_before=30d&created_to=2026-01-31&cursor=x")
	f, err := ParseClientFilter(q, "cursor")
	if err != nil {
		t.Fatal(err)
	}
	var fromJSON ClientFilter
	if err := json.Unmarshal([]byte(`{"tags":["vip","opt","new"],"open":false,"contacted_before":"30d","created_to":"2026-01-31"}`), &fromJSON); err != nil {
		t.Fatal(err)
	}
	if f.String() != fromJSON.String() {
		t.Errorf("query %s, JSON %s", f, fromJSON)
	}
	if back, err := ParseClientFilter(f.Query()); err != nil || back.String() != f.String() {
		t.Errorf("round trip through Query: %s %v", back, err)
	}
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	r, err := f.Resolve(now)
	if err != nil {
		t.Fatal(err)
	}
	if !r.ContactedBefore.Equal(now.AddDate(0, 0, -30)) || !r.CreatedTo.Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("resolved: %v, %v", r.ContactedBefore, r.CreatedTo)
	}
	for _, bad := range []struct{ json, want string }{
		{`{"colour":"red"}`, "unknown filter field colour"},
		{`[1]`, "JSON object"},
		{`{"open":"yes"}`, "bad filter"},
	} {
		var g ClientFilter
		err := json.Unmarshal([]byte(bad.json), &g)
		if ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: %v, want %q", bad.json, err, bad.want)
		}
	}
	for _, bad := range []ClientFilter{
		{CreatedFrom: "2026-02-01", CreatedTo: "2026-01-31"},
		{ContactedAfter: "2026-02-01", ContactedBefore: "2026-02-01"},
		{ContactedAfter: "-3d"},
		{CreatedFrom: "31.01.2026"},
		{Channel: strings.Repeat("x", MaxFilterValue+1)},
	} {
		if _, err := bad.Resolve(now); ErrorCode(err) != EINVALID {
			t.Errorf("%s: %v, want EINVALID", bad, err)
		}
	}
	// The same day as both ends is that whole day.
	if _, err := (ClientFilter{CreatedFrom: "2026-01-31", CreatedTo: "2026-01-31"}).Resolve(now); err != nil {
		t.Errorf("one day: %v", err)
	}
}
