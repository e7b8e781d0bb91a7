package email

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/leadhub/leadhub/inbox"
)

var _ inbox.Sender = (*Channel)(nil)

// maxReferences bounds the References header: the thread's first id and
// its latest ones are what mail programs thread by.
const maxReferences = 20

// sendTimeout bounds one delivery when ctx has no deadline.
const sendTimeout = 2 * time.Minute

// Send delivers an operator's mail and returns its Message-ID (without
// brackets), which is what a customer's reply names in In-Reply-To.
//
// It goes to the address the operator chose (Meta "to", from starting a
// new mail), else to the address the conversation's latest mail came from,
// else to the card's first address. A reply threads: In-Reply-To is that
// latest mail, References its References plus it, and the subject is its
// subject with one "Re: ". Attachments are read from file storage and go
// along. The Message-ID is derived from the message, so a retry after a
// lost answer sends the same id and the receiver's mail program shows it
// once. After the SMTP server took it, a copy is appended to SentMailbox.
//
// Errors: a 4xx answer or a network failure is retried by the outbound
// worker with backoff; a 5xx answer fails the reply with the server's
// words, and one refusing the recipient (5.1.x) marks the address
// unreachable.
func (c *Channel) Send(ctx context.Context, o inbox.Outbound) (string, error) {
	if c.opts.SMTPAddr == "" {
		return "", inbox.Permanent(fmt.Errorf("email: channel %s has no smtp_host: it cannot send", c.opts.ChannelID))
	}
	to, err := recipient(o)
	if err != nil {
		return "", inbox.Permanent(fmt.Errorf("email: %w", err))
	}
	if strings.TrimSpace(o.Message.Text) == "" && len(o.Message.Attachments) == 0 {
		return "", inbox.Permanent(errors.New("email: the mail has neither text nor attachments"))
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, sendTimeout)
		defer cancel()
	}
	id := c.messageID(o.Message)
	raw, err := c.compose(ctx, o, to, id)
	if err != nil {
		return "", err
	}
	if err := c.deliver(ctx, to, raw); err != nil {
		return "", err
	}
	if c.opts.SentMailbox != "" {
		if err := c.appendSent(ctx, raw); err != nil {
			// The mail is out; sending it again for a copy would be worse.
			c.log.Warn("email: the reply was sent but its copy was not appended to the Sent folder",
				"mailbox", c.opts.SentMailbox, "message_id", id, "err", err)
		}
	}
	return id, nil
}

// recipient picks the address the mail goes to (see Send).
func recipient(o inbox.Outbound) (inbox.Identity, error) {
	var candidates []string
	if o.Message.Meta != nil {
		candidates = append(candidates, o.Message.Meta[MetaTo])
	}
	if o.Parent != nil && o.Parent.Meta != nil {
		candidates = append(candidates, o.Parent.Meta[MetaBounced], o.Parent.Meta[MetaFrom])
	}
	onCard := map[string]bool{}
	var first string
	for _, id := range o.To {
		if id.Kind == inbox.IdentityEmail {
			onCard[id.Value] = true
			if first == "" {
				first = id.Value
			}
		}
	}
	for i, cand := range candidates {
		addr, err := inbox.NormalizeEmail(cand)
		if err != nil {
			if i == 0 && cand != "" {
				return inbox.Identity{}, fmt.Errorf("%q is not an email address", cand)
			}
			continue
		}
		// The chosen address must be the client's: a card edited since
		// the mail was queued must not send it to a stranger.
		if onCard[addr] {
			return inbox.Identity{Kind: inbox.IdentityEmail, Value: addr}, nil
		}
		if i == 0 {
			return inbox.Identity{}, fmt.Errorf("%s is not an address on the client's card", addr)
		}
	}
	if first == "" {
		return inbox.Identity{}, errors.New("the client has no email address")
	}
	return inbox.Identity{Kind: inbox.IdentityEmail, Value: first}, nil
}

// messageID is the reply's Message-ID, without brackets: the same for
// every attempt at one message, and known as leadhub's by its prefix.
func (c *Channel) messageID(m inbox.Message) string {
	return ownIDPrefix + strconv.FormatInt(m.ID, 10) + "." + strconv.FormatInt(m.CreatedAt.UnixNano(), 36) + "@" + c.idDomain
}

// rePrefix matches the reply markers mail programs put before a subject:
// "Re:", "RE:", "Re[2]:", "Re (2):", "Ответ:", "На:".
var rePrefix = regexp.MustCompile(`(?i)^\s*(re|ответ|на)\s*(\[\d+\]|\(\d+\))?\s*:\s*`)

