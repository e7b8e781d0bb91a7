package form

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// The web layer's optional interfaces, restated so a signature drift fails
// here (connectors may not import web).
var (
	_ interface {
		Parse(*http.Request, []byte) ([]inbox.Envelope, []byte, error)
	} = (*Channel)(nil)
	_ interface {
		CORS(*http.Request, http.Header)
	} = (*Channel)(nil)
	_ interface {
		Respond(http.ResponseWriter, *http.Request, []inbox.Envelope)
	} = (*Channel)(nil)
	_ interface {
		ServeEmbed(http.ResponseWriter, *http.Request)
	} = (*Channel)(nil)
	_ inbox.Files = (*fakeFiles)(nil)
)

var testNow = time.Date(2026, 11, 22, 10, 1, 0, 0, time.UTC)

// fakeFiles stores nothing but behaves like inbox.Files: the same bytes get
// the same URL, and more than max bytes is ETOOLARGE.
type fakeFiles struct {
	mu    sync.Mutex
	saved map[string][]byte
}

func (f *fakeFiles) Save(_ context.Context, name, mime string, max int64, r io.Reader) (inbox.Attachment, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return inbox.Attachment{}, err
	}
	if int64(len(b)) > max {
		return inbox.Attachment{}, inbox.Errorf(inbox.ETOOLARGE, "file is larger than %d bytes", max)
	}
	sum := sha256.Sum256(b)
	u := "/files/" + hex.EncodeToString(sum[:8])
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.saved == nil {
		f.saved = map[string][]byte{}
	}
	f.saved[u] = b
	return inbox.Attachment{URL: u, Name: name, MIME: mime, Size: int64(len(b))}, nil
}

func (f *fakeFiles) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.saved)
}

