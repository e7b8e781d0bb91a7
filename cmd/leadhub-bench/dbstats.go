package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for pg_stat_database
)

// The hub's counters read before and after a run. Either may be missing
// (an older hub has no query counter; process metrics are optional), so
// each is kept with whether it was there.
const (
	metricQueries = "leadhub_db_queries_total"
	metricCPU     = "process_cpu_seconds_total"
)

// parseMetrics sums, for each name, the samples of that metric in a
// Prometheus text page (all label sets together). Names absent from the
// page are absent from the map.
func parseMetrics(page string, names ...string) map[string]float64 {
	out := make(map[string]float64)
	sc := bufio.NewScanner(strings.NewReader(page))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		for _, name := range names {
			rest, ok := strings.CutPrefix(line, name)
			if !ok || rest == "" || (rest[0] != '{' && rest[0] != ' ') {
				continue
			}
			if i := strings.LastIndexByte(rest, '}'); i >= 0 {
				rest = rest[i+1:]
			}
			// value [timestamp]
			fields := strings.Fields(rest)
			if len(fields) == 0 {
				continue
			}
			if v, err := strconv.ParseFloat(fields[0], 64); err == nil {
				out[name] += v
			}
		}
	}
	return out
}

// scrapeMetrics reads the hub's /metrics page; nil when it cannot.
func scrapeMetrics(ctx context.Context, client *http.Client, url string) map[string]float64 {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil
	}
	return parseMetrics(string(body), metricQueries, metricCPU)
}

// pgStats are the database-wide counters of pg_stat_database, plus the
// statements pg_stat_statements counted when that extension is installed.
type pgStats struct {
	XactCommit   int64 `json:"xact_commit"`
	XactRollback int64 `json:"xact_rollback"`
	TupReturned  int64 `json:"tup_returned"`
	TupFetched   int64 `json:"tup_fetched"`
	TupInserted  int64 `json:"tup_inserted"`
	TupUpdated   int64 `json:"tup_updated"`
	TupDeleted   int64 `json:"tup_deleted"`
	// Statements is -1 without pg_stat_statements.
	Statements int64 `json:"statements"`
}

func (a pgStats) sub(b pgStats) pgStats {
	d := pgStats{
		XactCommit: a.XactCommit - b.XactCommit, XactRollback: a.XactRollback - b.XactRollback,
		TupReturned: a.TupReturned - b.TupReturned, TupFetched: a.TupFetched - b.TupFetched,
		TupInserted: a.TupInserted - b.TupInserted, TupUpdated: a.TupUpdated - b.TupUpdated,
		TupDeleted: a.TupDeleted - b.TupDeleted, Statements: -1,
	}
	if a.Statements >= 0 && b.Statements >= 0 {
		d.Statements = a.Statements - b.Statements
	}
	return d
}

func openPG(ctx context.Context, url string) (*sql.DB, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func readPG(ctx context.Context, db *sql.DB) (pgStats, error) {
	var s pgStats
	err := db.QueryRowContext(ctx, `SELECT xact_commit, xact_rollback, tup_returned, tup_fetched,
		tup_inserted, tup_updated, tup_deleted FROM pg_stat_database WHERE datname = current_database()`).
		Scan(&s.XactCommit, &s.XactRollback, &s.TupReturned, &s.TupFetched, &s.TupInserted, &s.TupUpdated, &s.TupDeleted)
	if err != nil {
		return s, fmt.Errorf("pg_stat_database: %w", err)
	}
	var calls sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT sum(calls)::bigint FROM pg_stat_statements
		WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&calls); err != nil || !calls.Valid {
		s.Statements = -1
	} else {
		s.Statements = calls.Int64
	}
	return s, nil
}

// readPGSettled reads the counters once they have stopped moving. Since
// PostgreSQL 15 a busy backend publishes its counters at most once a second
// and an idle one within about ten, so right after a run they lag behind;
// our own reads move them by a few, which is what "stopped" allows for.
func readPGSettled(ctx context.Context, db *sql.DB) (pgStats, error) {
	prev, err := readPG(ctx, db)
	if err != nil {
		return prev, err
	}
	for range 15 {
		select {
		case <-ctx.Done():
			return prev, ctx.Err()
		case <-time.After(time.Second):
		}
		cur, err := readPG(ctx, db)
		if err != nil {
			return prev, err
		}
		if cur.XactCommit-prev.XactCommit <= 3 {
			return cur, nil
		}
		prev = cur
	}
	return prev, nil
}

// lastEventID is the newest event's id, so the operator sockets can start
// after it instead of replaying the whole history. A failure is returned
// for the caller to fall back on reading the history from a socket.
func lastEventID(ctx context.Context, db *sql.DB) (int64, error) {
	var id int64
	err := db.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM events`).Scan(&id)
	return id, err
}
