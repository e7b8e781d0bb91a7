// Package config loads, resolves and validates leadhub's configuration: a
// TOML file, then environment overrides, then command-line flags. No file at
// all means the embedded default: SQLite and the embedded queue in ./data,
// HTTP on :8080, no external services.
//
// Only cmd/leadhub imports this package; it translates Config into each
// package's own Options.
package config

import (
	"errors"
	"fmt"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/leadhub/leadhub/inbox/workhours"
)

// Config is the whole configuration. Every field documents its default.
type Config struct {
	// DataDir holds the SQLite database (and later attachments). Default "./data".
	DataDir string `toml:"data_dir"`
	// Region is the default region for phone numbers written without a
	// country code (ISO 3166 code). Default "RU".
	Region   string    `toml:"region"`
	HTTP     HTTP      `toml:"http"`
	Database Database  `toml:"database"`
	Redis    Redis     `toml:"redis"`
	Inbox    Inbox     `toml:"inbox"`
	Log      Log       `toml:"log"`
	Security Security  `toml:"security"`
	Files    Files     `toml:"files"`
	SLA      SLA       `toml:"sla"`
	Alerts   Alerts    `toml:"alerts"`
	Channels []Channel `toml:"channels"`
	// Webhooks are outgoing webhooks: URLs that get events signed with
	// their secret. They are synced into the database at start (one per
	// URL) and read-only in the admin API, which can add more.
	Webhooks []Webhook `toml:"webhooks"`
}

// Webhook is one [[webhooks]] table.
type Webhook struct {
	// URL receives the deliveries; an http(s) URL that is not the hub's
	// own (see the README, "Outgoing webhooks").
	URL string `toml:"url"`
	// Events are event types or patterns: message.created,
	// conversation.*, client.*, call.*, task.*, sla.*, "*".
	Events []string `toml:"events"`
	// Secret signs each delivery (HMAC-SHA256); "env:NAME" reads it from
	// the environment. At least 16 characters.
	Secret string `toml:"secret"`
}

// SLA sets response targets, counted in working time, and what happens
// when they are missed. A channel may override the targets.
type SLA struct {
	// TimeZone of the working hours and holidays, an IANA name such as
	// "Europe/Moscow". Default "": UTC.
	TimeZone string `toml:"time_zone"`
	// WorkingHours is e.g. "mon-fri 09:00-18:00, sat 10:00-14:00": a
	// comma-separated list of <days> HH:MM-HH:MM, where <days> is mon..sun,
	// a forward range (mon-fri) or daily; an end may be 24:00 and must be
	// after its start (a night shift is two entries); overlapping entries
	// are merged. Default "": always open.
	WorkingHours string `toml:"working_hours"`
	// Holidays are dates ("2027-01-01") in TimeZone closed all day.
	// Default none.
	Holidays []string `toml:"holidays"`
	// FirstResponse is the working time within which a new conversation
	// must get its first answer. Default 0: no SLA.
	FirstResponse Duration `toml:"first_response"`
	// NextResponse is the working time within which a client's later
	// message must be answered. Default 0: no SLA for later answers.
	NextResponse Duration `toml:"next_response"`
	// WarnBefore is the working time before the due time at which the
	// assignee is warned; at or above the target, they are warned at once.
	// Default 0: 20% of the target.
	WarnBefore Duration `toml:"warn_before"`
	// TaskOverdueAlert: an open task this long past its due time alerts
	// supervisors; "0s" alerts as soon as it is due. Default 1h; negative:
	// never.
	TaskOverdueAlert Duration `toml:"task_overdue_alert"`
	// OfflineRequeue returns a conversation to the queue when its assignee
	// has been offline this long with it unanswered. Default 0: off (the
	// default for channels, which may override it).
	OfflineRequeue Duration `toml:"offline_requeue"`
}

