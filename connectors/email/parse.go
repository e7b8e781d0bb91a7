package email

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/textproto"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message"
	// Registers the charsets mail really uses (Windows-1251, KOI8-R...):
	// without it such a body fails to decode.
	_ "github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"
	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
)

// Automatic mail: what flagged messages are, in Mail.Auto and the message's
// "auto" meta. Such mail is stored so the operator sees it, and never
// answered automatically.
const (
	AutoReply  = "auto-reply" // out-of-office and other automatic answers
	AutoBulk   = "bulk"       // mailing lists and bulk mail
	AutoBounce = "bounce"     // a delivery status notification
)

// SyntheticDomain is the right-hand side of the Message-ID given to mail
// that came without one. It is derived from the message's bytes, so a
// re-scan of the mailbox finds the same id, and it is never anybody's
// In-Reply-To, so such a mail threads with nothing by accident.
const SyntheticDomain = "no-message-id.leadhub.invalid"

// maxParts bounds the MIME parts read from one message, so that a message
// built to explode (thousands of nested parts) costs bounded work.
const maxParts = 200

// maxTextLen bounds the text kept from one message.
const maxTextLen = 1 << 20

// Part is an attachment or inline image of a parsed mail.
type Part struct {
	Name string
	MIME string
	Data []byte
	// Inline is an image shown inside the HTML; ContentID names it there
	// ("cid:<ContentID>").
	Inline    bool
	ContentID string
}

// Mail is what leadhub reads from one RFC 5322 message. Parse always
// returns one: what could not be read is said in Malformed.
type Mail struct {
	// MessageID is without angle brackets; a synthetic one (Synthetic)
	// when the message had none.
	MessageID  string
	Synthetic  bool
	InReplyTo  []string
	References []string
	FromName   string
	From       string // the address, as written
	To         []string
	Subject    string
	Date       time.Time
	// Text is the body as plain text (text/plain preferred, else the HTML
	// turned into text); Quoted is the quoted history cut from its end,
	// kept apart so the page can fold it.
	Text   string
	Quoted string
	// HTML is the HTML body, sanitized for display; "" without one.
	HTML        string
	Attachments []Part
	// Dropped are attachments over the size limit, not kept.
	Dropped []string
	// Auto says what automatic mail it is (AutoReply, AutoBulk,
	// AutoBounce), "" for mail a person wrote.
	Auto string
	// Bounced are the recipients a bounce reports as failed.
	Bounced []string
	// Malformed says what could not be read; "" for a sound message.
	Malformed string
}

// sanitizer keeps formatting, links and images; it drops scripts, styles,
// event handlers and anything else that could act in the operator's page.
var sanitizer = sync.OnceValue(func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowURLSchemes("http", "https", "mailto", "cid")
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return p
})

