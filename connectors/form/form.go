// Package form is the site-form channel: marketers' own HTML forms, forms
// built on Tilda and the form that the embedded script (embed.js) renders all
// post to /hooks/form/<channel>, and every real submission becomes a "form"
// message from a client matched by phone or email.
//
// On a marketer's page (the page's origin must be in allowed_origins):
//
//	<script src="https://hub.example.com/hooks/form/site/embed.js" async></script>
//	<div data-leadhub-form></div>           <!-- renders the form; data-lang="en" for English -->
//	<form data-leadhub>...</form>           <!-- or binds the page's own form -->
//
// A plain <form action="https://hub.example.com/hooks/form/site" method="post">
// works without the script (303 to redirect_url). Tilda: Site settings →
// Forms → Webhook, URL https://hub.example.com/hooks/form/site, and the
// channel's secret as Tilda's API key; name the consent checkbox "consent"
// when consent_text is set.
//
// Parse has no side effects beyond saving uploaded files (content-addressed,
// so a retry stores nothing new) and filling r.PostForm with the decoded
// fields, which Respond reads to choose the answer.
package form

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// Options configures one form channel.
type Options struct {
	ChannelID string
	// Secret is Tilda's API key. When set, Tilda's submissions must carry it
	// (see apiKey for where it is looked for); a wrong key is refused from
	// anyone. Empty: no key is checked.
	Secret string
	// AllowedOrigins lists the sites ("https://shop.example.com") whose pages
	// may post to the channel and read its answers; "*" allows every site.
	// A browser post from any other origin is EFORBIDDEN.
	AllowedOrigins []string
	// RedirectURL is the thank-you page plain HTML forms are sent to.
	// Empty: a small built-in thank-you page.
	RedirectURL string
	// Fields maps extra form field names to name, phone, email or message,
	// on top of the built-in aliases.
	Fields map[string]string
	// ConsentText, when set, is shown beside a required consent checkbox, and
	// submissions without a truthy "consent" field are EINVALID.
	ConsentText string
	// PublicURL is the hub's public address, baked into embed.js as where to
	// post. Empty: the script derives it from its own src.
	PublicURL string
	// Region reads phones without a country code. Default inbox.DefaultRegion.
	Region string
	// Files stores uploaded files; nil refuses uploads with EINVALID.
	Files inbox.Files
	// MaxFileSize bounds one uploaded file. Default 5 MiB, at most
	// inbox.MaxFileSize.
	MaxFileSize int64
	// MinFillTime drops forms submitted faster than this after the embed
	// script rendered them. Default 3 s; negative disables the check.
	// Posts without the script's "_ts" field are never subject to it.
	MinFillTime time.Duration
	// Labels is the language of rendered forms and of the message text:
	// "ru" (default) or "en".
	Labels string
	// Logger gets a debug line per dropped spam submission. Default: none.
	Logger *slog.Logger
	// Now is the clock; tests set it. Default time.Now.
	Now func() time.Time
}

// Defaults.
const (
	DefaultMaxFileSize = 5 << 20
	DefaultMinFillTime = 3 * time.Second
	// DedupeWindow is the bucket of the dedupe key: the same submission
	// repeated inside one bucket is filed once.
	DedupeWindow = 5 * time.Minute
)

// Limits on what one submission may carry; beyond them it is EINVALID.
const (
	maxFields   = 100
	maxValueLen = 10 << 10
	// Tilda's COOKIES carries the visitor's whole cookie string; it is
	// only mined for UTM and never kept, so it may be longer.
	maxCookiesLen = 64 << 10
	maxNameLen    = 200
	maxFiles      = 10
	maxTranIDLen  = 100
)

// Targets of the field mapping.
const (
	fieldName    = "name"
	fieldPhone   = "phone"
	fieldEmail   = "email"
	fieldMessage = "message"
)

// aliases are the field names forms commonly use, lower-cased.
var aliases = map[string]string{
	"name": fieldName, "fio": fieldName, "фио": fieldName, "имя": fieldName,
	"full_name": fieldName, "fullname": fieldName, "your-name": fieldName,
	"phone": fieldPhone, "tel": fieldPhone, "telephone": fieldPhone, "phone_number": fieldPhone,
	"телефон": fieldPhone, "your-phone": fieldPhone,
	"email": fieldEmail, "e-mail": fieldEmail, "mail": fieldEmail, "почта": fieldEmail,
	"your-email": fieldEmail,
	"message":    fieldMessage, "comment": fieldMessage, "comments": fieldMessage, "text": fieldMessage,
	"сообщение": fieldMessage, "комментарий": fieldMessage, "your-message": fieldMessage,
}