func newChannel(t testing.TB, mod func(*Options)) *Channel {
	t.Helper()
	opts := Options{
		ChannelID:      "site",
		AllowedOrigins: []string{"https://shop.example.com", "http://localhost:8081"},
		RedirectURL:    "https://shop.example.com/thanks",
		Files:          &fakeFiles{},
		Now:            func() time.Time { return testNow },
	}
	if mod != nil {
		mod(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// readRequest loads a raw HTTP request from testdata, as the web layer
// would hand it over: body read, client address decided.
func readRequest(t testing.TB, name string) (*http.Request, []byte) {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	r.RemoteAddr = "203.0.113.7:50123"
	return r.WithContext(inbox.WithClientAddr(r.Context(), "203.0.113.7")), body
}

func post(ctype, body string, headers ...string) (*http.Request, []byte) {
	r := httptest.NewRequest(http.MethodPost, "/hooks/form/site", strings.NewReader(body))
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	// The client address as the web layer's middleware records it.
	return r.WithContext(inbox.WithClientAddr(r.Context(), "192.0.2.1")), []byte(body)
}

func form(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

const urlencoded = "application/x-www-form-urlencoded"

func parseOne(t *testing.T, c *Channel, r *http.Request, body []byte) inbox.Envelope {
	t.Helper()
	envs, _, err := c.Parse(r, body)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(envs) != 1 {
		t.Fatalf("got %d envelopes, want 1", len(envs))
	}
	if err := envs[0].Validate(); err != nil {
		t.Fatalf("envelope does not validate: %v", err)
	}
	return envs[0]
}

func TestParseRealShapes(t *testing.T) {
	tests := []struct {
		file     string
		ids      []inbox.Identity
		name     string
		text     []string // lines the text must contain
		meta     map[string]string
		noMeta   []string
		files    int
		ackOK    bool
		external string
	}{
		{
			file: "tilda-grenguar.txt",
			ids:  []inbox.Identity{{Kind: inbox.IdentityPhone, Value: "+11111111"}, {Kind: inbox.IdentityEmail, Value: "jake.smith@example.com"}},
			name: "Jake Smith",
			text: []string{"Имя: Jake Smith", "Телефон: +11111111", "Email: jake.smith@example.com", "fileUrl: https://example.com/file.pdf"},
			meta: map[string]string{"field:fileUrl": "https://example.com/file.pdf", "form_source": "form"},
		},
		{
			file: "tilda-submission.txt",
			ids:  []inbox.Identity{{Kind: inbox.IdentityPhone, Value: "+79123456789"}, {Kind: inbox.IdentityEmail, Value: "anna.smirnova@example.com"}},
			name: "Анна Смирнова",
			text: []string{"Имя: Анна Смирнова", "Телефон: +7 (912) 345-67-89", "Сообщение: Нужен диван, перезвоните после 18:00", "Input_2: Казань", "Checkbox: yes"},
			meta: map[string]string{
				"utm_source": "yandex", "utm_medium": "cpc", "utm_campaign": "spring_sale", "utm_term": "купить диван",
				"tilda_tranid": "5151115:2718281828", "tilda_formid": "form519362801", "form_source": "tilda",
			},
			noMeta:   []string{"field:COOKIES", "field:tranid", "field:formid", "consent_ip"},
			ackOK:    true,
			external: "5151115:2718281828",
		},
		{
			file:   "html-form.txt",
			ids:    []inbox.Identity{{Kind: inbox.IdentityPhone, Value: "+79123456789"}},
			name:   "Пётр Иванов",
			text:   []string{"Имя: Пётр Иванов", "Телефон: 8 912 345-67-89", "Город: Казань", "Интерес: диваны, кресла"},
			meta:   map[string]string{"utm_source": "vk", "utm_campaign": "autumn", "field:Интерес": "диваны, кресла", "form_source": "form"},
			noMeta: []string{"field:_hp", "field:почта", "unparsed_email"},
		},
		{
			file: "embed-multipart.txt",
			ids:  []inbox.Identity{{Kind: inbox.IdentityEmail, Value: "ivan@example.com"}},
			name: "Ivan Petrov",
			text: []string{"Email: ivan@example.com", "Сообщение: Price list attached, please quote.\nThanks!", "consent: on"},
			meta: map[string]string{
				"utm_source": "google", "utm_medium": "cpc", "utm_first_source": "newsletter", "utm_last_source": "google",
				"gclid": "EAIaIQobChMI", "page_url": "https://shop.example.com/landing?utm_source=google&utm_medium=cpc",
				"referrer": "https://www.google.com/", "form_source": "embed",
			},
			noMeta: []string{"field:_ts", "field:_fill", "field:phone"},
			files:  1,
		},
		{
			file:   "fetch-json.txt",
			ids:    []inbox.Identity{{Kind: inbox.IdentityPhone, Value: "+79123456780"}},
			name:   "Мария",
			text:   []string{"Имя: Мария", "Телефон: 89123456780", "Сообщение: Перезвоните, пожалуйста", "budget: 150000", "callback: true"},
			meta:   map[string]string{"utm_source": "yandex", "yclid": "7283947239", "field:budget": "150000"},
			noMeta: []string{"field:note", "field:Email"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			files := &fakeFiles{}
			c := newChannel(t, func(o *Options) { o.Files = files })
			r, body := readRequest(t, tt.file)
			envs, ack, err := c.Parse(r, body)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(envs) != 1 {
				t.Fatalf("got %d envelopes, want 1", len(envs))
			}
			e := envs[0]
			if err := e.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if e.Kind != inbox.KindForm || e.ChannelType != inbox.ChannelForm || e.ChannelID != "site" || !e.ReceivedAt.Equal(testNow) {
				t.Errorf("envelope header = %+v", e)
			}
			if fmt.Sprint(e.From.Identities) != fmt.Sprint(tt.ids) {
				t.Errorf("identities = %v, want %v", e.From.Identities, tt.ids)
			}
			if e.From.Name != tt.name {
				t.Errorf("name = %q, want %q", e.From.Name, tt.name)
			}
			for _, line := range tt.text {
				if !strings.Contains(e.Text, line) {
					t.Errorf("text lacks %q:\n%s", line, e.Text)
				}
			}
			for k, v := range tt.meta {
				if e.Meta[k] != v {
					t.Errorf("meta[%q] = %q, want %q", k, e.Meta[k], v)
				}
			}
			for _, k := range tt.noMeta {
				if _, ok := e.Meta[k]; ok {
					t.Errorf("meta has %q = %q; want none", k, e.Meta[k])
				}
			}
			if len(e.Attachments) != tt.files || files.count() != tt.files {
				t.Errorf("attachments = %v (%d saved), want %d", e.Attachments, files.count(), tt.files)
			}
			if tt.files > 0 {
				a := e.Attachments[0]
				if a.Name != "price list.csv" || a.MIME != "text/csv" || a.Size != int64(len("sku;qty\nA-1;2\nB-7;1\n")) || a.URL == "" {
					t.Errorf("attachment = %+v", a)
				}
			}
			if got := string(ack) == "ok"; got != tt.ackOK {
				t.Errorf("ack = %q", ack)
			}
			if e.ExternalID != tt.external {
				t.Errorf("external id = %q, want %q", e.ExternalID, tt.external)
			}
			wantPrefix := "form:site:"
			if tt.external != "" {
				wantPrefix = "form:site:tilda:"
			}
			if !strings.HasPrefix(e.DedupeKey, wantPrefix) {
				t.Errorf("dedupe key = %q, want prefix %q", e.DedupeKey, wantPrefix)
			}
		})
	}
}

func TestTildaPing(t *testing.T) {
	for _, secret := range []string{"", "tilda-key"} {
		c := newChannel(t, func(o *Options) { o.Secret = secret })
		r, body := readRequest(t, "tilda-test.txt")
		envs, ack, err := c.Parse(r, body)
		if err != nil || len(envs) != 0 || string(ack) != "ok" {
			t.Fatalf("secret %q: envs %v, ack %q, err %v; want none, ok, nil", secret, envs, ack, err)
		}
		w := httptest.NewRecorder()
		c.Respond(w, r, envs)
		if w.Code != 200 || w.Body.String() != "ok" || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
			t.Errorf("secret %q: answer %d %q %q, want 200 ok text/plain", secret, w.Code, w.Body.String(), w.Header().Get("Content-Type"))
		}
	}
}

func TestTildaAPIKey(t *testing.T) {
	const key = "tilda-key-123"
	tilda := func(extra ...string) string {
		return form(append([]string{"Name", "Анна", "Phone", "+7 912 345 67 89", "tranid", "1:2", "formid", "form1"}, extra...)...)
	}
	browser := form("name", "Анна", "phone", "+7 912 345 67 89")
	tests := []struct {
		name    string
		body    string
		headers []string
		target  string
		code    string
	}{
		{"tilda without key", tilda(), nil, "", inbox.EUNAUTHORIZED},
		{"tilda wrong key field", tilda("api_key", "nope"), nil, "", inbox.EUNAUTHORIZED},
		{"tilda wrong bearer", tilda(), []string{"Authorization", "Bearer nope"}, "", inbox.EUNAUTHORIZED},
		{"tilda key field", tilda("api_key", key), nil, "", ""},
		{"tilda bearer", tilda(), []string{"Authorization", "Bearer " + key}, "", ""},
		{"tilda x-api-key", tilda(), []string{"X-Api-Key", key}, "", ""},
		{"tilda query token", tilda(), nil, "/hooks/form/site?token=" + key, ""},
		{"tilda query wrong", tilda(), nil, "/hooks/form/site?api_key=nope", inbox.EUNAUTHORIZED},
		{"browser without key", browser, nil, "", ""},
		{"browser wrong key", browser + "&api_key=nope", nil, "", inbox.EUNAUTHORIZED},
		{"ping wrong key", form("test", "test", "api_key", "nope"), nil, "", inbox.EUNAUTHORIZED},
		{"ping right key", form("test", "test", "api_key", key), nil, "", ""},
	}
	c := newChannel(t, func(o *Options) { o.Secret = key })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, body := post(urlencoded, tt.body, tt.headers...)
			if tt.target != "" {
				r.URL, _ = url.Parse(tt.target)
			}
			envs, _, err := c.Parse(r, body)
			if inbox.ErrorCode(err) != tt.code {
				t.Fatalf("err = %v, want code %q", err, tt.code)
			}
			if err != nil && strings.Contains(err.Error(), key) {
				t.Errorf("error leaks the key: %v", err)
			}
			for _, e := range envs {
				for k, v := range e.Meta {
					if strings.Contains(v, key) || strings.Contains(k, "api_key") {
						t.Errorf("meta %q = %q carries the key", k, v)
					}
				}
				if strings.Contains(e.Text, key) {
					t.Errorf("text carries the key: %q", e.Text)
				}
			}
			if strings.Contains(r.PostForm.Encode()+r.Form.Encode(), key) {
				t.Errorf("request form keeps the key")
			}
		})
	}
}

