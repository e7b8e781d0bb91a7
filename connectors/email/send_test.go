package email

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"github.com/leadhub/leadhub/connectors/email/emailtest"
	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/store/filestore"
)

// reply is an operator's answer to the Gmail fixture's sender, as the
// outbound worker hands it over.
func reply(att ...inbox.Attachment) inbox.Outbound {
	return inbox.Outbound{
		Message: inbox.Message{ID: 42, Direction: inbox.DirectionOut, Text: "Доставим в четверг.", Attachments: att,
			CreatedAt: time.Date(2024, 12, 2, 11, 0, 0, 0, time.UTC)},
		ChannelID: "mail",
		To:        []inbox.Identity{{Kind: inbox.IdentityPhone, Value: "+79123456789"}, {Kind: inbox.IdentityEmail, Value: "anna.smirnova@gmail.com"}},
		ReplyTo:   "CAF=gmail-0001@mail.gmail.com",
		Parent: &inbox.Message{Subject: "Re: Заказ №42 — доставка", ExternalID: "CAF=gmail-0001@mail.gmail.com",
			Meta: map[string]string{MetaReferences: "leadhub.1.abc@shop.test", MetaFrom: "Anna.Smirnova@gmail.com"}},
		Attempt: 1,
	}
}

func TestSendThreadsAttachesAndCopiesToSent(t *testing.T) {
	cert := emailtest.NewTLS(t)
	for _, mode := range []string{TLSNone, TLSStart, TLSImplicit} {
		t.Run(mode, func(t *testing.T) {
			imapSrv := emailtest.NewIMAP(t, emailtest.IMAPOptions{})
			smtpSrv := emailtest.NewSMTP(t, mode, cert)
			files, err := filestore.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			pdf := []byte("%PDF-1.4 price list")
			att, err := files.Save(context.Background(), "Прайс.pdf", "application/pdf", 1<<20, bytes.NewReader(pdf))
			if err != nil {
				t.Fatal(err)
			}
			c, _ := testChannel(t, imapSrv.Addr, smtpSrv.Addr, func(o *Options) {
				o.SMTPTLS, o.TLSConfig, o.FileSource = mode, cert.Client, files
			})
			id, err := c.Send(context.Background(), reply(att))
			if err != nil {
				t.Fatal(err)
			}
			got := smtpSrv.Received()
			if len(got) != 1 || got[0].From != "sales@shop.test" || len(got[0].To) != 1 || got[0].To[0] != "anna.smirnova@gmail.com" {
				t.Fatalf("received %+v", got)
			}
			checkReply(t, got[0].Data, id, pdf)
			sent := imapSrv.Messages(t, "Sent")
			if len(sent) != 1 || !bytes.Equal(sent[0], got[0].Data) {
				t.Fatalf("Sent holds %d messages, want the one sent", len(sent))
			}
			// A retry of the same message has the same Message-ID.
			if id2, err := c.Send(context.Background(), reply(att)); err != nil || id2 != id {
				t.Fatalf("retry id %q, %v; want %q", id2, err, id)
			}
		})
	}
}

// checkReply reads a sent reply back as a mail program would.
func checkReply(t *testing.T, raw []byte, id string, attachment []byte) {
	t.Helper()
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	h := mr.Header
	if got, _ := h.MessageID(); got != id || !strings.HasPrefix(id, "leadhub.42.") || !strings.HasSuffix(id, "@shop.test") {
		t.Errorf("Message-ID %q, Send returned %q", got, id)
	}
	if irt, _ := h.MsgIDList("In-Reply-To"); len(irt) != 1 || irt[0] != "CAF=gmail-0001@mail.gmail.com" {
		t.Errorf("In-Reply-To = %q", irt)
	}
	if refs, _ := h.MsgIDList("References"); strings.Join(refs, " ") != "leadhub.1.abc@shop.test CAF=gmail-0001@mail.gmail.com" {
		t.Errorf("References = %q", refs)
	}
	if s, _ := h.Subject(); s != "Re: Заказ №42 — доставка" {
		t.Errorf("Subject = %q", s)
	}
	if from, _ := h.AddressList("From"); len(from) != 1 || from[0].Name != "Shop" || from[0].Address != "sales@shop.test" {
		t.Errorf("From = %v", from)
	}
	var text string
	var files [][]byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p.Body)
		switch ph := p.Header.(type) {
		case *mail.InlineHeader:
			text += string(b)
		case *mail.AttachmentHeader:
			if name, _ := ph.Filename(); name != "Прайс.pdf" {
				t.Errorf("attachment name %q", name)
			}
			files = append(files, b)
		}
	}
	if !strings.Contains(text, "Доставим в четверг.") {
		t.Errorf("text %q", text)
	}
	if attachment != nil && (len(files) != 1 || !bytes.Equal(files[0], attachment)) {
		t.Errorf("attachments %q", files)
	}
}

