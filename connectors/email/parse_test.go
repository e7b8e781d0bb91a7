package email

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParse(t *testing.T) {
	tests := []struct {
		file      string
		id        string
		from      string
		subject   string
		text      string // the text must contain this
		notText   string // and must not contain this
		quoted    string
		auto      string
		inReplyTo string
		refs      int
		atts      []string
		html      string
		malformed bool
	}{
		{file: "email-only-text.eml", id: "6215e5ca3e3b2_10bc6197e4224d1@tejaswinis-MacBook-Pro.local.mail",
			from: "text@example.com", subject: "test text only mail", text: "text only mail"},
		{file: "email-reply.eml", id: "0CB459E0-0336-41DA-BC88-E6E28C697DDBF@chatwoot.com", from: "sony@chatwoot.com",
			subject: "Discussion: Let's debate these attachments", text: "References Email",
			inReplyTo: "4e6e35f5a38b4_479f13bb90078178@small-app-01.mail", refs: 2},
		{file: "email-auto-reply-x-autoreply.eml", from: "Sony@chatwoot.com", text: "Let's talk about these images", auto: AutoReply, refs: 1},
		{file: "email-auto-submitted.eml", from: "Sony@chatwoot.com", auto: AutoReply, refs: 1},
		{file: "gmail-reply.eml", id: "CAF=gmail-0001@mail.gmail.com", from: "anna.smirnova@gmail.com",
			subject: "Re: Заказ №42 — доставка", text: "Спасибо, доставка в четверг подходит.", notText: "Можем доставить",
			quoted: "> Здравствуйте! Можем доставить в четверг.", inReplyTo: "leadhub.1.abc@shop.test", refs: 1,
			html: "Спасибо, доставка в четверг подходит."},
		{file: "outlook-html-attachment.eml", from: "ivan.petrov@outlook.com", subject: "Счёт на стулья",
			text: "Прошу выставить счёт на 10 стульев.", notText: "color:red",
			atts: []string{"image001.png", "Реквизиты.pdf"}, html: "<b>10 стульев</b>"},
		{file: "windows-1251.eml", from: "olga@mail.ru", subject: "Вопрос о доставке", text: "Сколько стоит доставка в Екатеринбург?"},
		{file: "koi8-r.eml", from: "pavel@yandex.ru", subject: "Прайс", text: "Пришлите прайс, пожалуйста."},
		{file: "bounce-dsn.eml", from: "MAILER-DAEMON@mx.shop.test", auto: AutoBounce, text: "could not"},
		{file: "no-message-id.eml", from: "someone@example.net", text: "Hello without a Message-ID."},
		{file: "malformed-mime.eml", from: "broken@example.net", text: "Привет!", malformed: true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			m := Parse(readTestdata(t, tt.file), 1<<20)
			if tt.id != "" && m.MessageID != tt.id {
				t.Errorf("MessageID = %q, want %q", m.MessageID, tt.id)
			}
			if m.From != tt.from {
				t.Errorf("From = %q, want %q", m.From, tt.from)
			}
			if tt.subject != "" && m.Subject != tt.subject {
				t.Errorf("Subject = %q, want %q", m.Subject, tt.subject)
			}
			if !strings.Contains(m.Text, tt.text) {
				t.Errorf("Text = %q, want it to contain %q", m.Text, tt.text)
			}
			if tt.notText != "" && strings.Contains(m.Text, tt.notText) {
				t.Errorf("Text = %q, must not contain %q", m.Text, tt.notText)
			}
			if !strings.Contains(m.Quoted, tt.quoted) {
				t.Errorf("Quoted = %q, want %q", m.Quoted, tt.quoted)
			}
			if m.Auto != tt.auto {
				t.Errorf("Auto = %q, want %q", m.Auto, tt.auto)
			}
			if tt.inReplyTo != "" && (len(m.InReplyTo) == 0 || m.InReplyTo[0] != tt.inReplyTo) {
				t.Errorf("InReplyTo = %q, want %q", m.InReplyTo, tt.inReplyTo)
			}
			if len(m.References) != tt.refs {
				t.Errorf("References = %q, want %d", m.References, tt.refs)
			}
			var names []string
			for _, a := range m.Attachments {
				names = append(names, a.Name)
			}
			if !slices.Equal(names, tt.atts) {
				t.Errorf("attachments = %q, want %q", names, tt.atts)
			}
			if tt.html != "" && !strings.Contains(m.HTML, tt.html) {
				t.Errorf("HTML = %q, want it to contain %q", m.HTML, tt.html)
			}
			if strings.Contains(m.HTML, "<script") || strings.Contains(m.HTML, "onload") {
				t.Errorf("HTML was not sanitized: %q", m.HTML)
			}
			if (m.Malformed != "") != tt.malformed {
				t.Errorf("Malformed = %q, want malformed %v", m.Malformed, tt.malformed)
			}
		})
	}
}