func TestAliases(t *testing.T) {
	tests := []struct {
		field, target string
	}{
		{"name", fieldName}, {"Name", fieldName}, {"fio", fieldName}, {"ФИО", fieldName}, {"имя", fieldName}, {" Имя ", fieldName},
		{"phone", fieldPhone}, {"Phone", fieldPhone}, {"tel", fieldPhone}, {"телефон", fieldPhone}, {"Телефон", fieldPhone},
		{"email", fieldEmail}, {"Email", fieldEmail}, {"e-mail", fieldEmail}, {"почта", fieldEmail},
		{"message", fieldMessage}, {"comment", fieldMessage}, {"Comments", fieldMessage}, {"text", fieldMessage},
		{"сообщение", fieldMessage}, {"Комментарий", fieldMessage},
		{"your_phone_here", fieldPhone}, // from Options.Fields
		{"Город", ""},
	}
	c := newChannel(t, func(o *Options) { o.Fields = map[string]string{"Your_Phone_Here": fieldPhone} })
	values := map[string]string{fieldName: "Иван", fieldPhone: "+79123456789", fieldEmail: "ivan@example.com", fieldMessage: "Привет"}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			v := values[tt.target]
			if v == "" {
				v = "Казань"
			}
			l := c.mapFields(mustDecode(t, form(tt.field, v)))
			got := map[string]string{fieldName: l.name, fieldPhone: l.phone, fieldEmail: l.email, fieldMessage: l.message}
			if tt.target == "" {
				for _, f := range l.extra {
					if f.name == tt.field && f.value == v {
						return
					}
				}
				t.Fatalf("%q not kept as an extra field: %+v", tt.field, l)
			}
			if got[tt.target] != v {
				t.Fatalf("%q → %s = %q, want %q (lead %+v)", tt.field, tt.target, got[tt.target], v, l)
			}
		})
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func mustDecode(t *testing.T, body string) *submission {
	t.Helper()
	sub, err := decodeURLEncoded([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

func TestSpamIsDroppedSilently(t *testing.T) {
	ms := func(d time.Duration) string { return fmt.Sprint(testNow.Add(-d).UnixMilli()) }
	base := []string{"name", "Иван", "phone", "+79123456789"}
	tests := []struct {
		name    string
		extra   []string
		minFill time.Duration
		want    int
	}{
		{"honeypot filled", []string{"_hp", "http://spam.example"}, 0, 0},
		{"honeypot empty", []string{"_hp", ""}, 0, 1},
		{"no _ts is not timed", nil, 0, 1},
		{"filled in 1s by _fill", []string{"_ts", ms(time.Hour), "_fill", "1000"}, 0, 0},
		{"filled in 5s by _fill", []string{"_ts", ms(0), "_fill", "5000"}, 0, 1},
		{"filled in 1s by _ts", []string{"_ts", ms(time.Second)}, 0, 0},
		{"filled in 10s by _ts", []string{"_ts", ms(10 * time.Second)}, 0, 1},
		{"_ts in the future", []string{"_ts", ms(-time.Minute)}, 0, 0},
		{"_ts garbage", []string{"_ts", "soon"}, 0, 0},
		{"custom min fill", []string{"_ts", ms(0), "_fill", "5000"}, 10 * time.Second, 0},
		{"check disabled", []string{"_ts", ms(0), "_fill", "0"}, -1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newChannel(t, func(o *Options) { o.MinFillTime = tt.minFill })
			r, body := post(urlencoded, form(append(append([]string{}, base...), tt.extra...)...))
			envs, _, err := c.Parse(r, body)
			if err != nil || len(envs) != tt.want {
				t.Fatalf("got %d envelopes, err %v; want %d, nil", len(envs), err, tt.want)
			}
		})
	}
}

func multipartBody(t *testing.T, fields map[string]string, files map[string][]byte) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	for name, data := range files {
		fw, err := mw.CreateFormFile("file", name)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(data)
	}
	mw.Close()
	return mw.FormDataContentType(), buf.String()
}

func TestParseRejects(t *testing.T) {
	ok := map[string]string{"name": "Иван", "phone": "+79123456789"}
	small, smallBody := multipartBody(t, ok, map[string][]byte{"a.txt": []byte("hello")})
	big, bigBody := multipartBody(t, ok, map[string][]byte{"big.bin": bytes.Repeat([]byte("x"), 1025)})
	many := make([]string, 0, 2*(maxFields+1))
	for i := 0; i <= maxFields; i++ {
		many = append(many, fmt.Sprint("f", i), "x")
	}
	tests := []struct {
		name, ctype, body string
		headers           []string
		mod               func(*Options)
		code, msg         string
	}{
		{"no identity", urlencoded, form("name", "Иван", "message", "hi"), nil, nil, inbox.EINVALID, "a phone or an email is required"},
		{"unparseable phone only", urlencoded, form("name", "Иван", "phone", "call me"), nil, nil, inbox.EINVALID, "a phone or an email is required"},
		{"broken email only", urlencoded, form("email", "ivan@"), nil, nil, inbox.EINVALID, "a phone or an email is required"},
		{"empty body", urlencoded, "", nil, nil, inbox.EINVALID, "a phone or an email is required"},
		{"malformed urlencoded", urlencoded, "phone=%zz", nil, nil, inbox.EINVALID, "malformed"},
		{"too many fields", urlencoded, form(many...), nil, nil, inbox.EINVALID, "more than 100 fields"},
		{"value too long", urlencoded, form("phone", "+79123456789", "message", strings.Repeat("я", maxValueLen)), nil, nil, inbox.EINVALID, "longer than"},
		{"name too long", urlencoded, form("phone", "+79123456789", strings.Repeat("n", 201), "x"), nil, nil, inbox.EINVALID, "field name"},
		{"json array", "application/json", `[{"phone":"+79123456789"}]`, nil, nil, inbox.EINVALID, "JSON"},
		{"json nested", "application/json", `{"phone":"+79123456789","x":{"y":1}}`, nil, nil, inbox.EINVALID, "JSON"},
		{"json trailing", "application/json", `{"phone":"+79123456789"} {}`, nil, nil, inbox.EINVALID, "JSON"},
		{"json truncated", "application/json", `{"phone":"+7912`, nil, nil, inbox.EINVALID, "JSON"},
		{"unsupported type", "application/xml", `<phone>+79123456789</phone>`, nil, nil, inbox.EINVALID, "unsupported"},
		{"bad content type", "multipart/form-data; boundary=\"", "", nil, nil, inbox.EINVALID, "Content-Type"},
		{"multipart without boundary", "multipart/form-data", "x", nil, nil, inbox.EINVALID, "boundary"},
		{"multipart garbage", "multipart/form-data; boundary=zzz", "--zzz\r\nno headers", nil, nil, inbox.EINVALID, "multipart"},
		{"files not accepted", small, smallBody, nil, func(o *Options) { o.Files = nil }, inbox.EINVALID, "does not accept files"},
		{"file too large", big, bigBody, nil, func(o *Options) { o.MaxFileSize = 1024 }, inbox.ETOOLARGE, "larger than 1024"},
		{"consent missing", urlencoded, form("phone", "+79123456789"), nil, func(o *Options) { o.ConsentText = "Согласен" }, inbox.EINVALID, "consent"},
		{"consent off", urlencoded, form("phone", "+79123456789", "consent", "off"), nil, func(o *Options) { o.ConsentText = "Согласен" }, inbox.EINVALID, "consent"},
		{"foreign origin", urlencoded, form("phone", "+79123456789"), []string{"Origin", "https://evil.example"}, nil, inbox.EFORBIDDEN, "allowed_origins"},
		{"origin with other port", urlencoded, form("phone", "+79123456789"), []string{"Origin", "https://shop.example.com:8443"}, nil, inbox.EFORBIDDEN, "allowed_origins"},
		{"origin with other scheme", urlencoded, form("phone", "+79123456789"), []string{"Origin", "http://shop.example.com"}, nil, inbox.EFORBIDDEN, "allowed_origins"},
		{"no origins configured", urlencoded, form("phone", "+79123456789"), []string{"Origin", "https://shop.example.com"}, func(o *Options) { o.AllowedOrigins = nil }, inbox.EFORBIDDEN, "allowed_origins"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := &fakeFiles{}
			c := newChannel(t, func(o *Options) {
				o.Files = files
				if tt.mod != nil {
					tt.mod(o)
				}
			})
			r, body := post(tt.ctype, tt.body, tt.headers...)
			envs, _, err := c.Parse(r, body)
			if inbox.ErrorCode(err) != tt.code || !strings.Contains(inbox.ErrorMessage(err), tt.msg) {
				t.Fatalf("err = %v, want code %s mentioning %q", err, tt.code, tt.msg)
			}
			if len(envs) != 0 || files.count() != 0 {
				t.Errorf("refused submission left %d envelopes and %d files", len(envs), files.count())
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name, ctype, body string
		headers           []string
		mod               func(*Options)
	}{
		{"allowed origin", urlencoded, form("phone", "+79123456789"), []string{"Origin", "https://shop.example.com"}, nil},
		{"allowed origin, explicit port", urlencoded, form("phone", "+79123456789"), []string{"Origin", "https://shop.example.com:443"}, nil},
		{"localhost origin with port", urlencoded, form("phone", "+79123456789"), []string{"Origin", "http://localhost:8081"}, nil},
		{"wildcard origin", urlencoded, form("phone", "+79123456789"), []string{"Origin", "https://anyone.example"}, func(o *Options) { o.AllowedOrigins = []string{"*"} }},
		{"hub's own page", urlencoded, form("phone", "+79123456789"), []string{"Origin", "https://hub.example.com"}, func(o *Options) { o.PublicURL = "https://hub.example.com/" }},
		{"null origin", urlencoded, form("phone", "+79123456789"), []string{"Origin", "null"}, nil},
		{"no content type, urlencoded", "", form("phone", "+79123456789"), nil, nil},
		{"text/plain JSON", "text/plain;charset=UTF-8", `{"phone":"+79123456789"}`, nil, nil},
		{"json with charset", "application/json; charset=utf-8", `{"email":"A@B.ru","tags":["x",2,true]}`, nil, nil},
		{"consent given", urlencoded, form("phone", "+79123456789", "consent", "on"), nil, func(o *Options) { o.ConsentText = "Согласен" }},
		{"invalid utf-8 and NUL", urlencoded, "phone=%2B79123456789&message=%FF%00ok", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newChannel(t, tt.mod)
			r, body := post(tt.ctype, tt.body, tt.headers...)
			e := parseOne(t, c, r, body)
			if !strings.Contains(e.Text, ": ") {
				t.Errorf("text = %q", e.Text)
			}
			if strings.ContainsRune(e.Text, 0) || !strings.Contains(e.Text, "\uFFFD") && tt.name == "invalid utf-8 and NUL" {
				t.Errorf("text not cleaned: %q", e.Text)
			}
		})
	}
}

func TestConsentMeta(t *testing.T) {
	const text = "Я согласен на обработку персональных данных (152-ФЗ)"
	c := newChannel(t, func(o *Options) { o.ConsentText = text })
	r, body := post(urlencoded, form("phone", "+79123456789", "consent", "on"))
	e := parseOne(t, c, r, body)
	sum := sha256.Sum256([]byte(text))
	want := map[string]string{
		"consent_text_version": hex.EncodeToString(sum[:6]),
		"consent_given_at":     "2026-11-22T10:01:00Z",
		"consent_ip":           "192.0.2.1", // the client address the web layer recorded
	}
	for k, v := range want {
		if e.Meta[k] != v {
			t.Errorf("meta[%q] = %q, want %q", k, e.Meta[k], v)
		}
	}
	wantConsent := inbox.Consent{Kind: "personal_data", TextVersion: want["consent_text_version"], GivenAt: testNow,
		IP: "192.0.2.1", Source: "form:site"}
	if e.Consent == nil || *e.Consent != wantConsent {
		t.Errorf("consent = %+v, want %+v", e.Consent, wantConsent)
	}
	if strings.Contains(e.Text, "consent") {
		t.Errorf("the required checkbox shows as a field: %q", e.Text)
	}

	r, body = post(urlencoded, form("Phone", "+79123456789", "consent", "yes", "tranid", "1:2", "page_url", "https://shop.example.com/sofa"))
	e = parseOne(t, c, r, body)
	if e.Consent == nil || e.Consent.IP != "" || e.Meta["consent_ip"] != "" || e.Consent.Source != "https://shop.example.com/sofa" {
		t.Errorf("tilda consent = %+v, meta ip %q; want no IP, the page as source", e.Consent, e.Meta["consent_ip"])
	}
	c = newChannel(t, nil)
	r, body = post(urlencoded, form("phone", "+79123456789", "consent", "on"))
	if e = parseOne(t, c, r, body); e.Consent != nil || e.Meta["field:consent"] != "on" {
		t.Errorf("without consent_text: consent %+v, meta %v; want none and a plain field", e.Consent, e.Meta)
	}
}

func TestDedupeKey(t *testing.T) {
	at := func(d time.Duration) func(*Options) {
		return func(o *Options) { o.Now = func() time.Time { return testNow.Add(d) } }
	}
	key := func(mod func(*Options), kv ...string) string {
		c := newChannel(t, mod)
		r, body := post(urlencoded, form(kv...))
		return parseOne(t, c, r, body).DedupeKey
	}
	// testNow is 10:01; its bucket is 10:00-10:05.
	base := key(nil, "name", "Иван", "phone", "8 912 345-67-89", "message", "Привет", "city", "Казань")
	tests := []struct {
		name string
		got  string
		same bool
	}{
		{"same submission, same bucket", key(at(3*time.Minute), "name", "Иван", "phone", "8 912 345-67-89", "message", "Привет", "city", "Казань"), true},
		{"phone written differently, field order, timing and utm", key(at(time.Minute), "city", "Казань", "phone", "+7 (912) 345 67 89", "name", "Иван", "message", "Привет",
			"_ts", "1", "_fill", "90000", "_hp", "", "utm_source", "x", "page_url", "https://a.example/"), true},
		{"next bucket", key(at(4*time.Minute), "name", "Иван", "phone", "8 912 345-67-89", "message", "Привет", "city", "Казань"), false},
		{"previous bucket", key(at(-2*time.Minute), "name", "Иван", "phone", "8 912 345-67-89", "message", "Привет", "city", "Казань"), false},
		{"other message", key(nil, "name", "Иван", "phone", "8 912 345-67-89", "message", "Привет!", "city", "Казань"), false},
		{"other extra field", key(nil, "name", "Иван", "phone", "8 912 345-67-89", "message", "Привет", "city", "Москва"), false},
		{"value moved between fields", key(nil, "name", "Иван", "phone", "8 912 345-67-89", "message", "", "city", "Казань", "comment2", "Привет"), false},
	}
	if !strings.HasPrefix(base, "form:site:") || strings.Count(base, ":") != 3 {
		t.Fatalf("key = %q, want form:site:<hash>:<bucket>", base)
	}
	for _, tt := range tests {
		if (tt.got == base) != tt.same {
			t.Errorf("%s: key %q vs %q, want same=%v", tt.name, tt.got, base, tt.same)
		}
	}
	// Tilda retries the same tranid a minute apart, across buckets too.
	tilda := func(d time.Duration) string {
		return key(at(d), "Phone", "+79123456789", "tranid", "77:88", "formid", "form1")
	}
	if a, b := tilda(0), tilda(5*time.Minute); a != b || a != "form:site:tilda:77:88" {
		t.Errorf("tilda keys = %q, %q; want both form:site:tilda:77:88", a, b)
	}
}

func TestCORS(t *testing.T) {
	tests := []struct {
		name    string
		origins []string
		origin  string
		want    string
	}{
		{"allowed", []string{"https://shop.example.com"}, "https://shop.example.com", "https://shop.example.com"},
		{"allowed, configured with slash and caps", []string{"HTTPS://Shop.Example.com/"}, "https://shop.example.com", "https://shop.example.com"},
		{"other host", []string{"https://shop.example.com"}, "https://evil.example", ""},
		{"suffix trick", []string{"https://shop.example.com"}, "https://shop.example.com.evil.example", ""},
		{"other scheme", []string{"https://shop.example.com"}, "http://shop.example.com", ""},
		{"other port", []string{"https://shop.example.com"}, "https://shop.example.com:8443", ""},
		{"no origin header", []string{"https://shop.example.com"}, "", ""},
		{"nothing configured", nil, "https://shop.example.com", ""},
		{"wildcard", []string{"*"}, "https://anyone.example", "*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newChannel(t, func(o *Options) { o.AllowedOrigins = tt.origins })
			r := httptest.NewRequest(http.MethodOptions, "/hooks/form/site", nil)
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			h := http.Header{}
			c.CORS(r, h)
			if got := h.Get("Access-Control-Allow-Origin"); got != tt.want {
				t.Fatalf("Allow-Origin = %q, want %q", got, tt.want)
			}
			if h.Get("Vary") != "Origin" {
				t.Errorf("Vary = %q, want Origin", h.Get("Vary"))
			}
			if tt.want != "" && (h.Get("Access-Control-Allow-Methods") != "POST" ||
				!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Content-Type") || h.Get("Access-Control-Max-Age") == "") {
				t.Errorf("preflight headers = %v", h)
			}
			if tt.want == "" && h.Get("Access-Control-Allow-Methods") != "" {
				t.Errorf("a refused origin got preflight headers: %v", h)
			}
		})
	}
}

func TestRespond(t *testing.T) {
	nav := []string{"Accept", "text/html,application/xhtml+xml", "Sec-Fetch-Mode", "navigate"}
	oldNav := []string{"Accept", "text/html,*/*"} // a browser without Fetch Metadata
	fetch := []string{"Accept", "application/json", "Sec-Fetch-Mode", "cors"}
	xhr := []string{"Accept", "text/html, */*", "X-Requested-With", "XMLHttpRequest"}
	lead := []string{"name", "Иван", "phone", "+79123456789"}
	with := func(kv ...string) string { return form(append(append([]string{}, lead...), kv...)...) }
	tests := []struct {
		name     string
		body     string
		headers  []string
		mod      func(*Options)
		status   int
		location string
		ctype    string
		bodyHas  string
	}{
		{"html form → redirect_url", with(), nav, nil, 303, "https://shop.example.com/thanks", "", ""},
		{"old browser html form", with(), oldNav, nil, 303, "https://shop.example.com/thanks", "", ""},
		{"fetch → json", with(), fetch, nil, 200, "", "application/json", `{"ok":true}`},
		{"xhr → json", with(), xhr, nil, 200, "", "application/json", `{"ok":true}`},
		{"no headers → json", with(), nil, nil, 200, "", "application/json", `{"ok":true}`},
		{"_redirect to allowed origin", with("_redirect", "http://localhost:8081/spasibo?x=1"), nav, nil, 303, "http://localhost:8081/spasibo?x=1", "", ""},
		{"_redirect to foreign host", with("_redirect", "https://evil.example/phish"), nav, nil, 303, "https://shop.example.com/thanks", "", ""},
		{"_redirect via userinfo", with("_redirect", `https://shop.example.com\@evil.example/`), nav, nil, 303, "https://shop.example.com/thanks", "", ""},
		{"_redirect scheme-relative", with("_redirect", "//evil.example/"), nav, nil, 303, "https://shop.example.com/thanks", "", ""},
		{"_redirect javascript", with("_redirect", "javascript:alert(1)"), nav, nil, 303, "https://shop.example.com/thanks", "", ""},
		{"_redirect with wildcard origins", with("_redirect", "https://evil.example/"), nav,
			func(o *Options) { o.AllowedOrigins = []string{"*"} }, 303, "https://shop.example.com/thanks", "", ""},
		{"_redirect foreign, no redirect_url", with("_redirect", "https://evil.example/"), nav,
			func(o *Options) { o.RedirectURL = "" }, 200, "", "text/html", "Спасибо"},
		{"no redirect_url, english", with(), nav, func(o *Options) { o.RedirectURL = ""; o.Labels = "en" }, 200, "", "text/html", "Thank you"},
		{"honeypot html form still thanked", with("_hp", "spam"), nav, nil, 303, "https://shop.example.com/thanks", "", ""},
		{"tilda submission", form("Phone", "+79123456789", "tranid", "1:2", "formid", "f"), nil, nil, 200, "", "text/plain", "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newChannel(t, tt.mod)
			r, body := post(urlencoded, tt.body, tt.headers...)
			envs, _, err := c.Parse(r, body)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			w := httptest.NewRecorder()
			c.Respond(w, r, envs)
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d (body %q)", w.Code, tt.status, w.Body.String())
			}
			if got := w.Header().Get("Location"); got != tt.location {
				t.Errorf("Location = %q, want %q", got, tt.location)
			}
			if !strings.HasPrefix(w.Header().Get("Content-Type"), tt.ctype) {
				t.Errorf("Content-Type = %q, want %q", w.Header().Get("Content-Type"), tt.ctype)
			}
			if !strings.Contains(w.Body.String(), tt.bodyHas) {
				t.Errorf("body = %q, want it to contain %q", w.Body.String(), tt.bodyHas)
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q", w.Header().Get("Cache-Control"))
			}
		})
	}
}

