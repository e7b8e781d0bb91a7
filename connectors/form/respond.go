package form

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/leadhub/leadhub/inbox"
)

// normalizeOrigin returns "scheme://host[:port]" lower-cased, without a
// default port, or false when s is not an http(s) origin (a path, a query,
// user info or no host).
func normalizeOrigin(s string) (string, bool) {
	u, err := url.Parse(strings.TrimSuffix(strings.TrimSpace(s), "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", false
	}
	host := strings.ToLower(u.Host)
	scheme := strings.ToLower(u.Scheme)
	if (scheme == "https" && strings.HasSuffix(host, ":443")) || (scheme == "http" && strings.HasSuffix(host, ":80")) {
		host = host[:strings.LastIndexByte(host, ':')]
	}
	return scheme + "://" + host, true
}

// absoluteHTTP parses s as an absolute http(s) URL with a host and no user
// info.
func absoluteHTTP(s string) (*url.URL, bool) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, false
	}
	return u, true
}

// originAllowed reports whether origin is one of AllowedOrigins exactly
// (scheme, host and port); "*" is not consulted here.
func (c *Channel) originAllowed(origin string) bool {
	n, ok := normalizeOrigin(origin)
	return ok && c.origins[n]
}

// postAllowed decides browser posts: only from allowed origins, "*" or the
// hub's own pages.
func (c *Channel) postAllowed(origin string) bool {
	if c.anyOrigin || c.originAllowed(origin) {
		return true
	}
	n, ok := normalizeOrigin(origin)
	return ok && c.self != "" && n == c.self
}

// CORS lets pages of the allowed origins post and read the answer. It is
// called for every request to the channel, errors and preflights included.
// Other origins get no Access-Control-Allow-Origin, and "*" is sent only when
// AllowedOrigins says "*".
func (c *Channel) CORS(r *http.Request, h http.Header) {
	h.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	switch {
	case origin == "":
		return
	case c.anyOrigin:
		h.Set("Access-Control-Allow-Origin", "*")
	case c.originAllowed(origin):
		h.Set("Access-Control-Allow-Origin", origin)
	default:
		return
	}
	h.Set("Access-Control-Allow-Methods", "POST")
	h.Set("Access-Control-Allow-Headers", "Content-Type, X-Requested-With")
	h.Set("Access-Control-Max-Age", "3600")
}

// Respond answers a submission once its envelopes are durably queued (or
// were dropped as spam): Tilda gets "ok", a plain HTML form is sent to the
// thank-you page with a 303, and scripts get {"ok":true}. It reads the
// fields Parse left in r.PostForm, so it must get the request Parse got.
func (c *Channel) Respond(w http.ResponseWriter, r *http.Request, envs []inbox.Envelope) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	switch {
	case isTilda(r.PostForm):
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("ok"))
	case navigation(r):
		if to := c.redirectTarget(r); to != "" {
			h.Set("Location", to)
			w.WriteHeader(http.StatusSeeOther)
			return
		}
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", "default-src 'none'")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(c.labels.ThanksPage))
	default:
		h.Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("{\"ok\":true}\n"))
	}
}

// navigation reports a browser submitting a plain HTML form (the page
// navigates) rather than a script calling fetch or XHR.
func navigation(r *http.Request) bool {
	if m := r.Header.Get("Sec-Fetch-Mode"); m != "" {
		return m == "navigate"
	}
	if r.Header.Get("X-Requested-With") != "" {
		return false
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// redirectTarget is where a plain HTML form goes after posting. A form's
// own _redirect is followed only to an origin listed in AllowedOrigins ("*"
// does not count), so the hub never becomes an open redirect; the
// configured RedirectURL is trusted.
func (c *Channel) redirectTarget(r *http.Request) string {
	if to := strings.TrimSpace(r.PostForm.Get("_redirect")); to != "" {
		if u, ok := absoluteHTTP(to); ok && c.originAllowed(u.Scheme+"://"+u.Host) {
			return u.String()
		}
	}
	return c.opts.RedirectURL
}
