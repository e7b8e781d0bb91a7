package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/leadhub/leadhub/config"
	"github.com/leadhub/leadhub/connectors/api"
	"github.com/leadhub/leadhub/connectors/email"
	"github.com/leadhub/leadhub/connectors/form"
	"github.com/leadhub/leadhub/connectors/telegram"
	"github.com/leadhub/leadhub/connectors/telephony"
	"github.com/leadhub/leadhub/connectors/vk"
	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/inbox/redisq"
	"github.com/leadhub/leadhub/inbox/sqlq"
	"github.com/leadhub/leadhub/store"
	"github.com/leadhub/leadhub/store/dbfiles"
	"github.com/leadhub/leadhub/store/filestore"
	"github.com/leadhub/leadhub/web"
)

// queue is what the hub needs of either queue implementation.
type queue interface {
	inbox.Queue
	inbox.DeadLetters
	inbox.Inspector
}

// backend is the database and the queue, opened and migrated.
type backend struct {
	store *store.Store
	queue queue
	rdb   *redis.Client // nil on the embedded queue
}

// openBackend opens the store and the queue the configuration names and
// applies both migrations. onGroupRecreated may be nil.
func openBackend(ctx context.Context, cfg config.Config, logger *slog.Logger, onGroupRecreated func()) (*backend, error) {
	sla, err := slaPolicy(cfg)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, store.Options{URL: cfg.Database.URL, DataDir: cfg.DataDir, Region: cfg.Region, Logger: logger,
		SLA: sla,
		Pool: store.Pool{
			MaxOpenConns:    cfg.Database.MaxOpenConns,
			ConnMaxLifetime: cfg.Database.ConnMaxLifetime.Duration,
			ConnMaxIdleTime: cfg.Database.ConnMaxIdleTime.Duration,
		}})
	if err != nil {
		return nil, unreachable(cfg.Database.URL != "", "database", err)
	}
	b := &backend{store: st}
	if err := st.Migrate(ctx); err != nil {
		b.Close()
		return nil, unreachable(cfg.Database.URL != "", "database", err)
	}
	if cfg.Redis.URL == "" {
		q, err := sqlq.New(st.DB(), sqlq.Options{
			Visibility:  cfg.Inbox.Visibility.Duration,
			MaxAttempts: cfg.Inbox.MaxAttempts,
			Logger:      logger.With("component", "sqlq"),
		})
		if err == nil {
			err = q.Migrate(ctx)
		}
		if err != nil {
			b.Close()
			return nil, err
		}
		b.queue = q
		return b, nil
	}
	ropts, err := redis.ParseURL(cfg.Redis.URL)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("redis url: %w", err)
	}
	b.rdb = redis.NewClient(ropts)
	q, err := redisq.New(b.rdb, redisq.Options{
		Stream:           cfg.Redis.Stream,
		Visibility:       cfg.Inbox.Visibility.Duration,
		MaxAttempts:      cfg.Inbox.MaxAttempts,
		Logger:           logger.With("component", "redisq"),
		OnGroupRecreated: onGroupRecreated,
	})
	if err == nil {
		err = q.Migrate(ctx)
	}
	if err != nil {
		b.Close()
		return nil, unreachable(true, "queue", fmt.Errorf("redis queue: %w", err))
	}
	b.queue = q
	if w, err := q.DurabilityWarning(ctx); err == nil && w != "" {
		logger.Warn(w)
	}
	return b, nil
}

// Close closes the queue's connection, then the database.
func (b *backend) Close() error {
	var errs []error
	if b.rdb != nil {
		errs = append(errs, b.rdb.Close())
	}
	errs = append(errs, b.store.Close())
	return errors.Join(errs...)
}

// ready reports whether the database and the queue answer.
func (b *backend) ready(ctx context.Context) error {
	if err := b.store.Ping(ctx); err != nil {
		return inbox.Errorf(inbox.EUNAVAILABLE, "database unreachable")
	}
	if err := b.queue.Ping(ctx); err != nil {
		return inbox.Errorf(inbox.EUNAVAILABLE, "queue unreachable")
	}
	return nil
}

// warnings are what an admin should fix though the hub works: Redis
// without append-only persistence loses accepted envelopes on a restart.
func (b *backend) warnings(ctx context.Context) []string {
	rq, ok := b.queue.(*redisq.Queue)
	if !ok {
		return nil
	}
	w, err := rq.DurabilityWarning(ctx)
	if err != nil || w == "" {
		return nil
	}
	return []string{w}
}

