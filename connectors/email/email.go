// Package email is the mailbox channel: customers write to the company's
// address, operators answer from the inbox, and the answers thread in the
// customer's mail program.
//
// In: Run reads one IMAP mailbox through the shared inbox.PollLoop. Its
// checkpoint is "<UIDVALIDITY>:<last UID queued>", kept per mailbox under the
// source "email:<channel>:<mailbox>", so a restart goes on exactly where the
// last poll stopped, however long the hub was down. A changed UIDVALIDITY
// makes the old UIDs meaningless: the mailbox is read again from its start,
// and the dedupe key email:<channel>:<Message-ID> turns what was filed before
// into no-ops. On the first connection mail of the last Backfill is read.
// The mailbox waits in IDLE where the server has it and is polled otherwise;
// only the instance holding the lease reads it. Messages are fetched with
// BODY.PEEK[], so the mailbox's \Seen flags stay the people's.
//
// Out: Send delivers a reply over SMTP with its own Message-ID, In-Reply-To
// and References, and appends a copy to the Sent folder. AlertNotifier
// mails supervisors' alerts over the same SMTP server.
//
// The password never appears in a log line, an error or the health board.
package email

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// TLS modes of the IMAP and SMTP connections.
const (
	TLSImplicit = "tls"      // TLS from the first byte (IMAP 993, SMTP 465)
	TLSStart    = "starttls" // plain, then STARTTLS (IMAP 143, SMTP 587)
	TLSNone     = "none"     // no encryption: tests and local relays only
)

// Defaults.
const (
	DefaultMailbox      = "INBOX"
	DefaultPollInterval = time.Minute
	DefaultBackfill     = 72 * time.Hour
	// idleRound bounds one IDLE wait: a connection that died silently is
	// noticed by the search that follows.
	idleRound = 10 * time.Minute
	// fetchBatch is how many messages one Poll fetches; the checkpoint
	// moves after each, so a restart re-reads at most one batch's tail.
	fetchBatch = 50
	// maxFetchBytes bounds the message bytes one FETCH brings into memory;
	// a message over maxMessageSize is read by its beginning only.
	maxFetchBytes  = 32 << 20
	maxMessageSize = 64 << 20
	// dialTimeout bounds connecting and greeting.
	dialTimeout = 30 * time.Second
)

// Options configures one mailbox channel.
type Options struct {
	ChannelID string
	// IMAPAddr is "host:port" of the IMAP server; IMAPTLS its TLS mode
	// (default TLSImplicit).
	IMAPAddr string
	IMAPTLS  string
	// Username and Password log in to IMAP and SMTP.
	Username string
	Password string
	// Mailbox is read for incoming mail (default INBOX); SentMailbox gets
	// a copy of every reply ("" appends none).
	Mailbox     string
	SentMailbox string
	// SMTPAddr is "host:port" of the SMTP server; SMTPTLS its TLS mode
	// (default TLSImplicit for port 465, else TLSStart). Empty SMTPAddr:
	// the channel cannot send.
	SMTPAddr string
	SMTPTLS  string
	// FromAddress is the channel's own address (default Username when it
	// is an address); FromName the name replies are sent under.
	FromAddress string
	FromName    string
	// PollInterval is the time between polls when the server has no IDLE.
	// Default DefaultPollInterval.
	PollInterval time.Duration
	// NoIdle polls even where the server has IDLE (a server whose IDLE
	// drops notifications).
	NoIdle bool
	// Backfill is how far back mail is read on the very first connection
	// to the mailbox. 0 reads only what arrives later; negative is the
	// default, DefaultBackfill.
	Backfill time.Duration
	// MaxFileSize bounds each kept attachment. Default inbox.MaxFileSize.
	MaxFileSize int64
	// Files keeps attachments and the raw messages. Required to read mail.
	Files inbox.Files
	// FileSource opens reply attachments for sending.
	FileSource inbox.FileSource
	// Health is told how the mailbox and the SMTP server answer.
	Health *inbox.HealthBoard
	Logger *slog.Logger
	// TLSConfig is used for both servers (tests trust their own CA with
	// it). Default: the system's roots and the server's host name.
	TLSConfig *tls.Config
	// Holder names this instance in the poll lease. Required to Run.
	Holder string
	// Clock, LeaseTTL and RetryDelay go to the poll loop (see
	// inbox.PollLoopOptions); MaxRetryDelay caps its backoff (default 5
	// minutes: a wrong password is not retried in a tight loop).
	Clock         inbox.Clock
	LeaseTTL      time.Duration
	RetryDelay    time.Duration
	MaxRetryDelay time.Duration
	// Now stamps mail without a usable Date. Default time.Now.
	Now func() time.Time
}

