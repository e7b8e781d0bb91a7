package web

import (
	"log/slog"
	"sync"
	"time"
)

// outageLog turns a run of refused webhooks into a few log lines: one when
// the first request is refused, one summary a minute while the outage
// lasts, and one with the count when a request gets through again. An
// ERROR per refused request buried the logs (thousands of lines for a
// five-second Redis restart) without saying more than the first one did.
type outageLog struct {
	log   *slog.Logger
	every time.Duration // between summaries while the outage lasts

	mu        sync.Mutex
	failing   bool
	since     time.Time // of the first refusal
	lastLine  time.Time
	refused   int // in the whole outage
	sinceLine int // since the last line
}

func newOutageLog(log *slog.Logger) *outageLog {
	return &outageLog{log: log, every: time.Minute}
}

// failed records one request refused because the queue failed.
func (o *outageLog) failed(now time.Time, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.refused++
	o.sinceLine++
	if !o.failing {
		o.failing, o.since, o.lastLine, o.sinceLine = true, now, now, 0
		o.log.Error("webhooks refused: the queue is failing; one line a minute until it recovers", "err", err)
		return
	}
	if now.Sub(o.lastLine) >= o.every {
		o.log.Error("webhooks still refused: the queue is failing",
			"refused", o.sinceLine, "over", now.Sub(o.lastLine).Round(time.Second).String(),
			"outage", now.Sub(o.since).Round(time.Second).String(), "err", err)
		o.lastLine, o.sinceLine = now, 0
	}
}

// succeeded records a request the queue took; it ends an outage.
func (o *outageLog) succeeded(now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.failing {
		return
	}
	o.log.Warn("webhooks accepted again: the queue recovered",
		"refused", o.refused, "over", now.Sub(o.since).Round(time.Second).String())
	o.failing, o.refused, o.sinceLine = false, 0, 0
}
