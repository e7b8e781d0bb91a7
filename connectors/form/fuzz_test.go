package form

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/leadhub/leadhub/inbox"
)

// FuzzParse: whatever arrives, Parse never panics, answers only with client
// errors, and whatever it accepts is a valid envelope of storable text.
func FuzzParse(f *testing.F) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".txt") {
			continue
		}
		r, body := readRequest(f, e.Name())
		f.Add(r.Header.Get("Content-Type"), string(body), r.Header.Get("Origin"))
	}
	for _, seed := range []struct{ ctype, body string }{
		{urlencoded, "test=test"},
		{urlencoded, "phone=8912&_hp=x"},
		{urlencoded, "email=a%40b.ru&_ts=1&_fill=99999"},
		{"application/json", `{"phone":"+79123456789","x":[1,"a",null]}`},
		{"application/json", `{"phone":{"a":1}}`},
		{"multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"phone\"\r\n\r\n+79123456789\r\n--b--\r\n"},
		{"", `{"email":"x@y.z"}`},
	} {
		f.Add(seed.ctype, seed.body, "")
	}
	files := &fakeFiles{}
	c := newChannel(f, func(o *Options) {
		o.Files = files
		o.MaxFileSize = 64
		o.Secret = "k"
	})
	f.Fuzz(func(t *testing.T, ctype, body, origin string) {
		r := httptest.NewRequest(http.MethodPost, "/hooks/form/site", strings.NewReader(body))
		r.Header.Set("Content-Type", ctype)
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		envs, _, err := c.Parse(r, []byte(body))
		if err != nil {
			switch inbox.ErrorCode(err) {
			case inbox.EINVALID, inbox.EUNAUTHORIZED, inbox.EFORBIDDEN, inbox.ETOOLARGE:
			default:
				t.Fatalf("error %v is not a client error", err)
			}
			return
		}
		for _, e := range envs {
			if err := e.Validate(); err != nil {
				t.Fatalf("accepted an invalid envelope: %v", err)
			}
			if !utf8.ValidString(e.Text) || strings.ContainsRune(e.Text, 0) || e.Text == "" {
				t.Fatalf("text is not storable: %q", e.Text)
			}
			for k, v := range e.Meta {
				if !utf8.ValidString(k) || !utf8.ValidString(v) || strings.ContainsRune(k+v, 0) {
					t.Fatalf("meta %q = %q is not storable", k, v)
				}
			}
		}
		w := httptest.NewRecorder()
		c.Respond(w, r, envs)
		if loc := w.Header().Get("Location"); loc != "" && loc != c.opts.RedirectURL && !strings.HasPrefix(loc, "https://shop.example.com/") && !strings.HasPrefix(loc, "http://localhost:8081/") {
			t.Fatalf("redirect to %q", loc)
		}
	})
}