// Alerts says where supervisors' alerts go: through the bot of a
// configured Telegram channel and/or the SMTP server of a configured email
// channel. Default: neither.
type Alerts struct {
	// TelegramChannel is the id of a configured telegram channel whose bot
	// sends alerts. Default "": none.
	TelegramChannel string `toml:"telegram_channel"`
	// TelegramChatIDs are the chats the bot writes to (a supervisor's or
	// a group's id); required with TelegramChannel, and only with it.
	TelegramChatIDs []int64 `toml:"telegram_chat_ids"`
	// EmailChannel is the id of a configured email channel (with an
	// smtp_host) whose SMTP server sends alerts. Default "": none.
	EmailChannel string `toml:"email_channel"`
	// EmailTo are the recipients' addresses; required with EmailChannel,
	// and only with it.
	EmailTo []string `toml:"email_to"`
	// Language of the alerts sent out: "ru" (default) or "en".
	Language string `toml:"language"`
}

// HTTP configures the web server.
type HTTP struct {
	// Addr to listen on. Default ":8080".
	Addr string `toml:"addr"`
	// PublicURL is where operators and providers reach the hub; used for
	// webhook registration, links and the websocket origin check. Default "".
	PublicURL string `toml:"public_url"`
	// HookRate is the per client IP and channel request rate allowed on
	// /hooks (requests per second; burst twice that). 0 disables. Default 100:
	// generous for an integration posting bursts from one server, still a
	// wall against one address flooding a channel.
	HookRate float64 `toml:"hook_rate"`
	// HookChannelRate is the request rate allowed on one channel's /hooks
	// routes from all addresses together (requests per second; burst
	// twice that). 0 disables. Default 200: far above what a business's
	// forms and bots send, low enough that a flood from many addresses
	// cannot bury the inbox.
	HookChannelRate float64 `toml:"hook_channel_rate"`
	// ReadHeaderTimeout cuts off a client that has not sent its headers
	// within it (slow loris). Default 5s.
	ReadHeaderTimeout Duration `toml:"read_header_timeout"`
	// ReadTimeout bounds reading a whole request. Default 30s.
	ReadTimeout Duration `toml:"read_timeout"`
	// WriteTimeout bounds writing a whole response. Default 30s.
	WriteTimeout Duration `toml:"write_timeout"`
	// IdleTimeout closes keep-alive connections idle this long. Default 120s.
	IdleTimeout Duration `toml:"idle_timeout"`
	// TrustedProxies are the reverse proxies (CIDRs such as
	// "10.0.0.0/8"; a bare address is that one host) whose
	// X-Forwarded-For / X-Real-IP give the client's address for rate
	// limits, the login lockout, sessions, consent records and the audit
	// log. Default none: those headers are ignored, the TCP peer is the
	// client.
	TrustedProxies []string `toml:"trusted_proxies"`
	// TLSCert and TLSKey are PEM files of the certificate (chain) and its
	// key: when both are set the hub serves HTTPS on Addr. Default "":
	// plain HTTP (TLS ends at a proxy, or nowhere on a laptop).
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
	// MetricsAddr serves /metrics on its own address (plain HTTP, e.g.
	// "127.0.0.1:9090"), and then not on Addr. Default "": /metrics is on
	// Addr.
	MetricsAddr string `toml:"metrics_addr"`
}

// TrustedProxyPrefixes parses TrustedProxies; its error names the key and
// the entry at fault.
func (h HTTP) TrustedProxyPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	var errs []error
	for _, s := range h.TrustedProxies {
		s = strings.TrimSpace(s)
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				errs = append(errs, fmt.Errorf("http.trusted_proxies: %q is not a CIDR such as 10.0.0.0/8 or an address", s))
				continue
			}
			// 10.1.2.3/8 means the network, as everyone who writes it means.
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			errs = append(errs, fmt.Errorf("http.trusted_proxies: %q is not a CIDR such as 10.0.0.0/8 or an address", s))
			continue
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, errors.Join(errs...)
}

// Files says where attachments are kept.
type Files struct {
	// Storage is "local" (DataDir/files, the default: one machine) or
	// "database" (the database's file_blobs table: every instance of a
	// cluster serves every file).
	Storage string `toml:"storage"`
}

