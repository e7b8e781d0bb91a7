package telephony

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/leadhub/leadhub/inbox"
)

// checkParse: whatever arrives, Parse never panics, answers only with client
// errors, and whatever it accepts is a valid call envelope.
func checkParse(t *testing.T, c *Channel, r *http.Request, body []byte) {
	envs, _, err := c.Parse(r, body)
	if err != nil {
		switch inbox.ErrorCode(err) {
		case inbox.EINVALID, inbox.EUNAUTHORIZED:
		default:
			t.Fatalf("error %v is not a client error", err)
		}
		return
	}
	for _, e := range envs {
		if err := e.Validate(); err != nil {
			t.Fatalf("accepted an invalid envelope: %v", err)
		}
	}
}

func FuzzGeneric(f *testing.F) {
	for _, s := range []string{string(read(f, "generic-ringing.json")), string(read(f, "generic-ended.json")), `{}`, `[`,
		`{"call_id":"1","event":"ended","direction":"sideways","from":"x"}`} {
		f.Add(s)
	}
	c := newChannel(f, ProviderGeneric)
	f.Fuzz(func(t *testing.T, body string) {
		checkParse(t, c, genericRequest([]byte(body), genericSecret), []byte(body))
	})
}

func FuzzZadarma(f *testing.F) {
	for _, name := range []string{"zadarma-notify-start.txt", "zadarma-notify-end.txt", "zadarma-notify-out-end.txt", "zadarma-notify-record.txt"} {
		f.Add(string(read(f, name)))
	}
	f.Add("event=NOTIFY_END&pbx_call_id=&caller_id=%ZZ")
	c := newChannel(f, ProviderZadarma)
	f.Fuzz(func(t *testing.T, body string) {
		if _, err := url.ParseQuery(body); err != nil {
			r := httptest.NewRequest(http.MethodPost, "/hooks/telephony/pbx", strings.NewReader(body))
			checkParse(t, c, r, []byte(body))
			return
		}
		checkParse(t, c, zadarmaRequest(t, []byte(body), zadarmaSecret), []byte(body))
	})
}

func FuzzMango(f *testing.F) {
	r := mangoFixture(f, "mango-events-call.txt")
	if err := r.ParseForm(); err != nil {
		f.Fatal(err)
	}
	form := r.PostForm
	f.Add("/events/call", form.Get("json"))
	f.Add("/events/summary", `{"entry_id":"e","call_direction":1,"from":{"number":"74991102914"},"entry_result":0}`)
	f.Add("", `{"call_state":"Connected","entry_id":"e","from":{"extension":"101"},"to":{"number":"+7 (912) 345"}}`)
	c := newChannel(f, ProviderMango)
	f.Fuzz(func(t *testing.T, path, js string) {
		body := mangoBody(mangoKey, mangoSalt, js)
		r := httptest.NewRequest(http.MethodPost, "/hooks/telephony/pbx", strings.NewReader(string(body)))
		r.URL.Path += path
		checkParse(t, c, r, body)
	})
}
