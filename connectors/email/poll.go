package email

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/leadhub/leadhub/inbox"
)

// imapState is the poller's connection, kept between polls.
type imapState struct {
	client      *imapclient.Client
	uidValidity uint32
	uidNext     uint32
	idle        bool          // the server has IDLE
	news        chan struct{} // the server told of new mail (EXISTS)
}

var _ inbox.Poller = (*Channel)(nil)

// ErrAuth is in the chain of a poll error when the server refused the
// username and password.
var ErrAuth = errors.New("the mail server refused the username or password")

// Run reads the mailbox until ctx ends, then returns nil; see the package
// comment. The poll loop retries failures with a backoff that doubles up
// to MaxRetryDelay, so a wrong password costs one login attempt per few
// minutes, never a tight loop.
func (c *Channel) Run(ctx context.Context, sink inbox.Sink, pollers inbox.PollerStore) error {
	if c.opts.Holder == "" {
		return fmt.Errorf("email: channel %s: a holder id is required for the poll lease", c.opts.ChannelID)
	}
	if c.opts.Files == nil {
		return fmt.Errorf("email: channel %s: file storage is required", c.opts.ChannelID)
	}
	loop, err := inbox.NewPollLoop(inbox.PollLoopOptions{
		Source:        c.Source(),
		Holder:        c.opts.Holder,
		Poller:        c,
		Sink:          sink,
		Store:         pollers,
		Clock:         c.opts.Clock,
		Logger:        c.log,
		LeaseTTL:      c.opts.LeaseTTL,
		RetryDelay:    c.opts.RetryDelay,
		MaxRetryDelay: c.opts.MaxRetryDelay,
		// Poll waits in IDLE itself where the server has it; otherwise
		// the loop waits PollInterval after a poll that found nothing.
		Idle: c.opts.PollInterval,
	})
	if err != nil {
		return fmt.Errorf("email: channel %s: %w", c.opts.ChannelID, err)
	}
	defer c.disconnect()
	return loop.Run(ctx)
}

// Poll reads what arrived after checkpoint; see inbox.Poller. It returns
// at most fetchBatch messages, one item each, in UID order. When nothing
// is new and the server has IDLE, it waits there until mail arrives, ctx
// ends, or idleRound passes, and returns no items.
func (c *Channel) Poll(ctx context.Context, cp string) (items []inbox.PollItem, err error) {
	st, err := c.connect(ctx)
	if err != nil {
		return nil, err
	}
	// A command blocks without a context: closing the connection is what
	// ends it when ctx does.
	cl := st.client
	stop := context.AfterFunc(ctx, func() { cl.Close() })
	defer func() {
		if !stop() || err != nil {
			// ctx ended mid-command, or the connection failed: start
			// afresh next time.
			c.disconnect()
		}
	}()

	// Mail announced from here on leads to another search.
	drain(st.news)
	uidValidity, last, ok := parseCheckpoint(cp)
	var uids []imap.UID
	switch {
	case !ok:
		uids, err = c.firstConnection(st)
		if err != nil {
			return nil, err
		}
		if len(uids) == 0 {
			// Nothing to read back: start after the mailbox's last
			// message.
			return []inbox.PollItem{{Checkpoint: checkpoint(st.uidValidity, st.uidNext-1)}}, nil
		}
	case uidValidity != st.uidValidity:
		c.log.Warn("email: the mailbox's UIDVALIDITY changed; reading it again, already filed mail is skipped by its Message-ID",
			"mailbox", c.opts.Mailbox, "was", uidValidity, "now", st.uidValidity)
		uids, err = c.search(st, &imap.SearchCriteria{})
		if err != nil {
			return nil, err
		}
		if len(uids) == 0 {
			return []inbox.PollItem{{Checkpoint: checkpoint(st.uidValidity, 0)}}, nil
		}
	default:
		uids, err = c.search(st, &imap.SearchCriteria{UID: []imap.UIDSet{{imap.UIDRange{Start: imap.UID(last + 1), Stop: 0}}}})
		if err != nil {
			return nil, err
		}
		// "last+1:*" always matches the highest UID, even when it is not
		// above last (RFC 3501): filter here.
		uids = slices.DeleteFunc(uids, func(u imap.UID) bool { return uint32(u) <= last })
	}
	c.healthOK()
	if len(uids) == 0 {
		if !st.idle {
			return nil, nil // the loop waits PollInterval
		}
		if err := c.idle(ctx, st); err != nil {
			return nil, err
		}
		// An item that moves nothing: the loop polls again at once
		// instead of waiting PollInterval, as it does after no items.
		return []inbox.PollItem{{Checkpoint: cp}}, nil
	}
	if len(uids) > fetchBatch {
		uids = uids[:fetchBatch]
	}
	return c.fetch(ctx, st, uids)
}