// Channel is one configured form channel. It is immutable after New and
// safe for concurrent use.
type Channel struct {
	opts      Options
	log       *slog.Logger
	fields    map[string]string // lower-cased form field name → target
	origins   map[string]bool   // normalized allowed origins
	anyOrigin bool
	self      string // normalized origin of PublicURL
	consentV  string
	labels    labels
	script    []byte
	etag      string
}

// New checks opts and returns the channel.
func New(opts Options) (*Channel, error) {
	if opts.ChannelID == "" {
		return nil, fmt.Errorf("form: channel id is required")
	}
	c := &Channel{opts: opts, fields: map[string]string{}, origins: map[string]bool{}}
	for k, v := range aliases {
		c.fields[k] = v
	}
	for name, target := range opts.Fields {
		switch target {
		case fieldName, fieldPhone, fieldEmail, fieldMessage:
		default:
			return nil, fmt.Errorf("form: fields: %q maps to %q, want name, phone, email or message", name, target)
		}
		c.fields[strings.ToLower(strings.TrimSpace(name))] = target
	}
	for _, o := range opts.AllowedOrigins {
		if strings.TrimSpace(o) == "*" {
			c.anyOrigin = true
			continue
		}
		n, ok := normalizeOrigin(o)
		if !ok {
			return nil, fmt.Errorf("form: allowed_origins: %q is not an origin like https://shop.example.com", o)
		}
		c.origins[n] = true
	}
	if opts.RedirectURL != "" {
		if _, ok := absoluteHTTP(opts.RedirectURL); !ok {
			return nil, fmt.Errorf("form: redirect_url %q is not an absolute http(s) URL", opts.RedirectURL)
		}
	}
	if opts.PublicURL != "" {
		u, ok := absoluteHTTP(opts.PublicURL)
		if !ok {
			return nil, fmt.Errorf("form: public url %q is not an absolute http(s) URL", opts.PublicURL)
		}
		c.self, _ = normalizeOrigin(u.Scheme + "://" + u.Host)
		c.opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	}
	switch {
	case opts.MaxFileSize == 0:
		c.opts.MaxFileSize = DefaultMaxFileSize
	case opts.MaxFileSize < 0 || opts.MaxFileSize > inbox.MaxFileSize:
		return nil, fmt.Errorf("form: max file size must be between 1 and %d bytes", inbox.MaxFileSize)
	}
	if opts.MinFillTime == 0 {
		c.opts.MinFillTime = DefaultMinFillTime
	}
	switch opts.Labels {
	case "":
		c.opts.Labels = "ru"
	case "ru", "en":
	default:
		return nil, fmt.Errorf("form: labels must be ru or en, not %q", opts.Labels)
	}
	c.labels = allLabels[c.opts.Labels]
	if opts.ConsentText != "" {
		sum := sha256.Sum256([]byte(opts.ConsentText))
		c.consentV = hex.EncodeToString(sum[:6])
	}
	if c.opts.Now == nil {
		c.opts.Now = time.Now
	}
	c.log = opts.Logger
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if c.script, c.etag, err = c.buildScript(); err != nil {
		return nil, err
	}
	return c, nil
}

// field is one submitted value; repeated names are merged in arrival order.
type field struct {
	name, value string
}

// upload is one file part of a multipart body, kept until the submission
// is known to be real.
type upload struct {
	name, mime string
	data       []byte
}

// submission is a decoded body.
type submission struct {
	fields []field
	files  []upload
	pairs  int
}

// add appends a value, merging a repeated name (checkbox groups) into one
// comma-separated value.
func (s *submission) add(name, value string) error {
	name = clean(strings.TrimSpace(name))
	value = clean(strings.TrimSpace(value))
	s.pairs++
	switch {
	case s.pairs > maxFields:
		return inbox.Errorf(inbox.EINVALID, "more than %d fields", maxFields)
	case name == "":
		return nil
	case len(name) > maxNameLen:
		return inbox.Errorf(inbox.EINVALID, "a field name is longer than %d bytes", maxNameLen)
	}
	for i := range s.fields {
		if s.fields[i].name == name {
			if value != "" {
				if s.fields[i].value != "" {
					value = s.fields[i].value + ", " + value
				}
				s.fields[i].value = value
			}
			return checkLen(name, s.fields[i].value)
		}
	}
	s.fields = append(s.fields, field{name, value})
	return checkLen(name, value)
}

