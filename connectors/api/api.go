// Package api is the generic integration channel: any system posts signed
// JSON to /hooks/api/<channel>, and operators' replies are POSTed, signed
// the same way, to the channel's callback URL.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/leadhub/leadhub/connectors"
	"github.com/leadhub/leadhub/inbox"
)

// Options configures one API channel.
type Options struct {
	ChannelID string
	// Secret signs inbound requests and outbound callbacks.
	Secret string
	// CallbackURL receives replies; empty means the channel cannot send.
	CallbackURL string
	// Region reads phones without a country code. Default inbox.DefaultRegion.
	Region string
	// PublicURL prefixes the hub's own file URLs in callbacks.
	PublicURL string
	// Client sends callbacks. Default: a client with a 15 s timeout.
	Client *http.Client
	// Now is the clock; tests set it. Default time.Now.
	Now func() time.Time
}

// Channel is one configured API channel.
type Channel struct {
	opts Options
}

// New returns the channel.
func New(opts Options) (*Channel, error) {
	if opts.ChannelID == "" || opts.Secret == "" {
		return nil, fmt.Errorf("api: channel id and secret are required")
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 15 * time.Second}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Channel{opts: opts}, nil
}

// Request is the body integrations post (DESIGN.md §3).
type Request struct {
	ID          string             `json:"id"`
	From        From               `json:"from"`
	Subject     string             `json:"subject"`
	Text        string             `json:"text"`
	Attachments []inbox.Attachment `json:"attachments"`
	Meta        map[string]string  `json:"meta"`
}

// From is the sender as the integration knows them.
type From struct {
	Name       string `json:"name"`
	Phone      string `json:"phone"`
	Email      string `json:"email"`
	ExternalID string `json:"external_id"`
}

const maxIDLen = 200

// Parse verifies the signature and decodes one message. It has no side
// effects; the caller enqueues and only then answers 2xx.
func (c *Channel) Parse(r *http.Request, body []byte) ([]inbox.Envelope, []byte, error) {
	if !connectors.VerifySignature(c.opts.Secret, body, r.Header.Get(connectors.SignatureHeader)) {
		return nil, nil, inbox.Errorf(inbox.EUNAUTHORIZED, "missing or wrong signature")
	}
	var req Request
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, nil, inbox.Errorf(inbox.EINVALID, "malformed JSON")
	}
	env, err := c.envelope(req)
	if err != nil {
		return nil, nil, err
	}
	return []inbox.Envelope{env}, nil, nil
}

