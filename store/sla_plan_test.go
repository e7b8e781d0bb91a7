package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestSupervisionPlansUseIndexes: on SQLite the supervisor's look-ups walk
// their partial indexes, never the conversations or tasks tables (a pass
// with 100,000 waiting clients took 130 ms through the status index).
func TestSupervisionPlansUseIndexes(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Options{URL: "sqlite:" + filepath.Join(t.TempDir(), "x.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, query, index string
		args               []any
	}{
		{"DueWarnings", s.q.DueWarnings, "conversations_sla_warn_idx", []any{"2026", 10}},
		{"DueBreaches", s.q.DueBreaches, "conversations_sla_due_idx", []any{"2026", 10}},
		{"DueReminders", s.q.DueReminders, "tasks_due_idx", []any{"2026", 10}},
		{"DueOverdueTasks", s.q.DueOverdueTasks, "tasks_due_idx", []any{"2026", 10}},
		{"OfflineAssigned", s.q.OfflineAssigned, "conversations_assignee_open_idx", []any{"2026", "crm", 10}},
		{"WaitingInChannel", s.q.WaitingInChannel, "conversations_waiting_idx", []any{"crm", 10}},
	} {
		var plan []string
		rows, err := s.db.QueryxContext(ctx, "EXPLAIN QUERY PLAN "+c.query, c.args...)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if !strings.Contains(plan[0], "USING INDEX "+c.index) {
			t.Errorf("%s: plan %q, want it to start from %s", c.name, plan, c.index)
		}
	}
}
