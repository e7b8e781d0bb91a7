package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/leadhub/leadhub/inbox"
)

// clientAddress is the one place that decides a request's client address;
// the clientAddr middleware records its answer in the request context
// (inbox.WithClientAddr) and everything else reads it from there.
//
// The TCP peer is the client unless it is one of the trusted proxies. Only
// then are X-Forwarded-For and X-Real-IP read: anyone can send those
// headers, and believing them from anyone would make the rate limits and
// the login lockout free to evade, and let a client frame another address.
//
// X-Forwarded-For is read from the right. Every proxy appends the address
// it got the connection from, so the right-most entries are written by our
// own proxies, while everything to the left of what our outermost proxy
// appended is whatever the client chose to send. The first entry from the
// right that is not itself a trusted proxy is therefore the address that
// connected to our outermost proxy: the client, as far as anyone can know.
// The left-most entry, which naive code takes, is the one a client can
// forge freely.
func clientAddress(r *http.Request, trusted []netip.Prefix) string {
	peer, ok := parseAddr(r.RemoteAddr)
	if !ok {
		// Not an IP (a unix socket, a test's made-up RemoteAddr): what
		// there is, is all that is known.
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			return r.RemoteAddr
		}
		return host
	}
	if !isTrusted(peer, trusted) {
		return peer.String()
	}
	// Several X-Forwarded-For lines are one list, in order (RFC 9110 §5.3).
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	addr := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseAddr(strings.TrimSpace(hops[i]))
		if !ok {
			// A trusted proxy writes its peer's address, always valid;
			// garbage was written by someone else. Stop at the last
			// address a trusted hop vouched for.
			return addr.String()
		}
		addr = a
		if !isTrusted(a, trusted) {
			return a.String()
		}
	}
	if len(hops) > 0 {
		// Every hop is one of ours (a client inside the proxies' own
		// network): the left-most is where the request started.
		return addr.String()
	}
	if a, ok := parseAddr(strings.TrimSpace(r.Header.Get("X-Real-IP"))); ok {
		return a.String()
	}
	return peer.String()
}

// parseAddr reads an address as proxies write it: "203.0.113.7",
// "2001:db8::1", with a port ("203.0.113.7:5000", "[2001:db8::1]:5000")
// or not. IPv4-mapped IPv6 addresses are taken as the IPv4 address they
// are, so a dual-stack listener does not make one client two.
func parseAddr(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddr records every request's client address in its context, once,
// before any handler runs.
func (s *Server) clientAddr(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := inbox.WithClientAddr(r.Context(), clientAddress(r, s.trustedProxies))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// clientIP is the request's client address as the clientAddr middleware
// decided it. A request that did not pass the middleware (a handler called
// directly) gets the same function's answer without trusted proxies.
func clientIP(r *http.Request) string {
	if a := inbox.ClientAddr(r.Context()); a != "" {
		return a
	}
	return clientAddress(r, nil)
}
