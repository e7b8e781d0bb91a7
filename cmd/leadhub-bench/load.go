package main

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// result is one request as the bench saw it. Each sender goroutine writes
// only its own request's result.
type result struct {
	at     time.Time     // when it was due: the scheduled time (open loop) or when it went (closed loop)
	lag    time.Duration // how much later than at it actually went
	done   time.Time     // when the response (or the error) came
	status int           // HTTP status; 0 when there was none
	err    string        // why there was no response: timeout, canceled, connection
}

func (r result) accepted() bool { return r.status >= 200 && r.status < 300 }

// errorClass names a transport error for the report's error counts.
func errorClass(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	default:
		return "connection"
	}
}

// generator is how the open-loop generator kept up with its schedule.
type generator struct {
	// PoolFull counts the times every sender was busy when a request was
	// due: the hub was holding maxInflight requests, or the bench cannot
	// keep up; either way the requests after it went late (and their
	// latency, counted from the schedule, shows it).
	PoolFull int `json:"pool_full"`
}

// openLoop sends request i at start+offs[i] whatever happened to the
// requests before it: a Poisson process of independent clients, not a
// fixed set of clients waiting on each other, so a hub that stalls
// cannot slow the load down and hide its own stall. Requests run in their
// own goroutines, at most maxInflight at a time; openLoop returns when all
// have ended.
func openLoop(ctx context.Context, start time.Time, offs []time.Duration, maxInflight int, send func(i int, at time.Time)) generator {
	var g generator
	sem := make(chan struct{}, maxInflight)
	var wg sync.WaitGroup
	timer := time.NewTimer(0)
	defer timer.Stop()
loop:
	for i, off := range offs {
		at := start.Add(off)
		if d := time.Until(at); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				break loop
			case <-timer.C:
			}
		}
		select {
		case sem <- struct{}{}:
		default:
			g.PoolFull++
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				break loop
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			send(i, at)
		}()
	}
	wg.Wait()
	return g
}

// closedLoop sends n requests from conc senders, each sending its next
// request when the hub has answered the one before: the most the hub
// accepts, with latency from when each request actually went.
func closedLoop(ctx context.Context, n, conc int, send func(i int, at time.Time)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				send(i, time.Now())
			}
		}()
	}
	wg.Wait()
}
