package api

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/leadhub/leadhub/connectors"
	"github.com/leadhub/leadhub/inbox"
)

// FuzzParse: whatever arrives, Parse never panics, answers only with client
// errors, and whatever it accepts is a valid envelope.
func FuzzParse(f *testing.F) {
	real, err := os.ReadFile("testdata/message.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{string(real), `{}`, `{"id":"1","from":{"phone":"8 912 345-67-89"},"text":"x"}`, `[`, `{"id":1}`, `null`} {
		f.Add(seed, true)
		f.Add(seed, false)
	}
	c, err := New(Options{ChannelID: "crm", Secret: secret})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string, sign bool) {
		r := httptest.NewRequest(http.MethodPost, "/hooks/api/crm", strings.NewReader(body))
		if sign {
			r.Header.Set(connectors.SignatureHeader, connectors.Sign(secret, []byte(body)))
		}
		envs, _, err := c.Parse(r, []byte(body))
		if err != nil {
			switch inbox.ErrorCode(err) {
			case inbox.EINVALID, inbox.EUNAUTHORIZED:
			default:
				t.Fatalf("error %v is not a client error", err)
			}
			return
		}
		if !sign {
			t.Fatal("unsigned body accepted")
		}
		for _, e := range envs {
			if err := e.Validate(); err != nil {
				t.Fatalf("accepted an invalid envelope: %v", err)
			}
		}
	})
}
