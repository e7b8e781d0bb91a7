package telephony

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/leadhub/leadhub/connectors"
	"github.com/leadhub/leadhub/inbox"
)

const (
	genericSecret = "test-generic-secret"
	zadarmaSecret = "test-zadarma-secret"
	mangoKey      = "2fn293fg43gfh02h4ub3jd23o312u4bc"
	mangoSalt     = "test-mango-salt"
)

var extensions = map[string]string{"101": "olga@example.com"}

func newChannel(t testing.TB, provider string, mod ...func(*Options)) *Channel {
	t.Helper()
	o := Options{ChannelID: "pbx", Provider: provider, Secret: genericSecret, Extensions: extensions,
		Now: func() time.Time { return time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC) }}
	switch provider {
	case ProviderZadarma:
		o.Secret, o.APIKey = zadarmaSecret, "zd-user-key"
	case ProviderMango:
		o.APIKey, o.APISalt = mangoKey, mangoSalt
	}
	for _, m := range mod {
		m(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func one(t *testing.T) func([]inbox.Envelope, []byte, error) inbox.Envelope {
	t.Helper()
	return func(envs []inbox.Envelope, _ []byte, err error) inbox.Envelope {
		t.Helper()
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if len(envs) != 1 {
			t.Fatalf("Parse returned %d envelopes, want 1", len(envs))
		}
		if err := envs[0].Validate(); err != nil {
			t.Fatalf("envelope invalid: %v", err)
		}
		return envs[0]
	}
}

func TestZadarmaSignatureVector(t *testing.T) {
	got := zadarmaSign(zadarmaSecret, "+79313601777795876283852020-02-01 11:40:59")
	if want := "ODFiMzg0ZDMyMTFjMjQ0M2VhMmEwOThkYjgyNDZmNTg1MDZhZjhkMQ=="; got != want {
		t.Fatalf("zadarmaSign = %s, want %s", got, want)
	}
}

// zadarmaRequest posts body signed as Zadarma signs its event.
func zadarmaRequest(t testing.TB, body []byte, secret string) *http.Request {
	t.Helper()
	form, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatal(err)
	}
	var s strings.Builder
	for _, f := range zadarmaSigned[form.Get("event")] {
		s.WriteString(form.Get(f))
	}
	r := httptest.NewRequest(http.MethodPost, "/hooks/telephony/pbx", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Signature", zadarmaSign(secret, s.String()))
	return r
}

func TestZadarmaEvents(t *testing.T) {
	c := newChannel(t, ProviderZadarma)
	for _, tc := range []struct {
		file, event, key, ext, disp string
		dir                         inbox.Direction
		phone                       string
	}{
		{"zadarma-notify-start.txt", "ringing", "NOTIFY_START", "", "", inbox.DirectionIn, "+79313601777"},
		{"zadarma-notify-internal.txt", "ringing", "NOTIFY_INTERNAL:101", "101", "", inbox.DirectionIn, "+79313601777"},
		{"zadarma-notify-answer.txt", "answered", "NOTIFY_ANSWER:101", "101", "", inbox.DirectionIn, "+79313601777"},
		{"zadarma-notify-end.txt", "ended", "NOTIFY_END", "101", "answered", inbox.DirectionIn, "+79313601777"},
		{"zadarma-notify-end-missed.txt", "ended", "NOTIFY_END", "", "missed", inbox.DirectionIn, "+79313601777"},
		{"zadarma-notify-out-start.txt", "ringing", "NOTIFY_OUT_START", "101", "", inbox.DirectionOut, "+79313601777"},
		{"zadarma-notify-out-end.txt", "ended", "NOTIFY_OUT_END", "101", "answered", inbox.DirectionOut, "+79313601777"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			body := read(t, tc.file)
			envs, ack, err := c.Parse(zadarmaRequest(t, body, zadarmaSecret), body)
			env := one(t)(envs, ack, err)
			if ack == nil || len(ack) != 0 {
				t.Errorf("ack = %q, want an empty body", ack)
			}
			form, _ := url.ParseQuery(string(body))
			call := env.Call
			if call.ID != form.Get("pbx_call_id") || call.Event != tc.event || call.Direction != tc.dir ||
				call.Extension != tc.ext || call.Disposition != tc.disp {
				t.Errorf("call = %+v", call)
			}
			if want := "call:pbx:" + form.Get("pbx_call_id") + ":" + tc.key; env.DedupeKey != want {
				t.Errorf("dedupe key = %s, want %s", env.DedupeKey, want)
			}
			if id := env.From.Identities[0]; id.Kind != inbox.IdentityPhone || id.Value != tc.phone {
				t.Errorf("identity = %+v, want phone %s", id, tc.phone)
			}
			if tc.ext == "101" && call.Operator != "olga@example.com" {
				t.Errorf("operator = %q", call.Operator)
			}
			// Wrong secret, and a signed field changed after signing.
			if _, _, err := c.Parse(zadarmaRequest(t, body, "other-secret"), body); inbox.ErrorCode(err) != inbox.EUNAUTHORIZED {
				t.Errorf("wrong secret: err = %v, want EUNAUTHORIZED", err)
			}
			r := zadarmaRequest(t, body, zadarmaSecret)
			forged := bytes.Replace(body, []byte("79313601777"), []byte("79990000000"), 1)
			if _, _, err := c.Parse(r, forged); inbox.ErrorCode(err) != inbox.EUNAUTHORIZED {
				t.Errorf("forged number: err = %v, want EUNAUTHORIZED", err)
			}
		})
	}
	t.Run("recording number", func(t *testing.T) {
		body := read(t, "zadarma-notify-end.txt")
		env := one(t)(c.Parse(zadarmaRequest(t, body, zadarmaSecret), body))
		if env.Call.Recording != "1580546459.3126845" || env.Call.Duration != 95 {
			t.Errorf("call = %+v", env.Call)
		}
	})
}

func TestZadarmaEchoRecordAndUnknown(t *testing.T) {
	c := newChannel(t, ProviderZadarma)
	r := httptest.NewRequest(http.MethodGet, "/hooks/telephony/pbx?zd_echo=f3a9c1", nil)
	envs, ack, err := c.Parse(r, nil)
	if err != nil || len(envs) != 0 || string(ack) != "f3a9c1" {
		t.Errorf("zd_echo: envs %d ack %q err %v", len(envs), ack, err)
	}
	body := read(t, "zadarma-notify-record.txt")
	if envs, _, err := c.Parse(zadarmaRequest(t, body, zadarmaSecret), body); err != nil || len(envs) != 0 {
		t.Errorf("NOTIFY_RECORD: envs %d err %v; want nothing filed, 200", len(envs), err)
	}
	unknown := []byte("event=NOTIFY_SOMETHING_NEW&pbx_call_id=x")
	if envs, _, err := c.Parse(zadarmaRequest(t, unknown, zadarmaSecret), unknown); err != nil || len(envs) != 0 {
		t.Errorf("unknown event: envs %d err %v; want nothing filed, 200", len(envs), err)
	}
}

// mangoRequest reads an HTTP request as the fixture writes it.
func mangoFixture(t testing.TB, name string) *http.Request {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(read(t, name))))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mangoBody(key, salt, js string) []byte {
	return []byte(url.Values{"vpbx_api_key": {key}, "sign": {mangoSign(key, js, salt)}, "json": {js}}.Encode())
}

