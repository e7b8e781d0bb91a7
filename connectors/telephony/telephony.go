// Package telephony turns telephony providers' call webhooks into call
// events (inbox.ItemCall) and asks providers to place calls for operators.
// One file per provider: generic.go (leadhub's own signed JSON, what a PBX
// script posts), zadarma.go, mango.go. The store folds every event of one
// provider call id into one call entry, so a provider's events only need to
// say what they know, in any order.
package telephony

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// Providers.
const (
	ProviderGeneric = "generic"
	ProviderZadarma = "zadarma"
	ProviderMango   = "mango"
)

// Options configures one telephony channel.
type Options struct {
	ChannelID string
	// Provider is generic, zadarma or mango.
	Provider string
	// Secret is the generic provider's HMAC key, or Zadarma's API secret.
	Secret string
	// APIKey is Zadarma's API key (user key) or Mango's vpbx_api_key;
	// APISalt is Mango's salt.
	APIKey  string
	APISalt string
	// Extensions maps an extension to the email of the operator who
	// answers it.
	Extensions map[string]string
	// APIURL overrides the provider's API address (tests, a reseller's
	// platform such as Novofon); CallURL is where the generic provider's
	// click-to-call requests are POSTed.
	APIURL  string
	CallURL string
	// CallbackWithin is when a missed call's callback task falls due;
	// 0: inbox.DefaultCallbackWithin.
	CallbackWithin time.Duration
	// Region reads numbers without a country code. Default inbox.DefaultRegion.
	Region string
	// Client calls the provider's API. Default: a client with a 15 s timeout.
	Client *http.Client
	Logger *slog.Logger
	// Now is the clock; tests set it. Default time.Now.
	Now func() time.Time
	// Health hears how the provider's API answers; may be nil.
	Health *inbox.HealthBoard
}

// Channel is one configured telephony channel.
type Channel struct {
	opts  Options
	parse func(r *http.Request, body []byte) ([]inbox.Envelope, []byte, error)
	api   caller
}

// caller asks a provider to connect an extension with a number.
type caller interface {
	call(ctx context.Context, extension, number string) error
}

// New returns the channel, checking that the provider's keys are there.
func New(opts Options) (*Channel, error) {
	if opts.ChannelID == "" {
		return nil, fmt.Errorf("telephony: channel id is required")
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 15 * time.Second}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.CallbackWithin <= 0 {
		opts.CallbackWithin = inbox.DefaultCallbackWithin
	}
	c := &Channel{opts: opts}
	switch opts.Provider {
	case ProviderGeneric:
		if opts.Secret == "" {
			return nil, fmt.Errorf("telephony: the generic provider needs a secret")
		}
		c.parse = c.parseGeneric
		if opts.CallURL != "" {
			c.api = &genericAPI{c: c}
		}
	case ProviderZadarma:
		if opts.Secret == "" {
			return nil, fmt.Errorf("telephony: zadarma needs its API secret")
		}
		c.parse = c.parseZadarma
		if opts.APIKey != "" {
			c.api = &zadarmaAPI{c: c}
		}
	case ProviderMango:
		if opts.APIKey == "" || opts.APISalt == "" {
			return nil, fmt.Errorf("telephony: mango needs api_key and api_salt")
		}
		c.parse = c.parseMango
		c.api = &mangoAPI{c: c}
	default:
		return nil, fmt.Errorf("telephony: unknown provider %q (generic, zadarma, mango)", opts.Provider)
	}
	return c, nil
}

// Parse verifies the provider's signature and decodes one webhook into call
// events. It has no side effects; the caller enqueues and only then answers
// with ack. An event leadhub does not use is answered 200 and logged.
func (c *Channel) Parse(r *http.Request, body []byte) ([]inbox.Envelope, []byte, error) {
	return c.parse(r, body)
}

// CanCall reports whether the channel can place calls for operators.
func (c *Channel) CanCall() bool { return c.api != nil }