// Security configures operators' sign-in.
type Security struct {
	// SessionIdle ends a browser session unused this long (an open page
	// keeps it alive). Default 12h.
	SessionIdle Duration `toml:"session_idle"`
	// SessionMaxAge ends a session this long after sign-in. Default 720h.
	SessionMaxAge Duration `toml:"session_max_age"`
	// LoginMaxFailures failed logins to one account within LoginLockout
	// lock it for LoginLockout. Default 5.
	LoginMaxFailures int `toml:"login_max_failures"`
	// LoginIPMaxFailures failed logins from one address (any accounts)
	// within LoginLockout lock the address. Default 20.
	LoginIPMaxFailures int `toml:"login_ip_max_failures"`
	// LoginLockout is how long a locked account or address waits, and the
	// window failures are counted in. Default 15m.
	LoginLockout Duration `toml:"login_lockout"`
	// LoginRate bounds login attempts per address per second (burst 10),
	// whether they succeed or not. Default 1.
	LoginRate float64 `toml:"login_rate"`
}

// Database selects the store and sizes its connection pool. The pool keeps
// as many idle connections as it may open. A zero pool key takes the
// dialect's default (store.PoolDefaults).
type Database struct {
	// URL is empty for SQLite in DataDir, or "postgres://user@host/db?sslmode=disable".
	URL string `toml:"url"`
	// MaxOpenConns bounds the connections open at once. Default 0: 16 on
	// PostgreSQL and on SQLite.
	MaxOpenConns int `toml:"max_open_conns"`
	// ConnMaxLifetime closes a connection this long after it opened.
	// Default 0: 30m on PostgreSQL, never on SQLite.
	ConnMaxLifetime Duration `toml:"conn_max_lifetime"`
	// ConnMaxIdleTime closes a connection unused this long. Default 0: 5m
	// on PostgreSQL, 30m on SQLite.
	ConnMaxIdleTime Duration `toml:"conn_max_idle_time"`
}

// Redis selects the queue and the fan-out between instances.
type Redis struct {
	// URL is empty for the embedded durable queue, or "redis://127.0.0.1:6379/0"
	// for Redis Streams plus pub/sub.
	URL string `toml:"url"`
	// Stream is the inbound stream's key. Default "leadhub:inbox".
	Stream string `toml:"stream"`
}

// Inbox tunes the workers that file envelopes.
type Inbox struct {
	// Workers is the number of concurrent filing workers. Default 4.
	Workers int `toml:"workers"`
	// Batch is how many envelopes one transaction files. Default 64.
	Batch int `toml:"batch"`
	// Visibility is how long a delivery may be held before another worker
	// takes it over (its holder is presumed dead). Default 30s.
	Visibility Duration `toml:"visibility"`
	// MaxAttempts before an envelope goes to dead letters. Default 5.
	MaxAttempts int `toml:"max_attempts"`
}

// Log configures log/slog.
type Log struct {
	// Level is debug, info, warn or error. Default "info".
	Level string `toml:"level"`
	// Format is "text" or "json". Default "text".
	Format string `toml:"format"`
}