// Channel is one configured mailbox.
type Channel struct {
	opts Options
	log  *slog.Logger
	// own is the channel's address, lower-cased.
	own string
	// idDomain is the right-hand side of the Message-IDs leadhub writes.
	idDomain string

	imap imapState // used by the poll loop's one goroutine only
	// maxFetch and maxMessage are maxFetchBytes and maxMessageSize (tests
	// make them small).
	maxFetch, maxMessage int64
	// smtpProblem is the last SMTP failure, nil once a send worked.
	smtpProblem atomic.Pointer[healthProblem]
}

// New checks the options and fills in the defaults. It does not connect:
// a hub must start while the mail server is down (the health board shows
// it).
func New(opts Options) (*Channel, error) {
	if opts.ChannelID == "" {
		return nil, errors.New("email: channel id is required")
	}
	where := "email: channel " + opts.ChannelID
	if opts.IMAPAddr == "" {
		return nil, fmt.Errorf("%s: imap_host is required", where)
	}
	if _, _, err := net.SplitHostPort(opts.IMAPAddr); err != nil {
		return nil, fmt.Errorf("%s: imap address %q: %w", where, opts.IMAPAddr, err)
	}
	if opts.Username == "" || opts.Password == "" {
		return nil, fmt.Errorf("%s: username and password are required", where)
	}
	var err error
	if opts.IMAPTLS, err = tlsMode(opts.IMAPTLS, opts.IMAPAddr, "993"); err != nil {
		return nil, fmt.Errorf("%s: imap_tls: %w", where, err)
	}
	if opts.SMTPAddr != "" {
		if _, _, err := net.SplitHostPort(opts.SMTPAddr); err != nil {
			return nil, fmt.Errorf("%s: smtp address %q: %w", where, opts.SMTPAddr, err)
		}
		if opts.SMTPTLS, err = tlsMode(opts.SMTPTLS, opts.SMTPAddr, "465"); err != nil {
			return nil, fmt.Errorf("%s: smtp_tls: %w", where, err)
		}
	}
	if opts.Mailbox == "" {
		opts.Mailbox = DefaultMailbox
	}
	if opts.FromAddress == "" && strings.Contains(opts.Username, "@") {
		opts.FromAddress = opts.Username
	}
	own, err := inbox.NormalizeEmail(opts.FromAddress)
	if err != nil {
		return nil, fmt.Errorf("%s: from_address %q is not an address (set it when the username is not one)", where, opts.FromAddress)
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.Backfill < 0 {
		opts.Backfill = DefaultBackfill
	}
	if opts.MaxFileSize <= 0 || opts.MaxFileSize > inbox.MaxFileSize {
		opts.MaxFileSize = inbox.MaxFileSize
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxRetryDelay <= 0 {
		opts.MaxRetryDelay = 5 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	_, domain, _ := strings.Cut(own, "@")
	return &Channel{
		opts:       opts,
		log:        opts.Logger.With("channel", opts.ChannelID),
		own:        own,
		idDomain:   domain,
		maxFetch:   maxFetchBytes,
		maxMessage: maxMessageSize,
	}, nil
}

// tlsMode checks a configured mode; empty is TLSImplicit on the implicit
// port and TLSStart elsewhere.
func tlsMode(mode, addr, implicitPort string) (string, error) {
	switch mode {
	case TLSImplicit, TLSStart, TLSNone:
		return mode, nil
	case "":
		if _, port, _ := net.SplitHostPort(addr); port == implicitPort {
			return TLSImplicit, nil
		}
		return TLSStart, nil
	}
	return "", fmt.Errorf("%q is not one of %s, %s, %s", mode, TLSImplicit, TLSStart, TLSNone)
}

// Source is the name of the mailbox's lease and checkpoint.
func (c *Channel) Source() string { return "email:" + c.opts.ChannelID + ":" + c.opts.Mailbox }

// tlsConfig is the TLS configuration for a server at addr.
func (c *Channel) tlsConfig(addr string) *tls.Config {
	if c.opts.TLSConfig != nil {
		return c.opts.TLSConfig.Clone()
	}
	host, _, _ := net.SplitHostPort(addr)
	return &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
}

// dedupeKey is the envelope's key for a Message-ID.
func (c *Channel) dedupeKey(messageID string) string {
	return "email:" + c.opts.ChannelID + ":" + messageID
}

// checkpoint writes a poll position.
func checkpoint(uidValidity, uid uint32) string {
	return strconv.FormatUint(uint64(uidValidity), 10) + ":" + strconv.FormatUint(uint64(uid), 10)
}

// parseCheckpoint reads "<uidvalidity>:<uid>"; ok is false for "" and for
// anything unreadable, which is then treated as a first connection.
func parseCheckpoint(s string) (uidValidity, uid uint32, ok bool) {
	a, b, found := strings.Cut(s, ":")
	if !found {
		return 0, 0, false
	}
	v, err1 := strconv.ParseUint(a, 10, 32)
	u, err2 := strconv.ParseUint(b, 10, 32)
	if err1 != nil || err2 != nil || v == 0 {
		return 0, 0, false
	}
	return uint32(v), uint32(u), true
}