// fileStorage keeps attachment bodies: connectors save what arrives,
// senders open what operators attach to replies, and the web serves them.
type fileStorage interface {
	inbox.Files
	inbox.FileSource
	Open(ctx context.Context, id string) (io.ReadSeekCloser, inbox.Attachment, error)
}

// openFiles is the configured file storage: the data folder (one machine)
// or the database (every instance of a cluster serves every file).
func openFiles(cfg config.Config, b *backend) (fileStorage, error) {
	if cfg.Files.Storage == "database" {
		return dbfiles.New(b.store.DB()), nil
	}
	return filestore.New(filepath.Join(cfg.DataDir, "files"))
}

// wiredChannels is every configured channel, taken apart by role.
type wiredChannels struct {
	hooks     map[string]web.Hook
	senders   map[string]inbox.Sender
	resolvers map[string]inbox.Resolver
	status    map[string]func(ctx context.Context) (any, error)
	// callers are the telephony channels that place calls from cards;
	// recordings the ones that fetch calls' recordings.
	callers    map[string]web.Caller
	recordings map[string]inbox.RecordingFetcher
	// alerts send supervisors' alerts out: the [alerts] Telegram bot and
	// email channel.
	alerts []inbox.AlertNotifier
	// runners are the channels' own loops (long polling, webhook
	// registration); each gets the queue to put what it receives in, and
	// the store for pollers' checkpoints and leases.
	runners []func(ctx context.Context, sink inbox.Sink, pollers inbox.PollerStore) error
}

