package store

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/leadhub/leadhub/inbox"
)

// BenchmarkSQLiteStatementCache runs store reads with and without the
// per-connection statement cache (sqlitedriver.go) on 10,000 cards.
//
//	go test -run '^$' -bench BenchmarkSQLiteStatementCache ./store
func BenchmarkSQLiteStatementCache(b *testing.B) {
	for _, size := range []int{0, sqliteStmtCacheSize} {
		b.Run(fmt.Sprintf("cache=%d", size), func(b *testing.B) {
			s := openBench(b, DialectSQLite)
			seedCards(b, s, 10_000)
			// Reopen the same file with the cache size under test.
			db, err := openSQLite(sqliteDSN(b, s), size, new(atomic.Uint64))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { db.Close() })
			s.db = sqlx.NewDb(db, "sqlite")
			ctx := context.Background()
			b.Run("OperatorByEmail", func(b *testing.B) {
				for b.Loop() {
					if _, _, err := s.OperatorByEmail(ctx, "nobody@example.com"); inbox.ErrorCode(err) != inbox.ENOTFOUND {
						b.Fatal(err)
					}
				}
			})
			b.Run("GetClient", func(b *testing.B) {
				for b.Loop() {
					if _, err := s.GetClient(ctx, 42); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("ListClients", func(b *testing.B) {
				for b.Loop() {
					if _, _, err := s.ListClients(ctx, "", "", 50); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// sqliteDSN is the DSN s was opened with.
func sqliteDSN(b *testing.B, s *Store) string {
	b.Helper()
	var path string
	if err := s.db.Get(&path, `SELECT file FROM pragma_database_list WHERE name = 'main'`); err != nil {
		b.Fatal(err)
	}
	_, _, dsn, _, err := dataSource(Options{URL: "sqlite:" + filepath.Clean(path)})
	if err != nil {
		b.Fatal(err)
	}
	return dsn
}

// BenchmarkPool runs the hub's mix at several pool sizes: 4 filing workers
// filing batches of 16 envelopes as fast as they can (a backlog), and API
// reads (a client card, a page of conversations) arriving at 200/s from 8
// callers, each read started on schedule whether or not the one before has
// finished (open loop), as requests do. It reports envelopes filed and reads done per second, the slowest 1% of
// batches and reads, and how often a caller waited for a connection. Each
// size runs the mix for mixFor, whatever b.N is:
//
//	go test -run '^$' -bench BenchmarkPool -benchtime 1x ./store
func BenchmarkPool(b *testing.B) {
	for _, dialect := range dialects {
		for _, open := range []int{2, 4, 8, 16, 32} {
			b.Run(fmt.Sprintf("%s/max_open=%d", dialect, open), func(b *testing.B) {
				s := openPool(b, dialect, Pool{MaxOpenConns: open})
				benchMix(b, s)
			})
		}
	}
}

// mixFor is how long benchMix runs its mix.
const mixFor = 5 * time.Second

func benchMix(b *testing.B, s *Store) {
	const writers, readers, readRate, batch = 4, 8, 200, 16
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var seq atomic.Int64
	fileOne := func() error {
		envs := make([]inbox.Envelope, batch)
		for j := range envs {
			n := seq.Add(1)
			envs[j] = inbox.Envelope{
				DedupeKey: fmt.Sprintf("bench:%d", n), ChannelID: "site", ChannelType: inbox.ChannelAPI,
				From: inbox.Contact{Name: "Bench", Identities: []inbox.Identity{
					{Kind: inbox.IdentityPhone, Value: fmt.Sprintf("+7901%07d", n%5000)}}},
				Text: "text", ReceivedAt: time.Now(),
			}
		}
		_, _, err := s.FileBatch(ctx, envs)
		return err
	}
	for range 20 { // something to read
		if err := fileOne(); err != nil {
			b.Fatal(err)
		}
	}
	var (
		mu          sync.Mutex
		writeLat    []time.Duration
		readLat     []time.Duration
		filed, read int
	)
	var failed atomic.Value
	readOne := func(r, i int) {
		t0 := time.Now()
		var err error
		if i%2 == 0 {
			_, err = s.GetClient(ctx, int64(1+(r+i)%20))
		} else {
			_, _, err = s.ListConversations(ctx, inbox.ConversationFilter{Limit: 50})
		}
		if ctx.Err() != nil {
			return // cut short by the end of the run
		}
		if err != nil && inbox.ErrorCode(err) != inbox.ENOTFOUND {
			failed.Store(err)
			return
		}
		mu.Lock()
		readLat = append(readLat, time.Since(t0))
		read++
		mu.Unlock()
	}
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for ctx.Err() == nil {
				t0 := time.Now()
				if err := fileOne(); err != nil {
					if ctx.Err() == nil {
						failed.Store(err)
					}
					return
				}
				mu.Lock()
				writeLat = append(writeLat, time.Since(t0))
				filed += batch
				mu.Unlock()
			}
		})
	}
	for r := range readers {
		wg.Go(func() {
			tick := time.NewTicker(time.Second * readers / readRate)
			defer tick.Stop()
			var inflight sync.WaitGroup
			defer inflight.Wait()
			for i := 0; ; i++ {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				inflight.Go(func() { readOne(r, i) })
			}
		})
	}
	time.Sleep(mixFor)
	cancel()
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(filed)/el, "envelopes/s")
	b.ReportMetric(float64(read)/el, "reads/s")
	b.ReportMetric(float64(p99(writeLat).Microseconds())/1000, "batch-p99-ms")
	b.ReportMetric(float64(p99(readLat).Microseconds())/1000, "read-p99-ms")
	b.ReportMetric(float64(s.db.Stats().WaitCount), "pool-waits")
}

func p99(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)*99/100]
}
