package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/leadhub/leadhub/inbox"
	"golang.org/x/time/rate"
)

// hookHandler is the one handler every provider calls. The rules no
// connector may break live here: unknown channels are 404, abusive callers
// 429, big bodies 413, bad signatures whatever the connector says, and the
// provider gets its 2xx only after every envelope is durably queued.
type hookHandler struct {
	hooks   map[string]Hook
	sink    inbox.Sink
	maxBody int64
	limiter *limiter // per client address and channel
	// channelLimiter is per channel, all addresses together: a botnet
	// spread over many addresses still cannot flood one channel.
	channelLimiter *limiter
	metrics        *Metrics
	// outage logs the queue's failures once per outage, not per request.
	outage *outageLog
}

// lookup finds the request's channel, answering 404 itself when there is
// none. Unknown channels are not counted in metrics: the label would be
// whatever a scanner makes up.
func (h *hookHandler) lookup(w http.ResponseWriter, r *http.Request) (Hook, bool) {
	hook, ok := h.hooks[r.PathValue("channel")]
	// Only telephony providers post below their channel's URL (Mango
	// appends /events/call, ...).
	sub := r.PathValue("rest") != "" && hook.Type != inbox.ChannelTelephony
	if !ok || string(hook.Type) != r.PathValue("type") || sub {
		writeError(w, r, inbox.Errorf(inbox.ENOTFOUND, "unknown channel"))
		return Hook{}, false
	}
	if c, ok := hook.Webhook.(CORSer); ok {
		c.CORS(r, w.Header())
	}
	return hook, true
}

// preflight answers a browser's CORS preflight for channels that allow it.
func (h *hookHandler) preflight(w http.ResponseWriter, r *http.Request) {
	hook, ok := h.lookup(w, r)
	if !ok {
		return
	}
	if _, ok := hook.Webhook.(CORSer); !ok {
		writeError(w, r, inbox.Errorf(inbox.ENOTFOUND, "no cross-origin access to this channel"))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// embed serves a channel's script for marketers' pages.
func (h *hookHandler) embed(w http.ResponseWriter, r *http.Request) {
	hook, ok := h.lookup(w, r)
	if !ok {
		return
	}
	e, ok := hook.Webhook.(Embedder)
	if !ok {
		writeError(w, r, inbox.Errorf(inbox.ENOTFOUND, "this channel has no embed script"))
		return
	}
	e.ServeEmbed(w, r)
}

func (h *hookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	channel := r.PathValue("channel")
	hook, ok := h.lookup(w, r)
	if !ok {
		return
	}
	now := time.Now()
	if !h.limiter.allow(clientIP(r)+"\x00"+channel, now) || !h.channelLimiter.allow(channel, now) {
		h.reject(w, r, channel, inbox.Errorf(inbox.ERATELIMIT, "too many requests"))
		return
	}

	maxBody := h.maxBody
	if bl, ok := hook.Webhook.(BodyLimiter); ok {
		maxBody = bl.MaxBody()
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			err = inbox.Errorf(inbox.ETOOLARGE, "body is larger than %d bytes", maxBody)
		} else {
			err = inbox.Errorf(inbox.EINVALID, "cannot read body")
		}
		h.reject(w, r, channel, err)
		return
	}

	envs, ack, err := hook.Webhook.Parse(r, body)
	if err != nil {
		h.reject(w, r, channel, err)
		return
	}
	for i := range envs {
		// Connectors fill these; a forgetful one must still be filed under
		// the channel its webhook arrived on.
		if envs[i].ChannelID == "" {
			envs[i].ChannelID = channel
		}
		if envs[i].ChannelType == "" {
			envs[i].ChannelType = hook.Type
		}
		if err := h.sink.Enqueue(r.Context(), envs[i]); err != nil {
			// Nothing is acked: the provider retries, and whatever was
			// queued already is deduplicated when filed.
			code := inbox.ErrorCode(err)
			if statusOf(code) < 500 {
				h.reject(w, r, channel, err)
				return
			}
			h.metrics.inbound(channel, "rejected", code)
			h.outage.failed(time.Now(), err)
			answerError(w, r, err)
			return
		}
	}
	if len(envs) > 0 {
		h.outage.succeeded(time.Now())
	}
	h.metrics.inbound(channel, "accepted", "")

	if resp, ok := hook.Webhook.(Responder); ok {
		resp.Respond(w, r, envs)
		return
	}
	if ack == nil {
		writeJSON(w, r, http.StatusOK, map[string]bool{"ok": true})
		return
	}
	if looksLikeJSON(ack) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(ack)
}

// reject counts and answers a refused webhook request. The body is never
// logged: it is customers' personal data.
func (h *hookHandler) reject(w http.ResponseWriter, r *http.Request, channel string, err error) {
	code := inbox.ErrorCode(err)
	h.metrics.inbound(channel, "rejected", code)
	if statusOf(code) < 500 {
		loggerFrom(r.Context()).Info("webhook rejected", "channel", channel, "code", code, "reason", inbox.ErrorMessage(err))
	}
	writeError(w, r, err)
}

// looksLikeJSON reports whether an ack is a JSON object or array; anything
// else ("ok", a VK confirmation code, an echoed token) is plain text even
// when it happens to be a valid JSON number.
func looksLikeJSON(b []byte) bool {
	t := bytes.TrimSpace(b)
	return len(t) > 0 && (t[0] == '{' || t[0] == '[') && json.Valid(t)
}

// limiter is a token bucket per key. A nil *limiter allows everything.
type limiter struct {
	rate  rate.Limit
	burst int
	// idle is how long an unused bucket is kept; by then it has refilled,
	// so forgetting it changes nothing.
	idle time.Duration

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiter(perSecond float64) *limiter {
	if perSecond <= 0 {
		return nil
	}
	burst := int(math.Ceil(2 * perSecond))
	if burst < 1 {
		burst = 1
	}
	idle := time.Minute
	if refill := time.Duration(float64(burst) / perSecond * float64(time.Second)); refill > idle {
		idle = refill
	}
	return &limiter{
		rate:    rate.Limit(perSecond),
		burst:   burst,
		idle:    idle,
		buckets: make(map[string]*bucket),
	}
}

func (l *limiter) allow(key string, now time.Time) bool {
	if l == nil {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// Sweeping on the request path keeps memory bounded without a goroutine.
	if now.Sub(l.lastSweep) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.seen) > l.idle {
				delete(l.buckets, k)
			}
		}
		l.lastSweep = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(l.rate, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	return b.lim.AllowN(now, 1)
}
