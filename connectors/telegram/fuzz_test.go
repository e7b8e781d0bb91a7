package telegram

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leadhub/leadhub/inbox"
)

// FuzzParse: whatever arrives, Parse never panics, answers only with client
// errors, accepts nothing without the secret, and whatever it accepts is a
// valid envelope.
func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob("testdata/*.json")
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seeds: %v", err)
	}
	for _, name := range seeds {
		if strings.Contains(name, "-error-") {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b), true)
	}
	for _, s := range []string{`{}`, `null`, `[`, `{"update_id":1}`, `{"update_id":1,"message":null}`,
		`{"update_id":1,"message":{"message_id":1,"from":{"id":1},"chat":{"id":1,"type":"private"},"contact":{"phone_number":"+7","user_id":1}}}`} {
		f.Add(s, true)
		f.Add(s, false)
	}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		answer(w, 200, `{"ok":true,"result":{"id":7000000001,"is_bot":true,"first_name":"Hub","username":"hub_bot"}}`)
	}))
	defer api.Close()
	c, err := New(f.Context(), Options{ChannelID: "tg", Token: testToken, Secret: testSecret, APIURL: api.URL})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string, withSecret bool) {
		r := httptest.NewRequest(http.MethodPost, "/hooks/telegram/tg", strings.NewReader(body))
		if withSecret {
			r.Header.Set(SecretHeader, testSecret)
		}
		envs, _, err := c.Parse(r, []byte(body))
		if err != nil {
			switch inbox.ErrorCode(err) {
			case inbox.EINVALID, inbox.EFORBIDDEN:
			default:
				t.Fatalf("error %v is not a client error", err)
			}
			return
		}
		if !withSecret {
			t.Fatal("accepted a request without the secret")
		}
		for _, e := range envs {
			if err := e.Validate(); err != nil {
				t.Fatalf("accepted an invalid envelope: %v", err)
			}
			if _, err := e.ReceivedAt.MarshalJSON(); err != nil {
				t.Fatalf("envelope would not survive the queue: %v", err)
			}
		}
	})
}
