package vk

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leadhub/leadhub/inbox"
)

// FuzzParse: whatever arrives, Parse never panics, answers only with client
// errors, accepts nothing without the group and secret, acks with "ok" or
// the confirmation code, and whatever it accepts is a valid envelope.
func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob("testdata/*.json")
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seeds: %v", err)
	}
	for _, name := range seeds {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
		// The real samples with this channel's group and secret.
		s := strings.Replace(string(b), `"type"`, `"secret": "s3cret_key", "type"`, 1)
		f.Add(s)
	}
	for _, s := range []string{`{}`, `null`, `[`, `{"type":"message_new","group_id":183287114,"secret":"s3cret_key"}`,
		`{"type":"message_new","group_id":183287114,"secret":"s3cret_key","object":{"message":null}}`,
		`{"type":"message_new","group_id":183287114,"secret":"s3cret_key","object":{"from_id":1,"peer_id":1,"attachments":[{"type":"photo","photo":{"sizes":"x"}}]}}`,
		`{"type":"confirmation","group_id":183287114,"secret":"s3cret_key"}`} {
		f.Add(s)
	}
	c := newTestChannel(f, testGroup, testSecret, nil)
	f.Fuzz(func(t *testing.T, body string) {
		envs, ack, err := parse(c, []byte(body))
		if err != nil {
			switch inbox.ErrorCode(err) {
			case inbox.EINVALID, inbox.EFORBIDDEN:
			default:
				t.Fatalf("error %v is not a client error", err)
			}
			return
		}
		if !strings.Contains(body, testSecret) {
			t.Fatal("accepted a request without the secret")
		}
		if string(ack) != "ok" && string(ack) != "conf-code" {
			t.Fatalf("ack %q", ack)
		}
		for _, e := range envs {
			if err := e.Validate(); err != nil {
				t.Fatalf("accepted an invalid envelope: %v\n%+v", err, e)
			}
			if !strings.HasPrefix(e.DedupeKey, "vk:vk:") || e.ChannelType != inbox.ChannelVK {
				t.Fatalf("envelope %+v", e)
			}
		}
	})
}
