package email

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"github.com/leadhub/leadhub/connectors/email/emailtest"
	"github.com/leadhub/leadhub/inbox"
)

// testAlert is a breach alert as inbox.FormatAlert writes it out.
func testAlert() (inbox.Alert, inbox.AlertText) {
	a := inbox.Alert{ID: 17, Kind: inbox.AlertSLABreached, ClientName: "Анна Смирнова",
		CreatedAt: time.Date(2026, 1, 2, 10, 15, 0, 0, time.UTC)}
	return a, inbox.AlertText{
		Subject: "Срок ответа клиенту истёк: Анна Смирнова",
		Body:    "Срок ответа клиенту истёк: Анна Смирнова\nОпоздание: 15m0s\nСрок: 2026-01-02 10:00 UTC\nhttps://crm.example.com/#c=42",
		Link:    "https://crm.example.com/#c=42",
	}
}

func TestAlertNotifierMailsEachAddress(t *testing.T) {
	cert := emailtest.NewTLS(t)
	for _, mode := range []string{TLSNone, TLSStart, TLSImplicit} {
		t.Run(mode, func(t *testing.T) {
			imapSrv := emailtest.NewIMAP(t, emailtest.IMAPOptions{})
			smtpSrv := emailtest.NewSMTP(t, mode, cert)
			c, _ := testChannel(t, imapSrv.Addr, smtpSrv.Addr, func(o *Options) {
				o.SMTPTLS, o.TLSConfig = mode, cert.Client
				o.Now = func() time.Time { return time.Date(2026, 1, 2, 10, 15, 3, 0, time.UTC) }
			})
			n := c.AlertNotifier([]string{"Главный Супервайзер <boss@shop.test>", "duty@shop.test"})
			a, text := testAlert()
			if err := n.NotifyAlert(context.Background(), a, text); err != nil {
				t.Fatal(err)
			}
			got := smtpSrv.Received()
			if len(got) != 2 {
				t.Fatalf("received %d mails, want one per address", len(got))
			}
			var ids []string
			for i, want := range []string{"boss@shop.test", "duty@shop.test"} {
				if got[i].From != "sales@shop.test" || len(got[i].To) != 1 || got[i].To[0] != want {
					t.Errorf("mail %d envelope: from %q to %q, want to %s", i, got[i].From, got[i].To, want)
				}
				ids = append(ids, checkAlertMail(t, got[i].Data, want, text))
			}
			if ids[0] != ids[1] {
				t.Errorf("Message-IDs %q and %q: one alert, one id", ids[0], ids[1])
			}
			// A retry carries the same Message-ID.
			if err := n.NotifyAlert(context.Background(), a, text); err != nil {
				t.Fatal(err)
			}
			got = smtpSrv.Received()
			if id := checkAlertMail(t, got[2].Data, "boss@shop.test", text); id != ids[0] {
				t.Errorf("retry Message-ID %q, want %q", id, ids[0])
			}
			// Nothing goes to the customers' Sent folder.
			if sent := imapSrv.Messages(t, "Sent"); len(sent) != 0 {
				t.Errorf("Sent holds %d alert mails", len(sent))
			}
		})
	}
}

