// Package telegram is the Telegram bot channel: customers write to the
// company's bot, operators answer from the inbox.
//
// Two ways in. Webhook mode (the default): Telegram POSTs every update to
// /hooks/telegram/<channel> with the X-Telegram-Bot-Api-Secret-Token header,
// and Parse checks the header and decodes the update; Start registers the
// webhook when the hub has a public URL. Polling mode, for installs without
// one: Run long-polls getUpdates through the shared inbox.PollLoop and
// confirms an update to Telegram only after its envelope is queued, so a
// crash fetches it again and the store's dedupe key (tg:<channel>:<update_id>)
// absorbs the repeat. With several instances one holds the poll lease and
// polls; the offset lives in the store, so whoever polls next resumes it.
//
// go-telegram/bot makes the API calls. Its WebhookHandler is not used: it
// answers 200 before the update is handled and 200 to a wrong secret. Its
// polling loop is not used either: it confirms updates before they are
// handled, which loses them on a crash.
//
// Media arrive as attachments whose URL is FileScheme + Telegram's file_id
// ("tg-file:AgACAgUAAx..."), so that the webhook is answered without waiting
// for downloads; Resolve (an inbox.Resolver run by the worker before filing)
// and Download turn such references into stored files. AlertNotifier
// sends supervisors' alerts through the same bot. The bot token is
// never written to a log line or an error.
package telegram

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/go-telegram/bot"
	"github.com/leadhub/leadhub/connectors"
	"github.com/leadhub/leadhub/inbox"
)

// Modes of receiving updates.
const (
	ModeWebhook = "webhook"
	ModePolling = "polling"
)

const (
	// DefaultAPIURL is Telegram's Bot API server.
	DefaultAPIURL = "https://api.telegram.org"
	// SecretHeader carries the secret_token given to setWebhook.
	SecretHeader = "X-Telegram-Bot-Api-Secret-Token"
	// FileScheme prefixes the file_id of media a customer sent; such an
	// attachment is a reference until Download stores the file.
	FileScheme = "tg-file:"
	// MaxDownloadSize is the Bot API's limit on files a bot can download.
	MaxDownloadSize = 20 << 20
)

// allowedUpdates are the update types leadhub turns into messages; asking
// Telegram for nothing else spares a request per reaction or button press.
func allowedUpdates() []string { return []string{"message", "edited_message"} }

// callTimeout bounds calls that the caller's context may not bound.
const callTimeout = 30 * time.Second

// validSecret is what setWebhook accepts as secret_token.
var validSecret = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// Options configures one Telegram channel.
type Options struct {
	ChannelID string
	// Token is the bot token from @BotFather. It never appears in logs or
	// errors.
	Token string
	// Secret is the webhook's X-Telegram-Bot-Api-Secret-Token: 1-256 of
	// A-Z, a-z, 0-9, _ and -. Required in webhook mode.
	Secret string
	// Mode is ModeWebhook (default) or ModePolling.
	Mode string
	// APIURL is the Bot API server. Default DefaultAPIURL; tests and a
	// local Bot API server override it.
	APIURL string
	// PublicURL is the hub's public address; the webhook is PublicURL +
	// "/hooks/telegram/" + ChannelID. Empty: Start registers no webhook.
	PublicURL string
	// Region reads shared phone numbers without a country code. Default
	// inbox.DefaultRegion.
	Region string
	// Files stores downloaded media. Nil: Download fails.
	Files inbox.Files
	// Source opens files operators attach to replies, to upload them.
	// Nil: such a reply fails.
	Source inbox.FileSource
	// Logger is told about updates that are not handled and about
	// failures of polling. Default: discard.
	Logger *slog.Logger
	// HTTPClient makes the Bot API calls. Default: a client without a
	// timeout of its own; every call carries a deadline.
	HTTPClient *http.Client
	// PollTimeout is how long one getUpdates waits for updates. Default 50s.
	PollTimeout time.Duration
	// RetryDelay is the first wait after a failed poll or enqueue (it
	// doubles up to 30 s) and after a failed registration (up to 1 min,
	// see Register). Default 1s.
	RetryDelay time.Duration
	// Now is the clock for updates without a usable date. Default time.Now.
	Now func() time.Time

	// Polling mode only (see Run).
	//
	// Holder names this instance in the poll lease, so that of several
	// instances one polls the bot. Required in polling mode.
	Holder string
	// Clock decides when the poll lease has run out. Default
	// inbox.SystemClock.
	Clock inbox.Clock
	// LeaseTTL is how long the poll lease outlives its holder; another
	// instance takes the bot over within about 1.25 × LeaseTTL of the
	// holder's death. Default inbox.DefaultLeaseTTL (20 s).
	LeaseTTL time.Duration
}

