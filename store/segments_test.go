package store

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

func TestSegmentsSQLite(t *testing.T)   { testSegments(t, DialectSQLite) }
func TestSegmentsPostgres(t *testing.T) { testSegments(t, DialectPostgres) }

// segmentBase is a known data set for the segment filters, at t0 =
// 2026-12-03 10:00 UTC:
//
//	A  site, yandex/kitchens, 60 days ago; tag VIP; a consent; open
//	B  site, google/sale, 10 days ago; tags vip, opt; do not contact; closed
//	C  shop (no marks) 1 day ago, then site google/retarget now; open
//	D  imported 100 days ago: no conversation, no contact
//
// and tombstones that must never count: E (70 days ago, merged into A 5
// days ago), F (spam), G (erased), all yandex/kitchens.
type segmentBase struct {
	s          *Store
	t0         time.Time
	a, b, c, d int64
}

func newSegmentBase(t *testing.T, dialect string) segmentBase {
	t.Helper()
	ctx := context.Background()
	s := openMigrated(t, dialect)
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	at := func(d time.Duration) { s.clock = inbox.NewFakeClock(t0.Add(d)) }
	file := func(key, channel, phone string, meta map[string]string) inbox.Filed {
		t.Helper()
		filed, _, err := s.FileBatch(ctx, []inbox.Envelope{{DedupeKey: key, ChannelID: channel, ChannelType: inbox.ChannelForm,
			From: inbox.Contact{Name: "Лид " + key, Identities: []inbox.Identity{{Kind: inbox.IdentityPhone, Value: phone}}},
			Text: "заявка", Meta: meta}})
		if err != nil {
			t.Fatal(err)
		}
		return filed[0]
	}
	clientOf := func(f inbox.Filed) int64 {
		t.Helper()
		c, err := s.GetConversation(ctx, f.Message.ConversationID)
		if err != nil {
			t.Fatal(err)
		}
		return c.ClientID
	}
	tags := func(id int64, tags ...string) {
		t.Helper()
		if _, _, err := s.UpdateClient(ctx, 0, id, inbox.ClientPatch{Tags: &tags}); err != nil {
			t.Fatal(err)
		}
	}
	day := 24 * time.Hour
	kitchens := map[string]string{"utm_source": "yandex", "utm_campaign": "kitchens"}
	var base segmentBase
	base.s, base.t0 = s, t0

	at(-100 * day)
	if _, _, err := s.ImportClients(ctx, strings.NewReader("name;phone\nДмитрий;+79123450004\n"), inbox.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	at(-70 * day)
	e := clientOf(file("e", "site", "+79123450005", kitchens))
	at(-60 * day)
	base.a = clientOf(file("a", "site", "+79123450001", kitchens))
	tags(base.a, "VIP")
	if _, _, err := s.AddConsent(ctx, 0, base.a, inbox.Consent{Kind: "marketing"}); err != nil {
		t.Fatal(err)
	}
	at(-10 * day)
	fb := file("b", "site", "+79123450002", map[string]string{"utm_source": "google", "utm_campaign": "sale"})
	base.b = clientOf(fb)
	tags(base.b, "vip", "opt")
	dnc := true
	if _, _, err := s.UpdateClient(ctx, 0, base.b, inbox.ClientPatch{DoNotContact: &dnc}); err != nil {
		t.Fatal(err)
	}
	closed := inbox.StatusClosed
	if _, _, err := s.UpdateConversation(ctx, fb.Message.ConversationID, inbox.ConversationPatch{Status: &closed}); err != nil {
		t.Fatal(err)
	}
	at(-5 * day)
	if _, _, err := s.MergeClients(ctx, 0, base.a, e); err != nil {
		t.Fatal(err)
	}
	f := clientOf(file("f", "site", "+79123450006", kitchens))
	spam := true
	if _, _, err := s.UpdateClient(ctx, 0, f, inbox.ClientPatch{Spam: &spam}); err != nil {
		t.Fatal(err)
	}
	g := clientOf(file("g", "site", "+79123450007", kitchens))
	if _, _, err := s.EraseClient(ctx, 0, g); err != nil {
		t.Fatal(err)
	}
	at(-day)
	base.c = clientOf(file("c1", "shop", "+79123450003", nil))
	at(0)
	file("c2", "site", "+79123450003", map[string]string{"utm_source": "google", "utm_campaign": "retarget"})
	var ids []int64
	if err := s.db.SelectContext(ctx, &ids, s.db.Rebind(`SELECT c.id FROM clients c JOIN identities i ON i.client_id = c.id
		WHERE i.value = ?`), "+79123450004"); err != nil || len(ids) != 1 {
		t.Fatalf("imported card: %v %v", ids, err)
	}
	base.d = ids[0]
	return base
}

func testSegments(t *testing.T, dialect string) {
	ctx := context.Background()
	base := newSegmentBase(t, dialect)
	s := base.s
	a, b, c, d := base.a, base.b, base.c, base.d
	yes, no := true, false
	for _, tt := range []struct {
		name  string
		query string // the filter as query parameters
		f     inbox.ClientFilter
		want  []int64
	}{
		{"everyone", "", inbox.ClientFilter{}, []int64{d, a, b, c}},
		{"tag", "tags=vip", inbox.ClientFilter{Tags: []string{"vip"}}, []int64{a, b}},
		{"tags_all_of", "tags=VIP,opt", inbox.ClientFilter{Tags: []string{"VIP", "opt"}}, []int64{b}},
		{"tags_none_has_both", "tags=vip&tags=nope", inbox.ClientFilter{Tags: []string{"vip", "nope"}}, nil},
		{"channel", "channel=shop", inbox.ClientFilter{Channel: "shop"}, []int64{c}},
		{"channel_site", "channel=site", inbox.ClientFilter{Channel: "site"}, []int64{a, b, c}},
		{"first_source", "first_source=yandex", inbox.ClientFilter{FirstSource: "yandex"}, []int64{a}},
		{"first_campaign", "first_campaign=kitchens", inbox.ClientFilter{FirstCampaign: "kitchens"}, []int64{a}},
		{"last_source", "last_source=google", inbox.ClientFilter{LastSource: "google"}, []int64{b, c}},
		{"last_campaign", "last_campaign=retarget", inbox.ClientFilter{LastCampaign: "retarget"}, []int64{c}},
		{"first_and_last", "first_source=google&last_campaign=retarget",
			inbox.ClientFilter{FirstSource: "google", LastCampaign: "retarget"}, []int64{c}},
		{"contacted_before_includes_never", "contacted_before=30d", inbox.ClientFilter{ContactedBefore: "30d"}, []int64{d, a}},
		{"contacted_after", "contacted_after=30d", inbox.ClientFilter{ContactedAfter: "30d"}, []int64{b, c}},
		{"contacted_after_date", "contacted_after=2026-11-30", inbox.ClientFilter{ContactedAfter: "2026-11-30"}, []int64{c}},
		{"contacted_between", "contacted_after=2026-11-01&contacted_before=2026-12-01T00:00:00Z",
			inbox.ClientFilter{ContactedAfter: "2026-11-01", ContactedBefore: "2026-12-01T00:00:00Z"}, []int64{b}},
		{"open", "open=true", inbox.ClientFilter{Open: &yes}, []int64{a, c}},
		{"not_open", "open=false", inbox.ClientFilter{Open: &no}, []int64{d, b}},
		{"dnc", "do_not_contact=true", inbox.ClientFilter{DoNotContact: &yes}, []int64{b}},
		{"not_dnc", "do_not_contact=false", inbox.ClientFilter{DoNotContact: &no}, []int64{d, a, c}},
		{"consent", "consent=true", inbox.ClientFilter{Consent: &yes}, []int64{a}},
		{"no_consent", "consent=false", inbox.ClientFilter{Consent: &no}, []int64{d, b, c}},
		{"created_between_inclusive", "created_from=2026-11-22&created_to=2026-12-02",
			inbox.ClientFilter{CreatedFrom: "2026-11-22", CreatedTo: "2026-12-02"}, []int64{b, c}},
		{"created_to", "created_to=2026-09-01", inbox.ClientFilter{CreatedTo: "2026-09-01"}, []int64{d}},
		{"combined", "tags=vip&open=false&do_not_contact=true&last_source=google",
			inbox.ClientFilter{Tags: []string{"vip"}, Open: &no, DoNotContact: &yes, LastSource: "google"}, []int64{b}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := inbox.ParseClientFilter(q)
			if err != nil {
				t.Fatal(err)
			}
			if parsed.String() != tt.f.String() {
				t.Errorf("parsed %s as %s, want %s", tt.query, parsed, tt.f)
			}
			n, err := s.CountClients(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if n != len(tt.want) {
				t.Errorf("count %d, want %d", n, len(tt.want))
			}
			got, next, err := s.ListClientsByFilter(ctx, tt.f, "", 0)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, c := range got {
				ids = append(ids, c.ID)
			}
			if !slices.Equal(ids, tt.want) || next != "" {
				t.Errorf("listed %v (next %q), want %v", ids, next, tt.want)
			}
		})
	}

	t.Run("paging_and_activity", func(t *testing.T) {
		p1, next, err := s.ListClientsByFilter(ctx, inbox.ClientFilter{}, "", 3)
		if err != nil || len(p1) != 3 || next == "" {
			t.Fatalf("page 1: %d cards, next %q, %v", len(p1), next, err)
		}
		p2, next2, err := s.ListClientsByFilter(ctx, inbox.ClientFilter{}, next, 3)
		if err != nil || len(p2) != 1 || next2 != "" || p2[0].ID != c {
			t.Fatalf("page 2: %+v, next %q, %v", p2, next2, err)
		}
		act := p2[0].Activity
		if act.FirstSource != "google" || act.LastCampaign != "retarget" || act.LastContactAt == nil ||
			!act.LastContactAt.Equal(base.t0) || act.FirstTouchAt == nil || !act.FirstTouchAt.Equal(base.t0) {
			t.Errorf("C's activity: %+v", act)
		}
		if p1[0].ID != d || p1[0].Activity.LastContactAt != nil {
			t.Errorf("D first, never in touch: %+v", p1[0])
		}
		if len(p2[0].Identities) == 0 {
			t.Errorf("no identities on the page's cards")
		}
	})

	t.Run("bad_input", func(t *testing.T) {
		if _, err := inbox.ParseClientFilter(url.Values{"colour": {"red"}}); inbox.ErrorCode(err) != inbox.EINVALID ||
			!strings.Contains(inbox.ErrorMessage(err), "unknown filter field colour") {
			t.Errorf("unknown field: %v", err)
		}
		for _, f := range []inbox.ClientFilter{
			{CreatedFrom: "2026-12-01", CreatedTo: "2026-11-01"},
			{ContactedAfter: "10d", ContactedBefore: "30d"},
			{ContactedBefore: "yesterday"},
		} {
			if _, err := s.CountClients(ctx, f); inbox.ErrorCode(err) != inbox.EINVALID {
				t.Errorf("%s: %v, want EINVALID", f, err)
			}
		}
	})

	t.Run("csv", func(t *testing.T) {
		var buf bytes.Buffer
		if err := s.WriteFilteredClientsCSV(ctx, &buf, ';', inbox.ClientFilter{Tags: []string{"vip"}}); err != nil {
			t.Fatal(err)
		}
		r := csv.NewReader(strings.NewReader(strings.TrimPrefix(buf.String(), "\xef\xbb\xbf")))
		r.Comma = ';'
		recs, err := r.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 3 || !slices.Equal(recs[0], exportColumns) || recs[1][3] != "'+79123450005, +79123450001" || recs[2][7] != "opt, vip" {
			t.Errorf("CSV: %q", recs)
		}
	})

	t.Run("saved", func(t *testing.T) { testSavedSegments(t, s) })
}

// testSavedSegments: a private segment is its owner's; one shared with a
// team is seen by its members, changed only by its owner or an admin.
func testSavedSegments(t *testing.T, s *Store) {
	ctx := context.Background()
	if _, _, err := s.CreateTeam(ctx, 0, "sales"); err != nil {
		t.Fatal(err)
	}
	add := func(email string, role inbox.Role, teams ...string) int64 {
		t.Helper()
		op, _, err := s.AddOperator(ctx, 0, inbox.Operator{Email: email, Role: role}, "", teams)
		if err != nil {
			t.Fatal(err)
		}
		return op.ID
	}
	owner := add("owner@example.com", inbox.RoleSupervisor, "sales")
	mate := add("mate@example.com", inbox.RoleSupervisor, "sales")
	other := add("other@example.com", inbox.RoleSupervisor)
	admin := add("admin@example.com", inbox.RoleAdmin)
	sup := inbox.RoleSupervisor
	priv, err := s.CreateSegment(ctx, owner, sup, inbox.Segment{Name: " Кухни ", Filter: inbox.ClientFilter{FirstCampaign: "kitchens"}})
	if err != nil {
		t.Fatal(err)
	}
	shared, err := s.CreateSegment(ctx, owner, sup, inbox.Segment{Name: "VIP", Team: "sales",
		Filter: inbox.ClientFilter{Tags: []string{"vip"}, ContactedBefore: "30d"}})
	if err != nil {
		t.Fatal(err)
	}
	if priv.Name != "Кухни" || priv.Filter.FirstCampaign != "kitchens" || shared.Filter.ContactedBefore != "30d" {
		t.Errorf("saved: %+v %+v", priv, shared)
	}
	names := func(op int64, role inbox.Role) []string {
		t.Helper()
		gs, err := s.Segments(ctx, op, role)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, g := range gs {
			out = append(out, g.Name)
		}
		return out
	}
	if got := names(owner, sup); !slices.Equal(got, []string{"VIP", "Кухни"}) {
		t.Errorf("owner sees %v", got)
	}
	if got := names(mate, sup); !slices.Equal(got, []string{"VIP"}) {
		t.Errorf("team mate sees %v", got)
	}
	if got := names(other, sup); len(got) != 0 {
		t.Errorf("someone else sees %v", got)
	}
	if got := names(admin, inbox.RoleAdmin); len(got) != 2 {
		t.Errorf("admin sees %v", got)
	}
	if _, err := s.Segment(ctx, other, sup, priv.ID); inbox.ErrorCode(err) != inbox.ENOTFOUND {
		t.Errorf("another's private segment: %v", err)
	}
	name := "VIP, давно"
	if _, err := s.UpdateSegment(ctx, mate, sup, shared.ID, inbox.SegmentPatch{Name: &name}); inbox.ErrorCode(err) != inbox.EFORBIDDEN {
		t.Errorf("team mate renames: %v", err)
	}
	got, err := s.UpdateSegment(ctx, owner, sup, shared.ID, inbox.SegmentPatch{Name: &name})
	if err != nil || got.Name != name || got.Team != "sales" || got.Filter.ContactedBefore != "30d" {
		t.Errorf("rename: %+v %v", got, err)
	}
	team := "nobody's"
	if _, err := s.UpdateSegment(ctx, owner, sup, shared.ID, inbox.SegmentPatch{Team: &team}); inbox.ErrorCode(err) != inbox.EINVALID {
		t.Errorf("a team the owner is not in: %v", err)
	}
	if _, err := s.CreateSegment(ctx, owner, sup, inbox.Segment{Name: " "}); inbox.ErrorCode(err) != inbox.EINVALID {
		t.Errorf("no name: %v", err)
	}
	if _, err := s.CreateSegment(ctx, owner, sup, inbox.Segment{Name: "bad",
		Filter: inbox.ClientFilter{CreatedFrom: "2026-02-01", CreatedTo: "2026-01-01"}}); inbox.ErrorCode(err) != inbox.EINVALID {
		t.Errorf("reversed range saved: %v", err)
	}
	if err := s.DeleteSegment(ctx, mate, sup, shared.ID); inbox.ErrorCode(err) != inbox.EFORBIDDEN {
		t.Errorf("team mate deletes: %v", err)
	}
	if err := s.DeleteSegment(ctx, admin, inbox.RoleAdmin, shared.ID); err != nil {
		t.Errorf("admin deletes: %v", err)
	}
	if got := names(mate, sup); len(got) != 0 {
		t.Errorf("after delete the mate sees %v", got)
	}
}