// checkAlertMail reads an alert mail back as a mail program would and
// returns its Message-ID.
func checkAlertMail(t *testing.T, raw []byte, to string, text inbox.AlertText) string {
	t.Helper()
	// The header is ASCII on the wire: the subject is encoded-words.
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	for _, b := range head {
		if b >= 0x80 {
			t.Fatalf("raw header is not ASCII:\n%s", head)
		}
	}
	if !bytes.Contains(head, []byte("Subject: =?utf-8?")) {
		t.Errorf("subject is not an RFC 2047 encoded-word:\n%s", head)
	}
	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer mr.Close()
	h := mr.Header
	if s, _ := h.Subject(); s != text.Subject {
		t.Errorf("Subject = %q, want %q", s, text.Subject)
	}
	if from, _ := h.AddressList("From"); len(from) != 1 || from[0].Name != "Shop" || from[0].Address != "sales@shop.test" {
		t.Errorf("From = %v", from)
	}
	if got, _ := h.AddressList("To"); len(got) != 1 || got[0].Address != to {
		t.Errorf("To = %v, want %s", got, to)
	}
	if d, err := h.Date(); err != nil || !d.Equal(time.Date(2026, 1, 2, 10, 15, 3, 0, time.UTC)) {
		t.Errorf("Date = %v, %v", d, err)
	}
	id, _ := h.MessageID()
	if !strings.HasPrefix(id, "leadhub.alert.17.") || !strings.HasSuffix(id, "@shop.test") {
		t.Errorf("Message-ID = %q", id)
	}
	if got := h.Get("Auto-Submitted"); got != "auto-generated" {
		t.Errorf("Auto-Submitted = %q", got)
	}
	if ct, params, _ := h.ContentType(); ct != "text/plain" || !strings.EqualFold(params["charset"], "utf-8") {
		t.Errorf("Content-Type = %s %v", ct, params)
	}
	p, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(p.Body)
	if got := strings.ReplaceAll(string(b), "\r\n", "\n"); got != text.Body+"\n" {
		t.Errorf("body = %q, want %q", got, text.Body+"\n")
	}
	return id
}

// An address the server refuses does not keep the alert from the others;
// the error names it. The health board says what it says for replies.
func TestAlertNotifierErrors(t *testing.T) {
	imapSrv := emailtest.NewIMAP(t, emailtest.IMAPOptions{})
	smtpSrv := emailtest.NewSMTP(t, TLSNone, emailtest.TLS{})
	c, health := testChannel(t, imapSrv.Addr, smtpSrv.Addr, nil)
	a, text := testAlert()
	n := c.AlertNotifier([]string{"boss@shop.test", "not an address", "duty@shop.test"})

	smtpSrv.FailNext(&smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"})
	err := n.NotifyAlert(context.Background(), a, text)
	if err == nil {
		t.Fatal("NotifyAlert succeeded")
	}
	t.Logf("error: %v", err)
	msg := err.Error()
	if !strings.Contains(msg, "alert to boss@shop.test") || !strings.Contains(msg, "Try again later") ||
		!strings.Contains(msg, `alert to not an address`) || strings.Contains(msg, "duty@shop.test") {
		t.Errorf("error %q should name the two failed addresses and why", msg)
	}
	if got := smtpSrv.Received(); len(got) != 1 || got[0].To[0] != "duty@shop.test" {
		t.Errorf("received %+v, want the alert to duty@shop.test", got)
	}
	// The later successful send cleared the 451's mark.
	if h := health.Get("mail"); h.State != inbox.HealthOK {
		t.Errorf("health after a failure and a success: %+v", h)
	}

	bad, health2 := testChannel(t, imapSrv.Addr, smtpSrv.Addr, func(o *Options) { o.Password = "nope-secret" })
	err = bad.AlertNotifier([]string{"boss@shop.test"}).NotifyAlert(context.Background(), a, text)
	if err == nil {
		t.Fatal("NotifyAlert succeeded with a wrong password")
	}
	t.Logf("error: %v", err)
	if strings.Contains(err.Error(), "nope-secret") || !strings.Contains(err.Error(), "login refused") {
		t.Errorf("error after a refused login: %q", err)
	}
	if h := health2.Get("mail"); h.State != inbox.HealthDown || strings.Contains(h.Error, "nope-secret") {
		t.Errorf("health after a refused login: %+v", h)
	}

	// A server that is not there: a network error, the board degraded.
	gone, health3 := testChannel(t, imapSrv.Addr, "127.0.0.1:1", nil)
	err = gone.AlertNotifier([]string{"boss@shop.test"}).NotifyAlert(context.Background(), a, text)
	if err == nil || strings.Contains(err.Error(), emailtest.Password) {
		t.Errorf("unreachable server: %v", err)
	}
	if h := health3.Get("mail"); h.State != inbox.HealthDegraded {
		t.Errorf("health with the server gone: %+v", h)
	}

	noSMTP, _ := testChannel(t, imapSrv.Addr, "", nil)
	if err := noSMTP.AlertNotifier([]string{"boss@shop.test"}).NotifyAlert(context.Background(), a, text); err == nil || !strings.Contains(err.Error(), "smtp_host") {
		t.Errorf("channel without SMTP: %v", err)
	}
}
