package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// report is every figure of a run; --json writes it as is.
type report struct {
	Label       string  `json:"label,omitempty"`
	Mode        string  `json:"mode"` // open or closed loop
	Type        string  `json:"type"`
	Channel     string  `json:"channel"`
	URL         string  `json:"url"`
	RateOffered float64 `json:"rate_offered,omitempty"` // mean requests/s of the schedule
	Duration    float64 `json:"duration_s,omitempty"`
	Concurrency int     `json:"concurrency,omitempty"`
	Operators   int     `json:"operators"`
	After       int64   `json:"after_event"`
	Senders     int     `json:"senders"`
	Known       float64 `json:"known_share"`
	Seed        uint64  `json:"seed"`

	Seeding *seedResult `json:"seeding,omitempty"`

	Requests int            `json:"requests"`
	Accepted int            `json:"accepted"`
	Errors   map[string]int `json:"errors"` // by HTTP status, or timeout / connection / canceled
	// AcceptedRate: accepted requests per second, from the start to the
	// last 2xx. DeliveredRate: messages on every socket per second, from
	// the start to the last of their frames.
	SentRate      float64 `json:"sent_per_s"` // requests over the schedule's length (open loop)
	AcceptedRate  float64 `json:"accepted_per_s"`
	DeliveredRate float64 `json:"delivered_per_s,omitempty"`

	// Accept: from the due time to the 2xx response.
	Accept latency `json:"accept"`
	// SendToFrame: from the due time to the message.created frame, once
	// per socket and message. The thirds are of the messages by due time;
	// a last third much slower than the first is a growing backlog.
	SendToFrame         latency   `json:"send_to_frame"`
	SendToFrameFirst    latency   `json:"send_to_frame_first_third"`
	SendToFrameLast     latency   `json:"send_to_frame_last_third"`
	SendToFrameWorstP99 float64   `json:"send_to_frame_worst_socket_p99_ms"`
	SendToFrameBestP99  float64   `json:"send_to_frame_best_socket_p99_ms"`
	Sockets             sockets   `json:"sockets"`
	Generator           generator `json:"generator"`
	GeneratorLag        latency   `json:"generator_lag"`
	GeneratorLate       int       `json:"generator_late_10ms"`
	BenchCPUSeconds     float64   `json:"bench_cpu_s"`
	Counters            counters  `json:"counters"`
	FiledUnaccepted     int       `json:"filed_unaccepted"`
	SocketErrors        []string  `json:"socket_errors,omitempty"`
}

// sockets sums what the operator sockets saw.
type sockets struct {
	Frames int `json:"frames"`
	// Missing: accepted messages a socket never got, summed over sockets;
	// MissingAnywhere: accepted messages missing on at least one.
	Missing         int `json:"missing"`
	MissingAnywhere int `json:"missing_anywhere"`
	Gaps            int `json:"gaps"`
	Doubles         int `json:"doubles"`
	// RepeatedMessages: a message.created frame for a message the socket
	// had already got (under another event id).
	RepeatedMessages int `json:"repeated_messages"`
	Disconnects      int `json:"disconnects"`
}

// fill computes the figures from the results and the sockets (whose
// readers have ended).
func (r *report) fill(results []result, ops []*operator, start time.Time) {
	r.Errors = make(map[string]int)
	var accept, lag []time.Duration
	var lastAccept time.Time
	var end time.Duration // the last due time, to split the run in thirds
	for _, res := range results {
		if res.at.IsZero() {
			continue // never sent: the run was interrupted
		}
		r.Requests++
		lag = append(lag, res.lag)
		if res.lag > 10*time.Millisecond {
			r.GeneratorLate++
		}
		end = max(end, res.at.Sub(start))
		switch {
		case res.accepted():
			r.Accepted++
			accept = append(accept, res.done.Sub(res.at))
			if res.done.After(lastAccept) {
				lastAccept = res.done
			}
		case res.status != 0:
			r.Errors[strconv.Itoa(res.status)]++
		default:
			r.Errors[res.err]++
		}
	}
	if r.Duration > 0 {
		r.SentRate = float64(r.Requests) / r.Duration
	}
	if r.Accepted > 0 {
		r.AcceptedRate = float64(r.Accepted) / lastAccept.Sub(start).Seconds()
	}
	r.Accept = summarize(accept)
	r.GeneratorLag = summarize(lag)
	r.BenchCPUSeconds = cpuSeconds()

	if len(ops) == 0 {
		return
	}
	var all, first, last []time.Duration
	var lastFrame int64
	missingAnywhere := make(map[int]bool)
	filedUnaccepted := make(map[int]bool)
	p99s := make([]time.Duration, 0, len(ops))
	ids := make([][]int64, len(ops))
	groups := make([]int, len(ops))
	for k, op := range ops {
		ids[k], groups[k] = op.ids, op.group
		r.Sockets.Frames += len(op.ids)
		r.Sockets.RepeatedMessages += op.dupMessages
		r.Sockets.Disconnects += op.disconnects
		if op.err != nil {
			r.SocketErrors = append(r.SocketErrors, fmt.Sprintf("socket %d: %v", k+1, op.err))
		}
		var mine []time.Duration
		for i, res := range results {
			got := op.got[i]
			if !res.accepted() {
				if got != 0 {
					filedUnaccepted[i] = true
				}
				continue
			}
			if got == 0 {
				r.Sockets.Missing++
				missingAnywhere[i] = true
				continue
			}
			lastFrame = max(lastFrame, got)
			d := time.Duration(got - res.at.UnixNano())
			mine = append(mine, d)
			switch due := res.at.Sub(start); {
			case due < end/3:
				first = append(first, d)
			case due >= end*2/3:
				last = append(last, d)
			}
		}
		all = append(all, mine...)
		slices.Sort(mine)
		if len(mine) > 0 {
			p99s = append(p99s, percentile(mine, 99))
		}
	}
	for _, c := range checkStreams(ids, groups) {
		r.Sockets.Gaps += c.Gaps
		r.Sockets.Doubles += c.Doubles
	}
	r.Sockets.MissingAnywhere = len(missingAnywhere)
	r.FiledUnaccepted = len(filedUnaccepted)
	if delivered := r.Accepted - len(missingAnywhere); delivered > 0 && lastFrame > 0 {
		r.DeliveredRate = float64(delivered) / time.Duration(lastFrame-start.UnixNano()).Seconds()
	}
	r.SendToFrame = summarize(all)
	r.SendToFrameFirst = summarize(first)
	r.SendToFrameLast = summarize(last)
	if len(p99s) > 0 {
		r.SendToFrameWorstP99 = ms(slices.Max(p99s))
		r.SendToFrameBestP99 = ms(slices.Min(p99s))
	}
}

