// Package storetest opens real, migrated stores for tests: SQLite in a
// temporary directory always, PostgreSQL in a fresh schema of the database
// named by LEADHUB_TEST_POSTGRES (the test skips without it, unless
// LEADHUB_TEST_REQUIRE_SERVICES=1 turns that into a failure).
package storetest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox/inboxtest"
	"github.com/leadhub/leadhub/store"
)

// Open returns a migrated store of the dialect (store.DialectSQLite or
// store.DialectPostgres), closed when the test ends.
func Open(t testing.TB, dialect string) *store.Store {
	t.Helper()
	return OpenWith(t, dialect, store.Options{})
}

// OpenWith is Open with options (a clock, an SLA policy); their URL is
// the dialect's test database.
func OpenWith(t testing.TB, dialect string, o store.Options) *store.Store {
	t.Helper()
	var url string
	switch dialect {
	case store.DialectSQLite:
		url = "sqlite:" + filepath.Join(t.TempDir(), "leadhub.db")
	case store.DialectPostgres:
		url = inboxtest.PostgresURL(t)
	default:
		t.Fatalf("storetest: unknown dialect %q", dialect)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o.URL = url
	s, err := store.Open(ctx, o)
	if err != nil {
		t.Fatalf("storetest: open %s: %v", dialect, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("storetest: close: %v", err)
		}
	})
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("storetest: migrate %s: %v", dialect, err)
	}
	return s
}
