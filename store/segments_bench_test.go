package store

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// BenchmarkSegmentCount measures GET /clients/count over a base of a
// million cards (LEADHUB_BENCH_SEGMENT_CARDS overrides the number), seeded
// once per dialect, then each marketer's filter as a sub-benchmark. The
// target is under 200 ms per count (ns/op) on PostgreSQL.
//
// Besides seedCards' cards (a phone, an email, "vip" on every tenth), nine
// cards in ten have campaign marks and a last contact, every other card a
// conversation (site or tg, one in five of them open), every third a
// consent, every fiftieth do-not-contact.
//
//	go test -run '^$' -bench BenchmarkSegmentCount -benchtime 20x -timeout 60m ./store
func BenchmarkSegmentCount(b *testing.B) {
	cards := 1_000_000
	if n, err := strconv.Atoi(os.Getenv("LEADHUB_BENCH_SEGMENT_CARDS")); err == nil && n > 0 {
		cards = n
	}
	yes, no := true, false
	filters := []struct {
		name string
		f    inbox.ClientFilter
	}{
		{"everyone", inbox.ClientFilter{}},
		{"tag", inbox.ClientFilter{Tags: []string{"vip"}}},
		{"last_source_contacted_before", inbox.ClientFilter{LastSource: "yandex", ContactedBefore: "90d"}},
		{"channel_not_open", inbox.ClientFilter{Channel: "site", Open: &no}},
		{"consent_reachable_created", inbox.ClientFilter{Consent: &yes, DoNotContact: &no, CreatedFrom: "2020-01-01"}},
		{"marketer", inbox.ClientFilter{Tags: []string{"vip"}, FirstSource: "google", ContactedBefore: "30d", Open: &no,
			DoNotContact: &no}},
	}
	for _, dialect := range []string{DialectPostgres, DialectSQLite} {
		b.Run(dialect, func(b *testing.B) {
			s := openBench(b, dialect)
			start := time.Now()
			seedCards(b, s, cards)
			seedSegmentData(b, s)
			b.Logf("%s: seeded %d cards in %v", dialect, cards, time.Since(start).Round(time.Second))
			ctx := context.Background()
			for _, tt := range filters {
				b.Run(tt.name, func(b *testing.B) {
					var n int
					for b.Loop() {
						var err error
						if n, err = s.CountClients(ctx, tt.f); err != nil {
							b.Fatal(err)
						}
					}
					if n == 0 {
						b.Fatalf("%s counted nothing", tt.name)
					}
					b.ReportMetric(float64(n), "cards")
					if os.Getenv("LEADHUB_BENCH_EXPLAIN") != "" {
						explainCount(b, s, tt.f)
					}
				})
			}
		})
	}
}

// seedSegmentData adds activity, conversations, consents and do-not-contact
// to the seeded cards, in a few INSERT ... SELECT statements.
func seedSegmentData(b *testing.B, s *Store) {
	b.Helper()
	ctx := context.Background()
	ts := func(lit string) string {
		if s.dialect == DialectPostgres {
			return "'" + lit + "'::timestamptz"
		}
		return "'" + lit + "'"
	}
	// Times relative to now, so that "30d" and "90d" cut the base.
	now := s.now()
	day := func(d int) string { return ts(dbTime(now.AddDate(0, 0, -d))) }
	stmts := []string{
		`INSERT INTO client_activity (client_id, first_utm_source, first_utm_campaign, last_utm_source,
			last_utm_campaign, first_touch_at, last_contact_at)
		SELECT id,
			CASE id % 4 WHEN 0 THEN 'yandex' WHEN 1 THEN 'google' WHEN 2 THEN 'vk' ELSE '' END,
			'campaign' || (id % 20),
			CASE id % 3 WHEN 0 THEN 'yandex' WHEN 1 THEN 'google' ELSE 'direct' END,
			'campaign' || (id % 7),
			CASE id % 5 WHEN 0 THEN ` + day(400) + ` WHEN 1 THEN ` + day(200) + ` ELSE ` + day(100) + ` END,
			CASE id % 6 WHEN 0 THEN ` + day(300) + ` WHEN 1 THEN ` + day(60) + ` WHEN 2 THEN ` + day(20) +
			` WHEN 3 THEN ` + day(5) + ` ELSE ` + day(1) + ` END
		FROM clients WHERE id % 10 <> 9`,
		`INSERT INTO conversations (client_id, channel_id, channel_type, status, last_message_at, created_at)
		SELECT id, CASE id % 4 WHEN 0 THEN 'site' ELSE 'tg' END, CASE id % 4 WHEN 0 THEN 'form' ELSE 'telegram' END,
			CASE WHEN id % 10 = 0 THEN 'open' ELSE 'closed' END, ` + day(5) + `, ` + day(50) + `
		FROM clients WHERE id % 2 = 0`,
		`INSERT INTO consents (client_id, kind, given_at, created_at)
		SELECT id, 'marketing', ` + day(30) + `, ` + day(30) + ` FROM clients WHERE id % 3 = 0`,
		`UPDATE clients SET do_not_contact = TRUE WHERE id % 50 = 0`,
	}
	for _, q := range stmts {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			b.Fatalf("seed segments: %v\n%s", err, q)
		}
	}
	// What a live base has: the planner's statistics (autovacuum's on
	// PostgreSQL, which also sets the visibility map index-only scans need).
	analyze := `ANALYZE`
	if s.dialect == DialectPostgres {
		analyze = `VACUUM ANALYZE`
	}
	if _, err := s.db.ExecContext(ctx, analyze); err != nil {
		b.Fatal(err)
	}
}

// explainCount logs the plan of f's count (LEADHUB_BENCH_EXPLAIN=1).
func explainCount(b *testing.B, s *Store, f inbox.ClientFilter) {
	b.Helper()
	a, err := s.segmentArgsOf(f)
	if err != nil {
		b.Fatal(err)
	}
	query, args := s.q.segmentFilter(a, false, 0, 0)
	explain := "EXPLAIN QUERY PLAN "
	if s.dialect == DialectPostgres {
		explain = "EXPLAIN (ANALYZE, COSTS OFF) "
	}
	rows, err := s.db.QueryContext(context.Background(), explain+query, args...)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	plan := ""
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			b.Fatal(err)
		}
		plan += fmt.Sprintln(vals[len(vals)-1])
	}
	b.Logf("%s\n%s", query, plan)
}
