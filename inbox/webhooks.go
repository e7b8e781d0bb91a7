package inbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Outgoing webhooks: integrations (1C, an ERP, a marketing tool) subscribe a
// URL to event types. A dispatcher turns each new event into one delivery
// per matching subscription, advancing the subscription's position in the
// transaction that inserts the deliveries, so that two instances never
// dispatch one event twice. Deliveries are claimed with a lease and POSTed,
// signed, in order per conversation (or per card for card events without a
// conversation): a later delivery with the same order key waits until the
// earlier one is delivered or failed for good. Failures are retried with
// growing pauses for RetryFor (24 hours), then given up.

// Webhook is a subscription of a URL to event types.
type Webhook struct {
	ID  int64  `json:"id"`
	URL string `json:"url"`
	// Events are the patterns the subscription takes: an outgoing event
	// type, "<noun>.*", or "*" (WebhookPatternValid).
	Events []string `json:"events"`
	// Source is "api" (managed through the admin API) or "config" (from
	// the config file, read-only in the API).
	Source string `json:"source"`
	// Secret signs the deliveries. The store keeps it; the API shows it
	// once, when it creates the subscription.
	Secret    string    `json:"secret,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// Position is the id of the last event turned into deliveries; a new
	// subscription starts at the newest event (no history is sent).
	Position int64 `json:"-"`
}

// Webhook sources.
const (
	WebhookSourceAPI    = "api"
	WebhookSourceConfig = "config"
)

// Delivery states.
const (
	WebhookPending   = "pending"
	WebhookDelivered = "delivered"
	WebhookFailed    = "failed"
)

// WebhookDelivery is one event sent to one subscription, as its log shows.
type WebhookDelivery struct {
	ID            int64      `json:"id"`
	WebhookID     int64      `json:"webhook_id"`
	EventID       int64      `json:"event_id"`
	EventType     string     `json:"event_type"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	LastStatus    int        `json:"last_status"` // 0: no HTTP answer yet
	LastError     string     `json:"last_error"`
	NextAttemptAt *time.Time `json:"next_attempt_at"` // pending ones only
	DeliveredAt   *time.Time `json:"delivered_at"`
	CreatedAt     time.Time  `json:"created_at"`
}

// DeliveryFilter selects a page of a subscription's delivery log, newest
// first: deliveries with ids below Before (0: from the newest), of State
// ("" any).
type DeliveryFilter struct {
	WebhookID int64
	State     string
	Before    int64
	Limit     int
}

// NewWebhookDelivery is a delivery the dispatcher asks the store to insert.
type NewWebhookDelivery struct {
	EventID   int64
	EventType string
	// OrderKey groups the deliveries that must go out in order.
	OrderKey string
}

// WebhookJob is a claimed delivery: what to send where.
type WebhookJob struct {
	DeliveryID int64
	WebhookID  int64
	URL        string
	Secret     string
	Event      Event
	// Attempt counts this one (1 on the first).
	Attempt int
	// FirstAttemptAt is when the delivery was first tried: retries stop
	// RetryFor after it.
	FirstAttemptAt time.Time
}

// WebhookResult is how an attempt ended.
type WebhookResult struct {
	DeliveryID int64
	Attempt    int
	// State is WebhookDelivered, WebhookFailed (for good) or
	// WebhookPending (to be tried again at RetryAt).
	State   string
	Status  int
	Error   string
	RetryAt time.Time
	At      time.Time
}

// WebhookStore is what the webhook worker needs of the store.
type WebhookStore interface {
	// WebhookSubscriptions returns every subscription with its secret and
	// position.
	WebhookSubscriptions(ctx context.Context) ([]Webhook, error)
	EventsAfter(ctx context.Context, after int64, limit int) ([]Event, error)
	// AdvanceWebhook moves subscription id's position from from to to
	// and inserts ds in the same transaction; it reports false (and
	// inserts nothing) when the position was no longer from: another
	// instance dispatched those events.
	AdvanceWebhook(ctx context.Context, id, from, to int64, ds []NewWebhookDelivery) (bool, error)
	// ClaimWebhookDeliveries returns up to limit due deliveries, each the
	// oldest pending one of its order key, leased for lease.
	ClaimWebhookDeliveries(ctx context.Context, limit int, lease time.Duration) ([]WebhookJob, error)
	// FinishWebhookAttempts records attempts' results; a result for an
	// attempt that is no longer its delivery's latest is ignored.
	FinishWebhookAttempts(ctx context.Context, rs []WebhookResult) error
}

