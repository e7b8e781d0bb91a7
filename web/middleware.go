package web

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

type ctxKey int

const (
	loggerKey ctxKey = iota
	operatorKey
)

// loggerFrom returns the request's logger (with request_id, method and path),
// or a discarding one outside a request.
func loggerFrom(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey).(*slog.Logger); ok {
		return l
	}
	return slog.New(slog.DiscardHandler)
}

// operatorFrom returns the operator the auth middleware let in.
func operatorFrom(ctx context.Context) (inbox.Operator, bool) {
	p, ok := principalFrom(ctx)
	return p.op, ok
}

// requestID gives every request an id (the caller's X-Request-Id when it is
// sane, so ids can be followed through a proxy) and a logger carrying it.
func (s *Server) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		w.Header().Set("X-Request-Id", id)
		// Only the path: query strings may carry secrets (telephony
		// providers sign with them).
		log := s.log.With("request_id", id, "method", r.Method, "path", r.URL.Path)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), loggerKey, log)))
	})
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return false
		}
	}
	return true
}

// hsts tells browsers to never use plain HTTP with a hub whose public URL
// is https.
func (s *Server) hsts(next http.Handler) http.Handler {
	if s.public == nil || s.public.Scheme != "https" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		next.ServeHTTP(w, r)
	})
}

// securityHeaders are sent on every response. The CSP is left to the hook
// routes themselves: they serve providers and the form embed script, not
// our pages.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		if !strings.HasPrefix(r.URL.Path, "/hooks/") {
			h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
		}
		next.ServeHTTP(w, r)
	})
}

// statusRecorder remembers the status for the access log. It implements
// http.Hijacker itself because gorilla/websocket type-asserts for it.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (rec *statusRecorder) WriteHeader(status int) {
	if rec.status == 0 {
		rec.status = status
	}
	rec.ResponseWriter.WriteHeader(status)
}

func (rec *statusRecorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec.ResponseWriter.Write(b)
}

func (rec *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(rec.ResponseWriter).Hijack()
	if err == nil && rec.status == 0 {
		rec.status = http.StatusSwitchingProtocols
	}
	return conn, brw, err
}

func (rec *statusRecorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

func (rec *statusRecorder) headerWritten() bool { return rec.status != 0 }

// accessLog logs each request at debug level.
func accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		loggerFrom(r.Context()).Debug("request", "status", rec.status, "duration", time.Since(start))
	})
}

// recoverer turns a panicking handler into a logged 500 instead of a dropped
// connection.
func recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v) // the handler's way of aborting the response on purpose
			}
			loggerFrom(r.Context()).Error("handler panic", "panic", v, "stack", string(debug.Stack()))
			if hw, ok := w.(interface{ headerWritten() bool }); ok && hw.headerWritten() {
				return
			}
			writeError(w, r, errors.New("web: handler panic"))
		}()
		next.ServeHTTP(w, r)
	})
}

// authenticator identifies the operator behind a request. ok=false with a
// nil error means the request carries none of this authenticator's
// credentials, and the next one is asked.
type authenticator func(r *http.Request) (p principal, ok bool, err error)

// requireOperator lets a request through only when one of auths identifies
// an operator, and puts the principal into the request context.
func requireOperator(auths ...authenticator) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for _, auth := range auths {
				p, ok, err := auth(r)
				if err != nil {
					writeError(w, r, err)
					return
				}
				if ok {
					ctx := context.WithValue(r.Context(), operatorKey, p)
					next.ServeHTTP(w, r.WithContext(ctx))
					return
				}
			}
			writeError(w, r, inbox.Errorf(inbox.EUNAUTHORIZED, "unauthorized"))
		})
	}
}

// limitBody bounds every request body of the JSON API (decodeJSON bounds
// it again, with a clear 413): nothing reads more than that by accident.
func limitBody(n int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, n)
		}
		next.ServeHTTP(w, r)
	})
}
