package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// seedResult is what seeding the client cards did and took.
type seedResult struct {
	Cards    int     `json:"cards"`
	Imported int     `json:"imported"`
	Merged   int     `json:"merged"`
	Rejected int     `json:"rejected"`
	Seconds  float64 `json:"seconds"`
}

// seedCards creates the known population, cards for the phones knownPhone(0)
// ... knownPhone(n-1), through the hub's own CSV import
// (POST /api/v1/clients/import, a supervisor's token), so the cards are
// exactly what the hub would have made of them. The file goes in chunks,
// below the hub's upload limit, a few at a time. Running it again merges
// every row into the existing cards and creates nothing.
func seedCards(ctx context.Context, client *http.Client, base, token string, n, chunk, parallel int, progress io.Writer) (seedResult, error) {
	res := seedResult{Cards: n}
	start := time.Now()
	var mu sync.Mutex
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(parallel)
	for from := 0; from < n; from += chunk {
		to := min(from+chunk, n)
		g.Go(func() error {
			rep, err := importChunk(ctx, client, base, token, from, to)
			if err != nil {
				return fmt.Errorf("seed cards %d-%d: %w", from, to-1, err)
			}
			mu.Lock()
			defer mu.Unlock()
			res.Imported += rep.Imported
			res.Merged += rep.Merged
			res.Rejected += rep.Rejected
			if done := res.Imported + res.Merged + res.Rejected; progress != nil && done%(10*chunk) < chunk {
				fmt.Fprintf(progress, "seeded %d/%d cards in %v\n", done, n, time.Since(start).Round(time.Second))
			}
			return nil
		})
	}
	err := g.Wait()
	res.Seconds = time.Since(start).Seconds()
	if err == nil && res.Rejected > 0 {
		err = fmt.Errorf("seed cards: the hub rejected %d rows", res.Rejected)
	}
	return res, err
}

// seedCSV is the import file for cards from..to-1, in the hub's CSV format.
func seedCSV(from, to int) []byte {
	var b bytes.Buffer
	b.Grow((to - from) * 28)
	b.WriteString("name;phone\n")
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "Bench %d;%s\n", i, knownPhone(int64(i)))
	}
	return b.Bytes()
}

type importTotals struct {
	Imported int `json:"imported"`
	Merged   int `json:"merged"`
	Rejected int `json:"rejected"`
}

func importChunk(ctx context.Context, client *http.Client, base, token string, from, to int) (importTotals, error) {
	var rep importTotals
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/clients/import", bytes.NewReader(seedCSV(from, to)))
	if err != nil {
		return rep, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "text/csv; charset=utf-8")
	resp, err := client.Do(req)
	if err != nil {
		return rep, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 500))
		return rep, fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	// The report lists every row too; only the totals matter here.
	err = json.NewDecoder(resp.Body).Decode(&rep)
	return rep, err
}