// A reply without attachments is a single text part; it must say its
// charset, or mail programs read the Cyrillic as US-ASCII.
func TestSendTextOnlySaysCharset(t *testing.T) {
	imapSrv := emailtest.NewIMAP(t, emailtest.IMAPOptions{})
	smtpSrv := emailtest.NewSMTP(t, TLSNone, emailtest.TLS{})
	c, _ := testChannel(t, imapSrv.Addr, smtpSrv.Addr, nil)
	id, err := c.Send(context.Background(), reply())
	if err != nil {
		t.Fatal(err)
	}
	got := smtpSrv.Received()
	if len(got) != 1 {
		t.Fatalf("received %d mails", len(got))
	}
	mr, err := mail.CreateReader(bytes.NewReader(got[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	defer mr.Close()
	if ct, params, _ := mr.Header.ContentType(); ct != "text/plain" || !strings.EqualFold(params["charset"], "utf-8") {
		t.Errorf("Content-Type = %s %v, want text/plain; charset=utf-8", ct, params)
	}
	checkReply(t, got[0].Data, id, nil)
}

func TestSendErrors(t *testing.T) {
	imapSrv := emailtest.NewIMAP(t, emailtest.IMAPOptions{})
	smtpSrv := emailtest.NewSMTP(t, TLSNone, emailtest.TLS{})
	c, health := testChannel(t, imapSrv.Addr, smtpSrv.Addr, nil)

	smtpSrv.FailNext(&smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"})
	_, err := c.Send(context.Background(), reply())
	var se *inbox.SendError
	if err == nil || (errors.As(err, &se) && se.Permanent) {
		t.Fatalf("4xx: %v, want a retryable error", err)
	}
	if h := health.Get("mail"); h.State != inbox.HealthDegraded {
		t.Fatalf("health after 4xx: %+v", h)
	}

	smtpSrv.FailNext(&smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"})
	_, err = c.Send(context.Background(), reply())
	if !errors.As(err, &se) || !se.Permanent || !se.Unreachable || se.Identity.Value != "anna.smirnova@gmail.com" || !strings.Contains(err.Error(), "No such user") {
		t.Fatalf("5xx: %v", err)
	}

	smtpSrv.FailNext(&smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "Message too big"})
	_, err = c.Send(context.Background(), reply())
	if !errors.As(err, &se) || !se.Permanent || se.Unreachable || !strings.Contains(err.Error(), "552 Message too big") {
		t.Fatalf("552: %v", err)
	}

	if _, err := c.Send(context.Background(), reply()); err != nil {
		t.Fatal(err)
	}
	if h := health.Get("mail"); h.State != inbox.HealthOK {
		t.Fatalf("health after a send worked: %+v", h)
	}

	bad, health2 := testChannel(t, imapSrv.Addr, smtpSrv.Addr, func(o *Options) { o.Password = "nope-secret" })
	_, err = bad.Send(context.Background(), reply())
	if err == nil || errors.As(err, &se) {
		t.Fatalf("wrong SMTP password: %v, want a retryable error", err)
	}
	if h := health2.Get("mail"); h.State != inbox.HealthDown || strings.Contains(h.Error, "nope-secret") {
		t.Fatalf("health after a refused login: %+v", h)
	}
}

func TestRecipient(t *testing.T) {
	o := reply()
	o.Message.Meta = map[string]string{MetaTo: "stranger@evil.test"}
	if _, err := recipient(o); err == nil {
		t.Fatal("sent to an address not on the card")
	}
	o.Parent = nil
	o.Message.Meta = nil
	if id, err := recipient(o); err != nil || id.Value != "anna.smirnova@gmail.com" {
		t.Fatalf("recipient = %v, %v", id, err)
	}
	o.To = o.To[:1]
	if _, err := recipient(o); err == nil {
		t.Fatal("a card without email got a recipient")
	}
}
