package email

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/emersion/go-message/mail"

	"github.com/leadhub/leadhub/inbox"
)

// AlertNotifier sends supervisors' alerts as plain-text mail from the
// channel's address, over its SMTP server, to each address of to (as
// alerts.email_to has them: "boss@example.com" or "Name <boss@example.com>").
//
// Each address gets a mail of its own, so an address the server refuses
// does not keep the alert from the others; the error joins one error per
// failed address, each naming it. The Supervisor then retries the alert for
// every address, and those that got it get it again: a duplicate alert is
// better than a lost one. The Message-ID is derived from the alert, the
// same on every try, so a mail program that folds duplicates shows it once.
//
// Alerts share the SMTP path with replies (see deliver), health board
// included: a refused login marks the channel down and a server failing
// marks it degraded, because replies would fail the same way; a sent alert
// clears the mark. An alert mail is not appended to the Sent folder, which
// is the customers' conversation.
func (c *Channel) AlertNotifier(to []string) inbox.AlertNotifier {
	return &alertMailer{c: c, to: slices.Clone(to)}
}

type alertMailer struct {
	c  *Channel
	to []string
}

func (m *alertMailer) NotifyAlert(ctx context.Context, a inbox.Alert, text inbox.AlertText) error {
	if m.c.opts.SMTPAddr == "" {
		return fmt.Errorf("email: channel %s has no smtp_host: it cannot send alerts", m.c.opts.ChannelID)
	}
	var errs []error
	for _, to := range m.to {
		if err := m.send(ctx, a, text, to); err != nil {
			errs = append(errs, fmt.Errorf("alert to %s: %w", to, err))
		}
	}
	return errors.Join(errs...)
}

// send mails the alert to one address.
func (m *alertMailer) send(ctx context.Context, a inbox.Alert, text inbox.AlertText, to string) error {
	addr, err := mail.ParseAddress(to)
	if err != nil {
		return fmt.Errorf("email: not an address: %w", err)
	}
	raw, err := m.c.composeAlert(a, text, addr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	return m.c.deliver(ctx, inbox.Identity{Kind: inbox.IdentityEmail, Value: addr.Address}, raw)
}

// composeAlert writes the alert mail for one recipient.
func (c *Channel) composeAlert(a inbox.Alert, text inbox.AlertText, to *mail.Address) ([]byte, error) {
	var h mail.Header
	h.SetDate(c.opts.Now())
	h.SetAddressList("From", []*mail.Address{{Name: c.opts.FromName, Address: c.opts.FromAddress}})
	h.SetAddressList("To", []*mail.Address{to})
	// The own-id prefix makes the channel's poller skip a copy that comes
	// back to its mailbox (email_to naming the channel's own address).
	h.SetMessageID(ownIDPrefix + "alert." + strconv.FormatInt(a.ID, 10) + "." +
		strconv.FormatInt(a.CreatedAt.UnixNano(), 36) + "@" + c.idDomain)
	subject := text.Subject
	if subject == "" {
		subject, _, _ = strings.Cut(text.Body, "\n")
	}
	// SetSubject writes non-ASCII as RFC 2047 encoded-words.
	h.SetSubject(subject)
	// RFC 3834: out-of-office robots must not answer a machine's mail.
	h.Set("Auto-Submitted", "auto-generated")
	// Without a charset a mail program reads the text as US-ASCII.
	h.Set("Content-Type", "text/plain; charset=utf-8")

	body := text.Body
	if body == "" {
		body = subject
	}
	if !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	var buf bytes.Buffer
	w, err := mail.CreateSingleInlineWriter(&buf, h)
	if err != nil {
		return nil, fmt.Errorf("email: compose: %w", err)
	}
	io.WriteString(w, body)
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("email: compose: %w", err)
	}
	return buf.Bytes(), nil
}