func mangoPost(path string, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/hooks/telephony/pbx"+path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func TestMangoEvents(t *testing.T) {
	c := newChannel(t, ProviderMango)
	t.Run("fixture events/call", func(t *testing.T) {
		r := mangoFixture(t, "mango-events-call.txt")
		body, _ := io.ReadAll(r.Body)
		env := one(t)(c.Parse(r, body))
		call := env.Call
		if call.ID != "MzUyODbvczg4OTo0MDE=" || call.Event != inbox.CallRinging || call.Direction != inbox.DirectionIn ||
			call.Extension != "101" || call.Operator != "olga@example.com" || call.From != "74991102914" {
			t.Errorf("call = %+v", call)
		}
		if env.DedupeKey != "call:pbx:MzUyODbvczg4OTo0MDE=:call:MzUyODbvczg4OTo0MDEMzUyODbvczg4O:1" {
			t.Errorf("dedupe key = %s", env.DedupeKey)
		}
		if id := env.From.Identities[0]; id.Value != "+74991102914" {
			t.Errorf("identity = %+v", id)
		}
		// The same body with one byte of json changed, and the right json
		// under another key.
		form, _ := url.ParseQuery(string(body))
		form.Set("json", strings.Replace(form.Get("json"), "74991102914", "74991102915", 1))
		if _, _, err := c.Parse(mangoPost("/events/call", []byte(form.Encode())), []byte(form.Encode())); inbox.ErrorCode(err) != inbox.EUNAUTHORIZED {
			t.Errorf("changed json: err = %v", err)
		}
		other := mangoBody("another-key", mangoSalt, `{"entry_id":"x"}`)
		if _, _, err := c.Parse(mangoPost("/events/call", other), other); inbox.ErrorCode(err) != inbox.EUNAUTHORIZED {
			t.Errorf("other key: err = %v", err)
		}
	})
	t.Run("summary missed", func(t *testing.T) {
		js := `{"entry_id":"MzUyODbvczg4OTo0MDE=","call_direction":1,"from":{"number":"74991102914"},"to":{"extension":"101","number":"74952129298"},"line_number":"74952129298","create_time":1522347638,"forward_time":1522347640,"talk_time":0,"end_time":1522347660,"entry_result":0,"disconnect_reason":1110}`
		body := mangoBody(mangoKey, mangoSalt, js)
		env := one(t)(c.Parse(mangoPost("/events/summary", body), body))
		if !env.Call.Missed() || env.DedupeKey != "call:pbx:MzUyODbvczg4OTo0MDE=:summary" {
			t.Errorf("env = %s %+v, want a missed call", env.DedupeKey, env.Call)
		}
	})
	t.Run("ping and recordings", func(t *testing.T) {
		body := mangoBody(mangoKey, mangoSalt, `{}`)
		if envs, _, err := c.Parse(mangoPost("/ping", body), body); err != nil || len(envs) != 0 {
			t.Errorf("ping: %d %v", len(envs), err)
		}
		body = mangoBody(mangoKey, mangoSalt, `{"recording_id":"MToxMDE=","recording_state":"Started","entry_id":"MzUyODbvczg4OTo0MDE=","call_id":"a","extension":"101","timestamp":1522347650,"recipient":"Cloud"}`)
		if envs, _, err := c.Parse(mangoPost("/events/recording", body), body); err != nil || len(envs) != 0 {
			t.Errorf("recording started: %d %v, want nothing filed", len(envs), err)
		}
		body = mangoBody(mangoKey, mangoSalt, `{"recording_id":"MToxMDE=","recording_state":"Completed","entry_id":"MzUyODbvczg4OTo0MDE=","call_id":"a","extension":"101","timestamp":1522347670,"completion_code":1000,"recipient":"Cloud"}`)
		env := one(t)(c.Parse(mangoPost("/events/recording", body), body))
		if env.Call.Recording != "MToxMDE=" || env.Call.ID != "MzUyODbvczg4OTo0MDE=" || len(env.From.Identities) != 0 ||
			env.DedupeKey != "call:pbx:MzUyODbvczg4OTo0MDE=:recording:MToxMDE=" {
			t.Errorf("recording completed: %+v %+v", env, env.Call)
		}
	})
}