// Outgoing event types: what a subscription may receive. Operators' own
// read marks (conversation.read), list bookkeeping (conversation.moved),
// operators, teams and revoked credentials are the hub's internal
// business and never go out, whatever their audience. Alerts (sla.*,
// task.due, task.overdue) go out whoever they were raised for.
var outgoingEvents = []string{
	EventMessageCreated, EventMessageUpdated,
	EventConversationCreated, EventConversationUpdated,
	EventClientUpdated, EventClientMerged, EventClientDuplicateSuggested, EventClientErased,
	EventCallRinging, EventCallUpdated,
	EventTaskCreated, EventTaskUpdated, AlertTaskDue, AlertTaskOverdue,
	AlertSLAWarning, AlertSLABreached,
}

// OutgoingEvents returns the event types webhooks may carry.
func OutgoingEvents() []string { return slices.Clone(outgoingEvents) }

// EventGoesOut reports whether an event of type typ may be sent to
// webhooks.
func EventGoesOut(typ string) bool { return slices.Contains(outgoingEvents, typ) }

// WebhookPatternValid reports whether p names outgoing events: "*", an
// outgoing type, or "<noun>.*" for a noun that has outgoing types.
func WebhookPatternValid(p string) bool {
	if p == "*" || EventGoesOut(p) {
		return true
	}
	noun, ok := strings.CutSuffix(p, ".*")
	if !ok || noun == "" {
		return false
	}
	for _, t := range outgoingEvents {
		if strings.HasPrefix(t, noun+".") {
			return true
		}
	}
	return false
}

// CheckWebhookPatterns returns an EINVALID error naming the first unknown
// pattern, or when there is none.
func CheckWebhookPatterns(ps []string) error {
	if len(ps) == 0 {
		return Errorf(EINVALID, "events: name at least one event type or pattern")
	}
	for _, p := range ps {
		if !WebhookPatternValid(p) {
			return Errorf(EINVALID, "events: unknown event type or pattern %q (known: *, message.*, conversation.*, client.*, call.*, task.*, sla.* or one of their types)", p)
		}
	}
	return nil
}

// WebhookMatches reports whether a subscription to patterns receives an
// event of type typ.
func WebhookMatches(patterns []string, typ string) bool {
	if !EventGoesOut(typ) {
		return false
	}
	for _, p := range patterns {
		if p == "*" || p == typ {
			return true
		}
		if noun, ok := strings.CutSuffix(p, ".*"); ok && strings.HasPrefix(typ, noun+".") {
			return true
		}
	}
	return false
}

// WebhookOrderKey is the key within which e's deliveries keep their order:
// its conversation, else its card, else the event alone.
func WebhookOrderKey(e Event) string {
	switch {
	case e.Audience.ConversationID != 0:
		return "conversation:" + strconv.FormatInt(e.Audience.ConversationID, 10)
	case e.Audience.ClientID != 0:
		return "client:" + strconv.FormatInt(e.Audience.ClientID, 10)
	}
	return "event:" + strconv.FormatInt(e.ID, 10)
}

// WebhookSelf is where the hub itself can be reached: a subscription must
// not point there (it would feed the hub its own events, or probe its
// admin API with the hub's credentials).
type WebhookSelf struct {
	// PublicURL is http.public_url ("" when unset).
	PublicURL string
	// Addr is the listen address, http.addr (":8080", "127.0.0.1:8080").
	Addr string
}