func TestParseBounceNamesTheFailedRecipient(t *testing.T) {
	m := Parse(readTestdata(t, "bounce-dsn.eml"), 1<<20)
	if !slices.Equal(m.Bounced, []string{"no.such.user@example.org"}) {
		t.Fatalf("Bounced = %q", m.Bounced)
	}
}

// A missing Message-ID gets a synthetic one that is stable (a re-scan finds
// the same) and differs between messages (they never thread together).
func TestParseSyntheticMessageID(t *testing.T) {
	raw := readTestdata(t, "no-message-id.eml")
	a, b := Parse(raw, 1<<20), Parse(raw, 1<<20)
	if !a.Synthetic || a.MessageID != b.MessageID || !strings.HasSuffix(a.MessageID, "@"+SyntheticDomain) {
		t.Fatalf("synthetic ids %q, %q", a.MessageID, b.MessageID)
	}
	other := Parse([]byte(strings.Replace(string(raw), "Hello", "Bye", 1)), 1<<20)
	if other.MessageID == a.MessageID {
		t.Fatalf("two different messages got one id %q", a.MessageID)
	}
	empty := Parse([]byte("Message-ID: <>\r\nFrom: a@b.c\r\n\r\nhi\r\n"), 1<<20)
	if !empty.Synthetic {
		t.Fatalf("an empty Message-ID was kept: %q", empty.MessageID)
	}
}

func TestParseDropsOversizedAttachments(t *testing.T) {
	m := Parse(readTestdata(t, "outlook-html-attachment.eml"), 10)
	if !slices.Equal(m.Dropped, []string{"Реквизиты.pdf"}) || len(m.Attachments) != 1 {
		t.Fatalf("Dropped = %q, kept %d", m.Dropped, len(m.Attachments))
	}
}

func TestParseGarbageNeverFails(t *testing.T) {
	for _, raw := range []string{"", "\x00\x01\x02", "no header at all", "From: <<<\r\n\r\nbody", "Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n"} {
		m := Parse([]byte(raw), 1<<20)
		if m.MessageID == "" {
			t.Errorf("%q: no message id", raw)
		}
	}
}

func TestFoldQuoted(t *testing.T) {
	tests := []struct{ in, own, quoted string }{
		{"Yes.\n\nOn Mon, 2 Dec 2024 at 10:00, Shop <s@shop.test> wrote:\n> Hello", "Yes.", "On Mon, 2 Dec 2024 at 10:00, Shop <s@shop.test> wrote:\n> Hello"},
		{"Да.\n\n-----Original Message-----\nFrom: Shop\nHello", "Да.", "-----Original Message-----\nFrom: Shop\nHello"},
		{"Ок\n\n02.12.2024, 10:00, \"Shop\" <s@shop.test>:\n> Привет", "Ок", "02.12.2024, 10:00, \"Shop\" <s@shop.test>:\n> Привет"},
		{"Хорошо\n> старое\n> ещё", "Хорошо", "> старое\n> ещё"},
		{"> only a quote", "> only a quote", ""},
		{"From: me, about the order: ok", "From: me, about the order: ok", ""},
	}
	for _, tt := range tests {
		own, quoted := foldQuoted(tt.in)
		if own != tt.own || quoted != tt.quoted {
			t.Errorf("foldQuoted(%q) = %q, %q; want %q, %q", tt.in, own, quoted, tt.own, tt.quoted)
		}
	}
}

func TestReplySubject(t *testing.T) {
	for in, want := range map[string]string{
		"Заказ":             "Re: Заказ",
		"Re: Заказ":         "Re: Заказ",
		"RE: Re: Re[2]: Hi": "Re: Hi",
		"Ответ: вопрос":     "Re: вопрос",
		"":                  "Re:",
	} {
		if got := replySubject(in); got != want {
			t.Errorf("replySubject(%q) = %q, want %q", in, got, want)
		}
	}
}
