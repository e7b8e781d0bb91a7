package main

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/leadhub/leadhub/config"
)

// TestDatabasePoolAndQueryMetric checks that [database] pool keys reach the
// store's pool and that /metrics counts the statements the hub runs.
func TestDatabasePoolAndQueryMetric(t *testing.T) {
	for _, s := range setups[:2] {
		t.Run(s.name, func(t *testing.T) {
			cfg := testConfig(t, s.postgres, s.rds, "")
			cfg.Database.MaxOpenConns = 7
			cfg.Database.ConnMaxIdleTime = config.Duration{Duration: time.Hour}
			r := startHub(t, cfg)
			if got := r.hub.backend.store.DB().Stats().MaxOpenConnections; got != 7 {
				t.Fatalf("pool max open = %d, want database.max_open_conns = 7", got)
			}
			queries := func() uint64 {
				v := metric(t, r.base, "leadhub_db_queries_total")
				n, err := strconv.ParseFloat(v, 64)
				if err != nil {
					t.Fatalf("leadhub_db_queries_total = %q: %v", v, err)
				}
				return uint64(n)
			}
			before := queries()
			if before == 0 {
				t.Fatal("migrations and start-up ran statements, but the counter is 0")
			}
			body := `{"id": "pool-1", "from": {"phone": "+79120000001"}, "text": "hi"}`
			resp := signedPost(t, r.base+"/hooks/api/crm", body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
				t.Fatalf("post: %s", resp.Status)
			}
			waitFor(t, "message filed", func() bool { return metric(t, r.base, "leadhub_filed_total") == "1" })
			if after := queries(); after <= before {
				t.Fatalf("filing a message ran no counted statements: %d, then %d", before, after)
			}
			if got, want := queries(), r.hub.backend.store.QueryCount(); got > want {
				t.Fatalf("metric %d ahead of Store.QueryCount %d", got, want)
			}
		})
	}
}