// replySubject keeps the thread's subject with one "Re: ".
func replySubject(s string) string {
	for {
		loc := rePrefix.FindStringIndex(s)
		if loc == nil {
			break
		}
		s = s[loc[1]:]
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "Re:"
	}
	return "Re: " + s
}

// compose writes the whole message.
func (c *Channel) compose(ctx context.Context, o inbox.Outbound, to inbox.Identity, id string) ([]byte, error) {
	var h mail.Header
	h.SetDate(c.opts.Now())
	h.SetAddressList("From", []*mail.Address{{Name: c.opts.FromName, Address: c.opts.FromAddress}})
	h.SetAddressList("To", []*mail.Address{{Address: to.Value}})
	h.SetMessageID(id)
	subject := o.Message.Subject
	if p := o.Parent; p != nil {
		if subject == "" {
			subject = replySubject(p.Subject)
		}
		var refs []string
		if p.Meta != nil {
			refs = strings.Fields(p.Meta[MetaReferences])
		}
		if o.ReplyTo != "" {
			h.SetMsgIDList("In-Reply-To", []string{o.ReplyTo})
			refs = append(refs, o.ReplyTo)
		}
		if len(refs) > maxReferences {
			refs = append(refs[:1], refs[len(refs)-maxReferences+1:]...)
		}
		if len(refs) > 0 {
			h.SetMsgIDList("References", refs)
		}
	}
	if subject == "" {
		subject = c.opts.FromName
	}
	h.SetSubject(subject)

	var buf bytes.Buffer
	text := o.Message.Text
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	var th mail.InlineHeader
	th.Set("Content-Type", "text/plain; charset=utf-8")
	if len(o.Message.Attachments) == 0 {
		// Without a charset a mail program reads the text as US-ASCII.
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w, err := mail.CreateSingleInlineWriter(&buf, h)
		if err != nil {
			return nil, fmt.Errorf("email: compose: %w", err)
		}
		io.WriteString(w, text)
		if err := w.Close(); err != nil {
			return nil, fmt.Errorf("email: compose: %w", err)
		}
		return buf.Bytes(), nil
	}
	mw, err := mail.CreateWriter(&buf, h)
	if err != nil {
		return nil, fmt.Errorf("email: compose: %w", err)
	}
	tw, err := mw.CreateSingleInline(th)
	if err != nil {
		return nil, fmt.Errorf("email: compose: %w", err)
	}
	io.WriteString(tw, text)
	tw.Close()
	for _, a := range o.Message.Attachments {
		if err := c.attach(ctx, mw, a); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("email: compose: %w", err)
	}
	return buf.Bytes(), nil
}

// attach copies one stored file into the message. A file that is not in
// storage fails the reply for good: sending without it is what operators
// must never get silently.
func (c *Channel) attach(ctx context.Context, mw *mail.Writer, a inbox.Attachment) error {
	if c.opts.FileSource == nil {
		return inbox.Permanent(fmt.Errorf("email: attachment %q: this channel cannot open stored files", a.Name))
	}
	r, err := c.opts.FileSource.OpenAttachment(ctx, a)
	if err != nil {
		if inbox.ErrorCode(err) == inbox.ENOTFOUND {
			return inbox.Permanent(fmt.Errorf("email: attachment %q is not in file storage: %w", a.Name, err))
		}
		return fmt.Errorf("email: open attachment %q: %w", a.Name, err)
	}
	defer r.Close()
	var ah mail.AttachmentHeader
	mt := a.MIME
	if mt == "" {
		mt = "application/octet-stream"
	}
	ah.Set("Content-Type", mt)
	name := a.Name
	if name == "" {
		name = "attachment"
	}
	ah.SetFilename(name)
	w, err := mw.CreateAttachment(ah)
	if err != nil {
		return fmt.Errorf("email: compose: %w", err)
	}
	if _, err := io.Copy(w, io.LimitReader(r, inbox.MaxFileSize+1)); err != nil {
		return fmt.Errorf("email: read attachment %q: %w", a.Name, err)
	}
	return w.Close()
}

// deliver submits raw for to and keeps the health board in step: a
// failure is classified and reported by sendError, a success clears an
// earlier SMTP problem. Everything the channel sends goes through it, so
// that the board says whether the channel can send, whatever was sent.
func (c *Channel) deliver(ctx context.Context, to inbox.Identity, raw []byte) error {
	if err := c.submit(ctx, to, raw); err != nil {
		return c.sendError(to, err)
	}
	c.smtpProblem.Store(nil)
	c.healthOK()
	return nil
}