// configOf extracts the JSON object baked into a served script.
func configOf(t *testing.T, script string) string {
	t.Helper()
	const start = "var C = "
	i := strings.Index(script, start)
	j := strings.Index(script[i:], ";\n")
	if i < 0 || j < 0 {
		t.Fatalf("no config in script")
	}
	return script[i+len(start) : i+j]
}

func TestServeEmbed(t *testing.T) {
	hostile := `Согласен </script><script>alert(1)</script> <!-- & ` + "\u2028"
	c := newChannel(t, func(o *Options) {
		o.ConsentText = hostile
		o.PublicURL = "https://hub.example.com/"
		o.Labels = "en"
	})
	get := func(h ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/hooks/form/site/embed.js", nil)
		for i := 0; i+1 < len(h); i += 2 {
			r.Header.Set(h[i], h[i+1])
		}
		w := httptest.NewRecorder()
		c.ServeEmbed(w, r)
		return w
	}
	w := get()
	if w.Code != 200 {
		t.Fatalf("status = %d", w.Code)
	}
	h := w.Header()
	if h.Get("Content-Type") != "application/javascript; charset=utf-8" {
		t.Errorf("Content-Type = %q", h.Get("Content-Type"))
	}
	if h.Get("Cache-Control") != "public, max-age=300" {
		t.Errorf("Cache-Control = %q", h.Get("Cache-Control"))
	}
	etag := h.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || len(etag) < 10 {
		t.Errorf("ETag = %q", etag)
	}
	script := w.Body.String()
	if len(script) >= 10<<10 {
		t.Errorf("served embed.js is %d bytes, want under 10 KB", len(script))
	}
	if len(embedJS) >= 10<<10 {
		t.Errorf("embed.js source is %d bytes, want under 10 KB", len(embedJS))
	}
	for _, bad := range []string{"</script", "<script", "<!--", "\u2028", configPlaceholder} {
		if strings.Contains(script, bad) {
			t.Errorf("served script contains %q", bad)
		}
	}
	var cfg embedConfig
	if err := jsonUnmarshal(configOf(t, script), &cfg); err != nil {
		t.Fatalf("baked config is not JSON: %v", err)
	}
	if cfg.Consent != hostile || cfg.Channel != "site" || cfg.Post != "https://hub.example.com/hooks/form/site" || cfg.Lang != "en" {
		t.Errorf("config = %+v", cfg)
	}
	if cfg.Labels["ru"].Submit == "" || cfg.Labels["en"].Submit == "" || len(cfg.Fields) != 4 {
		t.Errorf("config lacks labels or fields: %+v", cfg)
	}

	if w := get("If-None-Match", etag); w.Code != http.StatusNotModified || w.Body.Len() != 0 {
		t.Errorf("revalidation: status %d, %d bytes; want 304, empty", w.Code, w.Body.Len())
	}
	if w := get("If-None-Match", `"stale"`); w.Code != 200 {
		t.Errorf("stale ETag: status %d, want 200", w.Code)
	}
	// A realistic consent sentence (about 300 Cyrillic characters) still
	// keeps the whole served script under 10 KB.
	long := newChannel(t, func(o *Options) {
		o.ConsentText = strings.Repeat("Согласен на обработку данных. ", 10)
		o.PublicURL = "https://hub.example.com"
	})
	if n := len(long.script); n >= 10<<10 {
		t.Errorf("served embed.js with a long consent text is %d bytes, want under 10 KB", n)
	}
	other := newChannel(t, func(o *Options) { o.ConsentText = "другой текст" })
	if other.etag == c.etag {
		t.Errorf("different configs share ETag %s", c.etag)
	}
}