// channels builds every configured channel's webhook, reply sender and
// loops. It is the only place that switches on a channel's type.
// Connectors report how their provider answers to health.
func channels(ctx context.Context, cfg config.Config, logger *slog.Logger, files fileStorage, health *inbox.HealthBoard) (*wiredChannels, error) {
	w := &wiredChannels{
		hooks:      map[string]web.Hook{},
		senders:    map[string]inbox.Sender{},
		resolvers:  map[string]inbox.Resolver{},
		status:     map[string]func(ctx context.Context) (any, error){},
		callers:    map[string]web.Caller{},
		recordings: map[string]inbox.RecordingFetcher{},
	}
	// One id per process: the holder of its pollers' leases.
	holder := instanceID()
	for _, ch := range cfg.Channels {
		log := logger.With("channel", ch.ID)
		switch ch.Type {
		case "api":
			c, err := api.New(api.Options{ChannelID: ch.ID, Secret: ch.Secret, CallbackURL: ch.CallbackURL, Region: cfg.Region, PublicURL: cfg.HTTP.PublicURL})
			if err != nil {
				return nil, fmt.Errorf("channel %q: %w", ch.ID, err)
			}
			w.hooks[ch.ID] = web.Hook{Type: inbox.ChannelAPI, Webhook: c}
			if ch.CallbackURL != "" {
				w.senders[ch.ID] = c
			}
		case "form":
			c, err := form.New(form.Options{
				ChannelID: ch.ID, Secret: ch.Secret, AllowedOrigins: ch.AllowedOrigins,
				RedirectURL: ch.RedirectURL, Fields: ch.Fields, ConsentText: ch.ConsentText,
				PublicURL: cfg.HTTP.PublicURL, Region: cfg.Region, Files: files,
				MaxFileSize: ch.MaxFileSize, MinFillTime: ch.MinFillTime.Duration, Labels: ch.Labels,
				Logger: log.With("component", "form"),
			})
			if err != nil {
				return nil, fmt.Errorf("channel %q: %w", ch.ID, err)
			}
			w.hooks[ch.ID] = web.Hook{Type: inbox.ChannelForm, Webhook: c}
		case "telegram":
			c, err := telegram.New(ctx, telegram.Options{
				ChannelID: ch.ID, Token: ch.Token, Secret: ch.Secret, Mode: ch.Mode, APIURL: ch.APIURL,
				PublicURL: cfg.HTTP.PublicURL, Region: cfg.Region, Files: files, Source: files,
				Logger: log.With("component", "telegram"), Holder: holder,
			})
			if err != nil {
				return nil, fmt.Errorf("channel %q: %w", ch.ID, err)
			}
			if c.Mode() == telegram.ModeWebhook {
				w.hooks[ch.ID] = web.Hook{Type: inbox.ChannelTelegram, Webhook: c}
			}
			w.senders[ch.ID] = c
			w.resolvers[ch.ID] = c
			w.status[ch.ID] = func(ctx context.Context) (any, error) { return c.Status(ctx) }
			if ch.ID == cfg.Alerts.TelegramChannel {
				w.alerts = append(w.alerts, c.AlertNotifier(cfg.Alerts.TelegramChatIDs))
			}
			w.runners = append(w.runners, func(ctx context.Context, sink inbox.Sink, pollers inbox.PollerStore) error {
				// Telegram may be unreachable at boot; the hub still starts,
				// the channel status shows the webhook's state, and the
				// registration is retried until it succeeds (polling, too,
				// needs the webhook deleted first).
				if err := c.Register(ctx); err != nil {
					return nil // ctx ended: the hub is stopping
				}
				return c.Run(ctx, sink, pollers)
			})
		case "email":
			c, err := email.New(emailOptions(ch, files, health, log, holder))
			if err != nil {
				return nil, fmt.Errorf("channel %q: %w", ch.ID, err)
			}
			if ch.SMTPHost != "" {
				w.senders[ch.ID] = c
			}
			if ch.ID == cfg.Alerts.EmailChannel {
				w.alerts = append(w.alerts, c.AlertNotifier(cfg.Alerts.EmailTo))
			}
			w.runners = append(w.runners, c.Run)
		case "vk":
			c, err := vk.New(vk.Options{
				ChannelID: ch.ID, GroupID: ch.GroupID, Secret: ch.Secret, Confirmation: ch.Confirmation,
				Token: ch.Token, APIURL: ch.APIURL, PublicURL: cfg.HTTP.PublicURL,
				Files: files, Health: health, Logger: log.With("component", "vk"),
			})
			if err != nil {
				return nil, fmt.Errorf("channel %q: %w", ch.ID, err)
			}
			w.hooks[ch.ID] = web.Hook{Type: inbox.ChannelVK, Webhook: c}
			w.senders[ch.ID] = c
			w.resolvers[ch.ID] = c
			w.status[ch.ID] = func(ctx context.Context) (any, error) { return c.Status(ctx) }
		case "telephony":
			c, err := telephony.New(telephony.Options{
				ChannelID: ch.ID, Provider: ch.Provider, Secret: ch.Secret, APIKey: ch.APIKey, APISalt: ch.APISalt,
				Extensions: ch.Extensions, APIURL: ch.APIURL, CallURL: ch.CallURL,
				CallbackWithin: ch.CallbackWithin.Duration, Region: cfg.Region,
				Logger: log.With("component", "telephony"), Health: health,
			})
			if err != nil {
				return nil, fmt.Errorf("channel %q: %w", ch.ID, err)
			}
			w.hooks[ch.ID] = web.Hook{Type: inbox.ChannelTelephony, Webhook: c}
			if c.CanCall() {
				w.callers[ch.ID] = c
			}
			w.recordings[ch.ID] = c
		default:
			return nil, fmt.Errorf("channel %q: type %q is not available in this version yet", ch.ID, ch.Type)
		}
	}
	return w, nil
}

// hub is the running process: its parts and who runs them.
type hub struct {
	backend *backend
	server  *web.Server
	runners []func(context.Context) error
	// metrics is where /metrics is served apart (http.metrics_addr); nil:
	// on the main address. run serves it and closes it when done.
	metrics net.Listener
}

// build wires the hub from the configuration. The caller runs it and closes
// the backend.
func build(ctx context.Context, cfg config.Config, logger *slog.Logger) (*hub, error) {
	return buildWith(ctx, cfg, logger, openBackend)
}

// opener opens the backend: openBackend fails at once, a waiter's open
// waits until the database and the queue answer.
type opener func(ctx context.Context, cfg config.Config, logger *slog.Logger, onGroupRecreated func()) (*backend, error)

