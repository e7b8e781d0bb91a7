package email

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// Meta keys of an email message. Threading reads the ids; the page reads
// the rest.
const (
	MetaMessageID  = "message_id"  // without brackets
	MetaInReplyTo  = "in_reply_to" // the first id of In-Reply-To
	MetaReferences = "references"  // ids separated by spaces, oldest first
	MetaFrom       = "from"        // the sender's address as written
	MetaTo         = "to"          // outgoing: the address a reply or new mail goes to
	MetaHTML       = "html"        // sanitized HTML body
	MetaQuoted     = "quoted"      // quoted history folded away from the text
	MetaRaw        = "raw_url"     // the whole message as received (.eml)
	MetaAuto       = "auto"        // AutoReply, AutoBulk, AutoBounce
	MetaBounced    = "bounced"     // addresses a bounce reports as failed
	MetaMalformed  = "malformed"   // what could not be read
	MetaDropped    = "dropped_attachments"
	MetaSynthetic  = "synthetic_message_id" // "true": the mail had no Message-ID
)

// ownIDPrefix starts the local part of every Message-ID leadhub writes, so
// that a copy of its own reply (a Bcc to itself) is known and skipped.
const ownIDPrefix = "leadhub."

// envelopes turns one fetched message into what is queued: nothing for the
// channel's own mail, a bounce's message plus the facts that mark its
// failed addresses unreachable, else one message (or an outgoing message
// for mail the business sent to a customer from another mail program into
// this mailbox). An error means the message's files could not be stored;
// the message is read again.
func (c *Channel) envelopes(ctx context.Context, raw []byte, uidValidity, uid uint32, internal time.Time) ([]inbox.Envelope, error) {
	m := Parse(raw, c.opts.MaxFileSize)
	from, fromErr := inbox.NormalizeEmail(m.From)
	if strings.HasPrefix(m.MessageID, ownIDPrefix) && strings.HasSuffix(m.MessageID, "@"+c.idDomain) {
		return nil, nil // leadhub's own reply, come back
	}
	env := inbox.Envelope{
		Item:        inbox.ItemMessage,
		DedupeKey:   c.dedupeKey(m.MessageID),
		ChannelID:   c.opts.ChannelID,
		ChannelType: inbox.ChannelEmail,
		Kind:        inbox.KindEmail,
		Subject:     m.Subject,
		ExternalID:  m.MessageID,
		ReceivedAt:  firstTime(m.Date, internal, c.opts.Now()),
		Meta: map[string]string{
			MetaMessageID: m.MessageID,
			MetaFrom:      m.From,
			"uid":         strconv.FormatUint(uint64(uidValidity), 10) + ":" + strconv.FormatUint(uint64(uid), 10),
		},
	}
	meta := env.Meta
	env.Thread = thread(m)
	if len(m.InReplyTo) > 0 {
		meta[MetaInReplyTo] = m.InReplyTo[0]
	}
	if len(m.References) > 0 {
		meta[MetaReferences] = strings.Join(m.References, " ")
	}
	setIf(meta, MetaHTML, m.HTML)
	setIf(meta, MetaQuoted, m.Quoted)
	setIf(meta, MetaAuto, m.Auto)
	setIf(meta, MetaMalformed, m.Malformed)
	if m.Synthetic {
		meta[MetaSynthetic] = "true"
	}

	text := m.Text
	if len(m.Dropped) > 0 {
		meta[MetaDropped] = strings.Join(m.Dropped, ", ")
		text = strings.TrimSpace(text + fmt.Sprintf("\n\n[Not kept, over the %s limit: %s]", humanSize(c.opts.MaxFileSize), strings.Join(m.Dropped, ", ")))
	}
	env.Text = text
	if err := c.storeFiles(ctx, &env, m, raw); err != nil {
		return nil, err
	}

	switch {
	case fromErr == nil && from == c.own:
		return c.ownMail(env, m), nil
	case m.Auto == AutoBounce:
		return c.bounce(env, m), nil
	}
	if fromErr != nil {
		// Nobody to answer: kept on one card of unknown senders, flagged.
		env.From = inbox.Contact{Identities: []inbox.Identity{{Kind: inbox.IdentityExternal, Value: c.opts.ChannelID + ":unknown-sender"}}}
		if meta[MetaMalformed] == "" {
			meta[MetaMalformed] = "no sender address"
		}
		return []inbox.Envelope{env}, nil
	}
	env.From = inbox.Contact{Name: m.FromName, Identities: []inbox.Identity{{Kind: inbox.IdentityEmail, Value: from}}}
	return []inbox.Envelope{env}, nil
}