// CheckWebhookURL returns an EINVALID error when raw is not an absolute
// http(s) URL with a host, carries credentials, or points at the hub
// itself. "Itself" is, by name or address literal (no DNS look-up: a name
// may resolve differently later, and the hub does not follow redirects):
//   - the host of PublicURL, on any port, unless that host is a loopback
//     or unspecified address or "localhost" (a development setup), where
//     only PublicURL's own port counts;
//   - localhost, *.localhost, 127.0.0.0/8, ::1, 0.0.0.0 and :: on the
//     port the hub listens on;
//   - the host of the listen address on its port.
func CheckWebhookURL(raw string, self WebhookSelf) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return Errorf(EINVALID, "url: %q is not an absolute http(s) URL", raw)
	}
	if u.User != nil {
		return Errorf(EINVALID, "url: put no user or password in the URL; deliveries are signed with the secret")
	}
	host, port := normHost(u.Hostname()), urlPort(u)
	refuse := Errorf(EINVALID, "url: %q points at the hub itself", raw)
	if self.PublicURL != "" {
		if pu, err := url.Parse(self.PublicURL); err == nil && pu.Hostname() != "" {
			ph := normHost(pu.Hostname())
			if host == ph && (!localHost(ph) || port == urlPort(pu)) {
				return refuse
			}
		}
	}
	if self.Addr != "" {
		lh, lp, err := net.SplitHostPort(self.Addr)
		if err == nil && port == lp {
			if localHost(host) || (lh != "" && host == normHost(lh)) {
				return refuse
			}
		}
	}
	return nil
}

// normHost lower-cases a host and drops a trailing dot, so that
// "HUB.example.com." is "hub.example.com".
func normHost(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }

// localHost reports whether h names this machine or every address of it.
func localHost(h string) bool {
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && (ip.IsLoopback() || ip.IsUnspecified())
}

// urlPort is u's port, or its scheme's default.
func urlPort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}

// Headers of a delivery.
const (
	WebhookDeliveryHeader  = "X-Leadhub-Delivery"
	WebhookEventHeader     = "X-Leadhub-Event"
	WebhookTimestampHeader = "X-Leadhub-Timestamp"
	WebhookSignatureHeader = "X-Leadhub-Signature"
)