// buildWith is build with the backend opened by open.
func buildWith(ctx context.Context, cfg config.Config, logger *slog.Logger, open opener) (*hub, error) {
	proxies, err := cfg.HTTP.TrustedProxyPrefixes()
	if err != nil {
		return nil, err
	}
	metrics := web.NewMetrics(prometheus.NewRegistry())
	b, err := open(ctx, cfg, logger, metrics.GroupRecreated)
	if err != nil {
		return nil, err
	}
	files, err := openFiles(cfg, b)
	if err != nil {
		b.Close()
		return nil, err
	}
	health := inbox.NewHealthBoard(nil)
	chans, err := channels(ctx, cfg, logger, files, health)
	if err != nil {
		b.Close()
		return nil, err
	}
	metrics.SetQueueStats(b.queue.Stats)
	metrics.Registry().MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "leadhub_db_queries_total",
		Help: "Statements run on the database (the embedded queue's included; BEGIN, COMMIT and ROLLBACK count, pings do not).",
	}, func() float64 { return float64(b.store.QueryCount()) }))
	// An import a stopped process was running will never finish; a live
	// one on another instance shows progress every few seconds.
	if err := b.store.InterruptImports(ctx, 2*time.Minute); err != nil {
		b.Close()
		return nil, err
	}
	if err := syncChannels(ctx, b.store, cfg, logger); err != nil {
		b.Close()
		return nil, err
	}
	if err := syncWebhooks(ctx, b.store, cfg); err != nil {
		b.Close()
		return nil, err
	}

	// With Redis, every instance hears about every commit through pub/sub
	// and wakes its own hub; embedded, the hub is told directly.
	wsHub := web.NewHub(b.store, metrics, logger.With("component", "ws_hub"))
	var publisher inbox.Publisher = wsHub
	var fanout *redisq.Fanout
	if b.rdb != nil {
		fanout = redisq.NewFanout(b.rdb, eventsChannel(cfg), wsHub, logger.With("component", "fanout"))
		publisher = fanout
	}
	var outbound *inbox.OutboundWorker
	srv, err := web.New(web.Options{
		Addr:      cfg.HTTP.Addr,
		PublicURL: cfg.HTTP.PublicURL,
		Logger:    logger.With("component", "web"),
		Store:     b.store,
		Sink:      b.queue,
		Hooks:     chans.hooks,
		Callers:   chans.callers,
		Metrics:   metrics,
		Hub:       wsHub,
		Files:     files,
		Uploads:   files,

		SignedFileKeys: signedFileKeys(cfg),

		ChannelStatus: chans.status,
		Health:        health,
		Publisher:     publisher,
		Ready:         b.ready,
		Warnings:      b.warnings,
		Kick:          func() { outbound.Kick() },
		HookRate:      cfg.HTTP.HookRate,

		HookChannelRate: cfg.HTTP.HookChannelRate,
		TrustedProxies:  proxies,
		ChannelTeams:    channelTeams(cfg),
		ReportLocation:  reportLocation(cfg),
		Channels:        channelInfos(cfg, func(id string) bool { return chans.senders[id] != nil }),
		Starter:         b.store,
		Auth:            authOptions(cfg),
		Timeouts:        timeouts(cfg),
		TLSCertFile:     cfg.HTTP.TLSCert,
		TLSKeyFile:      cfg.HTTP.TLSKey,
		MetricsApart:    cfg.HTTP.MetricsAddr != "",
	})
	if err != nil {
		b.Close()
		return nil, err
	}
	outbound = inbox.NewOutboundWorker(inbox.OutboundOptions{
		Store:     b.store,
		Senders:   chans.senders,
		Publisher: publisher,
		Logger:    logger.With("component", "outbound"),
		OnResult:  metrics.OutboundResult,
	})
	h := &hub{backend: b, server: srv}
	h.runners = append(h.runners, outbound.Run)
	// Every instance records who has a page open on it and supervises;
	// the store's claims keep two instances from acting twice.
	h.runners = append(h.runners, func(ctx context.Context) error { return wsHub.TrackPresence(ctx, b.store.TouchPresence) })
	supervisor := inbox.NewSupervisor(inbox.SupervisorOptions{
		Store:            b.store,
		Publisher:        publisher,
		Logger:           logger.With("component", "supervisor"),
		Assignment:       assignmentRules(cfg),
		TaskOverdueAlert: cfg.SLA.TaskOverdueAlert.Duration,
		Notifiers:        chans.alerts,
		PublicURL:        cfg.HTTP.PublicURL,
		Language:         cfg.Alerts.Language,
	})
	h.runners = append(h.runners, supervisor.Run)
	// Outgoing webhooks: every instance runs the worker; the store's
	// dispatch positions and leases keep one delivery from going out twice.
	hooks := inbox.NewWebhookWorker(inbox.WebhookOptions{
		Store:    b.store,
		Logger:   logger.With("component", "webhooks"),
		OnResult: metrics.WebhookResult,
	})
	h.runners = append(h.runners, hooks.Run)
	if len(chans.recordings) > 0 {
		// Calls' recordings, fetched into file storage; every instance
		// runs one, and the store's lease keeps them from fetching one
		// recording twice.
		rec := inbox.NewRecordingWorker(inbox.RecordingOptions{
			Store: b.store, Fetchers: chans.recordings, Files: files, Publisher: publisher,
			Logger: logger.With("component", "recordings"),
		})
		h.runners = append(h.runners, rec.Run)
	}
	for i := range cfg.Inbox.Workers {
		w := inbox.NewWorker(inbox.WorkerOptions{
			Queue:     b.queue,
			Filer:     b.store,
			Publisher: publisher,
			Logger:    logger.With("component", "worker", "worker", i),
			Batch:     cfg.Inbox.Batch,
			OnFiled:   metrics.ObserveFiling,
			Resolvers: chans.resolvers,
		})
		h.runners = append(h.runners, w.Run)
	}
	if fanout != nil {
		h.runners = append(h.runners, fanout.Run)
	}
	for _, run := range chans.runners {
		h.runners = append(h.runners, func(ctx context.Context) error { return run(ctx, b.queue, b.store) })
	}
	return h, nil
}