// Parse reads raw as a mail message. maxAttachment bounds each kept
// attachment; larger ones are named in Dropped. It never fails: a message
// that is partly unreadable comes back with what could be read and
// Malformed set, and a message that is not MIME at all with its bytes as
// text.
func Parse(raw []byte, maxAttachment int64) *Mail {
	m := &Mail{}
	var problems []string
	note := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	defer func() {
		if m.MessageID == "" {
			sum := sha256.Sum256(raw)
			m.MessageID = hex.EncodeToString(sum[:16]) + "@" + SyntheticDomain
			m.Synthetic = true
		}
		m.Malformed = strings.Join(problems, "; ")
	}()

	mr, err := mail.CreateReader(bytes.NewReader(raw))
	if mr == nil {
		// Not even a header could be read: keep what there is as text.
		note("unreadable header: %v", err)
		m.readHeaderLoosely(raw)
		m.Text = clip(toUTF8(bodyAfterHeader(raw)))
		return m
	}
	if err != nil {
		// An unknown charset or transfer encoding of the top entity: its
		// bytes are read undecoded.
		note("%v", err)
	}
	m.readHeader(mr.Header, note)
	m.Auto = autoKind(mr.Header)

	var plain, htmlBody []string
	for n := 0; ; n++ {
		if n == maxParts {
			note("more than %d parts; the rest was not read", maxParts)
			break
		}
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && p == nil {
			note("part %d: %v", n+1, err)
			break
		}
		if err != nil {
			// An unknown charset or transfer encoding: the part's bytes are
			// there, undecoded.
			note("part %d: %v", n+1, err)
		}
		switch h := p.Header.(type) {
		case *mail.InlineHeader:
			ct, params, _ := h.ContentType()
			switch {
			case ct == "text/plain" || ct == "":
				b, err := readBody(p.Body, maxTextLen)
				if err != nil {
					note("part %d: %v", n+1, err)
				}
				plain = append(plain, toUTF8(b))
			case ct == "text/html":
				b, err := readBody(p.Body, maxTextLen)
				if err != nil {
					note("part %d: %v", n+1, err)
				}
				htmlBody = append(htmlBody, toUTF8(b))
			case ct == "message/delivery-status":
				b, _ := readBody(p.Body, maxTextLen)
				m.Bounced = append(m.Bounced, failedRecipients(b)...)
			case ct == "message/rfc822" || ct == "text/rfc822-headers" || strings.HasPrefix(ct, "multipart/"):
				// The returned original of a bounce: not the sender's words.
			default:
				cid := strings.Trim(strings.TrimSpace(h.Get("Content-Id")), "<>")
				name := params["name"]
				if name == "" {
					name = cid
				}
				m.addPart(p.Body, decodeWord(name), ct, cid, maxAttachment, note)
			}
		case *mail.AttachmentHeader:
			name, err := h.Filename()
			if err != nil || name == "" {
				_, params, _ := h.ContentType()
				name = decodeWord(params["name"])
			}
			ct, _, _ := h.ContentType()
			if ct == "message/delivery-status" {
				b, _ := readBody(p.Body, maxTextLen)
				m.Bounced = append(m.Bounced, failedRecipients(b)...)
				continue
			}
			if name == "" {
				name = "attachment"
			}
			m.addPart(p.Body, name, ct, strings.Trim(strings.TrimSpace(h.Get("Content-Id")), "<>"), maxAttachment, note)
		}
	}
	if failed := mr.Header.Get("X-Failed-Recipients"); failed != "" {
		for _, a := range strings.Split(failed, ",") {
			if a = strings.TrimSpace(a); a != "" {
				m.Bounced = append(m.Bounced, a)
			}
		}
	}
	if len(m.Bounced) > 0 || isReport(mr.Header) {
		m.Auto = AutoBounce
	}

	rawHTML := strings.Join(htmlBody, "\n")
	if rawHTML != "" {
		m.HTML = sanitizer().Sanitize(rawHTML)
	}
	text := strings.Join(plain, "\n")
	if strings.TrimSpace(text) == "" && rawHTML != "" {
		text = htmlToText(rawHTML)
	}
	m.Text, m.Quoted = foldQuoted(clip(normalizeNewlines(text)))
	return m
}

// readHeader fills the envelope fields; a field that does not parse is
// noted and read loosely rather than lost.
func (m *Mail) readHeader(h mail.Header, note func(string, ...any)) {
	if id, err := h.MessageID(); err == nil {
		m.MessageID = cleanID(id)
	} else {
		m.MessageID = cleanID(h.Get("Message-Id"))
	}
	m.InReplyTo = idList(h, "In-Reply-To")
	m.References = idList(h, "References")
	if from, err := h.AddressList("From"); err == nil && len(from) > 0 {
		m.FromName, m.From = from[0].Name, from[0].Address
	} else if v := h.Get("From"); v != "" {
		m.FromName, m.From = looseAddress(v)
		if m.From == "" {
			note("unreadable From %q", clipRunes(v, 100))
		}
	}
	if to, err := h.AddressList("To"); err == nil {
		for _, a := range to {
			m.To = append(m.To, a.Address)
		}
	}
	if s, err := h.Subject(); err == nil {
		m.Subject = s
	} else {
		m.Subject = decodeWord(h.Get("Subject"))
	}
	m.Subject = strings.TrimSpace(toUTF8([]byte(m.Subject)))
	if d, err := h.Date(); err == nil {
		m.Date = d
	}
}

// readHeaderLoosely reads what it can from a header go-message rejected.
func (m *Mail) readHeaderLoosely(raw []byte) {
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw)))
	h, _ := tp.ReadMIMEHeader()
	m.MessageID = cleanID(h.Get("Message-Id"))
	m.Subject = toUTF8([]byte(decodeWord(h.Get("Subject"))))
	m.FromName, m.From = looseAddress(h.Get("From"))
}