// firstConnection returns the UIDs of the backfill.
func (c *Channel) firstConnection(st *imapState) ([]imap.UID, error) {
	if c.opts.Backfill <= 0 {
		return nil, nil
	}
	since := c.opts.Now().Add(-c.opts.Backfill)
	c.log.Info("email: first connection to the mailbox; reading back mail since", "mailbox", c.opts.Mailbox, "since", since.Format(time.DateOnly))
	return c.search(st, &imap.SearchCriteria{Since: since})
}

// search runs UID SEARCH and returns the UIDs in ascending order. Plain
// SEARCH is used unless the server announced ESEARCH (the client decides),
// so it works on servers that lack it.
func (c *Channel) search(st *imapState, crit *imap.SearchCriteria) ([]imap.UID, error) {
	data, err := st.client.UIDSearch(crit, nil).Wait()
	if err != nil {
		return nil, c.transient("search", err)
	}
	uids := data.AllUIDs()
	slices.Sort(uids)
	return uids, nil
}

// fetch reads uids' messages (BODY.PEEK[]: \Seen stays as it was) and
// turns each into an item. Sizes are asked first, so that one FETCH brings
// at most maxFetchBytes into memory, and a message over maxMessageSize is
// read by its first maxMessageSize bytes only (flagged): a huge mail never
// blocks the mailbox.
func (c *Channel) fetch(ctx context.Context, st *imapState, uids []imap.UID) ([]inbox.PollItem, error) {
	sized, err := st.client.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
	if err != nil {
		return nil, c.transient("fetch sizes", err)
	}
	size := make(map[imap.UID]int64, len(sized))
	for _, m := range sized {
		size[m.UID] = m.RFC822Size
	}
	var (
		items []inbox.PollItem
		group []imap.UID
		total int64
	)
	flush := func(partial bool) (bool, error) {
		if len(group) == 0 {
			return true, nil
		}
		got, complete, err := c.fetchGroup(ctx, st, group, partial)
		items = append(items, got...)
		group, total = nil, 0
		return complete, err
	}
	for _, u := range uids {
		sz, ok := size[u]
		if !ok {
			continue // expunged since the search
		}
		if sz > c.maxMessage || (total+sz > c.maxFetch && len(group) > 0) {
			if complete, err := flush(false); err != nil || !complete {
				return items, err
			}
		}
		group, total = append(group, u), total+sz
		if sz > c.maxMessage {
			if complete, err := flush(true); err != nil || !complete {
				return items, err
			}
		}
	}
	_, err = flush(false)
	return items, err
}

// fetchGroup fetches and reads one group of messages; partial reads each by
// its first maxMessageSize bytes. complete is false when a message's files
// could not be stored: the items before it are returned, and it is read
// again after the poll loop's backoff.
func (c *Channel) fetchGroup(ctx context.Context, st *imapState, uids []imap.UID, partial bool) (items []inbox.PollItem, complete bool, err error) {
	sec := &imap.FetchItemBodySection{Peek: true}
	if partial {
		sec.Partial = &imap.SectionPartial{Offset: 0, Size: c.maxMessage}
	}
	msgs, err := st.client.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{
		UID:          true,
		InternalDate: true,
		BodySection:  []*imap.FetchItemBodySection{sec},
	}).Collect()
	if err != nil {
		return nil, false, c.transient("fetch", err)
	}
	slices.SortFunc(msgs, func(a, b *imapclient.FetchMessageBuffer) int { return cmp.Compare(a.UID, b.UID) })
	for _, m := range msgs {
		raw := m.FindBodySection(sec)
		envs, err := c.envelopes(ctx, raw, st.uidValidity, uint32(m.UID), m.InternalDate)
		if err != nil {
			if len(items) > 0 {
				c.log.Warn("email: storing a message's files failed; it is read again", "uid", m.UID, "err", err)
				return items, false, nil
			}
			return nil, false, err
		}
		if partial {
			for k := range envs {
				if envs[k].Meta != nil {
					envs[k].Meta[MetaMalformed] = strings.TrimPrefix(envs[k].Meta[MetaMalformed]+"; the message is over "+humanSize(c.maxMessage)+": only its beginning was read", "; ")
				}
			}
		}
		items = append(items, inbox.PollItem{Envelopes: envs, Checkpoint: checkpoint(st.uidValidity, uint32(m.UID))})
	}
	return items, true, nil
}

// idle waits in IDLE for new mail, ctx, or idleRound.
func (c *Channel) idle(ctx context.Context, st *imapState) error {
	cmd, err := st.client.Idle()
	if err != nil {
		return c.transient("idle", err)
	}
	t := time.NewTimer(idleRound)
	defer t.Stop()
	quiet := false
	select {
	case <-st.news:
	case <-t.C:
		quiet = true
	case <-ctx.Done():
	case <-st.client.Closed():
	}
	if err := cmd.Close(); err != nil {
		return c.transient("idle", err)
	}
	if err := cmd.Wait(); err != nil {
		return c.transient("idle", err)
	}
	if quiet {
		// A round without news: connect and SELECT afresh next time, which
		// is how a changed UIDVALIDITY (a mailbox rebuilt on the server)
		// and a connection that died silently are noticed.
		c.disconnect()
	}
	return nil
}