// Channel is one configured Telegram bot.
type Channel struct {
	opts    Options
	bot     *bot.Bot
	http    *http.Client
	apiURL  string
	hookURL string // "" when no webhook is to be registered
	log     *slog.Logger

	mu       sync.Mutex
	username string // from getMe; "" until Telegram answered
}

// New checks the options and asks Telegram who the bot is (getMe). A token
// Telegram rejects is an error; Telegram being unreachable is not, because
// a hub must start while Telegram is down: the status shows it.
func New(ctx context.Context, opts Options) (*Channel, error) {
	if opts.ChannelID == "" {
		return nil, errors.New("telegram: channel id is required")
	}
	if opts.Mode == "" {
		opts.Mode = ModeWebhook
	}
	if opts.Mode != ModeWebhook && opts.Mode != ModePolling {
		return nil, fmt.Errorf("telegram: channel %s: mode %q is neither %q nor %q", opts.ChannelID, opts.Mode, ModeWebhook, ModePolling)
	}
	if err := checkToken(opts.Token); err != nil {
		return nil, fmt.Errorf("telegram: channel %s: %w", opts.ChannelID, err)
	}
	if opts.Mode == ModePolling && opts.Holder == "" {
		return nil, fmt.Errorf("telegram: channel %s: polling mode needs a holder id for its lease", opts.ChannelID)
	}
	if opts.Mode == ModeWebhook && opts.Secret == "" {
		return nil, fmt.Errorf("telegram: channel %s: secret is required in webhook mode", opts.ChannelID)
	}
	if opts.Secret != "" && !validSecret.MatchString(opts.Secret) {
		return nil, fmt.Errorf("telegram: channel %s: secret must be 1-256 characters of A-Z, a-z, 0-9, _ and -", opts.ChannelID)
	}
	if opts.APIURL == "" {
		opts.APIURL = DefaultAPIURL
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	if opts.PollTimeout <= 0 {
		opts.PollTimeout = 50 * time.Second
	}
	if opts.RetryDelay <= 0 {
		opts.RetryDelay = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Channel{
		opts:   opts,
		http:   opts.HTTPClient,
		apiURL: strings.TrimRight(opts.APIURL, "/"),
		log:    opts.Logger.With("channel", opts.ChannelID),
	}
	if opts.Mode == ModeWebhook && opts.PublicURL != "" {
		c.hookURL = strings.TrimRight(opts.PublicURL, "/") + "/hooks/telegram/" + url.PathEscape(opts.ChannelID)
	}
	b, err := bot.New(opts.Token,
		bot.WithServerURL(c.apiURL),
		bot.WithHTTPClient(opts.PollTimeout, statusClient{opts.HTTPClient}),
		// getMe is called below with the caller's context.
		bot.WithSkipGetMe(),
		bot.WithErrorsHandler(func(err error) {
			c.log.Warn("telegram: library error", "err", c.scrub(err.Error()))
		}),
		bot.WithDebugHandler(func(string, ...any) {}),
	)
	if err != nil {
		return nil, fmt.Errorf("telegram: channel %s: %w", opts.ChannelID, c.redact(err))
	}
	c.bot = b

	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if err := c.refreshMe(ctx); err != nil {
		if errors.Is(err, bot.ErrorUnauthorized) || errors.Is(err, bot.ErrorNotFound) {
			return nil, fmt.Errorf("telegram: channel %s: Telegram rejected the bot token (getMe: %w); copy it again from @BotFather", opts.ChannelID, err)
		}
		c.log.Warn("telegram: getMe failed; the bot is checked again by the channel status", "err", err)
	}
	return c, nil
}

// checkToken rejects tokens that cannot be right, without echoing them.
func checkToken(token string) error {
	id, secret, ok := strings.Cut(token, ":")
	switch {
	case token == "":
		return errors.New("token is required (create a bot with @BotFather)")
	case !ok || id == "" || secret == "" || strings.ContainsAny(token, " \t\r\n/?#%"):
		return errors.New("token is malformed: want <bot id>:<secret> as @BotFather shows it")
	}
	return nil
}

// refreshMe asks Telegram for the bot's username.
func (c *Channel) refreshMe(ctx context.Context) error {
	me, err := c.bot.GetMe(ctx)
	if err != nil {
		return c.redact(err)
	}
	c.mu.Lock()
	c.username = me.Username
	c.mu.Unlock()
	return nil
}

// Username is the bot's @username, "" until Telegram answered getMe.
func (c *Channel) Username() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.username
}

// WebhookURL is where Start points Telegram's webhook; "" in polling mode or
// without a public URL.
func (c *Channel) WebhookURL() string { return c.hookURL }

// Mode is ModeWebhook or ModePolling.
func (c *Channel) Mode() string { return c.opts.Mode }

// Start tells Telegram how updates are to arrive: in webhook mode with a
// public URL it sets the webhook with the secret; in polling mode it deletes
// any webhook, which would otherwise make every getUpdates fail with 409.
// Pending updates are kept either way.
func (c *Channel) Start(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if c.opts.Mode == ModePolling {
		if _, err := c.bot.DeleteWebhook(ctx, &bot.DeleteWebhookParams{}); err != nil {
			return fmt.Errorf("telegram: channel %s: deleteWebhook: %w", c.opts.ChannelID, c.redact(err))
		}
		return nil
	}
	if c.hookURL == "" {
		c.log.Warn("telegram: public_url is not set, so no webhook is registered: set it, or use polling mode")
		return nil
	}
	_, err := c.bot.SetWebhook(ctx, &bot.SetWebhookParams{
		URL:            c.hookURL,
		SecretToken:    c.opts.Secret,
		AllowedUpdates: allowedUpdates(),
	})
	if err != nil {
		return fmt.Errorf("telegram: channel %s: setWebhook %s: %w", c.opts.ChannelID, c.hookURL, c.redact(err))
	}
	c.log.Info("telegram: webhook registered", "url", c.hookURL)
	return nil
}

// maxRegisterDelay caps the wait between two registration attempts: an
// outage of Telegram or of the network is over in minutes, and the bot
// must not stay deaf much longer than it lasted.
const maxRegisterDelay = time.Minute

// Register runs Start until it succeeds, waiting RetryDelay after the first
// failure and twice as long after each next one, up to maxRegisterDelay.
// A setWebhook that failed once at boot (Telegram or DNS unreachable for a
// moment) used to leave the bot silent until the next restart. Each failed
// attempt logs one line with its count. It returns nil once registered,
// ctx.Err() when ctx ends first.
func (c *Channel) Register(ctx context.Context) error {
	for attempt := 1; ; attempt++ {
		err := c.Start(ctx)
		if err == nil {
			if attempt > 1 {
				c.log.Info("telegram: registered after failed attempts", "attempts", attempt)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait := inbox.Backoff(attempt, c.opts.RetryDelay, maxRegisterDelay)
		c.log.Error("telegram: registration failed; retrying", "attempt", attempt,
			"retry_in", wait.Round(time.Millisecond).String(), "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Status is what the channel status API shows. A silently broken webhook is
// the most common Telegram complaint: LastErrorMessage and
// PendingUpdateCount are how an admin sees one.
type Status struct {
	ChannelID   string `json:"channel"`
	Mode        string `json:"mode"`
	BotUsername string `json:"bot_username,omitempty"`
	// WebhookURL is the webhook Telegram has; "" when none is set.
	WebhookURL         string    `json:"webhook_url"`
	PendingUpdateCount int       `json:"pending_update_count"`
	LastErrorDate      time.Time `json:"last_error_date,omitzero"`
	LastErrorMessage   string    `json:"last_error_message,omitempty"`
	// Warning explains a setup that cannot work, e.g. a webhook pointing
	// elsewhere.
	Warning string `json:"warning,omitempty"`
}

// Status asks Telegram for the webhook's state (getWebhookInfo), and for the
// bot's username if New could not.
func (c *Channel) Status(ctx context.Context) (Status, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if c.Username() == "" {
		if err := c.refreshMe(ctx); err != nil {
			return Status{}, fmt.Errorf("telegram: channel %s: getMe: %w", c.opts.ChannelID, err)
		}
	}
	info, err := c.bot.GetWebhookInfo(ctx)
	if err != nil {
		return Status{}, fmt.Errorf("telegram: channel %s: getWebhookInfo: %w", c.opts.ChannelID, c.redact(err))
	}
	s := Status{
		ChannelID:          c.opts.ChannelID,
		Mode:               c.opts.Mode,
		BotUsername:        c.Username(),
		WebhookURL:         c.scrub(info.URL),
		PendingUpdateCount: info.PendingUpdateCount,
		// Admins see these in the page: whatever Telegram quotes, the
		// token stays out.
		LastErrorMessage: c.scrub(info.LastErrorMessage),
	}
	if info.LastErrorDate > 0 {
		s.LastErrorDate = time.Unix(int64(info.LastErrorDate), 0).UTC()
	}
	switch {
	case c.opts.Mode == ModePolling && info.URL != "":
		s.Warning = "a webhook is set, so polling gets nothing: restart the hub or delete the webhook"
	case c.opts.Mode == ModeWebhook && info.URL == "":
		s.Warning = "no webhook is set: Telegram keeps the updates and delivers nothing (set public_url)"
	case c.opts.Mode == ModeWebhook && c.hookURL != "" && info.URL != c.hookURL:
		s.Warning = "the webhook points to another address than this hub's " + c.hookURL
	}
	return s, nil
}

// statusKey keys the slot where statusClient records an answer's status.
type statusKey struct{}

// statusClient records the HTTP status of each Bot API answer in the
// request context's slot. The library classifies errors by error_code and
// folds the codes it does not know (413, every 5xx) into one error; the
// status, which Telegram sets equal to error_code, tells 4xx from 5xx.
type statusClient struct{ hc *http.Client }

func (s statusClient) Do(r *http.Request) (*http.Response, error) {
	resp, err := s.hc.Do(r)
	if p, ok := r.Context().Value(statusKey{}).(*int); ok && resp != nil {
		*p = resp.StatusCode
	}
	return resp, err
}

// withStatus returns a context in which the status of the call made with
// it is recorded into the returned int (0 when no answer came).
func withStatus(ctx context.Context) (context.Context, *int) {
	p := new(int)
	return context.WithValue(ctx, statusKey{}, p), p
}

// redact hides the token in err: a *url.Error prints the request URL, and
// every Bot API URL holds /bot<token>/.
func (c *Channel) redact(err error) error { return connectors.Redact(err, c.secrets()...) }

// scrub replaces the token, and its secret half in any encoding, in s.
func (c *Channel) scrub(s string) string { return connectors.Scrub(s, c.secrets()...) }

// secrets are the token and its secret half (after the bot id and ":").
func (c *Channel) secrets() []string {
	token := c.opts.Token
	if _, secret, ok := strings.Cut(token, ":"); ok {
		return []string{token, secret}
	}
	return []string{token}
}