func checkLen(name, value string) error {
	limit := maxValueLen
	if strings.EqualFold(name, "cookies") {
		limit = maxCookiesLen
	}
	if len(value) > limit {
		return inbox.Errorf(inbox.EINVALID, "field %q is longer than %d bytes", name, limit)
	}
	return nil
}

// get returns the value of the field named name, compared case-insensitively.
func (s *submission) get(name string) (string, bool) {
	for _, f := range s.fields {
		if strings.EqualFold(f.name, name) {
			return f.value, true
		}
	}
	return "", false
}

// clean makes text safe to store: valid UTF-8 (PostgreSQL refuses anything
// else) and no NUL bytes (which text columns cannot hold).
func clean(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// Parse decodes one submission. Honeypot hits, forms filled faster than a
// person can and Tilda's test ping return no envelopes and no error: the
// caller answers them as if they were accepted. Errors: EFORBIDDEN for a
// browser post from an origin that is not allowed, EUNAUTHORIZED for a
// missing or wrong Tilda API key, ETOOLARGE for a file over MaxFileSize,
// EINVALID for anything malformed or without a phone or an email.
func (c *Channel) Parse(r *http.Request, body []byte) ([]inbox.Envelope, []byte, error) {
	if o := r.Header.Get("Origin"); o != "" && o != "null" && !c.postAllowed(o) {
		return nil, nil, inbox.Errorf(inbox.EFORBIDDEN, "this site is not in the channel's allowed_origins")
	}
	sub, err := c.decode(r, body)
	if err != nil {
		return nil, nil, err
	}
	remember(r, sub)
	tilda := isTilda(r.PostForm)
	ping := isPing(sub)
	if err := c.checkKey(r, sub, tilda && !ping); err != nil {
		return nil, nil, err
	}
	if ping {
		return nil, []byte("ok"), nil
	}
	if reason := c.spam(sub); reason != "" {
		// Answered like a success so bots learn nothing.
		c.log.Debug("form: dropped submission", "channel", c.opts.ChannelID, "reason", reason)
		return nil, nil, nil
	}
	env, err := c.envelope(r, sub, tilda)
	if err != nil {
		return nil, nil, err
	}
	var ack []byte
	if tilda {
		ack = []byte("ok")
	}
	return []inbox.Envelope{env}, ack, nil
}

// remember fills r.PostForm and r.Form as r.ParseForm would have, had the
// body not been read already: Respond finds _redirect and Tilda's marks there.
// The API key is left out so that nothing downstream can leak it.
func remember(r *http.Request, sub *submission) {
	post := url.Values{}
	for _, f := range sub.fields {
		if !isKeyField(f.name) {
			post.Add(f.name, f.value)
		}
	}
	all := url.Values{}
	if r.URL != nil {
		for k, v := range r.URL.Query() {
			if k != "api_key" && k != "token" {
				all[k] = v
			}
		}
	}
	for k, v := range post {
		all[k] = append(all[k], v...)
	}
	r.PostForm, r.Form = post, all
}

// isTilda reports whether the fields carry Tilda's technical marks.
func isTilda(v url.Values) bool {
	return v.Get("tranid") != "" || v.Get("formid") != "" || (v.Get("test") == "test" && len(v) == 1)
}

// isPing reports Tilda's test request, sent when a webhook is added: a body
// of exactly test=test (plus the API key, when one is configured).
func isPing(sub *submission) bool {
	n := 0
	for _, f := range sub.fields {
		if !isKeyField(f.name) {
			n++
		}
	}
	v, _ := sub.get("test")
	return n == 1 && v == "test"
}

// spam returns why a submission is a bot's, or "".
func (c *Channel) spam(sub *submission) string {
	if v, _ := sub.get("_hp"); v != "" {
		return "honeypot"
	}
	ts, ok := sub.get("_ts")
	if !ok || c.opts.MinFillTime < 0 {
		return ""
	}
	// The script measures the fill time itself (_fill), which no clock skew
	// between the visitor and the hub can distort; render time against our
	// clock is the fallback.
	if fill, err := strconv.ParseInt(strings.TrimSpace(valueOf(sub, "_fill")), 10, 64); err == nil {
		if time.Duration(fill)*time.Millisecond < c.opts.MinFillTime {
			return "filled too fast"
		}
		return ""
	}
	ms, err := strconv.ParseInt(strings.TrimSpace(ts), 10, 64)
	if err != nil {
		return "unreadable _ts"
	}
	if c.opts.Now().Sub(time.UnixMilli(ms)) < c.opts.MinFillTime {
		return "filled too fast"
	}
	return ""
}

func valueOf(sub *submission, name string) string {
	v, _ := sub.get(name)
	return v
}

// technical fields steer the connector; they are neither shown as the
// customer's fields nor part of the dedupe hash.
func (c *Channel) technical(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "_hp", "_ts", "_fill", "_redirect", "cookies", "tranid", "formid",
		"page_url", "referrer", "yclid", "gclid":
		return true
	case "consent":
		return c.opts.ConsentText != ""
	}
	return strings.HasPrefix(n, "utm_") || isKeyField(n)
}