func genericRequest(body []byte, secret string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/hooks/telephony/pbx", bytes.NewReader(body))
	r.Header.Set(connectors.SignatureHeader, connectors.Sign(secret, body))
	return r
}

func TestGenericEvents(t *testing.T) {
	c := newChannel(t, ProviderGeneric)
	body := read(t, "generic-ringing.json")
	env := one(t)(c.Parse(genericRequest(body, genericSecret), body))
	if env.DedupeKey != "call:pbx:1733234400.1532:ringing:101" || env.Call.Operator != "olga@example.com" ||
		env.From.Identities[0].Value != "+79123456789" {
		t.Errorf("env = %s %+v %+v", env.DedupeKey, env.Call, env.From)
	}
	body = read(t, "generic-ended.json")
	env = one(t)(c.Parse(genericRequest(body, genericSecret), body))
	if env.Call.Outcome() != inbox.DispositionAnswered || env.Call.Talk() != 155*time.Second ||
		!strings.HasSuffix(env.Call.RecordingURL, ".mp3") {
		t.Errorf("call = %+v", env.Call)
	}
	if _, _, err := c.Parse(genericRequest(body, "wrong"), body); inbox.ErrorCode(err) != inbox.EUNAUTHORIZED {
		t.Errorf("wrong signature: %v", err)
	}
	unknown := []byte(`{"call_id":"1","event":"transfer_requested","from":"+79123456789"}`)
	if envs, _, err := c.Parse(genericRequest(unknown, genericSecret), unknown); err != nil || len(envs) != 0 {
		t.Errorf("unknown event: %d %v", len(envs), err)
	}
	// A number that does not parse: the call is kept with the raw number
	// under an identity of the channel, which matches no card by phone.
	raw := []byte(`{"call_id":"2","event":"ended","from":"anonymous-trunk-7","disposition":"no answer"}`)
	env = one(t)(c.Parse(genericRequest(raw, genericSecret), raw))
	if id := env.From.Identities[0]; id.Kind != inbox.IdentityExternal || env.Meta["unparsed_phone"] != "anonymous-trunk-7" || !env.Call.Missed() {
		t.Errorf("unparsed number: %+v %v %+v", id, env.Meta, env.Call)
	}
}

