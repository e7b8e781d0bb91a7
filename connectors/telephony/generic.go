package telephony

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/leadhub/leadhub/connectors"
	"github.com/leadhub/leadhub/inbox"
)

// GenericEvent is leadhub's own call event, what a PBX script (Asterisk
// AMI/ARI, FreePBX, 3CX) posts to /hooks/telephony/<channel>, signed like
// the API channel: X-Leadhub-Signature: sha256=<hex HMAC-SHA256 of the body
// with the channel's secret>. Only call_id, event and the client's number
// are required; every event of a call may carry what it knows.
type GenericEvent struct {
	CallID string `json:"call_id"`
	// Event is ringing, answered, ended or recording.
	Event string `json:"event"`
	// EventID tells apart several events of one kind in one call (each
	// extension that rings, each transfer); optional.
	EventID   string `json:"event_id,omitempty"`
	Direction string `json:"direction"` // in (default) or out
	From      string `json:"from"`
	To        string `json:"to"`
	Extension string `json:"extension,omitempty"`
	// Times in RFC 3339.
	StartedAt  *time.Time `json:"started_at,omitempty"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
	EndedAt    *time.Time `json:"ended_at,omitempty"`
	// Duration is the talk time in seconds.
	Duration int `json:"duration,omitempty"`
	// Disposition: answered, missed, busy or failed.
	Disposition  string `json:"disposition,omitempty"`
	RecordingURL string `json:"recording_url,omitempty"`
}

func (c *Channel) parseGeneric(r *http.Request, body []byte) ([]inbox.Envelope, []byte, error) {
	if !connectors.VerifySignature(c.opts.Secret, body, r.Header.Get(connectors.SignatureHeader)) {
		return nil, nil, inbox.Errorf(inbox.EUNAUTHORIZED, "missing or wrong signature")
	}
	var g GenericEvent
	if err := json.Unmarshal(body, &g); err != nil {
		return nil, nil, inbox.Errorf(inbox.EINVALID, "malformed JSON")
	}
	var ev string
	switch g.Event {
	case inbox.CallRinging, inbox.CallAnswered, inbox.CallEnded, inbox.CallRecording:
		ev = g.Event
	default:
		return c.ignore("generic:"+g.Event, nil)
	}
	dir := inbox.DirectionIn
	switch g.Direction {
	case "", "in", "inbound", "incoming":
	case "out", "outbound", "outgoing":
		dir = inbox.DirectionOut
	default:
		return nil, nil, inbox.Errorf(inbox.EINVALID, "direction %q is neither in nor out", g.Direction)
	}
	disp := ""
	switch g.Disposition {
	case "":
	case inbox.DispositionAnswered, inbox.DispositionMissed, inbox.DispositionBusy, inbox.DispositionFailed:
		disp = g.Disposition
	case "no answer", "no_answer", "noanswer", "cancel", "canceled", "cancelled":
		disp = inbox.DispositionMissed
	default:
		disp = inbox.DispositionFailed
	}
	if g.RecordingURL != "" && !strings.HasPrefix(g.RecordingURL, "https://") && !strings.HasPrefix(g.RecordingURL, "http://") {
		return nil, nil, inbox.Errorf(inbox.EINVALID, "recording_url must be http(s)")
	}
	call := inbox.Call{
		ID: g.CallID, Event: ev, Direction: dir, From: g.From, To: g.To, Extension: g.Extension,
		StartedAt: utc(g.StartedAt), AnsweredAt: utc(g.AnsweredAt), EndedAt: utc(g.EndedAt),
		Duration: max(g.Duration, 0), Disposition: disp, RecordingURL: g.RecordingURL,
	}
	key := ev
	if g.EventID != "" {
		key += ":" + g.EventID
	}
	env, err := c.envelope(event{call: call, key: key})
	if err != nil {
		return nil, nil, err
	}
	return []inbox.Envelope{env}, nil, nil
}

func utc(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// GenericCallRequest is what leadhub POSTs, signed like its webhooks, to the
// generic provider's call_url to have the PBX ring extension and then dial
// number.
type GenericCallRequest struct {
	Extension string `json:"extension"`
	Number    string `json:"number"`
}

type genericAPI struct{ c *Channel }

func (g *genericAPI) call(ctx context.Context, extension, number string) error {
	body, err := json.Marshal(GenericCallRequest{Extension: extension, Number: number})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.c.opts.CallURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("call request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(connectors.SignatureHeader, connectors.Sign(g.c.opts.Secret, body))
	resp, err := g.c.opts.Client.Do(req)
	if err != nil {
		return inbox.Errorf(inbox.EUNAVAILABLE, "call url unreachable: %v", redactURL(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return inbox.Errorf(inbox.EUNAVAILABLE, "call url answered %d", resp.StatusCode)
	}
	return nil
}

// redactURL keeps a transport error's reason without its URL, which may
// carry a token in its query.
func redactURL(err error) string {
	type unwrapper interface{ Unwrap() error }
	if u, ok := err.(unwrapper); ok && u.Unwrap() != nil {
		return u.Unwrap().Error()
	}
	return err.Error()
}
