// Package inboxtest holds helpers shared by tests that need the real
// services: PostgreSQL and Redis given by LEADHUB_TEST_POSTGRES and
// LEADHUB_TEST_REDIS. Without them such tests skip, unless
// LEADHUB_TEST_REQUIRE_SERVICES=1 (as in CI) turns the skip into a failure.
package inboxtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Unique returns a short random name for isolating one test's data.
func Unique(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func service(t testing.TB, env string) string {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		if os.Getenv("LEADHUB_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatalf("%s is not set but LEADHUB_TEST_REQUIRE_SERVICES=1", env)
		}
		t.Skipf("%s not set; skipping test that needs the real service", env)
	}
	return v
}

// PostgresURL returns a URL to a fresh, empty schema in the test database,
// dropped when the test ends, so that packages testing in parallel never see
// each other's rows.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := service(t, "LEADHUB_TEST_POSTGRES")
	schema := Unique("t_")
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		db.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Logf("drop schema %s: %v", schema, err)
		}
		db.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse LEADHUB_TEST_POSTGRES: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// RedisURL returns the test Redis URL. Tests isolate themselves by using
// key names from Unique.
func RedisURL(t testing.TB) string {
	t.Helper()
	return service(t, "LEADHUB_TEST_REDIS")
}