// connect returns the live connection, or dials, logs in and selects the
// mailbox. Its outcome goes to the health board: a refused login is
// HealthDown (someone must fix the password), anything else Degraded.
func (c *Channel) connect(ctx context.Context) (*imapState, error) {
	if st := &c.imap; st.client != nil {
		select {
		case <-st.client.Closed():
			c.disconnect()
		default:
			return st, nil
		}
	}
	news := make(chan struct{}, 1)
	cl, err := c.dialIMAP(&imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				select {
				case news <- struct{}{}:
				default:
				}
			}
		},
	})
	if err != nil {
		return nil, c.transient("connect to "+c.opts.IMAPAddr, err)
	}
	stop := context.AfterFunc(ctx, func() { cl.Close() })
	defer stop()
	if err := cl.Login(c.opts.Username, c.opts.Password).Wait(); err != nil {
		cl.Close()
		var ie *imap.Error
		if errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo {
			// The server's own words ("[AUTHENTICATIONFAILED] Invalid
			// credentials") name no secret; Gmail's point to app passwords.
			reason := "login refused: " + strings.TrimSpace(ie.Text)
			c.opts.Health.Fail(c.opts.ChannelID, inbox.HealthDown, "IMAP "+reason)
			return nil, fmt.Errorf("email: channel %s: %w (%s)", c.opts.ChannelID, ErrAuth, ie.Text)
		}
		return nil, c.transient("login", err)
	}
	sel, err := cl.Select(c.opts.Mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		cl.Close()
		var ie *imap.Error
		if errors.As(err, &ie) {
			c.opts.Health.Fail(c.opts.ChannelID, inbox.HealthDown, fmt.Sprintf("mailbox %q cannot be opened: %s", c.opts.Mailbox, ie.Text))
			return nil, fmt.Errorf("email: channel %s: select %q: %w", c.opts.ChannelID, c.opts.Mailbox, err)
		}
		return nil, c.transient("select", err)
	}
	uidNext := uint32(sel.UIDNext)
	if uidNext == 0 {
		// The server did not say: the highest UID tells.
		data, err := cl.UIDSearch(&imap.SearchCriteria{}, nil).Wait()
		if err != nil {
			cl.Close()
			return nil, c.transient("search", err)
		}
		uids := data.AllUIDs()
		uidNext = 1
		if len(uids) > 0 {
			uidNext = uint32(slices.Max(uids)) + 1
		}
	}
	c.imap = imapState{
		client:      cl,
		uidValidity: sel.UIDValidity,
		uidNext:     uidNext,
		idle:        cl.Caps().Has(imap.CapIdle) && !c.opts.NoIdle,
		news:        news,
	}
	c.log.Info("email: mailbox opened", "mailbox", c.opts.Mailbox, "uidvalidity", sel.UIDValidity, "messages", sel.NumMessages, "idle", c.imap.idle)
	return &c.imap, nil
}

// disconnect drops the connection, if any.
func (c *Channel) disconnect() {
	if c.imap.client != nil {
		c.imap.client.Close()
	}
	c.imap = imapState{}
}

// transient records a failure that retrying may cure and wraps it.
func (c *Channel) transient(what string, err error) error {
	c.opts.Health.Fail(c.opts.ChannelID, inbox.HealthDegraded, "IMAP "+what+" failed: "+shortReason(err))
	return fmt.Errorf("email: channel %s: imap %s: %w", c.opts.ChannelID, what, err)
}

// shortReason is an error's text cut to a line an admin can read.
func shortReason(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return clipRunes(s, 200)
}

func drain(ch chan struct{}) {
	select {
	case <-ch:
	default:
	}
}

// healthOK reports a working mailbox, unless sending is what fails: one
// board entry speaks for both servers.
func (c *Channel) healthOK() {
	if p := c.smtpProblem.Load(); p != nil {
		c.opts.Health.Fail(c.opts.ChannelID, p.state, p.reason)
		return
	}
	c.opts.Health.OK(c.opts.ChannelID)
}

// smtpFailed records why sending fails until a send works again.
func (c *Channel) smtpFailed(state inbox.HealthState, reason string) {
	c.smtpProblem.Store(&healthProblem{state: state, reason: reason})
	c.opts.Health.Fail(c.opts.ChannelID, state, reason)
}

type healthProblem struct {
	state  inbox.HealthState
	reason string
}

func tlsClient(conn net.Conn, cfg *tls.Config) net.Conn { return tls.Client(conn, cfg) }