// submit hands the message to the SMTP server.
func (c *Channel) submit(ctx context.Context, to inbox.Identity, raw []byte) error {
	d := net.Dialer{Timeout: dialTimeout}
	conn, err := d.DialContext(ctx, "tcp", c.opts.SMTPAddr)
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	var cl *smtp.Client
	switch c.opts.SMTPTLS {
	case TLSImplicit:
		cl = smtp.NewClient(tlsClient(conn, c.tlsConfig(c.opts.SMTPAddr)))
	case TLSStart:
		if cl, err = smtp.NewClientStartTLS(conn, c.tlsConfig(c.opts.SMTPAddr)); err != nil {
			conn.Close()
			return err
		}
	default:
		cl = smtp.NewClient(conn)
	}
	defer cl.Close()
	if ok, _ := cl.Extension("AUTH"); ok {
		if err := cl.Auth(sasl.NewPlainClient("", c.opts.Username, c.opts.Password)); err != nil {
			return &authError{err}
		}
	}
	if err := cl.SendMail(c.opts.FromAddress, []string{to.Value}, bytes.NewReader(raw)); err != nil {
		return err
	}
	return cl.Quit()
}

// authError is a refused SMTP login.
type authError struct{ err error }

func (e *authError) Error() string { return "login refused: " + e.err.Error() }
func (e *authError) Unwrap() error { return e.err }

// sendError classifies a failed submission (see Send) and reports it to
// the health board.
func (c *Channel) sendError(to inbox.Identity, err error) error {
	var se *smtp.SMTPError
	isSMTP := errors.As(err, &se)
	var ae *authError
	switch {
	case errors.As(err, &ae) && isSMTP && se.Code >= 500:
		c.smtpFailed(inbox.HealthDown, "SMTP login refused: "+clipRunes(se.Message, 200))
		// An admin fixes the password; the reply waits meanwhile.
		return fmt.Errorf("email: smtp: %w", err)
	case isSMTP && se.Code >= 500:
		perm := &inbox.SendError{Err: fmt.Errorf("email: the mail server refused the mail: %d %s", se.Code, se.Message), Permanent: true}
		if se.EnhancedCode[0] == 5 && se.EnhancedCode[1] == 1 {
			perm.Unreachable, perm.Identity = true, to
		}
		return perm
	case isSMTP:
		c.smtpFailed(inbox.HealthDegraded, fmt.Sprintf("SMTP server answered %d: %s", se.Code, clipRunes(se.Message, 200)))
		return fmt.Errorf("email: smtp: the server asked to retry later: %w", err)
	}
	c.smtpFailed(inbox.HealthDegraded, "SMTP failed: "+shortReason(err))
	return fmt.Errorf("email: smtp: %w", err)
}

// appendSent stores a copy of the sent mail, marked read, in SentMailbox.
func (c *Channel) appendSent(ctx context.Context, raw []byte) error {
	cl, err := c.dialIMAP(nil)
	if err != nil {
		return err
	}
	defer cl.Close()
	stop := context.AfterFunc(ctx, func() { cl.Close() })
	defer stop()
	if err := cl.Login(c.opts.Username, c.opts.Password).Wait(); err != nil {
		return fmt.Errorf("imap login: %w", err)
	}
	cmd := cl.Append(c.opts.SentMailbox, int64(len(raw)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}, Time: c.opts.Now()})
	if _, err := cmd.Write(raw); err != nil {
		return fmt.Errorf("imap append: %w", err)
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("imap append: %w", err)
	}
	if _, err := cmd.Wait(); err != nil {
		return fmt.Errorf("imap append: %w", err)
	}
	return cl.Logout().Wait()
}

// dialIMAP connects to the IMAP server in the configured TLS mode.
func (c *Channel) dialIMAP(h *imapclient.UnilateralDataHandler) (*imapclient.Client, error) {
	opts := &imapclient.Options{
		TLSConfig:             c.tlsConfig(c.opts.IMAPAddr),
		Dialer:                &net.Dialer{Timeout: dialTimeout},
		UnilateralDataHandler: h,
	}
	var (
		cl  *imapclient.Client
		err error
	)
	switch c.opts.IMAPTLS {
	case TLSImplicit:
		cl, err = imapclient.DialTLS(c.opts.IMAPAddr, opts)
	case TLSStart:
		cl, err = imapclient.DialStartTLS(c.opts.IMAPAddr, opts)
	default:
		cl, err = imapclient.DialInsecure(c.opts.IMAPAddr, opts)
	}
	if err != nil {
		return nil, err
	}
	if err := cl.WaitGreeting(); err != nil {
		cl.Close()
		return nil, err
	}
	return cl, nil
}