// SignWebhook returns the signature header of a body: "sha256=" and the
// hex HMAC-SHA256 of the body under secret — the API channel's scheme
// (DESIGN §3), so one verifier serves both. A delivery's body carries the
// time it was sent (sent_at), signed with the rest, for receivers that
// refuse replayed old deliveries.
func SignWebhook(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifyWebhook is what a receiver does: it reports whether sig signs body
// under secret, comparing in constant time.
func VerifyWebhook(secret string, body []byte, sig string) bool {
	got, ok := strings.CutPrefix(strings.TrimSpace(sig), "sha256=")
	if !ok || secret == "" {
		return false
	}
	raw, err := hex.DecodeString(got)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hmac.Equal(raw, m.Sum(nil))
}

// WebhookPayload is the body of a delivery: {"id": <delivery id>,
// "event": <the event as on the websocket>} (DESIGN §3), and when this
// attempt was sent.
type WebhookPayload struct {
	ID     int64        `json:"id"` // the delivery's id, the same on every attempt
	Event  WebhookEvent `json:"event"`
	SentAt time.Time    `json:"sent_at"`
}

// WebhookEvent is an event as the websocket carries it.
type WebhookEvent struct {
	ID   int64           `json:"id"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// WebhookBackoff is the pause after failed attempt n (1, 2, ...): 30
// seconds, doubling, at most an hour.
func WebhookBackoff(n int) time.Duration { return Doubling(30*time.Second, time.Hour, n) }

// MaxRetryAfter caps a receiver's Retry-After: a receiver cannot park a
// delivery (and the conversation's later ones behind it) for days.
const MaxRetryAfter = time.Hour

// WebhookOptions configures a WebhookWorker.
type WebhookOptions struct {
	Store  WebhookStore
	Client *http.Client // default: one with Timeout and no redirects
	Clock  Clock
	Logger *slog.Logger
	// Poll is how often new events and due deliveries are looked for.
	// Default 2 s.
	Poll time.Duration
	// Workers bounds the deliveries sent at once. Default 4.
	Workers int
	// Timeout bounds one attempt. Default 10 s.
	Timeout time.Duration
	// RetryFor is how long after its first attempt a delivery is retried.
	// Default 24 hours.
	RetryFor time.Duration
	// OnResult, when set, is told each attempt's outcome: "delivered",
	// "retry" or "failed" (metrics).
	OnResult func(outcome string)
}

// WebhookWorker dispatches events to subscriptions and sends the
// deliveries; Run it once per instance.
type WebhookWorker struct{ opts WebhookOptions }

// NewWebhookWorker returns the worker with defaults filled in.
func NewWebhookWorker(o WebhookOptions) *WebhookWorker {
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.RetryFor <= 0 {
		o.RetryFor = 24 * time.Hour
	}
	if o.Client == nil {
		o.Client = &http.Client{
			Timeout: o.Timeout,
			// A redirect is not followed: it could lead the hub's
			// request to a place CheckWebhookURL refuses.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &WebhookWorker{opts: o}
}

// Run dispatches and sends until ctx ends.
func (w *WebhookWorker) Run(ctx context.Context) error {
	return drain(ctx, w.opts.Poll, nil, w.opts.Logger, "webhooks", w.RunOnce)
}

// RunOnce dispatches one batch of new events and sends one batch of due
// deliveries; it returns how much it did (0: nothing to do).
func (w *WebhookWorker) RunOnce(ctx context.Context) (int, error) {
	n, err := w.Dispatch(ctx)
	if err != nil {
		return n, err
	}
	m, err := w.Deliver(ctx)
	return n + m, err
}

// dispatchBatch is how many events one dispatch reads.
const dispatchBatch = 500

// Dispatch turns up to dispatchBatch new events into deliveries for every
// subscription; it returns how many events it consumed.
func (w *WebhookWorker) Dispatch(ctx context.Context) (int, error) {
	subs, err := w.opts.Store.WebhookSubscriptions(ctx)
	if err != nil || len(subs) == 0 {
		return 0, err
	}
	// One read serves every subscription: from the one furthest behind.
	from := subs[0].Position
	for _, s := range subs {
		from = min(from, s.Position)
	}
	evs, err := w.opts.Store.EventsAfter(ctx, from, dispatchBatch)
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	last := evs[len(evs)-1].ID
	for _, s := range subs {
		if s.Position >= last {
			continue
		}
		var ds []NewWebhookDelivery
		for _, e := range evs {
			if e.ID > s.Position && e.Audience.Kind != AudienceNobody && WebhookMatches(s.Events, e.Type) {
				ds = append(ds, NewWebhookDelivery{EventID: e.ID, EventType: e.Type, OrderKey: WebhookOrderKey(e)})
			}
		}
		if _, err := w.opts.Store.AdvanceWebhook(ctx, s.ID, s.Position, last, ds); err != nil {
			return 0, fmt.Errorf("dispatch to webhook %d: %w", s.ID, err)
		}
	}
	return len(evs), nil
}

// Deliver claims a batch of due deliveries and sends them, at most Workers
// at once; it returns how many it claimed.
func (w *WebhookWorker) Deliver(ctx context.Context) (int, error) {
	jobs, err := w.opts.Store.ClaimWebhookDeliveries(ctx, 4*w.opts.Workers, w.opts.Timeout+time.Minute)
	if err != nil {
		return 0, fmt.Errorf("claim webhook deliveries: %w", err)
	}
	results := make([]WebhookResult, len(jobs))
	sem := make(chan struct{}, w.opts.Workers)
	var wg sync.WaitGroup
	sent := 0
	for i, j := range jobs {
		if ctx.Err() != nil {
			break // the leases run out and another run takes them
		}
		sem <- struct{}{}
		wg.Add(1)
		sent++
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = w.send(ctx, j)
		}()
	}
	wg.Wait()
	// The batch's results are recorded in one transaction, even when ctx
	// ended meanwhile: the receivers may have the deliveries, and the log
	// should say so.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := w.opts.Store.FinishWebhookAttempts(rctx, results[:sent]); err != nil {
		return len(jobs), fmt.Errorf("record webhook attempts: %w", err)
	}
	return len(jobs), nil
}

// send makes one attempt and returns its result.
func (w *WebhookWorker) send(ctx context.Context, j WebhookJob) WebhookResult {
	log := w.opts.Logger.With("webhook_id", j.WebhookID, "delivery_id", j.DeliveryID, "attempt", j.Attempt)
	status, retryAfter, err := w.post(ctx, j)
	now := w.opts.Clock.Now()
	r := WebhookResult{DeliveryID: j.DeliveryID, Attempt: j.Attempt, Status: status, At: now}
	switch {
	case err == nil && status >= 200 && status < 300:
		r.State = WebhookDelivered
	case err == nil && !retryableStatus(status):
		r.State, r.Error = WebhookFailed, fmt.Sprintf("HTTP %d: not retried", status)
	case err != nil && ctx.Err() != nil:
		// The hub is stopping, not the receiver failing: due again at
		// once, for whichever instance runs next.
		r.State, r.RetryAt, r.Error = WebhookPending, now, "interrupted: the hub was stopping"
	default:
		if err != nil {
			r.Error = err.Error()
		} else {
			r.Error = fmt.Sprintf("HTTP %d", status)
		}
		wait := WebhookBackoff(j.Attempt)
		if retryAfter > 0 {
			wait = min(retryAfter, MaxRetryAfter)
		}
		first := j.FirstAttemptAt
		if first.IsZero() {
			first = now
		}
		r.State, r.RetryAt = WebhookPending, now.Add(wait)
		if r.RetryAt.After(first.Add(w.opts.RetryFor)) {
			r.State, r.RetryAt = WebhookFailed, time.Time{}
			r.Error += fmt.Sprintf("; given up after %s of retries", w.opts.RetryFor)
		}
	}
	switch r.State {
	case WebhookFailed:
		log.Warn("webhook delivery failed", "status", status, "err", r.Error)
	case WebhookPending:
		log.Info("webhook delivery to be retried", "status", status, "err", r.Error, "retry_at", r.RetryAt)
	}
	if w.opts.OnResult != nil {
		outcome := r.State
		if outcome == WebhookPending {
			outcome = "retry"
		}
		w.opts.OnResult(outcome)
	}
	return r
}

// retryableStatus reports whether an answer other than 2xx is worth
// another attempt: the receiver is down or busy, not refusing.
func retryableStatus(code int) bool {
	return code >= 500 || code == http.StatusRequestTimeout || code == http.StatusTooManyRequests
}

// post sends the delivery once: the status, the Retry-After asked for (0:
// none) and a network error.
func (w *WebhookWorker) post(ctx context.Context, j WebhookJob) (int, time.Duration, error) {
	now := w.opts.Clock.Now()
	body, err := json.Marshal(WebhookPayload{ID: j.DeliveryID,
		Event: WebhookEvent{ID: j.Event.ID, Type: j.Event.Type, Data: j.Event.Data}, SentAt: now.UTC()})
	if err != nil {
		return 0, 0, fmt.Errorf("encode delivery: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, w.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.URL, bytes.NewReader(body))
	if err != nil {
		return 0, 0, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "leadhub-webhooks")
	req.Header.Set(WebhookDeliveryHeader, strconv.FormatInt(j.DeliveryID, 10))
	req.Header.Set(WebhookEventHeader, j.Event.Type)
	req.Header.Set(WebhookTimestampHeader, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(WebhookSignatureHeader, SignWebhook(j.Secret, body))
	resp, err := w.opts.Client.Do(req)
	if err != nil {
		// The URL is the subscriber's own; the error names it, no secret.
		return 0, 0, fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	// Read a little of the answer so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, retryAfter(resp.Header.Get("Retry-After"), now), nil
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
