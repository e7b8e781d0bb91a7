package main

import "testing"

func TestParseMetrics(t *testing.T) {
	page := `# HELP leadhub_db_queries_total Queries.
# TYPE leadhub_db_queries_total counter
leadhub_db_queries_total{op="select"} 120
leadhub_db_queries_total{op="insert",table="a}b"} 30
leadhub_db_queries_total_other 5
process_cpu_seconds_total 1.5e+00
`
	m := parseMetrics(page, metricQueries, metricCPU, "absent_total")
	if m[metricQueries] != 150 || m[metricCPU] != 1.5 {
		t.Errorf("parsed %v", m)
	}
	if _, ok := m["absent_total"]; ok {
		t.Error("an absent metric is present")
	}
}

func TestSeedCSV(t *testing.T) {
	if got, want := string(seedCSV(5, 7)), "name;phone\nBench 5;+79990000005\nBench 6;+79990000006\n"; got != want {
		t.Errorf("seedCSV = %q, want %q", got, want)
	}
}
