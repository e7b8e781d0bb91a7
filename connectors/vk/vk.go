// Package vk is the VK (VKontakte) community channel: customers write to the
// company's community, operators answer from the inbox.
//
// VK's Callback API POSTs every event to /hooks/vk/<channel> with the
// community's group_id and the configured secret inside the JSON body. Parse
// checks both and decodes the event without side effects; web's hook handler
// answers the plain body "ok" only after the envelopes are queued, so a crash
// before that makes VK resend the event, and the store's dedupe key
// (vk:<channel>:<event_id>) absorbs the repeat. A confirmation request is
// answered with the configured code as plain text.
//
// github.com/SevereCloud/vksdk/v3 provides the event names and object types
// and the API client (messages.send, users.get, the upload servers). Its
// callback handler is not used: it acks before leadhub could queue the
// event. Its client's own rate limiter and retry loop are switched off,
// because they sleep without a context; leadhub limits and retries itself.
//
// Media that VK gives as direct links (photos, documents, voice messages)
// arrive as attachments whose URL is FileScheme + the link, so that the
// callback is answered without waiting for downloads; Resolve (an
// inbox.Resolver run by the worker before filing) stores them through
// inbox.Files and fills the sender's name through users.get. The access token
// never appears in a log line or an error.
package vk

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/SevereCloud/vksdk/v3/api"
	"golang.org/x/time/rate"

	"github.com/leadhub/leadhub/connectors"
	"github.com/leadhub/leadhub/inbox"
)

const (
	// APIVersion is the VK API version of every call leadhub makes and the
	// one the admin selects for the Callback API server. It is pinned here
	// and nowhere else.
	APIVersion = "5.199"
	// DefaultAPIURL is VK's API endpoint; methods are appended to it.
	DefaultAPIURL = "https://api.vk.ru/method/"
	// FileScheme prefixes the link of media a customer sent; such an
	// attachment is a reference until Resolve stores the file.
	FileScheme = "vk-file:"
	// MaxDownloadSize bounds one downloaded medium.
	MaxDownloadSize = inbox.MaxFileSize
	// ProfileField is the card field that holds the client's VK profile.
	ProfileField = "vk_profile"
)

// callTimeout bounds one API call that the caller's context may not bound.
const callTimeout = 30 * time.Second

// Options configures one VK community channel.
type Options struct {
	ChannelID string
	// GroupID is the community's id (a positive number); every callback
	// must carry it.
	GroupID int64
	// Secret is the Callback API server's secret key; every callback must
	// carry it.
	Secret string
	// Confirmation is the string VK expects back when the server address
	// is added (community settings → API usage → Callback API).
	Confirmation string
	// Token is the community access token with the "messages" right. It
	// never appears in logs or errors.
	Token string
	// APIURL is the method endpoint. Default DefaultAPIURL; tests override
	// it.
	APIURL string
	// PublicURL is the hub's public address; the Callback API server
	// address is PublicURL + "/hooks/vk/" + ChannelID.
	PublicURL string
	// Files stores downloaded media and opens reply attachments for
	// upload. Nil: media stay references and replies cannot carry files.
	Files interface {
		inbox.Files
		inbox.FileSource
	}
	// Health is told how VK answers the channel's calls; may be nil.
	Health *inbox.HealthBoard
	// Logger is told about events that are not handled and rejected
	// callbacks. Default: discard.
	Logger *slog.Logger
	// HTTPClient makes API calls, uploads and downloads. Default: a client
	// without a timeout of its own; every call carries a deadline.
	HTTPClient *http.Client
	// Rate bounds API calls per second (VK allows a community token 20).
	// Default 20.
	Rate float64
	// NameTimeout bounds the users.get call Resolve makes for an unknown
	// sender, so that filing waits at most this long. Default 3s.
	NameTimeout time.Duration
	// Now is the clock for events without a usable date. Default time.Now.
	Now func() time.Time
}

// Channel is one configured VK community.
type Channel struct {
	opts    Options
	vk      *api.VK
	http    *http.Client
	log     *slog.Logger
	limiter *rate.Limiter
	hookURL string
	// tag marks the random_id of every message this channel sends, so that
	// VK's message_reply echo of it is recognised and not filed twice.
	tag int64

	mu    sync.Mutex
	names map[int64]string // users.get answers, bounded by maxNames
}