// Channel is one configured channel. Keys beyond id, type and secret
// belong to one type each (see the README).
type Channel struct {
	// ID appears in /hooks/<type>/<id>; lower-case letters, digits, - and _.
	ID   string `toml:"id"`
	Type string `toml:"type"`
	// Secret authenticates the provider (HMAC key, secret token...). May be
	// "env:NAME" to read it from the environment.
	Secret string `toml:"secret"`
	// Team is the team whose operators see the channel's unassigned
	// conversations (supervisors and admins see every channel). Default
	// "": every operator sees them.
	Team string `toml:"team"`

	// SLA overrides, any type. SLAFirstResponse replaces
	// [sla].first_response for the channel: nil (absent) keeps it, "0s"
	// turns the SLA off. SLANextResponse does the same for
	// [sla].next_response.
	SLAFirstResponse *Duration `toml:"sla_first_response"`
	SLANextResponse  *Duration `toml:"sla_next_response"`
	// Assignment of the channel's new conversations: "manual" (operators
	// take them) or "round_robin" (handed to operators in turn). Default
	// "": manual.
	Assignment string `toml:"assignment"`
	// MaxOpen caps the open conversations round_robin hands one operator;
	// an operator at the cap is skipped. Default 0: no cap.
	MaxOpen int `toml:"max_open"`
	// OfflineRequeue replaces [sla].offline_requeue for the channel: nil
	// (absent) keeps it, "0s" turns it off.
	OfflineRequeue *Duration `toml:"offline_requeue"`

	// api
	CallbackURL string `toml:"callback_url"`

	// form
	AllowedOrigins []string          `toml:"allowed_origins"`
	RedirectURL    string            `toml:"redirect_url"`
	Fields         map[string]string `toml:"fields"`
	ConsentText    string            `toml:"consent_text"`
	// MinFillTime drops forms filled faster than a person can (bots).
	// Default 3s; a negative value turns the check off.
	MinFillTime Duration `toml:"min_fill_time"`
	// MaxFileSize bounds one uploaded file in bytes. Default 5 MiB, at most 20 MiB.
	MaxFileSize int64 `toml:"max_file_size"`
	// Labels is the language of the embedded form: "ru" (default) or "en".
	Labels string `toml:"labels"`

	// email
	IMAPHost    string `toml:"imap_host"`
	IMAPPort    int    `toml:"imap_port"`
	IMAPTLS     string `toml:"imap_tls"`
	Username    string `toml:"username"`
	Password    string `toml:"password"`
	Mailbox     string `toml:"mailbox"`
	SentMailbox string `toml:"sent_mailbox"`
	SMTPHost    string `toml:"smtp_host"`
	SMTPPort    int    `toml:"smtp_port"`
	SMTPTLS     string `toml:"smtp_tls"`
	FromAddress string `toml:"from_address"`
	FromName    string `toml:"from_name"`
	// PollInterval is the time between polls of a mailbox whose server has
	// no IDLE. Default 1m.
	PollInterval Duration `toml:"poll_interval"`
	// Backfill is how far back mail is read on the first connection to a
	// mailbox ("72h"); "0s" reads only mail that arrives later. Default
	// 72h. (An email channel's attachments are bounded by max_file_size,
	// default and most 20 MiB.)
	Backfill *Duration `toml:"backfill"`

	// telegram, vk; APIURL also overrides a telephony provider's API
	// address (Novofon: https://api.novofon.com).
	Token        string `toml:"token"`
	Mode         string `toml:"mode"`
	APIURL       string `toml:"api_url"`
	GroupID      int64  `toml:"group_id"`
	Confirmation string `toml:"confirmation"`

	// telephony
	// Provider is generic, zadarma or mango.
	Provider string `toml:"provider"`
	// APIKey is Zadarma's API key (click-to-call, recordings) or Mango's
	// vpbx_api_key; APISalt is Mango's salt.
	APIKey  string `toml:"api_key"`
	APISalt string `toml:"api_salt"`
	// Extensions maps an extension ("101") to the email of the operator
	// who answers it: their screen-pops, and the extension their calls
	// from a card ring first.
	Extensions map[string]string `toml:"extensions"`
	// CallURL is where the generic provider's click-to-call requests are
	// POSTed (signed JSON); empty: no calls from cards on that channel.
	CallURL string `toml:"call_url"`
	// CallbackWithin is when a missed call's callback task falls due.
	// Default 15m, at most 720h.
	CallbackWithin Duration `toml:"callback_within"`
}

// Duration is a time.Duration written as "30s" in TOML.
type Duration struct{ time.Duration }

// UnmarshalText parses "30s", "5m"...
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration back as text.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Default returns the embedded configuration: everything on this machine,
// nothing to install.
func Default() Config {
	return Config{
		DataDir: "./data",
		Region:  "RU",
		HTTP: HTTP{
			Addr: ":8080", HookRate: 100, HookChannelRate: 200,
			ReadHeaderTimeout: Duration{5 * time.Second},
			ReadTimeout:       Duration{30 * time.Second},
			WriteTimeout:      Duration{30 * time.Second},
			IdleTimeout:       Duration{120 * time.Second},
		},
		Redis: Redis{Stream: "leadhub:inbox"},
		Inbox: Inbox{
			Workers:     4,
			Batch:       64,
			Visibility:  Duration{30 * time.Second},
			MaxAttempts: 5,
		},
		Log: Log{Level: "info", Format: "text"},
		Security: Security{
			SessionIdle:        Duration{12 * time.Hour},
			SessionMaxAge:      Duration{720 * time.Hour},
			LoginMaxFailures:   5,
			LoginIPMaxFailures: 20,
			LoginLockout:       Duration{15 * time.Minute},
			LoginRate:          1,
		},
		SLA: SLA{TaskOverdueAlert: Duration{time.Hour}},
	}
}