// run serves on ln until ctx ends, then shuts down in order: HTTP stops
// accepting and drains, workers stop (an un-acked delivery is redelivered),
// and the caller closes the queue and the database.
func (h *hub) run(ctx context.Context, ln net.Listener) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return h.server.Serve(gctx, ln) })
	if h.metrics != nil {
		g.Go(func() error { return h.server.ServeMetrics(gctx, h.metrics) })
	}
	for _, r := range h.runners {
		g.Go(func() error { return r(gctx) })
	}
	return g.Wait()
}

// serve listens first, then waits for the database and the queue (serving
// /healthz and a 503 /readyz meanwhile), then runs the hub until ctx ends.
func serve(ctx context.Context, cfg config.Config, logger *slog.Logger, stdout io.Writer) error {
	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	var metricsLn net.Listener
	if cfg.HTTP.MetricsAddr != "" {
		if metricsLn, err = net.Listen("tcp", cfg.HTTP.MetricsAddr); err != nil {
			ln.Close()
			return fmt.Errorf("listen on http.metrics_addr: %w", err)
		}
		logger.Info("metrics served apart", "metrics_addr", metricsLn.Addr().String())
	}
	logger.Info("listening; connecting to the database and the queue", "addr", ln.Addr().String())
	ho := newHandoff(ln)
	h, err := buildWaiting(ctx, cfg, logger, ho, startRetry)
	if err != nil {
		ho.Close()
		if metricsLn != nil {
			metricsLn.Close()
		}
		if ctx.Err() != nil {
			logger.Info("leadhub stopped before the database and the queue answered")
			return nil
		}
		return err
	}
	defer h.backend.Close()
	h.metrics = metricsLn
	printWelcome(stdout, cfg, ln.Addr().String())
	logger.Info("leadhub started", "addr", ln.Addr().String(), "tls", cfg.HTTP.TLSCert != "", "database", h.backend.store.Dialect(), "queue", queueKind(cfg), "channels", len(cfg.Channels))
	start := time.Now()
	err = h.run(ctx, ho.Last())
	ho.Close()
	logger.Info("leadhub stopped", "shutdown_after", time.Since(start).Round(time.Millisecond).String())
	return err
}

func queueKind(cfg config.Config) string {
	if cfg.Redis.URL != "" {
		return "redis"
	}
	return "embedded"
}

func printWelcome(w io.Writer, cfg config.Config, addr string) {
	base := cfg.HTTP.PublicURL
	if base == "" {
		host := addr
		if strings.HasPrefix(host, "[::]") || strings.HasPrefix(host, "0.0.0.0") {
			_, port, _ := net.SplitHostPort(addr)
			host = "localhost:" + port
		}
		base = "http://" + host
		if cfg.HTTP.TLSCert != "" {
			base = "https://" + host
		}
	}
	fmt.Fprintf(w, `leadhub is running at %s (database: %s, queue: %s)

Create an operator and an API token:
  go run ./cmd/leadhub operator add --email you@example.com --role admin
  go run ./cmd/leadhub token create --operator you@example.com
Then: curl -H "Authorization: Bearer <token>" %s/api/v1/conversations
`, base, dbKind(cfg), queueKind(cfg), base)
}