// Call asks the provider to ring extension and, once it answers, the
// client's number. The call's events arrive through the webhook and fold
// into one call entry like any other call.
func (c *Channel) Call(ctx context.Context, extension, number string) error {
	if c.api == nil {
		return inbox.Errorf(inbox.EINVALID, "channel %s cannot place calls", c.opts.ChannelID)
	}
	if strings.TrimSpace(extension) == "" || strings.TrimSpace(number) == "" {
		return inbox.Errorf(inbox.EINVALID, "a call needs an extension and a number")
	}
	err := c.api.call(ctx, extension, number)
	c.report(err)
	if err != nil {
		return fmt.Errorf("telephony %s: call: %w", c.opts.ChannelID, err)
	}
	return nil
}

// ExtensionOf returns the extension mapped to the operator's email.
func (c *Channel) ExtensionOf(email string) (string, bool) {
	for ext, e := range c.opts.Extensions {
		if strings.EqualFold(e, email) {
			return ext, true
		}
	}
	return "", false
}

// report tells the health board how the provider's API answered.
func (c *Channel) report(err error) {
	if err != nil {
		// API clients' errors never carry keys or signatures.
		c.opts.Health.Fail(c.opts.ChannelID, inbox.HealthDegraded, err.Error())
		return
	}
	c.opts.Health.OK(c.opts.ChannelID)
}

// event is what a provider's parser learned from one webhook: the call
// event, its key among the call's events, and the client's number as
// written.
type event struct {
	call inbox.Call
	// key is unique among the call's events: the provider's event name,
	// qualified where one call sends it more than once (per extension,
	// per leg and sequence number).
	key string
}

// envelope makes event e a call envelope. The client is who the business
// talks to: the caller of an inbound call, the callee of an outbound one. A
// number that does not parse is kept as written, under an identity scoped
// to the channel, so the call is stored but matches no card by phone.
func (c *Channel) envelope(e event) (inbox.Envelope, error) {
	call := e.call
	call.ID = strings.TrimSpace(call.ID)
	if call.ID == "" || len(call.ID) > 200 {
		return inbox.Envelope{}, inbox.Errorf(inbox.EINVALID, "missing or over-long call id")
	}
	if call.Extension != "" {
		call.Operator = c.opts.Extensions[call.Extension]
	}
	call.CallbackWithin = c.opts.CallbackWithin
	raw := strings.TrimSpace(call.ClientNumber())
	var meta map[string]string
	id, err := inbox.NewIdentity(inbox.IdentityPhone, raw, c.opts.ChannelID, c.opts.Region)
	if err != nil {
		meta = map[string]string{"unparsed_phone": raw}
		ext := "tel:" + raw
		if raw == "" {
			// No number at all (a hidden caller): the call is a card of
			// its own rather than every hidden caller's one card.
			ext = "call:" + call.ID
		}
		if id, err = inbox.NewIdentity(inbox.IdentityExternal, ext, c.opts.ChannelID, ""); err != nil {
			return inbox.Envelope{}, inbox.Errorf(inbox.EINVALID, "the client's number is unusable")
		}
	}
	return inbox.Envelope{
		Item:        inbox.ItemCall,
		DedupeKey:   "call:" + c.opts.ChannelID + ":" + call.ID + ":" + e.key,
		ChannelID:   c.opts.ChannelID,
		ChannelType: inbox.ChannelTelephony,
		Kind:        inbox.KindCall,
		From:        inbox.Contact{Identities: []inbox.Identity{id}},
		Meta:        meta,
		ReceivedAt:  c.opts.Now().UTC(),
		Call:        &call,
	}, nil
}

// ignore answers 200 to an event leadhub does not use, and says so in the
// log (without the body: it is customers' data).
func (c *Channel) ignore(what string, ack []byte) ([]inbox.Envelope, []byte, error) {
	c.opts.Logger.Info("telephony event ignored", "channel", c.opts.ChannelID, "provider", c.opts.Provider, "event", what)
	return nil, ack, nil
}
