package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/leadhub/leadhub/inbox"
)

// The segments part of fakeStore: the API tests of segments run on the
// real store (newFixture).
func (f *fakeStore) CountClients(context.Context, inbox.ClientFilter) (int, error) { return 0, nil }

func (f *fakeStore) ListClientsByFilter(context.Context, inbox.ClientFilter, string, int) ([]inbox.SegmentClient, string, error) {
	return nil, "", nil
}

func (f *fakeStore) WriteFilteredClientsCSV(context.Context, io.Writer, rune, inbox.ClientFilter) error {
	return nil
}

func (f *fakeStore) Segments(context.Context, int64, inbox.Role) ([]inbox.Segment, error) {
	return nil, nil
}

func (f *fakeStore) Segment(context.Context, int64, inbox.Role, int64) (inbox.Segment, error) {
	return inbox.Segment{}, inbox.Errorf(inbox.ENOTFOUND, "segment not found")
}

func (f *fakeStore) CreateSegment(_ context.Context, _ int64, _ inbox.Role, g inbox.Segment) (inbox.Segment, error) {
	return g, nil
}

func (f *fakeStore) UpdateSegment(context.Context, int64, inbox.Role, int64, inbox.SegmentPatch) (inbox.Segment, error) {
	return inbox.Segment{}, nil
}

func (f *fakeStore) DeleteSegment(context.Context, int64, inbox.Role, int64) error { return nil }

// segment saves a private segment of c's operator and returns its id.
func (fx *fixture) segment(c creds) int64 {
	fx.t.Helper()
	g, err := fx.st.CreateSegment(context.Background(), c.op.ID, c.op.Role,
		inbox.Segment{Name: fmt.Sprintf("s%d", fx.seq.Add(1)), Filter: inbox.ClientFilter{Channel: "shop"}})
	if err != nil {
		fx.t.Fatal(err)
	}
	return g.ID
}

