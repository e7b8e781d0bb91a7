package email

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

func envelopesOf(t *testing.T, c *Channel, raw []byte) []inbox.Envelope {
	t.Helper()
	envs, err := c.envelopes(context.Background(), raw, 7, 3, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range envs {
		if err := e.Validate(); err != nil {
			t.Fatalf("envelope %s does not validate: %v", e.DedupeKey, err)
		}
	}
	return envs
}

func TestEnvelopes(t *testing.T) {
	c, _ := testChannel(t, "127.0.0.1:1", "", nil)

	envs := envelopesOf(t, c, readTestdata(t, "gmail-reply.eml"))
	e := envs[0]
	if len(envs) != 1 || e.Item != inbox.ItemMessage || e.DedupeKey != "email:mail:CAF=gmail-0001@mail.gmail.com" ||
		e.From.Identities[0] != (inbox.Identity{Kind: inbox.IdentityEmail, Value: "anna.smirnova@gmail.com"}) || e.From.Name != "Анна Смирнова" ||
		e.Kind != inbox.KindEmail || e.ExternalID != "CAF=gmail-0001@mail.gmail.com" || e.Meta[MetaInReplyTo] != "leadhub.1.abc@shop.test" ||
		e.Meta[MetaQuoted] == "" || e.Meta[MetaHTML] == "" || e.Meta[MetaRaw] == "" || e.Meta["uid"] != "7:3" {
		t.Fatalf("gmail envelope %+v", e)
	}

	// The bounce: a message in the failed address's conversation and a
	// fact that marks the address unreachable.
	envs = envelopesOf(t, c, readTestdata(t, "bounce-dsn.eml"))
	if len(envs) != 2 || envs[0].Item != inbox.ItemMessage || envs[0].From.Identities[0].Value != "no.such.user@example.org" ||
		envs[0].Meta[MetaAuto] != AutoBounce || envs[1].Item != inbox.ItemFact || envs[1].Fact.Name != inbox.FactMessagingDenied ||
		envs[1].From.Identities[0].Value != "no.such.user@example.org" {
		t.Fatalf("bounce envelopes %+v", envs)
	}

	// Mail the business sent a customer from another program, with a copy
	// to itself: an outgoing message in the customer's conversation.
	own := []byte("From: Shop <Sales@Shop.test>\r\nTo: client@example.com\r\nCc: sales@shop.test\r\nSubject: Счёт\r\nMessage-ID: <thunderbird-1@shop.test>\r\n\r\nСчёт во вложении.\r\n")
	envs = envelopesOf(t, c, own)
	if len(envs) != 1 || envs[0].Item != inbox.ItemOutgoing || envs[0].From.Identities[0].Value != "client@example.com" {
		t.Fatalf("own mail to a customer: %+v", envs)
	}
	// To itself alone: nothing.
	if envs := envelopesOf(t, c, []byte("From: sales@shop.test\r\nTo: sales@shop.test\r\nMessage-ID: <note@shop.test>\r\n\r\nnote\r\n")); len(envs) != 0 {
		t.Fatalf("mail to itself filed: %+v", envs)
	}
	// The hub's own reply, come back: nothing.
	if envs := envelopesOf(t, c, []byte("From: sales@shop.test\r\nTo: a@b.c\r\nMessage-ID: <leadhub.5.abc@shop.test>\r\n\r\nhi\r\n")); len(envs) != 0 {
		t.Fatalf("own reply filed: %+v", envs)
	}

	// No sender at all: kept, flagged, on the channel's unknown sender.
	envs = envelopesOf(t, c, []byte("Subject: who?\r\nMessage-ID: <x@y>\r\n\r\nhi\r\n"))
	if len(envs) != 1 || envs[0].From.Identities[0].Kind != inbox.IdentityExternal || envs[0].Meta[MetaMalformed] == "" {
		t.Fatalf("sender-less mail: %+v", envs)
	}
}

func TestEnvelopeInlineImagesFromStorage(t *testing.T) {
	c, _ := testChannel(t, "127.0.0.1:1", "", nil)
	e := envelopesOf(t, c, readTestdata(t, "outlook-html-attachment.eml"))[0]
	var img string
	for _, a := range e.Attachments {
		if a.Name == "image001.png" {
			img = a.URL
		}
	}
	if img == "" || !strings.Contains(e.Meta[MetaHTML], `src="`+img+`"`) || strings.Contains(e.Meta[MetaHTML], "cid:") {
		t.Fatalf("html %q, image at %q", e.Meta[MetaHTML], img)
	}
}

func TestEnvelopeSaysWhatWasDropped(t *testing.T) {
	c, _ := testChannel(t, "127.0.0.1:1", "", func(o *Options) { o.MaxFileSize = 10 })
	envs := envelopesOf(t, c, readTestdata(t, "outlook-html-attachment.eml"))
	e := envs[0]
	if len(e.Attachments) != 1 || e.Meta[MetaDropped] != "Реквизиты.pdf" || !strings.Contains(e.Text, "Реквизиты.pdf") {
		t.Fatalf("attachments %+v, dropped %q, text %q", e.Attachments, e.Meta[MetaDropped], e.Text)
	}
}