func TestClickToCall(t *testing.T) {
	ctx := context.Background()
	t.Run("zadarma", func(t *testing.T) {
		var got url.Values
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Zadarma's check: key:base64(hex(hmac-sha1(method+params+md5(params)))).
			q := r.URL.RawQuery
			sum := md5.Sum([]byte(q))
			want := "zd-user-key:" + zadarmaSign(zadarmaSecret, r.URL.Path+q+hex.EncodeToString(sum[:]))
			if r.URL.Path != "/v1/request/callback/" || r.Header.Get("Authorization") != want {
				w.WriteHeader(401)
				_, _ = io.WriteString(w, `{"status":"error","message":"Not authorized"}`)
				return
			}
			got = r.URL.Query()
			_, _ = io.WriteString(w, `{"status":"success","from":101,"to":"79313601777","time":1580546459}`)
		}))
		defer srv.Close()
		c := newChannel(t, ProviderZadarma, func(o *Options) { o.APIURL = srv.URL })
		if err := c.Call(ctx, "101", "+79313601777"); err != nil {
			t.Fatal(err)
		}
		if got.Get("from") != "101" || got.Get("to") != "+79313601777" {
			t.Errorf("request = %v", got)
		}
		health := inbox.NewHealthBoard(nil)
		bad := newChannel(t, ProviderZadarma, func(o *Options) { o.APIURL, o.Secret, o.Health = srv.URL, "wrong-secret", health })
		err := bad.Call(ctx, "101", "+79313601777")
		if err == nil || strings.Contains(err.Error(), "wrong-secret") {
			t.Errorf("wrong secret: err = %v; want an error without the secret", err)
		}
		if h := health.Get("pbx"); h.State != inbox.HealthDegraded || strings.Contains(h.Error, "wrong-secret") {
			t.Errorf("health after a refused call = %+v", h)
		}
	})
	t.Run("mango", func(t *testing.T) {
		var payload map[string]any
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			js := r.PostForm.Get("json")
			if r.URL.Path != "/commands/callback" || r.PostForm.Get("vpbx_api_key") != mangoKey ||
				r.PostForm.Get("sign") != mangoSign(mangoKey, js, mangoSalt) {
				w.WriteHeader(401)
				return
			}
			_ = json.Unmarshal([]byte(js), &payload)
			_, _ = io.WriteString(w, `{"result":1000}`)
		}))
		defer srv.Close()
		c := newChannel(t, ProviderMango, func(o *Options) { o.APIURL = srv.URL })
		if err := c.Call(ctx, "101", "+79313601777"); err != nil {
			t.Fatal(err)
		}
		if payload["to_number"] != "79313601777" || payload["from"].(map[string]any)["extension"] != "101" {
			t.Errorf("payload = %v", payload)
		}
		bad := newChannel(t, ProviderMango, func(o *Options) { o.APIURL, o.APISalt = srv.URL, "wrong-salt" })
		if err := bad.Call(ctx, "101", "+79313601777"); err == nil || strings.Contains(err.Error(), "wrong-salt") || strings.Contains(err.Error(), mangoKey) {
			t.Errorf("wrong salt: err = %v", err)
		}
	})
	t.Run("generic", func(t *testing.T) {
		var got GenericCallRequest
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			if !connectors.VerifySignature(genericSecret, b, r.Header.Get(connectors.SignatureHeader)) {
				w.WriteHeader(401)
				return
			}
			_ = json.Unmarshal(b, &got)
		}))
		defer srv.Close()
		c := newChannel(t, ProviderGeneric, func(o *Options) { o.CallURL = srv.URL + "/dial?token=s3cr3t" })
		if err := c.Call(ctx, "101", "+79313601777"); err != nil {
			t.Fatal(err)
		}
		if got.Extension != "101" || got.Number != "+79313601777" {
			t.Errorf("request = %+v", got)
		}
		srv.Close()
		if err := c.Call(ctx, "101", "+79313601777"); err == nil || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("unreachable: err = %v; want an error without the URL's token", err)
		}
	})
}
