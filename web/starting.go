package web

import (
	"net/http"

	"github.com/leadhub/leadhub/inbox"
)

// StartingHandler answers while the hub waits for its database and queue:
// /healthz says the process is alive (restarting it would not bring the
// database back), /readyz and every other route answer 503 with why, so
// that a load balancer sends nothing here yet and providers retry their
// webhooks later. why must name what is awaited, never a secret.
func StartingHandler(why func() string) http.Handler {
	return securityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			_, _ = w.Write([]byte("ok\n"))
			return
		}
		w.Header().Set("Retry-After", "5")
		answerError(w, r, inbox.Errorf(inbox.EUNAVAILABLE, "not ready: starting: %s", why()))
	}))
}
