package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadhub/leadhub/connectors"
	"github.com/leadhub/leadhub/inbox"
)

const secret = "test-secret"

func newChannel(t testing.TB, callback string) *Channel {
	t.Helper()
	c, err := New(Options{ChannelID: "crm", Secret: secret, CallbackURL: callback,
		Now: func() time.Time { return time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func signed(body []byte, sig string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/hooks/api/crm", strings.NewReader(string(body)))
	if sig != "" {
		r.Header.Set(connectors.SignatureHeader, sig)
	}
	return r
}

func TestParseRealisticMessage(t *testing.T) {
	body, err := os.ReadFile("testdata/message.json")
	if err != nil {
		t.Fatal(err)
	}
	envs, ack, err := newChannel(t, "").Parse(signed(body, connectors.Sign(secret, body)), body)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if ack != nil || len(envs) != 1 {
		t.Fatalf("got %d envelopes, ack %q; want 1, nil", len(envs), ack)
	}
	e := envs[0]
	wantIDs := []inbox.Identity{
		{Kind: inbox.IdentityExternal, Value: "crm:crm-42"},
		{Kind: inbox.IdentityPhone, Value: "+79123456789"},
		{Kind: inbox.IdentityEmail, Value: "ivan@example.com"},
	}
	if len(e.From.Identities) != len(wantIDs) {
		t.Fatalf("identities = %v, want %v", e.From.Identities, wantIDs)
	}
	for i := range wantIDs {
		if e.From.Identities[i] != wantIDs[i] {
			t.Errorf("identity %d = %v, want %v", i, e.From.Identities[i], wantIDs[i])
		}
	}
	if e.DedupeKey != "api:crm:crm-msg-1001" || e.ChannelID != "crm" || e.ChannelType != inbox.ChannelAPI {
		t.Errorf("keys: %+v", e)
	}
	if e.From.Name != "Иван Петров" || e.Subject != "Заявка с сайта" || !strings.Contains(e.Text, "Казань") {
		t.Errorf("content: %+v", e)
	}
	if len(e.Attachments) != 1 || e.Attachments[0].Name != "price.pdf" || e.Meta["utm_source"] != "yandex" {
		t.Errorf("attachments/meta: %+v %+v", e.Attachments, e.Meta)
	}
	if err := e.Validate(); err != nil {
		t.Errorf("envelope does not validate: %v", err)
	}
}

func TestParseRejects(t *testing.T) {
	ok := `{"id":"1","from":{"phone":"+79123456789"},"text":"hi"}`
	tests := []struct {
		name, body, sig, code, msg string
	}{
		{"no signature", ok, "-", inbox.EUNAUTHORIZED, "signature"},
		{"wrong signature", ok, connectors.Sign("other", []byte(ok)), inbox.EUNAUTHORIZED, "signature"},
		{"signature not hex", ok, "sha256=zz", inbox.EUNAUTHORIZED, "signature"},
		{"malformed json", `{"id":`, "", inbox.EINVALID, "malformed"},
		{"missing id", `{"from":{"phone":"+79123456789"},"text":"hi"}`, "", inbox.EINVALID, "id"},
		{"no identity", `{"id":"1","from":{"name":"x"},"text":"hi"}`, "", inbox.EINVALID, "phone, email or external_id"},
		{"only a bad phone", `{"id":"1","from":{"phone":"call me"},"text":"hi"}`, "", inbox.EINVALID, "phone, email or external_id"},
		{"no text", `{"id":"1","from":{"phone":"+79123456789"}}`, "", inbox.EINVALID, "text"},
		{"attachment scheme", `{"id":"1","from":{"phone":"+79123456789"},"text":"x","attachments":[{"url":"javascript:alert(1)"}]}`, "", inbox.EINVALID, "attachment"},
		{"identity too long", `{"id":"1","from":{"email":"` + strings.Repeat("a", 330) + `@x.ru"},"text":"x"}`, "", inbox.EINVALID, "phone, email or external_id"},
	}
	c := newChannel(t, "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig := tt.sig
			switch sig {
			case "":
				sig = connectors.Sign(secret, []byte(tt.body))
			case "-":
				sig = ""
			}
			_, _, err := c.Parse(signed([]byte(tt.body), sig), []byte(tt.body))
			if inbox.ErrorCode(err) != tt.code || !strings.Contains(inbox.ErrorMessage(err), tt.msg) {
				t.Fatalf("err = %v, want code %s mentioning %q", err, tt.code, tt.msg)
			}
		})
	}
}

func TestParseKeepsUnparsedPhone(t *testing.T) {
	body := []byte(`{"id":"1","from":{"phone":"call me maybe","email":"a@b.ru"},"text":"hi"}`)
	envs, _, err := newChannel(t, "").Parse(signed(body, connectors.Sign(secret, body)), body)
	if err != nil {
		t.Fatal(err)
	}
	if got := envs[0].Meta["unparsed_phone"]; got != "call me maybe" {
		t.Fatalf("unparsed phone = %q", got)
	}
	if len(envs[0].From.Identities) != 1 || envs[0].From.Identities[0].Kind != inbox.IdentityEmail {
		t.Fatalf("identities = %v", envs[0].From.Identities)
	}
}

func outbound() inbox.Outbound {
	return inbox.Outbound{
		Message:  inbox.Message{ID: 7, ConversationID: 3, Text: "Добрый день!", CreatedAt: time.Now()},
		ClientID: 5, ChannelID: "crm", Attempt: 1, ReplyTo: "crm-msg-1001",
		To: []inbox.Identity{{Kind: inbox.IdentityExternal, Value: "crm:crm-42"}, {Kind: inbox.IdentityPhone, Value: "+79123456789"}},
	}
}

func TestSendSignsAndClassifies(t *testing.T) {
	var status atomic.Int32
	var got atomic.Pointer[Callback]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !connectors.VerifySignature(secret, body, r.Header.Get(connectors.SignatureHeader)) {
			t.Errorf("callback not signed correctly")
		}
		if r.Header.Get(DeliveryHeader) != "7" {
			t.Errorf("delivery header = %q", r.Header.Get(DeliveryHeader))
		}
		var cb Callback
		if err := json.Unmarshal(body, &cb); err != nil {
			t.Errorf("callback body: %v", err)
		}
		got.Store(&cb)
		if status.Load() == 429 {
			w.Header().Set("Retry-After", "7")
		}
		w.WriteHeader(int(status.Load()))
		if status.Load() == 200 {
			io.WriteString(w, `{"id":"ext-9"}`)
		}
	}))
	defer srv.Close()
	c := newChannel(t, srv.URL)

	tests := []struct {
		status     int32
		wantErr    bool
		permanent  bool
		retryAfter time.Duration
	}{
		{200, false, false, 0},
		{500, true, false, 0},
		{503, true, false, 0},
		{429, true, false, 7 * time.Second},
		{400, true, true, 0},
		{404, true, true, 0},
	}
	for _, tt := range tests {
		status.Store(tt.status)
		ext, err := c.Send(context.Background(), outbound())
		if (err != nil) != tt.wantErr {
			t.Fatalf("status %d: err = %v", tt.status, err)
		}
		var se *inbox.SendError
		isSE := errors.As(err, &se)
		if tt.permanent != (isSE && se.Permanent) {
			t.Errorf("status %d: permanent = %v, want %v", tt.status, isSE && se.Permanent, tt.permanent)
		}
		if tt.retryAfter > 0 && (!isSE || se.RetryAfter != tt.retryAfter) {
			t.Errorf("status %d: retry after not honoured: %v", tt.status, err)
		}
		if !tt.wantErr && ext != "ext-9" {
			t.Errorf("external id = %q", ext)
		}
	}
	cb := got.Load()
	if cb.To.ExternalID != "crm-42" || cb.To.Phone != "+79123456789" || cb.Text != "Добрый день!" || cb.ReplyTo != "crm-msg-1001" {
		t.Errorf("callback = %+v", cb)
	}
}