// maxNames bounds the name cache; it is cleared when full, which costs one
// users.get per sender seen again.
const maxNames = 10000

// New checks the options. It makes no call: VK being unreachable at boot
// must not stop the hub.
func New(opts Options) (*Channel, error) {
	switch {
	case opts.ChannelID == "":
		return nil, errors.New("vk: channel id is required")
	case opts.GroupID <= 0:
		return nil, fmt.Errorf("vk: channel %s: group_id must be the community's id, a positive number", opts.ChannelID)
	case opts.Secret == "":
		return nil, fmt.Errorf("vk: channel %s: secret is required (the Callback API server's secret key)", opts.ChannelID)
	case opts.Confirmation == "":
		return nil, fmt.Errorf("vk: channel %s: confirmation is required (the string VK shows on the Callback API page)", opts.ChannelID)
	case opts.Token == "":
		return nil, fmt.Errorf("vk: channel %s: token is required (a community access token with the messages right)", opts.ChannelID)
	case strings.ContainsAny(opts.Token, " \t\r\n"):
		return nil, fmt.Errorf("vk: channel %s: token is malformed (it contains white space)", opts.ChannelID)
	}
	if opts.APIURL == "" {
		opts.APIURL = DefaultAPIURL
	}
	if u, err := url.Parse(opts.APIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("vk: channel %s: api_url %q is not an http(s) URL", opts.ChannelID, opts.APIURL)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	if opts.Rate <= 0 {
		opts.Rate = api.LimitGroupToken
	}
	if opts.NameTimeout <= 0 {
		opts.NameTimeout = 3 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	v := api.NewVK(opts.Token)
	v.MethodURL = strings.TrimRight(opts.APIURL, "/") + "/"
	v.Version = APIVersion
	v.Client = opts.HTTPClient
	// The library's limiter sleeps without a context and its retry of
	// error 6 spins at once; leadhub's limiter and the outbound worker's
	// backoff do both.
	v.Limit = 0
	c := &Channel{
		opts:    opts,
		vk:      v,
		http:    opts.HTTPClient,
		log:     opts.Logger.With("channel", opts.ChannelID),
		limiter: rate.NewLimiter(rate.Limit(opts.Rate), max(1, int(opts.Rate))),
		tag:     channelTag(opts.ChannelID, opts.GroupID),
		names:   map[int64]string{},
	}
	if opts.PublicURL != "" {
		c.hookURL = strings.TrimRight(opts.PublicURL, "/") + "/hooks/vk/" + url.PathEscape(opts.ChannelID)
	}
	return c, nil
}

// channelTag is 15 bits naming the channel in the random_ids it sends.
func channelTag(channelID string, groupID int64) int64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "leadhub:vk:%s:%d", channelID, groupID)
	return int64(h.Sum64()>>49) | 1 // never 0: a zero tag would match VK's own random_id 0
}

// CallbackURL is the address to enter as the Callback API server; "" when
// the hub has no public URL.
func (c *Channel) CallbackURL() string { return c.hookURL }

// Status is what the channel status API shows.
type Status struct {
	ChannelID   string `json:"channel"`
	GroupID     int64  `json:"group_id"`
	CallbackURL string `json:"callback_url,omitempty"`
	APIVersion  string `json:"api_version"`
	inbox.ChannelHealth
}

// Status reports the channel's setup and the health its calls reported. It
// makes no call to VK.
func (c *Channel) Status(ctx context.Context) (Status, error) {
	return Status{
		ChannelID:     c.opts.ChannelID,
		GroupID:       c.opts.GroupID,
		CallbackURL:   c.hookURL,
		APIVersion:    APIVersion,
		ChannelHealth: c.opts.Health.Get(c.opts.ChannelID),
	}, nil
}

// secretOK compares in constant time; hashing first hides the length too.
func (c *Channel) secretOK(got string) bool {
	if got == "" {
		return false
	}
	a := sha256.Sum256([]byte(got))
	b := sha256.Sum256([]byte(c.opts.Secret))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// redact hides the token in err. The library sends it in a header, but an
// error may still quote it: VK echoes request parameters, a proxy may echo
// headers, and a *url.Error prints the URL.
func (c *Channel) redact(err error) error { return connectors.Redact(err, c.opts.Token) }

// scrub replaces the token, in any encoding, in s.
func (c *Channel) scrub(s string) string { return connectors.Scrub(s, c.opts.Token) }