// addPart keeps an attachment, or names it in Dropped when it is over max.
func (m *Mail) addPart(body io.Reader, name, ct, cid string, max int64, note func(string, ...any)) {
	data, err := io.ReadAll(io.LimitReader(body, max+1))
	if err != nil {
		// A file that cannot be decoded whole is of no use: said, not kept.
		note("attachment %q not kept: %v", name, err)
		return
	}
	if int64(len(data)) > max {
		m.Dropped = append(m.Dropped, name)
		return
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	m.Attachments = append(m.Attachments, Part{Name: name, MIME: ct, Data: data, Inline: cid != "", ContentID: cid})
}

// autoKind tells automatic mail by the headers RFC 3834 and the big mail
// programs set; see research/protocols.md.
func autoKind(h mail.Header) string {
	if v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); v != "" && v != "no" {
		return AutoReply
	}
	if h.Get("X-Autoreply") != "" || h.Get("X-Autorespond") != "" {
		return AutoReply
	}
	switch strings.ToLower(strings.TrimSpace(h.Get("X-Auto-Response-Suppress"))) {
	case "all", "oof", "autoreply":
		return AutoReply
	}
	switch strings.ToLower(strings.TrimSpace(h.Get("Precedence"))) {
	case "auto_reply":
		return AutoReply
	case "bulk", "list", "junk":
		return AutoBulk
	}
	if h.Get("List-Id") != "" || h.Get("List-Unsubscribe") != "" {
		return AutoBulk
	}
	return ""
}

// isReport reports whether the message is a delivery status notification.
func isReport(h mail.Header) bool {
	ct, params, err := h.ContentType()
	if err == nil && ct == "multipart/report" && strings.EqualFold(params["report-type"], "delivery-status") {
		return true
	}
	return strings.TrimSpace(h.Get("Return-Path")) == "<>" && strings.Contains(strings.ToLower(h.Get("From")), "mailer-daemon")
}

var finalRecipient = regexp.MustCompile(`(?i)^(?:final|original)-recipient:\s*rfc822;\s*<?([^\s>]+)>?`)

// failedRecipients reads the recipients of a message/delivery-status body
// whose Action is failed.
func failedRecipients(b []byte) []string {
	var out []string
	// Per-recipient groups are separated by blank lines (RFC 3464).
	for _, group := range strings.Split(normalizeNewlines(string(b)), "\n\n") {
		var rcpt string
		failed := false
		for _, line := range strings.Split(group, "\n") {
			line = strings.TrimSpace(line)
			if sm := finalRecipient.FindStringSubmatch(line); sm != nil && (rcpt == "" || strings.HasPrefix(strings.ToLower(line), "final")) {
				rcpt = sm[1]
			}
			if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "action") && strings.EqualFold(strings.TrimSpace(v), "failed") {
				failed = true
			}
		}
		if failed && rcpt != "" {
			out = append(out, rcpt)
		}
	}
	return out
}

func idList(h mail.Header, key string) []string {
	ids, err := h.MsgIDList(key)
	if err != nil {
		// Some programs write ids without brackets: take the words.
		ids = strings.Fields(strings.NewReplacer("<", " ", ">", " ", ",", " ").Replace(h.Get(key)))
	}
	var out []string
	for _, id := range ids {
		if id = cleanID(id); id != "" {
			out = append(out, id)
		}
	}
	return out
}

// cleanID strips brackets and blanks; an id of spaces is no id.
func cleanID(id string) string {
	id = strings.TrimSpace(id)
	id = strings.TrimPrefix(id, "<")
	id = strings.TrimSuffix(id, ">")
	id = strings.TrimSpace(id)
	if !utf8.ValidString(id) || strings.ContainsAny(id, " \t\r\n") || len(id) > 900 {
		return ""
	}
	return id
}

var wordDecoder = &mime.WordDecoder{CharsetReader: message.CharsetReader}

// decodeWord decodes RFC 2047 encoded words, keeping s when it cannot.
func decodeWord(s string) string {
	d, err := wordDecoder.DecodeHeader(s)
	if err != nil {
		return s
	}
	return d
}

// looseAddress reads "Name <addr>" or a bare address from a From that
// net/mail rejected.
func looseAddress(v string) (name, addr string) {
	v = decodeWord(strings.TrimSpace(v))
	if i := strings.LastIndex(v, "<"); i >= 0 {
		if j := strings.Index(v[i:], ">"); j > 0 {
			return strings.Trim(strings.TrimSpace(v[:i]), `"`), strings.TrimSpace(v[i+1 : i+j])
		}
	}
	for _, w := range strings.Fields(v) {
		if strings.Contains(w, "@") {
			return "", strings.Trim(w, "<>,;\"")
		}
	}
	return "", ""
}

