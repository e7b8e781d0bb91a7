// Command leadhub-bench drives a running hub through its real webhook
// endpoints and measures what the issues ask for: requests accepted per
// second and how long they take to be accepted, the time from sending a
// message to its frame on every operator's websocket, whether every socket
// saw every event exactly once, and how many database queries each message
// cost.
//
// Closed loop (the most the hub accepts from a fixed set of senders):
//
//	leadhub-bench --url http://localhost:8080 --channel crm --secret S --token T \
//	    --n 5000 --concurrency 32
//
// Open loop (a Poisson arrival process at a fixed rate; latency counts from
// each request's scheduled send time, so a stalling hub cannot hide), with
// 20 operator sockets and 1,000,000 seeded client cards:
//
//	leadhub-bench --url http://localhost:8080 --channel crm --secret S --token T \
//	    --seed-cards 1000000 --known 0.9 --rate 500 --duration 30s --operators 20 --json out.json
//
// It posts to an API, form (--type form) or Telegram (--type telegram)
// channel. See the README's "Measuring throughput and latency".
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "leadhub-bench:", err)
		os.Exit(1)
	}
}

// options are the command line.
type options struct {
	base, channel, kind, secret string
	tokens                      []string
	n, conc                     int
	rate                        float64
	duration                    time.Duration
	seed                        uint64
	maxInflight                 int
	operators                   int
	after                       int64
	senders                     int
	known                       float64
	seedCards                   int
	seedChunk, seedParallel     int
	seedOnly                    bool
	metricsURL, pgURL           string
	timeout                     time.Duration
	jsonFile, label             string
}

func parseFlags() (options, error) {
	var o options
	var token, tokens string
	var seed int64
	flag.StringVar(&o.base, "url", "http://localhost:8080", "hub base URL")
	flag.StringVar(&o.channel, "channel", "crm", "channel id")
	flag.StringVar(&o.kind, "type", "api", "channel type: api (signed JSON), form (urlencoded) or telegram (Bot API updates)")
	flag.StringVar(&o.secret, "secret", os.Getenv("LEADHUB_BENCH_SECRET"), "channel secret (API HMAC key, Telegram secret token; unused for forms)")
	flag.StringVar(&token, "token", os.Getenv("LEADHUB_BENCH_TOKEN"), "operator API token for the websockets (admin or supervisor, to see every message) and for --seed-cards (supervisor)")
	flag.StringVar(&tokens, "tokens", "", "comma-separated tokens the websockets take in turn (default: --token for all)")
	flag.IntVar(&o.n, "n", 2000, "closed loop: messages to send")
	flag.IntVar(&o.conc, "concurrency", 16, "closed loop: concurrent senders")
	flag.Float64Var(&o.rate, "rate", 0, "open loop: mean requests per second of a Poisson process (0: closed loop)")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "open loop: how long to send")
	flag.Int64Var(&seed, "seed", 1, "random seed of the arrival times and senders")
	flag.IntVar(&o.maxInflight, "max-inflight", 2000, "open loop: requests in flight at most; when the hub holds this many, the generator falls behind (reported)")
	flag.IntVar(&o.operators, "operators", 1, "operator websockets, each receiving every event")
	flag.Int64Var(&o.after, "after", -1, "start the websockets after this event id (-1: the newest event, from --pg-url or by replaying the history once)")
	flag.IntVar(&o.senders, "senders", 200, "known people the messages come from: phones +7999NNNNNNN, N < senders (default --seed-cards when seeding)")
	flag.Float64Var(&o.known, "known", 1, "share of messages from known people; the rest come from new people (+7998...)")
	flag.IntVar(&o.seedCards, "seed-cards", 0, "first import this many client cards for the known people through POST /api/v1/clients/import")
	flag.IntVar(&o.seedChunk, "seed-chunk", 20000, "cards per import request")
	flag.IntVar(&o.seedParallel, "seed-parallel", 2, "import requests at a time")
	flag.BoolVar(&o.seedOnly, "seed-only", false, "seed the cards and stop")
	flag.StringVar(&o.metricsURL, "metrics-url", "", "the hub's Prometheus page (default: --url + /metrics)")
	flag.StringVar(&o.pgURL, "pg-url", "", "the hub's PostgreSQL database, to read pg_stat_database before and after")
	flag.DurationVar(&o.timeout, "timeout", time.Minute, "after the last request, wait this long for the frames")
	flag.StringVar(&o.jsonFile, "json", "", "also write every figure to this JSON file")
	flag.StringVar(&o.label, "label", "", "a note kept in the JSON (e.g. \"pg+redis, 1M cards, 20 sockets\")")
	flag.Parse()

	o.base = strings.TrimRight(o.base, "/")
	o.seed = uint64(seed)
	if o.metricsURL == "" {
		o.metricsURL = o.base + "/metrics"
	}
	if tokens != "" {
		o.tokens = strings.Split(tokens, ",")
	} else if token != "" {
		o.tokens = []string{token}
	}
	sendersSet := false
	flag.Visit(func(f *flag.Flag) { sendersSet = sendersSet || f.Name == "senders" })
	if o.seedCards > 0 && !sendersSet {
		o.senders = o.seedCards
	}
	switch {
	case len(o.tokens) == 0 && (o.operators > 0 || o.seedCards > 0):
		return o, errors.New("--token is required for --operators and --seed-cards")
	case o.secret == "" && o.kind != "form" && !o.seedOnly:
		return o, errors.New("--secret is required except for forms")
	case requests[o.kind] == nil:
		return o, errors.New("--type must be api, form or telegram")
	case o.rate < 0 || o.n < 0 || o.conc < 1 || o.maxInflight < 1 || o.operators < 0:
		return o, errors.New("--rate, --n, --operators must not be negative; --concurrency and --max-inflight must be positive")
	case o.known < 0 || o.known > 1:
		return o, errors.New("--known is a share between 0 and 1")
	case o.senders < 1 || o.senders > 10_000_000 || o.seedCards > 10_000_000:
		return o, errors.New("--senders and --seed-cards must be between 1 and 10,000,000")
	case o.seedChunk < 1 || o.seedParallel < 1:
		return o, errors.New("--seed-chunk and --seed-parallel must be positive")
	}
	return o, nil
}