// cpuSeconds is the CPU time this process has used: the bench shares the
// machine with the hub, so its own cost belongs in the report.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// snapshot is the hub's and the database's counters at one moment.
type snapshot struct {
	metrics map[string]float64 // nil without a /metrics page
	pg      *pgStats
}

func takeCounters(ctx context.Context, client *http.Client, metricsURL string, pg *sql.DB) snapshot {
	s := snapshot{metrics: scrapeMetrics(ctx, client, metricsURL)}
	if pg != nil {
		st, err := readPGSettled(ctx, pg)
		if err != nil {
			fmt.Fprintln(os.Stderr, "postgres counters:", err)
		} else {
			s.pg = &st
		}
	}
	return s
}

// counters are what the run cost the hub and its database, in total and
// per accepted message. Absent figures (no query counter in this hub, no
// --pg-url) are left out.
type counters struct {
	DBQueries           *float64 `json:"db_queries,omitempty"`
	DBQueriesPerMessage *float64 `json:"db_queries_per_message,omitempty"`
	HubCPUSeconds       *float64 `json:"hub_cpu_s,omitempty"`
	HubCPUPerMessageUS  *float64 `json:"hub_cpu_per_message_us,omitempty"`
	PG                  *pgStats `json:"pg,omitempty"`
	PGXactsPerMessage   *float64 `json:"pg_xacts_per_message,omitempty"`
	PGStatementsPerMsg  *float64 `json:"pg_statements_per_message,omitempty"`
	PGTupReturnedPerMsg *float64 `json:"pg_tup_returned_per_message,omitempty"`
	PGTupFetchedPerMsg  *float64 `json:"pg_tup_fetched_per_message,omitempty"`
	PGTupInsertedPerMsg *float64 `json:"pg_tup_inserted_per_message,omitempty"`
	PGTupUpdatedPerMsg  *float64 `json:"pg_tup_updated_per_message,omitempty"`
	MetricsUnavailable  bool     `json:"metrics_unavailable,omitempty"`
	QueryCounterAbsent  bool     `json:"query_counter_absent,omitempty"`
}

func diffCounters(a, b snapshot, accepted int) counters {
	var c counters
	per := func(v float64) *float64 {
		if accepted == 0 {
			return nil
		}
		x := v / float64(accepted)
		return &x
	}
	val := func(v float64) *float64 { return &v }
	if a.metrics == nil || b.metrics == nil {
		c.MetricsUnavailable = true
	} else {
		q0, ok0 := a.metrics[metricQueries]
		q1, ok1 := b.metrics[metricQueries]
		if ok0 && ok1 {
			c.DBQueries, c.DBQueriesPerMessage = val(q1-q0), per(q1-q0)
		} else {
			c.QueryCounterAbsent = true
		}
		c0, ok0 := a.metrics[metricCPU]
		c1, ok1 := b.metrics[metricCPU]
		if ok0 && ok1 {
			c.HubCPUSeconds = val(c1 - c0)
			if p := per(c1 - c0); p != nil {
				c.HubCPUPerMessageUS = val(*p * 1e6)
			}
		}
	}
	if a.pg != nil && b.pg != nil {
		d := b.pg.sub(*a.pg)
		c.PG = &d
		c.PGXactsPerMessage = per(float64(d.XactCommit + d.XactRollback))
		if d.Statements >= 0 {
			c.PGStatementsPerMsg = per(float64(d.Statements))
		}
		c.PGTupReturnedPerMsg = per(float64(d.TupReturned))
		c.PGTupFetchedPerMsg = per(float64(d.TupFetched))
		c.PGTupInsertedPerMsg = per(float64(d.TupInserted))
		c.PGTupUpdatedPerMsg = per(float64(d.TupUpdated))
	}
	return c
}