// Schedule is the working time SLA targets are counted in. Its errors name
// the key at fault (sla.time_zone, sla.working_hours, sla.holidays).
func (c Config) Schedule() (*workhours.Schedule, error) {
	s, err := workhours.Parse(workhours.Spec{TimeZone: c.SLA.TimeZone, Hours: c.SLA.WorkingHours, Holidays: c.SLA.Holidays})
	var pe *workhours.ParseError
	if errors.As(err, &pe) {
		key := map[string]string{"time_zone": "sla.time_zone", "hours": "sla.working_hours", "holidays": "sla.holidays"}[pe.Part]
		return nil, fmt.Errorf("%s: %s", key, pe.Msg)
	}
	return s, err
}

// Targets are one channel's SLA durations, its overrides applied; 0 is off.
type Targets struct {
	FirstResponse  time.Duration
	NextResponse   time.Duration
	OfflineRequeue time.Duration
}

// Targets resolves ch's overrides against [sla].
func (c Config) Targets(ch Channel) Targets {
	pick := func(override *Duration, def Duration) time.Duration {
		if override != nil {
			return override.Duration
		}
		return def.Duration
	}
	return Targets{
		FirstResponse:  pick(ch.SLAFirstResponse, c.SLA.FirstResponse),
		NextResponse:   pick(ch.SLANextResponse, c.SLA.NextResponse),
		OfflineRequeue: pick(ch.OfflineRequeue, c.SLA.OfflineRequeue),
	}
}

// WarnFor is how long before a target's due time the assignee is warned:
// warn_before, or 20% of the target when it is 0.
func (s SLA) WarnFor(target time.Duration) time.Duration {
	if s.WarnBefore.Duration > 0 {
		return s.WarnBefore.Duration
	}
	return target / 5
}

// Env is how Load reads the environment; tests pass their own.
type Env func(key string) string

