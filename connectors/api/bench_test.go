package api

import (
	"os"
	"testing"

	"github.com/leadhub/leadhub/connectors"
)

// BenchmarkParse is the channel's share of POST /hooks/api/<channel>: the
// HMAC check of the body and its decoding into an envelope, with a phone, an
// email and an external id normalized. The body is the realistic message of
// TestParseRealisticMessage.
//
//	go test -run '^$' -bench Parse ./connectors/api/
func BenchmarkParse(b *testing.B) {
	body, err := os.ReadFile("testdata/message.json")
	if err != nil {
		b.Fatal(err)
	}
	c := newChannel(b, "")
	// Parse reads only the header and the body it is handed, so one
	// request serves every iteration.
	r := signed(body, connectors.Sign(secret, body))
	b.ReportAllocs()
	for b.Loop() {
		envs, _, err := c.Parse(r, body)
		if err != nil || len(envs) != 1 || len(envs[0].From.Identities) != 3 {
			b.Fatal(envs, err)
		}
	}
}