// print writes the summary for people.
func (r *report) print(w io.Writer) {
	if r.Label != "" {
		fmt.Fprintf(w, "%s\n", r.Label)
	}
	switch r.Mode {
	case "open":
		fmt.Fprintf(w, "load        open loop, Poisson %.0f/s for %.0f s (seed %d), %s channel %q\n", r.RateOffered, r.Duration, r.Seed, r.Type, r.Channel)
	default:
		fmt.Fprintf(w, "load        closed loop, %d concurrent senders, %s channel %q\n", r.Concurrency, r.Type, r.Channel)
	}
	fmt.Fprintf(w, "senders     %.0f%% of %d known people, the rest new\n", r.Known*100, r.Senders)
	fmt.Fprintf(w, "requests    %d sent, %d accepted, errors: %s\n", r.Requests, r.Accepted, errorList(r.Errors))
	fmt.Fprint(w, "rate        ")
	if r.SentRate > 0 {
		fmt.Fprintf(w, "%.1f sent/s, ", r.SentRate)
	}
	fmt.Fprintf(w, "%.1f accepted/s", r.AcceptedRate)
	if r.Operators > 0 {
		fmt.Fprintf(w, ", %.1f/s delivered to every socket", r.DeliveredRate)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "accept      %s\n", r.Accept)
	if r.Operators > 0 {
		fmt.Fprintf(w, "send→frame  %s over %d sockets\n", r.SendToFrame, r.Operators)
		fmt.Fprintf(w, "            p99 per socket %.1f–%.1f ms; first third p99 %.1f ms, last third p99 %.1f ms\n",
			r.SendToFrameBestP99, r.SendToFrameWorstP99, r.SendToFrameFirst.P99, r.SendToFrameLast.P99)
		s := r.Sockets
		fmt.Fprintf(w, "sockets     %d frames; gaps %d, doubles %d, missing %d (%d messages), repeated messages %d, disconnects %d\n",
			s.Frames, s.Gaps, s.Doubles, s.Missing, s.MissingAnywhere, s.RepeatedMessages, s.Disconnects)
		if r.FiledUnaccepted > 0 {
			fmt.Fprintf(w, "            %d requests that got no 2xx were filed anyway\n", r.FiledUnaccepted)
		}
		for _, e := range r.SocketErrors {
			fmt.Fprintf(w, "            %s\n", e)
		}
	}
	if r.Mode == "open" {
		fmt.Fprintf(w, "generator   start lag p99 %.1f ms, max %.1f ms, %d requests >10 ms late", r.GeneratorLag.P99, r.GeneratorLag.Max, r.GeneratorLate)
		if r.Generator.PoolFull > 0 {
			fmt.Fprintf(w, ", every sender busy %d times", r.Generator.PoolFull)
		}
		fmt.Fprintln(w)
		if r.GeneratorLate > r.Requests/100 {
			fmt.Fprintln(w, "            the generator fell behind its schedule (see the lag): its figures include that delay")
		}
	}
	fmt.Fprintf(w, "bench       CPU %.1f s\n", r.BenchCPUSeconds)
	c := r.Counters
	switch {
	case c.MetricsUnavailable:
		fmt.Fprintln(w, "hub         no /metrics page")
	default:
		fmt.Fprint(w, "hub         ")
		if c.DBQueries != nil {
			fmt.Fprintf(w, "%.0f database queries (%s per message)", *c.DBQueries, num(c.DBQueriesPerMessage))
		} else {
			fmt.Fprint(w, "no leadhub_db_queries_total")
		}
		if c.HubCPUSeconds != nil {
			fmt.Fprintf(w, ", CPU %.1f s (%s µs per message)", *c.HubCPUSeconds, num(c.HubCPUPerMessageUS))
		}
		fmt.Fprintln(w)
	}
	if c.PG != nil {
		st := "no pg_stat_statements"
		if c.PGStatementsPerMsg != nil {
			st = fmt.Sprintf("%d statements (%s per message)", c.PG.Statements, num(c.PGStatementsPerMsg))
		}
		fmt.Fprintf(w, "postgres    %d transactions (%s per message), %s; per message tuples returned %s, fetched %s, inserted %s, updated %s\n",
			c.PG.XactCommit+c.PG.XactRollback, num(c.PGXactsPerMessage), st,
			num(c.PGTupReturnedPerMsg), num(c.PGTupFetchedPerMsg), num(c.PGTupInsertedPerMsg), num(c.PGTupUpdatedPerMsg))
	}
}

func (l latency) String() string {
	if l.Count == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %.1f ms  p90 %.1f ms  p99 %.1f ms  p99.9 %.1f ms  max %.1f ms  (%d samples)", l.P50, l.P90, l.P99, l.P999, l.Max, l.Count)
}

func num(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return strconv.FormatFloat(*v, 'f', 2, 64)
}

func errorList(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