// Load reads the configuration: Default(), then the TOML file at path (if
// path is not empty), then LEADHUB_* environment overrides; then it resolves
// "env:NAME" secrets and validates the result.
func Load(path string, getenv Env) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	c := Default()
	if path != "" {
		md, err := toml.DecodeFile(path, &c)
		if err != nil {
			return Config{}, fmt.Errorf("config: read %s: %w", path, err)
		}
		if und := md.Undecoded(); len(und) > 0 {
			keys := make([]string, len(und))
			for i, k := range und {
				keys[i] = k.String()
			}
			return Config{}, fmt.Errorf("config: %s: unknown keys: %s", path, strings.Join(keys, ", "))
		}
	}
	for env, dst := range map[string]*string{
		"LEADHUB_DATA_DIR":     &c.DataDir,
		"LEADHUB_HTTP_ADDR":    &c.HTTP.Addr,
		"LEADHUB_PUBLIC_URL":   &c.HTTP.PublicURL,
		"LEADHUB_DATABASE_URL": &c.Database.URL,
		"LEADHUB_REDIS_URL":    &c.Redis.URL,
		"LEADHUB_LOG_LEVEL":    &c.Log.Level,
	} {
		if v := getenv(env); v != "" {
			*dst = v
		}
	}
	if err := c.resolveSecrets(getenv); err != nil {
		return Config{}, err
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// resolveSecrets replaces "env:NAME" values of secret fields with the
// variable's value, so secrets need not live in the file.
func (c *Config) resolveSecrets(getenv Env) error {
	var errs []error
	for i := range c.Channels {
		ch := &c.Channels[i]
		for name, p := range map[string]*string{
			"secret": &ch.Secret, "password": &ch.Password, "token": &ch.Token,
			"api_key": &ch.APIKey, "api_salt": &ch.APISalt, "confirmation": &ch.Confirmation,
		} {
			env, ok := strings.CutPrefix(*p, "env:")
			if !ok {
				continue
			}
			v := getenv(env)
			if v == "" {
				errs = append(errs, fmt.Errorf("channel %q: %s refers to $%s, which is empty", ch.ID, name, env))
			}
			*p = v
		}
	}
	for i := range c.Webhooks {
		p := &c.Webhooks[i].Secret
		if env, ok := strings.CutPrefix(*p, "env:"); ok {
			if *p = getenv(env); *p == "" {
				errs = append(errs, fmt.Errorf("webhooks[%d].secret refers to $%s, which is empty", i, env))
			}
		}
	}
	return errors.Join(errs...)
}

var (
	channelID = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	// teamName is what inbox.ValidTeamName accepts.
	teamName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
)

// Validate returns every problem at once, each phrased for the admin who
// has to fix the file.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.DataDir == "" && c.Database.URL == "" {
		add("data_dir is empty and no database url is set")
	}
	if c.HTTP.Addr == "" {
		add("http.addr is empty")
	}
	if c.HTTP.PublicURL != "" {
		if u, err := url.Parse(c.HTTP.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("http.public_url %q is not an http(s) URL", c.HTTP.PublicURL)
		}
	}
	switch c.Files.Storage {
	case "", "local", "database":
	default:
		add("files.storage %q is not local or database", c.Files.Storage)
	}
	if _, err := c.HTTP.TrustedProxyPrefixes(); err != nil {
		errs = append(errs, err)
	}
	if (c.HTTP.TLSCert == "") != (c.HTTP.TLSKey == "") {
		add("http.tls_cert and http.tls_key go together: set both (HTTPS) or neither")
	}
	// Port 0 (any free port, in tests) is never the same twice.
	if c.HTTP.MetricsAddr != "" && c.HTTP.MetricsAddr == c.HTTP.Addr && !strings.HasSuffix(c.HTTP.Addr, ":0") {
		add("http.metrics_addr must differ from http.addr (leave it empty to serve /metrics on http.addr)")
	}
	if c.HTTP.HookRate < 0 {
		add("http.hook_rate must not be negative")
	}
	if c.HTTP.HookChannelRate < 0 {
		add("http.hook_channel_rate must not be negative")
	}
	for name, d := range map[string]Duration{
		"http.read_header_timeout": c.HTTP.ReadHeaderTimeout, "http.read_timeout": c.HTTP.ReadTimeout,
		"http.write_timeout": c.HTTP.WriteTimeout, "http.idle_timeout": c.HTTP.IdleTimeout,
		"security.session_idle": c.Security.SessionIdle, "security.session_max_age": c.Security.SessionMaxAge,
		"security.login_lockout": c.Security.LoginLockout,
	} {
		if d.Duration < time.Second {
			add("%s must be at least 1s", name)
		}
	}
	if c.Security.LoginMaxFailures < 1 || c.Security.LoginIPMaxFailures < 1 {
		add("security.login_max_failures and login_ip_max_failures must be at least 1")
	}
	if c.Security.LoginRate <= 0 {
		add("security.login_rate must be positive")
	}
	if u := c.Database.URL; u != "" && !hasAnyPrefix(u, "postgres://", "postgresql://", "sqlite:", "file:") {
		add("database.url must start with postgres:// (or sqlite:/file: for a SQLite path)")
	}
	if n := c.Database.MaxOpenConns; n < 0 || n > 1000 {
		add("database.max_open_conns must be between 0 (the default) and 1000")
	}
	for name, d := range map[string]Duration{
		"database.conn_max_lifetime": c.Database.ConnMaxLifetime, "database.conn_max_idle_time": c.Database.ConnMaxIdleTime,
	} {
		if d.Duration != 0 && d.Duration < time.Second {
			add("%s must be 0 (the default) or at least 1s", name)
		}
	}
	if u := c.Redis.URL; u != "" && !hasAnyPrefix(u, "redis://", "rediss://", "unix://") {
		add("redis.url must start with redis:// or rediss://")
	}
	if c.Inbox.Workers < 1 || c.Inbox.Workers > 256 {
		add("inbox.workers must be between 1 and 256")
	}
	if c.Inbox.Batch < 1 || c.Inbox.Batch > 1000 {
		add("inbox.batch must be between 1 and 1000")
	}
	if c.Inbox.Visibility.Duration < time.Second {
		add("inbox.visibility must be at least 1s")
	}
	if c.Inbox.MaxAttempts < 1 {
		add("inbox.max_attempts must be at least 1")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level must be debug, info, warn or error")
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		add("log.format must be text or json")
	}
	if _, err := c.Schedule(); err != nil {
		errs = append(errs, err)
	}
	for name, d := range map[string]Duration{
		"sla.first_response": c.SLA.FirstResponse, "sla.next_response": c.SLA.NextResponse,
		"sla.warn_before": c.SLA.WarnBefore, "sla.offline_requeue": c.SLA.OfflineRequeue,
	} {
		if d.Duration < 0 {
			add("%s must not be negative", name)
		}
	}
	errs = append(errs, c.alertsProblems()...)
	seen := map[string]bool{}
	for i, ch := range c.Channels {
		where := fmt.Sprintf("channels[%d] (%q)", i, ch.ID)
		for key, d := range map[string]*Duration{
			"sla_first_response": ch.SLAFirstResponse, "sla_next_response": ch.SLANextResponse, "offline_requeue": ch.OfflineRequeue,
		} {
			if d != nil && d.Duration < 0 {
				add("%s: %s must not be negative", where, key)
			}
		}
		if ch.Assignment != "" && ch.Assignment != "manual" && ch.Assignment != "round_robin" {
			add("%s: assignment %q is not manual or round_robin", where, ch.Assignment)
		}
		if ch.MaxOpen < 0 {
			add("%s: max_open must not be negative (0 is no cap)", where)
		}
		if !channelID.MatchString(ch.ID) {
			add("%s: id must be lower-case letters, digits, - or _", where)
		}
		if seen[ch.ID] {
			add("%s: id is used twice", where)
		}
		seen[ch.ID] = true
		if ch.Team != "" && !teamName.MatchString(ch.Team) {
			add("%s: team must be a team name: lower-case letters, digits, - or _", where)
		}
		switch ch.Type {
		case "api":
			if ch.Secret == "" {
				add("%s: an api channel needs a secret (signs requests and callbacks)", where)
			}
			if ch.CallbackURL != "" {
				if u, err := url.Parse(ch.CallbackURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					add("%s: callback_url %q is not an http(s) URL", where, ch.CallbackURL)
				}
			}
		case "email":
			// The connector checks the rest when it is built; these are
			// the keys it cannot judge.
			if ch.IMAPHost == "" || ch.Username == "" || ch.Password == "" {
				add("%s: an email channel needs imap_host, username and password", where)
			}
			for key, mode := range map[string]string{"imap_tls": ch.IMAPTLS, "smtp_tls": ch.SMTPTLS} {
				if mode != "" && mode != "tls" && mode != "starttls" && mode != "none" {
					add("%s: %s must be tls, starttls or none", where, key)
				}
			}
			if ch.Backfill != nil && ch.Backfill.Duration < 0 {
				add("%s: backfill must not be negative", where)
			}
			if ch.MaxFileSize < 0 || ch.MaxFileSize > 20<<20 {
				add("%s: max_file_size must be between 0 (the default, 20 MiB) and 20 MiB", where)
			}
			if ch.PollInterval.Duration < 0 {
				add("%s: poll_interval must not be negative", where)
			}
		case "telephony":
			for _, e := range validateTelephony(ch) {
				add("%s: %s", where, e)
			}
		case "form", "telegram", "vk":
			// Connectors for these types validate their own keys when they
			// are built; the type is known.
		default:
			add("%s: type %q is not one of api, form, email, telegram, vk, telephony", where, ch.Type)
		}
		if ch.Type == "vk" {
			errs = append(errs, vkProblems(where, ch)...)
		}
	}
	errs = append(errs, c.webhookProblems()...)
	return errors.Join(errs...)
}

