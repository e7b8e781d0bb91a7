package store

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// BenchmarkSLATimers measures what tracking answer timers costs with
// 100,000 open conversations whose clients wait: ns/op is one supervisor
// pass while nothing is due yet (the hub makes one every two seconds);
// then every timer falls due at once and the passes raise all 100,000
// breaches (alert, breach record, events), reported as timers per second
// of wall time and per second of this process's CPU (on SQLite that is all
// of it; PostgreSQL's own CPU is another process's).
//
//	LEADHUB_TEST_POSTGRES=... go test -run '^$' -bench BenchmarkSLATimers -benchtime 20x -timeout 30m ./store
func BenchmarkSLATimers(b *testing.B) {
	for _, dialect := range []string{DialectSQLite, DialectPostgres} {
		b.Run(dialect, func(b *testing.B) {
			const n = 100_000
			s := openBench(b, dialect)
			clock := inbox.NewFakeClock(time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC))
			s.clock = clock
			seedCards(b, s, n)
			ctx := context.Background()
			start := clock.Now()
			due := start.Add(15 * time.Minute)
			_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO conversations
				(client_id, channel_id, channel_type, status, unread, last_message_at, created_at,
				 waiting_since, sla_kind, sla_due_at, sla_warn_at)
				SELECT id, 'crm', 'api', 'open', 1, ?, ?, ?, 'first', ?, ? FROM clients`),
				dbTime(start), dbTime(start), dbTime(start), dbTime(due), dbTime(due.Add(-3*time.Minute)))
			if err != nil {
				b.Fatal(err)
			}
			if dialect == DialectPostgres {
				if _, err := s.db.ExecContext(ctx, "ANALYZE"); err != nil {
					b.Fatal(err)
				}
			}
			clock.Advance(time.Minute)
			b.ResetTimer()
			for b.Loop() {
				evs, err := s.RaiseAlerts(ctx, time.Hour, 200)
				if err != nil || len(evs) != 0 {
					b.Fatalf("an idle pass raised %d alerts (%v)", len(evs), err)
				}
			}
			b.StopTimer()

			clock.Advance(30 * time.Minute)
			cpu0, wall0 := cpuTime(b), time.Now()
			raised := 0
			for {
				evs, err := s.RaiseAlerts(ctx, time.Hour, 200)
				if err != nil {
					b.Fatal(err)
				}
				if len(evs) == 0 {
					break
				}
				for _, e := range evs {
					if e.Type == inbox.AlertSLABreached {
						raised++
					}
				}
			}
			cpu, wall := cpuTime(b)-cpu0, time.Since(wall0)
			if raised != n {
				b.Fatalf("raised %d breaches, want %d", raised, n)
			}
			b.ReportMetric(float64(n)/wall.Seconds(), "timers/s")
			b.ReportMetric(float64(n)/cpu.Seconds(), "timers/cpu-s")
		})
	}
}

// cpuTime is the CPU this process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