func TestEmbedScriptRules(t *testing.T) {
	src := string(embedJS)
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "eval(", "new Function", "document.write",
		"setAttribute('style'", `setAttribute("style"`, "onclick", "onsubmit", "javascript:", "cssText"} {
		if strings.Contains(src, bad) {
			t.Errorf("embed.js uses %q", bad)
		}
	}
	for _, need := range []string{"data-leadhub-rendered", "data-leadhub-status", "data-state", "aria-live", "localStorage",
		"utm_first_", "utm_last_", "_hp", "_ts", "_fill", "page_url", "referrer", "textContent", "form[data-leadhub]", "[data-leadhub-form]", "data-lang"} {
		if !strings.Contains(src, need) {
			t.Errorf("embed.js lacks %q", need)
		}
	}
}

func TestMaxBody(t *testing.T) {
	if got, want := newChannel(t, nil).MaxBody(), int64(DefaultMaxFileSize+1<<20); got != want {
		t.Errorf("MaxBody = %d, want %d", got, want)
	}
	if got, want := newChannel(t, func(o *Options) { o.MaxFileSize = 1 << 20 }).MaxBody(), int64(2<<20); got != want {
		t.Errorf("MaxBody = %d, want %d", got, want)
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Options)
	}{
		{"no channel", func(o *Options) { o.ChannelID = "" }},
		{"origin with path", func(o *Options) { o.AllowedOrigins = []string{"https://shop.example.com/form"} }},
		{"origin without scheme", func(o *Options) { o.AllowedOrigins = []string{"shop.example.com"} }},
		{"relative redirect", func(o *Options) { o.RedirectURL = "/thanks" }},
		{"redirect scheme", func(o *Options) { o.RedirectURL = "javascript:alert(1)" }},
		{"field target", func(o *Options) { o.Fields = map[string]string{"x": "city"} }},
		{"labels", func(o *Options) { o.Labels = "de" }},
		{"file size", func(o *Options) { o.MaxFileSize = inbox.MaxFileSize + 1 }},
		{"public url", func(o *Options) { o.PublicURL = "hub.example.com" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{ChannelID: "site"}
			tt.mod(&opts)
			if _, err := New(opts); err == nil {
				t.Fatal("New accepted bad options")
			}
		})
	}
}

func TestTildaUTM(t *testing.T) {
	tests := []struct {
		cookies string
		want    map[string]string
	}{
		{"TILDAUTM=utm_source%3Dtilda%7C%7C%7Cutm_campaign%3Dautumn", map[string]string{"utm_source": "tilda", "utm_campaign": "autumn"}},
		{"a=1; TILDAUTM=utm_source%3Dvk%7C%7C%7Camp%3Butm_medium%3Dsocial%23top%7C%7C%7C; b=2", map[string]string{"utm_source": "vk", "utm_medium": "social"}},
		{"TILDAUTM=utm_term%3D%25d0%25b4%25d0%25b0%7C%7C%7Cfoo%3Dbar", map[string]string{"utm_term": "да"}},
		{"TILDAUTM=%zz", map[string]string{}},
		{"", map[string]string{}},
	}
	for _, tt := range tests {
		if got := tildaUTM(tt.cookies); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("tildaUTM(%q) = %v, want %v", tt.cookies, got, tt.want)
		}
	}
}
