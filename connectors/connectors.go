// Package connectors holds what every channel connector shares. Each
// connector lives in a sub-package and turns what its provider sends into
// inbox.Envelope values (Parse for webhooks, Run for pollers) and sends
// operators' replies back (Send).
//
// Dedupe keys, one scheme per channel, so provider retries and queue
// redeliveries file nothing twice:
//
//	api:<channel>:<caller's id>
//	tg:<channel>:<update_id>
//	vk:<channel>:<event_id>
//	email:<channel>:<Message-ID>   (a mail without one gets <hash of its bytes>@no-message-id.leadhub.invalid, so a re-scan finds it again)
//	call:<channel>:<call id>:<event>
//	form:<channel>:<hash of fields>:<5-minute bucket>   (Tilda: form:<channel>:tilda:<tranid>)
package connectors

import (
	"errors"
	"net/url"
	"strings"

	"github.com/leadhub/leadhub/inbox"
)

// SignatureHeader carries "sha256=<hex HMAC-SHA256 of the body>".
const SignatureHeader = "X-Leadhub-Signature"

// Sign returns the SignatureHeader value for body under secret (the same
// scheme signs outgoing webhooks).
func Sign(secret string, body []byte) string { return inbox.SignWebhook(secret, body) }

// VerifySignature reports whether header is body's signature under secret,
// comparing in constant time so the comparison leaks nothing.
func VerifySignature(secret string, body []byte, header string) bool {
	return inbox.VerifyWebhook(secret, body, header)
}

// redacted is an error whose text has secrets scrubbed out. The library's
// own error stays reachable through Unwrap for errors.Is and errors.As.
type redacted struct {
	msg string
	err error
}

func (e *redacted) Error() string { return e.msg }
func (e *redacted) Unwrap() error { return e.err }

// Redact hides secrets in err's text (a provider may echo a token back, and
// a *url.Error prints the URL that may hold one), keeping err reachable.
func Redact(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = Scrub(ue.URL, secrets...)
	}
	return &redacted{msg: Scrub(err.Error(), secrets...), err: err}
}

// Scrub replaces every secret, as written and URL-encoded, in s.
func Scrub(s string, secrets ...string) string {
	for _, t := range secrets {
		if t == "" {
			continue
		}
		s = strings.ReplaceAll(s, t, "<token>")
		s = strings.ReplaceAll(s, url.QueryEscape(t), "<token>")
	}
	return s
}
