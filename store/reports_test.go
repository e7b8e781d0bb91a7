package store_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/inbox/inboxtest"
	"github.com/leadhub/leadhub/store"
)

func TestReportsSQLite(t *testing.T)   { testReports(t, store.DialectSQLite) }
func TestReportsPostgres(t *testing.T) { testReports(t, store.DialectPostgres) }

// testReports checks every report against a known data set, in Moscow's
// days: leads per channel per day, first-answer times per channel and
// operator, who waits now, triage, first and last campaign marks, missed
// calls called back, and missed answer targets.
func testReports(t *testing.T, dialect string) {
	ctx := ctxT(t)
	msk, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	day1 := time.Date(2026, 12, 1, 10, 0, 0, 0, msk)
	clock := inbox.NewFakeClock(day1)
	url := "sqlite:" + filepath.Join(t.TempDir(), "leadhub.db")
	if dialect == store.DialectPostgres {
		url = inboxtest.PostgresURL(t)
	}
	s, err := store.Open(ctx, store.Options{URL: url, Clock: clock,
		SLA: &inbox.SLAPolicy{Default: inbox.SLATargets{First: 15 * time.Minute}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	anna := opID(t, s, "anna@example.com", inbox.RoleOperator)
	boss := opID(t, s, "boss@example.com", inbox.RoleSupervisor)
	lead := func(key, channel, phoneNo string, meta map[string]string) inbox.Conversation {
		t.Helper()
		e := envelope(key, channel, "Client "+key, "hello", phone(phoneNo))
		e.Meta = meta
		filed, _ := file(t, s, e)
		return conversationOf(t, s, filed[0].Message.ConversationID)
	}
	reply := func(c inbox.Conversation, by int64, after time.Duration) {
		t.Helper()
		clock.Set(c.CreatedAt.Add(after))
		if _, _, err := s.CreateReply(ctx, c.ID, by, "ok"); err != nil {
			t.Fatal(err)
		}
	}
	// Day 1: three site leads (two from yandex/kitchens, one from google),
	// one crm lead; day 2 (23:30 Moscow, 20:30 UTC): one more crm lead.
	s1 := lead("s1", "site", "+79120000001", map[string]string{"utm_source": "yandex", "utm_campaign": "kitchens"})
	clock.Advance(time.Minute)
	s2 := lead("s2", "site", "+79120000002", map[string]string{"utm_source": "yandex", "utm_campaign": "kitchens"})
	clock.Advance(time.Minute)
	s3 := lead("s3", "site", "+79120000003", map[string]string{"utm_source": "google"})
	clock.Advance(time.Minute)
	c1 := lead("c1", "crm", "+79120000004", nil)
	// s2's client comes back later from vk: the last touch moves.
	clock.Advance(time.Minute)
	lead("s2-again", "site", "+79120000002", map[string]string{"utm_source": "vk", "utm_campaign": "spring"})
	// The first answers: 10 min (anna), 30 min (boss), 60 min (anna); s3
	// and c2 are never answered. Breaches are raised as time passes.
	reply(s1, anna, 10*time.Minute)
	clock.Set(day1.Add(20 * time.Minute))
	if _, err := s.RaiseAlerts(ctx, time.Hour, 100); err != nil { // s2, s3, c1 late
		t.Fatal(err)
	}
	reply(s2, boss, 30*time.Minute)
	reply(c1, anna, 60*time.Minute)
	if _, _, err := s.AcceptConversation(ctx, anna, s1.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.RejectConversation(ctx, anna, s3.ID); err != nil {
		t.Fatal(err)
	}
	clock.Set(time.Date(2026, 12, 2, 23, 30, 0, 0, msk))
	c2 := lead("c2", "crm", "+79120000005", nil)
	// A missed call on day 2, called back 20 minutes later; one never.
	callAt := time.Date(2026, 12, 2, 12, 0, 0, 0, msk)
	clock.Set(callAt)
	file(t, s, callEnv("k1", "ended", "+79120000001", inbox.Call{Event: inbox.CallEnded, Disposition: inbox.DispositionMissed}))
	file(t, s, callEnv("k2", "ended", "+79120000009", inbox.Call{Event: inbox.CallEnded, Disposition: inbox.DispositionMissed}))
	clock.Set(callAt.Add(20 * time.Minute))
	file(t, s, callEnv("k3", "ringing", "+79120000001", inbox.Call{Event: inbox.CallRinging, Direction: inbox.DirectionOut}))
	clock.Set(time.Date(2026, 12, 3, 12, 0, 0, 0, msk))

	q, err := inbox.NewReportQuery("2026-12-01", "2026-12-02", msk, nil)
	if err != nil {
		t.Fatal(err)
	}
	report := func(name string, q inbox.ReportQuery) inbox.Report {
		t.Helper()
		r, err := s.Report(ctx, name, q)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return r
	}
	want := func(r inbox.Report, table string, rows ...string) {
		t.Helper()
		tb, ok := r.Table(table)
		if !ok {
			t.Fatalf("%s has no table %s", r.Name, table)
		}
		var got []string
		for _, row := range tb.Rows {
			got = append(got, strings.TrimSpace(fmt.Sprintln(row...)))
		}
		if fmt.Sprint(got) != fmt.Sprint(rows) {
			t.Errorf("%s/%s (%v):\n got %q\nwant %q", r.Name, table, tb.Columns, got, rows)
		}
	}
	// Leads: the second crm lead is day 2 in Moscow though day 2 in UTC
	// too; a call's conversation (pbx) counts as a lead of its channel.
	want(report(inbox.ReportLeads, q), "leads_per_day", "2026-12-01 1 0 3 4", "2026-12-02 1 2 0 3")
	want(report(inbox.ReportFirstResponse, q), "by_channel", "crm 2 1 3600 3600", "pbx 2 0 0 0", "site 3 2 600 1800")
	want(report(inbox.ReportFirstResponse, q), "by_operator", fmt.Sprint(anna, " anna@example.com 2 600 3600"), fmt.Sprint(boss, " boss@example.com 1 1800 1800"))
	// Waiting now: c2 (its target comes after the last pass, so not late
	// yet); calls wait on their callback task, not an answer.
	want(report(inbox.ReportUnanswered, q), "waiting_now", "crm 1 0 "+fmt.Sprint(int64(time.Date(2026, 12, 3, 12, 0, 0, 0, msk).Sub(c2.CreatedAt)/time.Second)))
	// New senders: every lead but the call from s1's known number.
	want(report(inbox.ReportTriage, q), "triage", "crm 2 0 0 2 0", "pbx 1 0 0 1 0", "site 3 1 1 1 33.3")
	// Seven leads: s1, s2, s3, c1, c2 and the two calls (k1 is s1's client).
	utm := report(inbox.ReportUTM, q)
	want(utm, "first_touch", "3", "yandex kitchens 3", "google  1")
	want(utm, "last_touch", "3", "yandex kitchens 2", "google  1", "vk spring 1")
	want(report(inbox.ReportCalls, q), "missed_calls", "pbx 2 1 1200 1200")
	// s2, s3 and c1 were late while nobody had them.
	want(report(inbox.ReportSLA, q), "by_channel", "crm 1 0 1", "site 2 0 2")
	want(report(inbox.ReportSLA, q), "by_assignee", "0 (nobody) 3 0 3")
	// A channel filter.
	only, _ := inbox.NewReportQuery("2026-12-01", "2026-12-01", msk, []string{"site"})
	want(report(inbox.ReportLeads, only), "leads_per_day", "2026-12-01 3 3")
	if _, err := s.Report(ctx, "nope", q); inbox.ErrorCode(err) != inbox.ENOTFOUND {
		t.Errorf("an unknown report: %v", err)
	}
	_ = s3
}