// lead is a submission mapped onto the fields leadhub knows.
type lead struct {
	name, phone, email, message string
	extra                       []field
}

func (c *Channel) mapFields(sub *submission) lead {
	var l lead
	for _, f := range sub.fields {
		if c.technical(f.name) || f.value == "" {
			continue
		}
		var slot *string
		switch c.fields[strings.ToLower(f.name)] {
		case fieldName:
			slot = &l.name
		case fieldPhone:
			slot = &l.phone
		case fieldEmail:
			slot = &l.email
		case fieldMessage:
			slot = &l.message
		}
		if slot != nil && *slot == "" {
			*slot = f.value
			continue
		}
		l.extra = append(l.extra, f)
	}
	return l
}

func (c *Channel) envelope(r *http.Request, sub *submission, tilda bool) (inbox.Envelope, error) {
	l := c.mapFields(sub)
	meta := map[string]string{}
	var ids []inbox.Identity
	// Phone first: the form vouches for neither, and a phone is the
	// stronger key to a client card.
	for _, f := range []struct {
		kind inbox.IdentityKind
		raw  string
	}{{inbox.IdentityPhone, l.phone}, {inbox.IdentityEmail, l.email}} {
		if f.raw == "" {
			continue
		}
		id, err := inbox.NewIdentity(f.kind, f.raw, c.opts.ChannelID, c.opts.Region)
		if err != nil {
			meta["unparsed_"+string(f.kind)] = f.raw
			continue
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return inbox.Envelope{}, inbox.Errorf(inbox.EINVALID, "a phone or an email is required")
	}
	now := c.opts.Now().UTC()
	var consent *inbox.Consent
	if c.opts.ConsentText != "" {
		if !truthy(valueOf(sub, "consent")) {
			return inbox.Envelope{}, inbox.Errorf(inbox.EINVALID, "consent is required")
		}
		consent = &inbox.Consent{Kind: "personal_data", TextVersion: c.consentV, GivenAt: now,
			Source: "form:" + c.opts.ChannelID}
		if page := valueOf(sub, "page_url"); page != "" {
			consent.Source = truncate(page, 1000)
		}
		// Tilda's server posts for the visitor, so its address says
		// nothing about who consented.
		if !tilda {
			// The web layer decided who the client is (the peer, or
			// what a trusted proxy says): a proxy's own address would
			// prove nothing about the person who consented.
			consent.IP = inbox.ClientAddr(r.Context())
			if consent.IP != "" {
				meta["consent_ip"] = consent.IP
			}
		}
		meta["consent_text_version"] = c.consentV
		meta["consent_given_at"] = now.Format(time.RFC3339)
	}
	for _, f := range l.extra {
		meta["field:"+f.name] = f.value
	}
	c.attribution(sub, meta)
	key := c.dedupeKey(l, ids, now)
	env := inbox.Envelope{
		ChannelID:   c.opts.ChannelID,
		ChannelType: inbox.ChannelForm,
		Kind:        inbox.KindForm,
		From:        inbox.Contact{Name: truncate(l.name, 200), Identities: ids},
		Text:        c.render(l),
		Meta:        meta,
		ReceivedAt:  now,
		Consent:     consent,
	}
	switch {
	case tilda:
		meta["form_source"] = "tilda"
		tranid := valueOf(sub, "tranid")
		if formid := valueOf(sub, "formid"); formid != "" {
			meta["tilda_formid"] = truncate(formid, maxTranIDLen)
		}
		// Tilda retries a submission with the same tranid, a minute apart:
		// keying on it keeps retries one lead even across a bucket edge.
		if tranid != "" && len(tranid) <= maxTranIDLen {
			meta["tilda_tranid"] = tranid
			env.ExternalID = tranid
			key = "form:" + c.opts.ChannelID + ":tilda:" + tranid
		}
	case valueOf(sub, "_ts") != "":
		meta["form_source"] = "embed"
	default:
		meta["form_source"] = "form"
	}
	env.DedupeKey = key
	if len(sub.files) > 0 {
		atts, err := c.save(r, sub.files)
		if err != nil {
			return inbox.Envelope{}, err
		}
		env.Attachments = atts
	}
	return env, nil
}

// dedupeKey is form:<channel>:<hash>:<bucket>. The hash covers what the
// person typed (identities normalized), not the script's timing fields or
// attribution, so a double click or a re-sent form inside one DedupeWindow
// bucket is one lead. The edge: buckets are fixed (Unix time / 5 min), so a
// repeat straddling a bucket boundary, even seconds apart, is a second lead.
func (c *Channel) dedupeKey(l lead, ids []inbox.Identity, now time.Time) string {
	parts := [][2]string{{"name", l.name}, {"message", l.message}}
	for _, id := range ids {
		parts = append(parts, [2]string{string(id.Kind), id.Value})
	}
	for _, f := range l.extra {
		parts = append(parts, [2]string{"field:" + strings.ToLower(f.name), f.value})
	}
	sort.Slice(parts, func(i, j int) bool {
		if parts[i][0] != parts[j][0] {
			return parts[i][0] < parts[j][0]
		}
		return parts[i][1] < parts[j][1]
	})
	b, _ := json.Marshal(parts) // strings only: cannot fail
	sum := sha256.Sum256(b)
	bucket := now.Unix() / int64(DedupeWindow/time.Second)
	return "form:" + c.opts.ChannelID + ":" + hex.EncodeToString(sum[:16]) + ":" + strconv.FormatInt(bucket, 10)
}

// render is the message text operators read: the known fields under their
// labels, then every other field under its own name, in the form's order.
func (c *Channel) render(l lead) string {
	var b strings.Builder
	line := func(label, v string) {
		if v == "" {
			return
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(label)
		b.WriteString(": ")
		b.WriteString(v)
	}
	line(c.labels.Name, l.name)
	line(c.labels.Phone, l.phone)
	line(c.labels.Email, l.email)
	line(c.labels.Message, l.message)
	for _, f := range l.extra {
		line(f.name, f.value)
	}
	return b.String()
}

// utmKeys are the campaign marks kept on the message.
var utmKeys = []string{"utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term", "yclid", "gclid"}

// attribution copies campaign marks into meta: explicit fields first (the
// embed script's, or hidden fields a page fills), then the query of page_url,
// then Tilda's TILDAUTM cookie.
func (c *Channel) attribution(sub *submission, meta map[string]string) {
	for _, f := range sub.fields {
		n := strings.ToLower(f.name)
		if f.value == "" {
			continue
		}
		switch {
		case strings.HasPrefix(n, "utm_"), n == "yclid", n == "gclid", n == "page_url", n == "referrer":
			if _, ok := meta[n]; !ok {
				meta[n] = f.value
			}
		}
	}
	fill := func(k, v string) {
		if v = strings.TrimSpace(v); v != "" && meta[k] == "" {
			meta[k] = truncate(v, 500)
		}
	}
	if u, err := url.Parse(meta["page_url"]); err == nil && meta["page_url"] != "" {
		q := u.Query()
		for _, k := range utmKeys {
			fill(k, q.Get(k))
		}
	}
	if cookies, ok := sub.get("cookies"); ok {
		for k, v := range tildaUTM(cookies) {
			fill(k, v)
		}
	}
}

// tildaUTM reads the marks Tilda's page script keeps in the TILDAUTM cookie:
// encodeURIComponent("utm_source=yandex|||utm_medium=cpc|||"), each pair
// copied raw from the landing URL's query (so values are percent-encoded
// once more), sent to the webhook inside the COOKIES field as the page's
// cookie string.
func tildaUTM(cookies string) map[string]string {
	out := map[string]string{}
	for _, c := range strings.Split(cookies, ";") {
		name, raw, ok := strings.Cut(strings.TrimSpace(c), "=")
		if !ok || !strings.EqualFold(name, "TILDAUTM") {
			continue
		}
		v, err := url.QueryUnescape(raw)
		if err != nil {
			v = raw
		}
		for _, pair := range strings.Split(v, "|||") {
			// Links copied from HTML sometimes carry &amp; into the query.
			pair = strings.TrimPrefix(strings.TrimSpace(pair), "amp;")
			k, val, ok := strings.Cut(pair, "=")
			k = strings.ToLower(strings.TrimSpace(k))
			if !ok || !strings.HasPrefix(k, "utm_") || len(k) > 40 {
				continue
			}
			val, _, _ = strings.Cut(val, "#")
			if d, err := url.QueryUnescape(val); err == nil {
				val = d
			}
			if _, seen := out[k]; !seen {
				out[k] = clean(val)
			}
		}
	}
	return out
}

func truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "on", "1", "true", "yes", "y", "да", "checked", "agree":
		return true
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