func readBody(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max))
	if err != nil {
		return b, fmt.Errorf("read body: %w", err)
	}
	return b, nil
}

// toUTF8 keeps valid UTF-8 and replaces what is not: a part whose charset
// was unknown is shown with replacement characters rather than dropped.
func toUTF8(b []byte) string {
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func bodyAfterHeader(raw []byte) []byte {
	for _, sep := range [][]byte{[]byte("\r\n\r\n"), []byte("\n\n")} {
		if i := bytes.Index(raw, sep); i >= 0 {
			return raw[i+len(sep):]
		}
	}
	return raw
}

func normalizeNewlines(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

func clip(s string) string {
	if len(s) <= maxTextLen {
		return s
	}
	return strings.ToValidUTF8(s[:maxTextLen], "")
}

func clipRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// quoteHeader matches the line mail programs write above quoted history:
// Gmail's "On Mon, 1 Jan 2024 at 10:00, Ann <a@b.c> wrote:", its Russian
// "пн, 1 янв. 2024 г. в 10:00, Анна <a@b.c>:", Mail.ru's and Yandex's
// "... писал(а):", Outlook's "-----Original Message-----" and its "From: ..."
// block.
var quoteHeader = regexp.MustCompile(`(?i)^(on\s.+wrote:|.+\s(писал|написал)\(?а?\)?:|-{2,}\s*(original message|исходное сообщение|пересылаемое сообщение|forwarded message)\s*-{2,}|.*\d{4}.*<[^>\s]+@[^>\s]+>:|(from|от):\s.+@.+)$`)

// foldQuoted cuts the quoted history off the end of text: from the first
// quote header line, or the trailing run of "> " lines. What is cut is
// returned apart; text that is nothing but a quote is kept whole.
func foldQuoted(text string) (own, quoted string) {
	lines := strings.Split(text, "\n")
	cut := -1
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if quoteHeader.MatchString(t) && i > 0 {
			// Outlook's "From:" only counts as a header of history after a
			// blank line or a separator, not in the first lines a person
			// wrote.
			if strings.HasPrefix(strings.ToLower(t), "from:") || strings.HasPrefix(strings.ToLower(t), "от:") {
				if strings.TrimSpace(lines[i-1]) != "" && !strings.HasPrefix(strings.TrimSpace(lines[i-1]), "___") {
					continue
				}
			}
			cut = i
			break
		}
	}
	if cut < 0 {
		// A trailing block of quoted lines (blank lines allowed between).
		end := len(lines)
		for end > 0 && strings.TrimSpace(lines[end-1]) == "" {
			end--
		}
		start := end
		for start > 0 {
			t := strings.TrimSpace(lines[start-1])
			if strings.HasPrefix(t, ">") || (t == "" && start < end) {
				start--
				continue
			}
			break
		}
		for start < end && strings.TrimSpace(lines[start]) == "" {
			start++
		}
		if start < end {
			cut = start
		}
	}
	if cut <= 0 {
		return strings.TrimSpace(text), ""
	}
	own = strings.TrimSpace(strings.Join(lines[:cut], "\n"))
	if own == "" {
		return strings.TrimSpace(text), ""
	}
	return own, strings.TrimSpace(strings.Join(lines[cut:], "\n"))
}

// htmlToText renders HTML as plain text: block elements break lines,
// scripts and styles are dropped, entities are decoded.
func htmlToText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	skip := 0
	newline := func() {
		if b.Len() > 0 && !strings.HasSuffix(b.String(), "\n") {
			b.WriteByte('\n')
		}
	}
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return collapseBlank(b.String())
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style", "head", "title":
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
			case "br":
				b.WriteByte('\n')
			case "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "ul", "ol", "hr":
				newline()
			}
		case html.TextToken:
			if skip == 0 {
				// Runs of white space are one space, kept at the edges:
				// "на <b>10</b>." must not become "на10." or "на 10 .".
				t := spaces.ReplaceAllString(string(z.Text()), " ")
				if strings.HasSuffix(b.String(), "\n") || b.Len() == 0 {
					t = strings.TrimLeft(t, " ")
				}
				b.WriteString(t)
			}
		}
	}
}

var spaces = regexp.MustCompile(`\s+`)

func collapseBlank(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	blank := 0
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" {
			blank++
			if blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
