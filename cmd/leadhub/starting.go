package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/leadhub/leadhub/config"
	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/web"
)

// unreachableError marks a failure to reach a networked database or queue:
// serve waits for those to come back instead of exiting. Its text is the
// wrapped error's, so commands print what they always printed.
type unreachableError struct {
	what string // "database" or "queue"
	err  error
}

func (e *unreachableError) Error() string { return e.err.Error() }
func (e *unreachableError) Unwrap() error { return e.err }

// unreachable wraps err as an unreachableError when networked says the
// dependency is a server (PostgreSQL, Redis) that may come back. SQLite's
// failures (a data dir that is not writable) do not fix themselves: they
// stay plain errors, and serve exits on them as before.
func unreachable(networked bool, what string, err error) error {
	if !networked {
		return err
	}
	return &unreachableError{what: what, err: err}
}

// retryPolicy is how serve waits for the database and the queue.
type retryPolicy struct {
	first, max time.Duration // the backoff: first, doubling, at most max
	attempt    time.Duration // one attempt's deadline (an unroutable host does not refuse, it hangs)
	logEvery   time.Duration // at most one log line this often, with the count of attempts
}

// startRetry is serve's policy; tests shorten it.
var startRetry = retryPolicy{first: 500 * time.Millisecond, max: 30 * time.Second, attempt: 15 * time.Second, logEvery: 10 * time.Second}

// waiter opens the backend, retrying while it is unreachable, and says
// what it is waiting for to the starting page.
type waiter struct {
	policy retryPolicy
	log    *slog.Logger

	mu      sync.Mutex
	what    string // "database" or "queue"
	attempt int
	since   time.Time
}

// reason is what /readyz says while waiting: which dependency, how many
// attempts for how long. Never the error's text: it may name hosts and
// users, which the logs have.
func (w *waiter) reason() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.attempt == 0 {
		return "connecting to the database and the queue"
	}
	return fmt.Sprintf("the %s is unreachable (%d attempts over %s)", w.what, w.attempt, time.Since(w.since).Round(time.Second))
}

// open is an opener: openBackend until it succeeds, fails for a reason
// that waiting will not fix, or ctx ends.
func (w *waiter) open(ctx context.Context, cfg config.Config, logger *slog.Logger, onGroupRecreated func()) (*backend, error) {
	start := time.Now()
	var lastLog time.Time
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, w.policy.attempt)
		b, err := openBackend(actx, cfg, logger, onGroupRecreated)
		cancel()
		if err == nil {
			if attempt > 1 {
				w.log.Info("the database and the queue answer; starting", "attempts", attempt,
					"waited", time.Since(start).Round(time.Millisecond).String())
			}
			return b, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var u *unreachableError
		if !errors.As(err, &u) {
			return nil, err
		}
		w.mu.Lock()
		w.what, w.attempt, w.since = u.what, attempt, start
		w.mu.Unlock()
		wait := inbox.Backoff(attempt, w.policy.first, w.policy.max)
		if now := time.Now(); now.Sub(lastLog) >= w.policy.logEvery {
			w.log.Warn("waiting for the "+u.what, "attempt", attempt, "waited", now.Sub(start).Round(time.Second).String(),
				"retry_in", wait.Round(time.Millisecond).String(), "err", err)
			lastLog = now
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// buildWaiting builds the hub, serving the starting page on ho while the
// backend is unreachable; it stops that page before returning, so that the
// hub's server takes the address over (ho.Last).
func buildWaiting(ctx context.Context, cfg config.Config, logger *slog.Logger, ho *handoff, policy retryPolicy) (*hub, error) {
	w := &waiter{policy: policy, log: logger}
	srv := &http.Server{
		Handler:           web.StartingHandler(w.reason),
		ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout.Duration,
		ReadTimeout:       cfg.HTTP.ReadTimeout.Duration,
		WriteTimeout:      cfg.HTTP.WriteTimeout.Duration,
		IdleTimeout:       cfg.HTTP.IdleTimeout.Duration,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	if cfg.HTTP.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.HTTP.TLSCert, cfg.HTTP.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("http.tls_cert %s and http.tls_key %s: %w", cfg.HTTP.TLSCert, cfg.HTTP.TLSKey, err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln := ho.Next()
	errc := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()
	h, err := buildWith(ctx, cfg, logger, w.open)
	// Requests in flight on the starting page finish; new connections
	// wait in ho for the hub's server.
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil {
		srv.Close()
	}
	<-errc // http.ErrServerClosed
	return h, err
}

// handoff hands one listener's connections to two servers in turn: the
// starting page, then the hub. An http.Server closes its listener when it
// shuts down, and the address must stay open in between (a load balancer
// polling /readyz should see 503 and then 200, never a refused
// connection), so each server gets a listener of its own fed from here.
//
// Its accept goroutine runs until Close, or the Last listener's Close.
type handoff struct {
	ln    net.Listener
	conns chan net.Conn
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
}

func newHandoff(ln net.Listener) *handoff {
	h := &handoff{ln: ln, conns: make(chan net.Conn), stop: make(chan struct{}), done: make(chan struct{})}
	go h.accept()
	return h
}

func (h *handoff) accept() {
	defer close(h.done)
	for {
		c, err := h.ln.Accept()
		if err != nil {
			select {
			case <-h.stop:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: as http.Server
			// does, wait a little and accept again.
			time.Sleep(50 * time.Millisecond)
			continue
		}
		select {
		case h.conns <- c:
		case <-h.stop:
			c.Close()
			return
		}
	}
}

// Close closes the address and waits for the accept goroutine.
func (h *handoff) Close() error {
	h.once.Do(func() {
		close(h.stop)
		h.ln.Close()
	})
	<-h.done
	return nil
}

// Next is a listener for a server that gives the address up when it shuts
// down; Last one for the server that keeps it to the end.
func (h *handoff) Next() net.Listener { return &subListener{h: h, closed: make(chan struct{})} }
func (h *handoff) Last() net.Listener {
	return &subListener{h: h, closed: make(chan struct{}), last: true}
}

type subListener struct {
	h      *handoff
	closed chan struct{}
	once   sync.Once
	last   bool // closing it closes the address
}

func (l *subListener) Accept() (net.Conn, error) {
	select {
	case <-l.closed:
		return nil, net.ErrClosed
	default:
	}
	select {
	case c := <-l.h.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	case <-l.h.done:
		return nil, net.ErrClosed
	}
}

func (l *subListener) Close() error {
	l.once.Do(func() {
		close(l.closed)
		if l.last {
			// Not h.Close: this runs inside the server's shutdown, and
			// the accept goroutine ends on its own once the address is
			// closed; serve waits for it with h.Close afterwards.
			l.h.once.Do(func() {
				close(l.h.stop)
				l.h.ln.Close()
			})
		}
	})
	return nil
}

func (l *subListener) Addr() net.Addr { return l.h.ln.Addr() }