func (c *Channel) envelope(req Request) (inbox.Envelope, error) {
	req.ID = strings.TrimSpace(req.ID)
	switch {
	case req.ID == "":
		return inbox.Envelope{}, inbox.Errorf(inbox.EINVALID, "missing id")
	case len(req.ID) > maxIDLen:
		return inbox.Envelope{}, inbox.Errorf(inbox.EINVALID, "id is longer than %d characters", maxIDLen)
	case strings.TrimSpace(req.Text) == "" && len(req.Attachments) == 0:
		return inbox.Envelope{}, inbox.Errorf(inbox.EINVALID, "missing text")
	}
	meta := req.Meta
	// The integration's own id is the identity it vouches for, so it
	// comes first; phone and email are attached to the same card.
	var ids []inbox.Identity
	for _, f := range []struct {
		kind inbox.IdentityKind
		raw  string
	}{
		{inbox.IdentityExternal, req.From.ExternalID},
		{inbox.IdentityPhone, req.From.Phone},
		{inbox.IdentityEmail, req.From.Email},
	} {
		if strings.TrimSpace(f.raw) == "" {
			continue
		}
		id, err := inbox.NewIdentity(f.kind, f.raw, c.opts.ChannelID, c.opts.Region)
		if err != nil {
			// A number or address that does not parse never matches
			// cards, but the operator still sees what was written.
			if meta == nil {
				meta = map[string]string{}
			}
			meta["unparsed_"+string(f.kind)] = f.raw
			continue
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return inbox.Envelope{}, inbox.Errorf(inbox.EINVALID, "from needs a valid phone, email or external_id")
	}
	for _, a := range req.Attachments {
		if !strings.HasPrefix(a.URL, "https://") && !strings.HasPrefix(a.URL, "http://") {
			return inbox.Envelope{}, inbox.Errorf(inbox.EINVALID, "attachment url must be http(s)")
		}
	}
	return inbox.Envelope{
		DedupeKey:   "api:" + c.opts.ChannelID + ":" + req.ID,
		ChannelID:   c.opts.ChannelID,
		ChannelType: inbox.ChannelAPI,
		Kind:        inbox.KindText,
		From:        inbox.Contact{Name: strings.TrimSpace(req.From.Name), Identities: ids},
		Subject:     req.Subject,
		Text:        req.Text,
		Attachments: req.Attachments,
		Meta:        meta,
		ExternalID:  req.ID,
		ReceivedAt:  c.opts.Now().UTC(),
	}, nil
}

// Callback is the body POSTed to the callback URL for every reply.
type Callback struct {
	ID             int64     `json:"id"`
	ConversationID int64     `json:"conversation_id"`
	ClientID       int64     `json:"client_id"`
	To             From      `json:"to"`
	Text           string    `json:"text"`
	ReplyTo        string    `json:"reply_to,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	// Attachments are the operator's files; a stored file's URL is a link
	// to this hub (absolute when public_url is set), signed for a week, that
	// needs no token.
	Attachments []inbox.Attachment `json:"attachments,omitempty"`
}

// DeliveryHeader carries the reply's id so receivers can drop our retries.
const DeliveryHeader = "X-Leadhub-Delivery"

// Send POSTs the reply to the callback URL. 2xx is sent; 429 and 5xx are
// retried (429 honouring Retry-After); other 4xx fail for good.
func (c *Channel) Send(ctx context.Context, o inbox.Outbound) (string, error) {
	if c.opts.CallbackURL == "" {
		return "", inbox.Permanent(fmt.Errorf("api: channel %s has no callback_url", c.opts.ChannelID))
	}
	cb := Callback{
		ID:             o.Message.ID,
		ConversationID: o.Message.ConversationID,
		ClientID:       o.ClientID,
		Text:           o.Message.Text,
		ReplyTo:        o.ReplyTo,
		CreatedAt:      o.Message.CreatedAt.UTC(),
	}
	for _, a := range o.Message.Attachments {
		if rest, ok := strings.CutPrefix(a.URL, "/files/"); ok {
			// A signed link the integration downloads without a token,
			// for SignedFileTTL.
			id, name, _ := strings.Cut(rest, "/")
			exp := c.opts.Now().Add(inbox.SignedFileTTL).Unix()
			a.URL = fmt.Sprintf("%s/files/signed/%s/%s/%s?exp=%d&sig=%s", strings.TrimSuffix(c.opts.PublicURL, "/"),
				url.PathEscape(c.opts.ChannelID), id, name, exp, inbox.FileSignature(c.opts.Secret, c.opts.ChannelID, id, exp))
		}
		cb.Attachments = append(cb.Attachments, a)
	}
	prefix := c.opts.ChannelID + ":"
	for _, id := range o.To {
		switch id.Kind {
		case inbox.IdentityPhone:
			cb.To.Phone = id.Value
		case inbox.IdentityEmail:
			cb.To.Email = id.Value
		case inbox.IdentityExternal:
			if v, ok := strings.CutPrefix(id.Value, prefix); ok {
				cb.To.ExternalID = v
			}
		}
	}
	body, err := json.Marshal(cb)
	if err != nil {
		return "", inbox.Permanent(fmt.Errorf("api: encode callback: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.opts.CallbackURL, bytes.NewReader(body))
	if err != nil {
		return "", inbox.Permanent(fmt.Errorf("api: build callback request: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(connectors.SignatureHeader, connectors.Sign(c.opts.Secret, body))
	req.Header.Set(DeliveryHeader, strconv.FormatInt(o.Message.ID, 10))
	resp, err := c.opts.Client.Do(req)
	if err != nil {
		return "", fmt.Errorf("api: callback: %w", err)
	}
	defer resp.Body.Close()
	respBody, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		var ack struct {
			ID json.RawMessage `json:"id"`
		}
		_ = json.Unmarshal(respBody, &ack) // an id in the answer is optional
		return strings.Trim(string(ack.ID), `"`), nil
	case resp.StatusCode == http.StatusTooManyRequests:
		return "", &inbox.SendError{Err: fmt.Errorf("api: callback answered %s", resp.Status), RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		return "", inbox.Permanent(fmt.Errorf("api: callback answered %s", resp.Status))
	default:
		return "", fmt.Errorf("api: callback answered %s", resp.Status)
	}
}

func retryAfter(v string) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 0
}