func TestSendWithoutCallbackIsPermanent(t *testing.T) {
	_, err := newChannel(t, "").Send(context.Background(), outbound())
	var se *inbox.SendError
	if !errors.As(err, &se) || !se.Permanent {
		t.Fatalf("err = %v, want permanent", err)
	}
}

func TestSendUnreachableIsRetried(t *testing.T) {
	c := newChannel(t, "http://127.0.0.1:1/x")
	_, err := c.Send(context.Background(), outbound())
	var se *inbox.SendError
	if err == nil || (errors.As(err, &se) && se.Permanent) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
}

// An operator's files go out with the callback, the hub's own ones as
// absolute URLs an integration can fetch with its API token.
func TestSendCarriesAttachments(t *testing.T) {
	var got atomic.Pointer[Callback]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var cb Callback
		if err := json.NewDecoder(r.Body).Decode(&cb); err != nil {
			t.Errorf("callback body: %v", err)
		}
		got.Store(&cb)
		io.WriteString(w, `{"id":"ext-10"}`)
	}))
	defer srv.Close()
	c, err := New(Options{ChannelID: "crm", Secret: secret, CallbackURL: srv.URL, PublicURL: "https://hub.example.com/"})
	if err != nil {
		t.Fatal(err)
	}
	o := outbound()
	o.Message.Attachments = []inbox.Attachment{
		{URL: "/files/abc/offer.pdf", Name: "offer.pdf", MIME: "application/pdf", Size: 10},
		{URL: "https://cdn.example.com/p.jpg", Name: "p.jpg"},
	}
	if _, err := c.Send(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	cb := got.Load()
	if len(cb.Attachments) != 2 || cb.Attachments[0].Size != 10 || cb.Attachments[1].URL != "https://cdn.example.com/p.jpg" {
		t.Fatalf("attachments = %+v", cb.Attachments)
	}
	// The hub's own file is a signed link, good for a week, without a token.
	u, err := url.Parse(cb.Attachments[0].URL)
	if err != nil || u.Host != "hub.example.com" || u.Path != "/files/signed/crm/abc/offer.pdf" {
		t.Fatalf("signed link %q", cb.Attachments[0].URL)
	}
	exp, _ := strconv.ParseInt(u.Query().Get("exp"), 10, 64)
	if !inbox.FileSignatureValid(secret, "crm", "abc", exp, u.Query().Get("sig"), time.Now()) ||
		inbox.FileSignatureValid(secret, "crm", "abd", exp, u.Query().Get("sig"), time.Now()) ||
		inbox.FileSignatureValid(secret, "crm", "abc", exp, u.Query().Get("sig"), time.Now().Add(8*24*time.Hour)) {
		t.Errorf("signature of %q does not check out as it should", cb.Attachments[0].URL)
	}
}
