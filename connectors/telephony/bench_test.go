package telephony

import (
	"io"
	"net/http"
	"testing"
)

// BenchmarkParse is the channel's share of POST /hooks/telephony/<channel>,
// one sub-benchmark per provider, each a call event that is filed: the
// generic signed JSON (an answered call that ended), Zadarma's NOTIFY_END
// form (HMAC-SHA1 over its fields) and Mango's events/call (SHA-256 over
// key, json and salt, the json decoded). The number is normalized and the
// operator found by extension in each.
//
//	go test -run '^$' -bench Parse ./connectors/telephony/
func BenchmarkParse(b *testing.B) {
	b.Run("generic", func(b *testing.B) {
		body := read(b, "generic-ended.json")
		benchParse(b, newChannel(b, ProviderGeneric), genericRequest(body, genericSecret), body)
	})
	b.Run("zadarma", func(b *testing.B) {
		body := read(b, "zadarma-notify-end.txt")
		benchParse(b, newChannel(b, ProviderZadarma), zadarmaRequest(b, body, zadarmaSecret), body)
	})
	b.Run("mango", func(b *testing.B) {
		r := mangoFixture(b, "mango-events-call.txt")
		body, err := io.ReadAll(r.Body)
		if err != nil {
			b.Fatal(err)
		}
		benchParse(b, newChannel(b, ProviderMango), r, body)
	})
}

// benchParse parses one request over and over: Parse reads the headers, the
// path and the body it is handed, never r.Body.
func benchParse(b *testing.B, c *Channel, r *http.Request, body []byte) {
	b.ReportAllocs()
	for b.Loop() {
		envs, _, err := c.Parse(r, body)
		if err != nil || len(envs) != 1 || envs[0].Call == nil {
			b.Fatal(envs, err)
		}
	}
}
