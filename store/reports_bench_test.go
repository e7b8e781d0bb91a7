package store

import (
	"context"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// BenchmarkReports runs every report over a year of a business with
// 200,000 cards, 200,000 conversations and 1,000,000 messages (plus
// campaign marks, breaches, missed calls), all seeded by SQL once per
// dialect. The target is under 500 ms per report on PostgreSQL (ns/op);
// the 30-day range is what the page opens with.
//
//	LEADHUB_TEST_POSTGRES=... go test -run '^$' -bench BenchmarkReports -benchtime 5x -timeout 60m ./store
func BenchmarkReports(b *testing.B) {
	for _, dialect := range []string{DialectPostgres, DialectSQLite} {
		b.Run(dialect, func(b *testing.B) {
			s := openBench(b, dialect)
			seedReports(b, s, 200_000)
			loc, err := time.LoadLocation("Europe/Moscow")
			if err != nil {
				b.Fatal(err)
			}
			ranges := map[string][2]string{"year": {"2026-01-01", "2026-12-31"}, "30d": {"2026-11-01", "2026-11-30"}}
			for _, rng := range []string{"year", "30d"} {
				q, err := inbox.NewReportQuery(ranges[rng][0], ranges[rng][1], loc, nil)
				if err != nil {
					b.Fatal(err)
				}
				for _, name := range inbox.Reports {
					b.Run(rng+"/"+name, func(b *testing.B) {
						for b.Loop() {
							if _, err := s.Report(context.Background(), name, q); err != nil {
								b.Fatal(err)
							}
						}
					})
				}
			}
		})
	}
}

// seedReports writes n cards with one conversation each spread over 2026
// (five channels), five messages per conversation, campaign marks on a
// third of the cards, first answers on most, triage on the new ones, a
// breach on every tenth and a missed call on every twentieth.
func seedReports(b *testing.B, s *Store, n int) {
	b.Helper()
	ctx := context.Background()
	seedCards(b, s, n)
	// Times: the seed's base plus whole days and minutes of each row's id.
	at := func(days, minutes string) string {
		if s.dialect == DialectPostgres {
			return `(TIMESTAMPTZ '2026-01-01 06:00:00+00' + (` + days + `) * INTERVAL '1 day' + (` + minutes + `) * INTERVAL '1 minute')`
		}
		return `(strftime('%Y-%m-%dT%H:%M:%S', '2026-01-01 06:00:00', '+' || (` + days + `) || ' days', '+' || (` + minutes + `) || ' minutes') || '.000000Z')`
	}
	created := at("c.id % 365", "c.id % 600")
	steps := []string{
		`INSERT INTO conversations (client_id, channel_id, channel_type, status, first_status, unread, last_message_at, created_at,
			first_reply_at, first_reply_by, triage, waiting_since, sla_kind, sla_due_at)
		SELECT c.id, 'ch' || (c.id % 5), 'api',
			CASE WHEN c.id % 50 = 0 THEN 'open' ELSE 'closed' END,
			CASE WHEN c.id % 3 = 0 THEN 'new' ELSE 'open' END, 0, ` + created + `, ` + created + `,
			CASE WHEN c.id % 7 = 0 THEN NULL ELSE ` + at("c.id % 365", "c.id % 600 + c.id % 90") + ` END,
			CASE WHEN c.id % 7 = 0 THEN NULL ELSE 1 END,
			CASE WHEN c.id % 3 <> 0 THEN '' WHEN c.id % 9 = 0 THEN 'spam' ELSE 'accepted' END,
			CASE WHEN c.id % 50 = 0 THEN ` + created + ` END, CASE WHEN c.id % 50 = 0 THEN 'first' ELSE '' END,
			CASE WHEN c.id % 50 = 0 THEN ` + at("c.id % 365", "c.id % 600 + 15") + ` END
		FROM clients c`,
		`INSERT INTO messages (conversation_id, direction, kind, text, meta, created_at)
		SELECT v.id, CASE WHEN k.i % 2 = 0 THEN 'in' ELSE 'out' END, 'text', 'Здравствуйте, сколько стоит кухня?',
			CASE WHEN k.i = 0 AND v.client_id % 3 = 0 THEN '{"utm_source":"yandex","utm_campaign":"kitchens"}' ELSE '' END,
			v.created_at
		FROM conversations v CROSS JOIN (SELECT 0 AS i UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) k`,
		`INSERT INTO client_activity (client_id, first_utm_source, first_utm_campaign, last_utm_source, last_utm_campaign, first_touch_at, last_contact_at)
		SELECT c.id, CASE c.id % 3 WHEN 0 THEN 'yandex' WHEN 1 THEN 'google' ELSE '' END, 'campaign' || (c.id % 40),
			CASE c.id % 4 WHEN 0 THEN 'vk' WHEN 1 THEN 'yandex' ELSE '' END, 'campaign' || (c.id % 25), c.created_at, c.created_at
		FROM clients c`,
		`INSERT INTO sla_breaches (conversation_id, channel_id, assignee_id, kind, waiting_since, due_at, breached_at)
		SELECT v.id, v.channel_id, NULL, 'first', v.created_at, v.created_at, v.created_at FROM conversations v WHERE v.id % 10 = 0`,
		`INSERT INTO calls (channel_id, call_id, message_id, state, created_at, updated_at)
		SELECT 'pbx', 'call-' || v.id, (SELECT MIN(m.id) FROM messages m WHERE m.conversation_id = v.id), '{}', v.created_at, v.created_at
		FROM conversations v WHERE v.id % 20 = 0`,
		`INSERT INTO tasks (client_id, title, due_at, done, created_at, kind, done_at, call_id)
		SELECT v.client_id, 'Перезвонить', k.created_at, v.id % 40 = 0, k.created_at, 'callback',
			CASE WHEN v.id % 40 = 0 THEN k.created_at END, k.id
		FROM calls k JOIN messages m ON m.id = k.message_id JOIN conversations v ON v.id = m.conversation_id`,
	}
	if err := s.ensureOperator(ctx); err != nil {
		b.Fatal(err)
	}
	for _, q := range steps {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			b.Fatalf("seed: %v\n%s", err, q)
		}
	}
	if s.dialect == DialectPostgres {
		if _, err := s.db.ExecContext(ctx, "ANALYZE"); err != nil {
			b.Fatal(err)
		}
	} else if _, err := s.db.ExecContext(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
}

// ensureOperator makes operator 1, who answers first in the seed.
func (s *Store) ensureOperator(ctx context.Context) error {
	_, _, err := s.AddOperator(ctx, 0, inbox.Operator{Email: "bench@example.com", Role: inbox.RoleOperator}, "", nil)
	return err
}