// webhookProblems checks the [[webhooks]] tables as far as the file
// alone can tell; the hub refuses, at start, event patterns it does not
// know and URLs that point at itself, naming the key too.
func (c *Config) webhookProblems() []error {
	var errs []error
	seen := map[string]bool{}
	for i, h := range c.Webhooks {
		where := fmt.Sprintf("webhooks[%d]", i)
		u, err := url.Parse(h.URL)
		switch {
		case h.URL == "":
			errs = append(errs, fmt.Errorf("%s.url is empty", where))
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "":
			errs = append(errs, fmt.Errorf("%s.url %q is not an http(s) URL", where, h.URL))
		case seen[h.URL]:
			errs = append(errs, fmt.Errorf("%s.url %q is subscribed twice; list its events in one table", where, h.URL))
		}
		seen[h.URL] = true
		if len(h.Events) == 0 {
			errs = append(errs, fmt.Errorf("%s.events is empty", where))
		}
		if len(h.Secret) < 16 {
			errs = append(errs, fmt.Errorf("%s.secret must be at least 16 characters", where))
		}
	}
	return errs
}

// alertsProblems checks that alerts go through a configured channel able
// to send them, to someone.
func (c *Config) alertsProblems() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	channel := func(id string) (Channel, bool) {
		for _, ch := range c.Channels {
			if ch.ID == id {
				return ch, true
			}
		}
		return Channel{}, false
	}
	a := c.Alerts
	if a.TelegramChannel != "" {
		switch ch, ok := channel(a.TelegramChannel); {
		case !ok:
			add("alerts.telegram_channel %q is not a configured channel", a.TelegramChannel)
		case ch.Type != "telegram":
			add("alerts.telegram_channel %q is of type %s, not telegram", a.TelegramChannel, ch.Type)
		}
		if len(a.TelegramChatIDs) == 0 {
			add("alerts.telegram_chat_ids must list at least one chat when alerts.telegram_channel is set")
		}
	} else if len(a.TelegramChatIDs) > 0 {
		add("alerts.telegram_chat_ids is set but alerts.telegram_channel is empty: name the telegram channel whose bot sends alerts")
	}
	for _, id := range a.TelegramChatIDs {
		if id == 0 {
			add("alerts.telegram_chat_ids: 0 is not a chat id")
		}
	}
	if a.EmailChannel != "" {
		switch ch, ok := channel(a.EmailChannel); {
		case !ok:
			add("alerts.email_channel %q is not a configured channel", a.EmailChannel)
		case ch.Type != "email":
			add("alerts.email_channel %q is of type %s, not email", a.EmailChannel, ch.Type)
		case ch.SMTPHost == "":
			add("alerts.email_channel %q has no smtp_host to send alerts with", a.EmailChannel)
		}
		if len(a.EmailTo) == 0 {
			add("alerts.email_to must list at least one address when alerts.email_channel is set")
		}
	} else if len(a.EmailTo) > 0 {
		add("alerts.email_to is set but alerts.email_channel is empty: name the email channel whose SMTP server sends alerts")
	}
	for _, to := range a.EmailTo {
		if _, err := mail.ParseAddress(to); err != nil {
			add("alerts.email_to: %q is not an email address", to)
		}
	}
	if a.Language != "" && a.Language != "ru" && a.Language != "en" {
		add("alerts.language %q is not ru or en", a.Language)
	}
	return errs
}