func run() error {
	o, err := parseFlags()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	rep := report{Label: o.label, Type: o.kind, Channel: o.channel, URL: o.base, Operators: o.operators,
		Senders: o.senders, Known: o.known, Seed: o.seed}

	if o.seedCards > 0 {
		// Imports take seconds each: no 30 s request timeout here.
		seedClient := &http.Client{}
		defer seedClient.CloseIdleConnections()
		fmt.Fprintf(os.Stderr, "seeding %d client cards...\n", o.seedCards)
		res, err := seedCards(ctx, seedClient, o.base, o.tokens[0], o.seedCards, o.seedChunk, o.seedParallel, os.Stderr)
		rep.Seeding = &res
		if err != nil {
			return err
		}
		fmt.Printf("seeded %d client cards (%d new, %d already there) in %.1f s: %.0f cards/s\n",
			res.Cards, res.Imported, res.Merged, res.Seconds, float64(res.Cards)/res.Seconds)
		if o.seedOnly {
			return writeJSON(o.jsonFile, rep)
		}
	}

	var pg *sql.DB
	if o.pgURL != "" {
		if pg, err = openPG(ctx, o.pgURL); err != nil {
			return fmt.Errorf("--pg-url: %w", err)
		}
		defer pg.Close()
	}

	// The plan: when each request is due and who sends it, fixed before
	// the run so the senders share nothing but their own results.
	var offs []time.Duration
	nreq := o.n
	if o.rate > 0 {
		offs = arrivals(o.rate, o.duration, o.seed)
		nreq = len(offs)
		rep.Mode, rep.RateOffered, rep.Duration = "open", o.rate, o.duration.Seconds()
	} else {
		rep.Mode, rep.Concurrency = "closed", o.conc
	}
	runNano := time.Now().UnixNano()
	runID := strconv.FormatInt(runNano, 10)
	plan := planSenders(nreq, o.known, o.senders, o.seed, uint64(runNano))
	seqBase := time.Now().Unix() % 1000000 * 100000

	ops, after, err := openOperators(ctx, o, pg, runID, nreq)
	defer func() {
		for _, op := range ops {
			op.close()
		}
	}()
	if err != nil {
		return err
	}
	rep.After = after

	client := &http.Client{
		Transport: &http.Transport{MaxIdleConns: o.maxInflight, MaxIdleConnsPerHost: o.maxInflight, IdleConnTimeout: time.Minute},
		Timeout:   30 * time.Second,
	}
	defer client.CloseIdleConnections()

	before := takeCounters(ctx, client, o.metricsURL, pg)

	build := requests[o.kind]
	hookURL := o.base + "/hooks/" + o.kind + "/" + o.channel
	results := make([]result, nreq)
	send := func(i int, at time.Time) {
		r := &results[i]
		r.at, r.lag = at, time.Since(at)
		marker := runID + "-" + strconv.Itoa(i)
		req := build(hookURL, o.secret, marker, seqBase+int64(i), plan[i]).WithContext(ctx)
		resp, err := client.Do(req)
		if err != nil {
			r.done, r.err = time.Now(), errorClass(err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		r.done, r.status = time.Now(), resp.StatusCode
	}

	fmt.Fprintf(os.Stderr, "sending %d requests...\n", nreq)
	start := time.Now().Add(20 * time.Millisecond) // a common start for the schedule
	if o.rate > 0 {
		rep.Generator = openLoop(ctx, start, offs, o.maxInflight, send)
	} else {
		time.Sleep(time.Until(start))
		closedLoop(ctx, o.n, o.conc, send)
	}

	accepted := 0
	for _, r := range results {
		if r.accepted() {
			accepted++
		}
	}
	if len(ops) > 0 {
		fmt.Fprintf(os.Stderr, "waiting for the frames of %d accepted requests...\n", accepted)
		if !waitFrames(ctx, ops, int64(accepted), o.timeout) {
			fmt.Fprintln(os.Stderr, "timed out waiting for websocket frames")
		}
	}
	for _, op := range ops {
		op.close()
	}
	after2 := takeCounters(ctx, client, o.metricsURL, pg)

	rep.fill(results, ops, start)
	rep.Counters = diffCounters(before, after2, rep.Accepted)
	rep.print(os.Stdout)
	if err := writeJSON(o.jsonFile, rep); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return errors.New("interrupted")
	}
	if s := rep.Sockets; s.Missing+s.Gaps+s.Doubles+s.RepeatedMessages > 0 {
		return fmt.Errorf("the operator sockets did not see every accepted message exactly once")
	}
	return nil
}

// openOperators finds where the event history ends and connects the
// operator sockets after it, each with its reader running. On an error the
// sockets opened so far are returned, for the caller to close.
func openOperators(ctx context.Context, o options, pg *sql.DB, runID string, nreq int) ([]*operator, int64, error) {
	if o.operators == 0 {
		return nil, 0, nil
	}
	after := o.after
	if after < 0 && pg != nil {
		id, err := lastEventID(ctx, pg)
		if err == nil {
			after = id
		} else {
			fmt.Fprintf(os.Stderr, "newest event from PostgreSQL: %v; replaying the history instead\n", err)
		}
	}
	if after < 0 {
		id, n, err := drainHead(ctx, o.base, o.tokens[0], time.Second)
		if err != nil {
			return nil, 0, err
		}
		fmt.Fprintf(os.Stderr, "replayed %d events of history: the websockets start after event %d\n", n, id)
		after = id
	}
	var ops []*operator
	for k := range o.operators {
		g := k % len(o.tokens)
		op := newOperator(o.base, o.tokens[g], g, runID+"-", nreq)
		if err := op.connect(ctx, after); err != nil {
			return ops, after, fmt.Errorf("operator socket %d: %w", k+1, err)
		}
		go op.read(after)
		ops = append(ops, op)
	}
	return ops, after, nil
}

// waitFrames waits until every socket has seen want messages of this run,
// or for timeout.
func waitFrames(ctx context.Context, ops []*operator, want int64, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		all := true
		for _, op := range ops {
			all = all && op.seen.Load() >= want
		}
		if all {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
}

func writeJSON(path string, rep report) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