// ownMail files mail from the channel's own address: mail the business sent
// to a customer from another mail program (Cc or Bcc to itself) becomes an
// outgoing message in that customer's conversation; mail to itself alone
// is nobody's conversation and is skipped.
func (c *Channel) ownMail(env inbox.Envelope, m *Mail) []inbox.Envelope {
	for _, to := range m.To {
		addr, err := inbox.NormalizeEmail(to)
		if err != nil || addr == c.own {
			continue
		}
		if env.Text == "" && len(env.Attachments) == 0 {
			return nil
		}
		env.Item = inbox.ItemOutgoing
		env.From = inbox.Contact{Identities: []inbox.Identity{{Kind: inbox.IdentityEmail, Value: addr}}}
		env.Meta[MetaTo] = addr
		return []inbox.Envelope{env}
	}
	return nil
}

// bounce files a delivery failure in the conversation of each address it
// reports failed, with a fact that marks the address unreachable on the
// card, so that operators see why their mail did not arrive and replies
// stop going there. A bounce that names no address is kept as the mail
// daemon's message.
func (c *Channel) bounce(env inbox.Envelope, m *Mail) []inbox.Envelope {
	var out []inbox.Envelope
	seen := map[string]bool{}
	for _, r := range m.Bounced {
		addr, err := inbox.NormalizeEmail(r)
		if err != nil || addr == c.own || seen[addr] {
			continue
		}
		seen[addr] = true
		id := inbox.Identity{Kind: inbox.IdentityEmail, Value: addr}
		msg := env
		msg.Meta = cloneMeta(env.Meta)
		msg.Meta[MetaBounced] = addr
		msg.From = inbox.Contact{Identities: []inbox.Identity{id}}
		if len(out) > 0 {
			msg.DedupeKey = env.DedupeKey + ":" + addr
		}
		reason := "mail to " + addr + " bounced"
		if m.Subject != "" {
			reason += ": " + clipRunes(m.Subject, 200)
		}
		out = append(out, msg, inbox.Envelope{
			Item:        inbox.ItemFact,
			DedupeKey:   env.DedupeKey + ":unreachable:" + addr,
			ChannelID:   env.ChannelID,
			ChannelType: env.ChannelType,
			From:        inbox.Contact{Identities: []inbox.Identity{id}},
			Fact:        &inbox.Fact{Name: inbox.FactMessagingDenied, Value: reason},
			ReceivedAt:  env.ReceivedAt,
		})
	}
	if len(out) > 0 {
		return out
	}
	from, err := inbox.NormalizeEmail(m.From)
	if err != nil {
		from = "mailer-daemon@unknown.invalid"
	}
	env.From = inbox.Contact{Name: m.FromName, Identities: []inbox.Identity{{Kind: inbox.IdentityEmail, Value: from}}}
	return []inbox.Envelope{env}
}

// storeFiles saves the attachments and the raw message. Saving is
// idempotent (same bytes, same URL), so a message read again stores
// nothing new.
func (c *Channel) storeFiles(ctx context.Context, env *inbox.Envelope, m *Mail, raw []byte) error {
	for _, p := range m.Attachments {
		a, err := c.opts.Files.Save(ctx, p.Name, p.MIME, c.opts.MaxFileSize, bytes.NewReader(p.Data))
		if err != nil {
			if inbox.ErrorCode(err) == inbox.ETOOLARGE {
				env.Meta[MetaDropped] = strings.TrimPrefix(env.Meta[MetaDropped]+", "+p.Name, ", ")
				continue
			}
			return fmt.Errorf("email: channel %s: store attachment: %w", c.opts.ChannelID, err)
		}
		env.Attachments = append(env.Attachments, a)
		if p.ContentID != "" && env.Meta[MetaHTML] != "" {
			// The HTML shows inline images from storage, not by cid:.
			html := env.Meta[MetaHTML]
			for _, ref := range []string{"cid:" + p.ContentID, "cid:" + url.PathEscape(p.ContentID)} {
				html = strings.ReplaceAll(html, `"`+ref+`"`, `"`+a.URL+`"`)
			}
			env.Meta[MetaHTML] = html
		}
	}
	if int64(len(raw)) <= inbox.MaxFileSize {
		a, err := c.opts.Files.Save(ctx, "message.eml", "message/rfc822", inbox.MaxFileSize, bytes.NewReader(raw))
		if err != nil {
			return fmt.Errorf("email: channel %s: store the raw message: %w", c.opts.ChannelID, err)
		}
		env.Meta[MetaRaw] = a.URL
	}
	return nil
}

func firstTime(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t.UTC()
		}
	}
	return time.Time{}
}

func setIf(m map[string]string, k, v string) {
	if v != "" {
		m[k] = v
	}
}

func cloneMeta(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// humanSize writes a limit the way an operator reads it.
func humanSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MB"
	case n >= 1<<10:
		return strconv.FormatInt(n>>10, 10) + " KB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// thread is what the mail answers, the most recent first: In-Reply-To,
// then References from last to first, each once.
func thread(m *Mail) []string {
	var out []string
	seen := map[string]bool{m.MessageID: true}
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	for _, id := range m.InReplyTo {
		add(id)
	}
	for i := len(m.References) - 1; i >= 0; i-- {
		add(m.References[i])
	}
	return out
}