// validateTelephony lists what is wrong with a telephony channel's keys.
func validateTelephony(ch Channel) []string {
	var errs []string
	switch ch.Provider {
	case "generic", "zadarma":
		if ch.Secret == "" {
			errs = append(errs, fmt.Sprintf("provider %s needs a secret", ch.Provider))
		}
	case "mango":
		if ch.APIKey == "" || ch.APISalt == "" {
			errs = append(errs, "provider mango needs api_key and api_salt")
		}
	default:
		errs = append(errs, fmt.Sprintf("provider %q is not one of generic, zadarma, mango", ch.Provider))
	}
	if ch.CallURL != "" {
		if u, err := url.Parse(ch.CallURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, "call_url is not an http(s) URL")
		} else if ch.Provider != "generic" {
			errs = append(errs, "call_url is for the generic provider; zadarma and mango are called through their API")
		}
	}
	if d := ch.CallbackWithin.Duration; d < 0 || d > 720*time.Hour {
		errs = append(errs, "callback_within must be between 0 (default 15m) and 720h")
	}
	for ext, email := range ch.Extensions {
		if strings.TrimSpace(ext) == "" || !strings.Contains(email, "@") {
			errs = append(errs, fmt.Sprintf("extensions: %q = %q is not an extension and an operator's email", ext, email))
		}
	}
	return errs
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
