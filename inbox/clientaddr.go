package inbox

import "context"

type clientAddrKey struct{}

// WithClientAddr records the address of the client behind a request. The
// web layer calls it once per request, in its middleware, after deciding
// which address to believe (the TCP peer, or what a trusted proxy says);
// everything that needs the client's address (rate limits, the login
// lockout, sessions, the audit log, consent records) reads it back with
// ClientAddr, so that no two places can disagree about who the client is.
func WithClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

// ClientAddr returns the client address WithClientAddr recorded, or ""
// when the request did not come through the web layer (a test calling a
// connector directly): nothing is then known about the client, and nothing
// should be recorded.
func ClientAddr(ctx context.Context) string {
	s, _ := ctx.Value(clientAddrKey{}).(string)
	return s
}