// TestSegmentsAPI: the count and the page follow the filter; bad filters
// are 400s naming what is wrong; a segment is saved, shared with a team,
// listed, renamed and exported, and every export is audited with what it
// exported.
func TestSegmentsAPI(t *testing.T) {
	fx := newFixture(t, Options{})
	shop, help := fx.conv("shop"), fx.conv("help")
	super, admin := fx.login("super@example.com"), fx.login("admin@example.com")
	tags, teams := []string{"vip"}, []string{"sales"}
	if _, _, err := fx.st.UpdateOperator(context.Background(), 0, fx.super.ID, inbox.OperatorPatch{Teams: &teams}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := fx.st.UpdateClient(context.Background(), 0, shop.ClientID, inbox.ClientPatch{Tags: &tags}); err != nil {
		t.Fatal(err)
	}
	getJSON := func(who session, path string, v any) {
		t.Helper()
		w := do(t, fx.h, "GET", path, "", who.header()...)
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s = %d %s", path, w.Code, w.Body)
		}
		if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
			t.Fatal(err)
		}
	}
	count := func(query string) int {
		t.Helper()
		var n struct{ Count int }
		getJSON(super, "/api/v1/clients/count?"+query, &n)
		return n.Count
	}
	if all, vip := count(""), count("tags=VIP"); all < 2 || vip != 1 {
		t.Errorf("count: all %d, vip %d", all, vip)
	}
	if n := count("channel=help&open=true"); n != 1 {
		t.Errorf("open in help: %d", n)
	}
	var page struct {
		Items []inbox.SegmentClient `json:"items"`
	}
	getJSON(super, "/api/v1/clients/filter?tags=vip&limit=10", &page)
	if len(page.Items) != 1 || page.Items[0].ID != shop.ClientID || page.Items[0].Activity.LastContactAt == nil {
		t.Errorf("filtered page: %+v", page.Items)
	}

	for _, tt := range []struct{ method, path, body, want string }{
		{"GET", "/api/v1/clients/count?colour=red", "", "unknown filter field colour"},
		{"GET", "/api/v1/clients/count?created_from=2026-02-01&created_to=2026-01-01", "", "created_from"},
		{"GET", "/api/v1/clients/count?contacted_before=soon", "", "contacted_before"},
		{"GET", "/api/v1/clients/count?open=maybe", "", "open must be true or false"},
		{"GET", "/api/v1/clients/filter?cursor=zz", "", "cursor"},
		{"GET", "/api/v1/clients/filter.csv?q=x", "", "unknown filter field q"},
		{"GET", "/api/v1/clients/filter.csv?sep=pipe", "", "sep"},
		{"POST", "/api/v1/segments", `{"name":"x","filter":{"colour":"red"}}`, "unknown filter field colour"},
		{"POST", "/api/v1/segments", `{"name":"x","filter":{"created_from":"2026-02-01","created_to":"2026-01-01"}}`, "created_from"},
		{"POST", "/api/v1/segments", `{"name":"","filter":{}}`, "name"},
		{"POST", "/api/v1/segments", `{"name":"x","team":"support"}`, "not in team"},
		{"POST", "/api/v1/segments", `{"name":"x","colour":"red"}`, "colour"},
	} {
		w := do(t, fx.h, tt.method, tt.path, tt.body, super.header()...)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), tt.want) {
			t.Errorf("%s %s %s = %d %s, want 400 with %q", tt.method, tt.path, tt.body, w.Code, w.Body, tt.want)
		}
	}

	w := do(t, fx.h, "POST", "/api/v1/segments", `{"name":"VIP","filter":{"tags":["vip"],"contacted_after":"30d"},"team":"sales"}`,
		super.header()...)
	var seg inbox.Segment
	if w.Code != http.StatusCreated || json.Unmarshal(w.Body.Bytes(), &seg) != nil || seg.Team != "sales" ||
		seg.Filter.ContactedAfter != "30d" {
		t.Fatalf("create = %d %s", w.Code, w.Body)
	}
	var segs struct {
		Items []inbox.Segment `json:"items"`
	}
	getJSON(super, "/api/v1/segments", &segs)
	if len(segs.Items) != 1 || segs.Items[0].Name != "VIP" {
		t.Errorf("list: %+v", segs.Items)
	}
	if w := do(t, fx.h, "PATCH", fmt.Sprintf("/api/v1/segments/%d", seg.ID), `{"name":"VIP клиенты"}`, super.header()...); w.Code != http.StatusOK ||
		!strings.Contains(w.Body.String(), "VIP клиенты") {
		t.Errorf("rename = %d %s", w.Code, w.Body)
	}
	w = do(t, fx.h, "GET", fmt.Sprintf("/api/v1/segments/%d/clients.csv?sep=comma", seg.ID), "", super.header()...)
	lines := strings.Split(strings.TrimSpace(w.Body.String()), "\n")
	if w.Code != http.StatusOK || len(lines) != 2 || !strings.HasPrefix(lines[0], "\xef\xbb\xbfid,name,company,phone") ||
		!strings.HasPrefix(lines[1], fmt.Sprint(shop.ClientID)+",") || w.Header().Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Errorf("segment CSV = %d %q %v", w.Code, w.Body, w.Header())
	}
	w = do(t, fx.h, "GET", "/api/v1/clients/filter.csv?channel=help", "", super.header()...)
	if lines := strings.Split(strings.TrimSpace(w.Body.String()), "\n"); w.Code != http.StatusOK || len(lines) != 2 ||
		!strings.HasPrefix(lines[1], fmt.Sprint(help.ClientID)+";") {
		t.Errorf("filter CSV = %d %q", w.Code, w.Body)
	}
	var audit struct {
		Items []inbox.AuditEntry `json:"items"`
	}
	getJSON(admin, "/api/v1/audit?action=clients.export", &audit)
	var exports []string
	for _, e := range audit.Items {
		if e.Action == "clients.export" {
			b, _ := json.Marshal(e)
			exports = append(exports, string(b))
		}
	}
	if len(exports) != 2 || !strings.Contains(exports[0], `"channel":"help"`) ||
		!strings.Contains(exports[1], fmt.Sprintf(`"segment":%d`, seg.ID)) || !strings.Contains(exports[1], `"contacted_after":"30d"`) {
		t.Errorf("audit of exports: %v", exports)
	}
	if w := do(t, fx.h, "DELETE", fmt.Sprintf("/api/v1/segments/%d", seg.ID), "", super.header()...); w.Code != http.StatusNoContent {
		t.Errorf("delete = %d %s", w.Code, w.Body)
	}
	if w := do(t, fx.h, "GET", fmt.Sprintf("/api/v1/segments/%d/clients.csv", seg.ID), "", super.header()...); w.Code != http.StatusNotFound {
		t.Errorf("deleted segment's CSV = %d", w.Code)
	}
	// Operators do not read the whole base.
	olga := fx.login("olga@example.com")
	if w := do(t, fx.h, "GET", "/api/v1/clients/count", "", olga.header()...); w.Code != http.StatusForbidden {
		t.Errorf("an operator counts the base: %d", w.Code)
	}
}