func dbKind(cfg config.Config) string {
	if cfg.Database.URL == "" || !strings.HasPrefix(cfg.Database.URL, "postgres") {
		return "SQLite in " + cfg.DataDir
	}
	return "PostgreSQL"
}

func migrate(ctx context.Context, cfg config.Config, logger *slog.Logger, stdout io.Writer) error {
	b, err := openBackend(ctx, cfg, logger, nil)
	if err != nil {
		return err
	}
	defer b.Close()
	fmt.Fprintf(stdout, "migrations applied (%s)\n", b.store.Dialect())
	return nil
}

// eventsChannel is the Redis pub/sub channel on which every instance, and
// every command that changes something, says that new events were written.
func eventsChannel(cfg config.Config) string { return cfg.Redis.Stream + ":events" }

// emailOptions turns an email channel's keys into the connector's options.
// Ports left out are the usual ones for the TLS mode (IMAP 993 or 143,
// SMTP 465 or 587).
func emailOptions(ch config.Channel, files fileStorage, health *inbox.HealthBoard, log *slog.Logger, holder string) email.Options {
	addr := func(host string, port int, tlsMode string, implicit, plain int) string {
		if host == "" {
			return ""
		}
		if port == 0 {
			port = plain
			if tlsMode == "" || tlsMode == email.TLSImplicit {
				port = implicit
			}
		}
		return net.JoinHostPort(host, strconv.Itoa(port))
	}
	backfill := time.Duration(-1) // the connector's default
	if ch.Backfill != nil {
		backfill = ch.Backfill.Duration
	}
	return email.Options{
		ChannelID:    ch.ID,
		IMAPAddr:     addr(ch.IMAPHost, ch.IMAPPort, ch.IMAPTLS, 993, 143),
		IMAPTLS:      ch.IMAPTLS,
		Username:     ch.Username,
		Password:     ch.Password,
		Mailbox:      ch.Mailbox,
		SentMailbox:  ch.SentMailbox,
		SMTPAddr:     addr(ch.SMTPHost, ch.SMTPPort, ch.SMTPTLS, 465, 587),
		SMTPTLS:      ch.SMTPTLS,
		FromAddress:  ch.FromAddress,
		FromName:     ch.FromName,
		PollInterval: ch.PollInterval.Duration,
		Backfill:     backfill,
		MaxFileSize:  ch.MaxFileSize,
		Files:        files,
		FileSource:   files,
		Health:       health,
		Logger:       log.With("component", "email"),
		Holder:       holder,
	}
}

// signedFileKeys are the API channels' secrets: their callbacks carry
// links to reply files signed with them.
func signedFileKeys(cfg config.Config) map[string]string {
	keys := map[string]string{}
	for _, ch := range cfg.Channels {
		if ch.Type == "api" && ch.Secret != "" {
			keys[ch.ID] = ch.Secret
		}
	}
	return keys
}

// syncWebhooks checks the config file's [[webhooks]] as the API checks a
// subscription (known patterns, not the hub itself), naming the key, and
// makes them the database's config subscriptions.
func syncWebhooks(ctx context.Context, st *store.Store, cfg config.Config) error {
	self := inbox.WebhookSelf{PublicURL: cfg.HTTP.PublicURL, Addr: cfg.HTTP.Addr}
	hs := make([]inbox.Webhook, len(cfg.Webhooks))
	var errs []error
	for i, h := range cfg.Webhooks {
		if err := inbox.CheckWebhookURL(h.URL, self); err != nil {
			errs = append(errs, fmt.Errorf("config: webhooks[%d].%s", i, inbox.ErrorMessage(err)))
		}
		if err := inbox.CheckWebhookPatterns(h.Events); err != nil {
			errs = append(errs, fmt.Errorf("config: webhooks[%d].%s", i, inbox.ErrorMessage(err)))
		}
		hs[i] = inbox.Webhook{URL: h.URL, Events: h.Events, Secret: h.Secret}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return st.SyncConfigWebhooks(ctx, hs)
}
