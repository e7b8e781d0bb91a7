package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// dirFiles opens files from a directory by name, with a fixed MIME per id.
type dirFiles struct {
	dir  string
	mime map[string]string
}

func (d dirFiles) Open(_ context.Context, id string) (io.ReadSeekCloser, inbox.Attachment, error) {
	m, ok := d.mime[id]
	if !ok {
		return nil, inbox.Attachment{}, inbox.Errorf(inbox.ENOTFOUND, "file not found")
	}
	f, err := os.Open(filepath.Join(d.dir, id))
	return f, inbox.Attachment{Name: "файл " + id, MIME: m}, err
}

func TestFilesAreServedSafely(t *testing.T) {
	dir := t.TempDir()
	for id, body := range map[string]string{"photo": "\x89PNG...", "page": "<script>alert(1)</script>", "voice": "OggS..."} {
		if err := os.WriteFile(filepath.Join(dir, id), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	files := dirFiles{dir: dir, mime: map[string]string{"photo": "image/png", "page": "text/html", "voice": "audio/ogg"}}
	s := newTestServer(t, Options{Files: files})

	if w := do(t, s.Handler(), "GET", "/files/photo/x.png", ""); w.Code != http.StatusUnauthorized {
		t.Fatalf("without a token: %d, want 401", w.Code)
	}
	tests := []struct {
		id, wantType, wantDisposition string
	}{
		{"photo", "image/png", "inline"},
		{"voice", "audio/ogg", "inline"},
		// Customer HTML must never render as our page.
		{"page", "application/octet-stream", "attachment"},
	}
	for _, tt := range tests {
		w := do(t, s.Handler(), "GET", "/files/"+tt.id+"/name", "", authed()...)
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d", tt.id, w.Code)
		}
		h := w.Result().Header
		if h.Get("Content-Type") != tt.wantType || !strings.HasPrefix(h.Get("Content-Disposition"), tt.wantDisposition) ||
			!strings.Contains(h.Get("Content-Security-Policy"), "sandbox") || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", tt.id, h)
		}
	}
	if w := do(t, s.Handler(), "GET", "/files/nope/x", "", authed()...); w.Code != http.StatusNotFound {
		t.Errorf("unknown file: %d, want 404", w.Code)
	}
	// Range requests work (audio players seek).
	if w := do(t, s.Handler(), "GET", "/files/voice/v.ogg", "", append(authed(), "Range", "bytes=0-3")...); w.Code != http.StatusPartialContent || w.Body.String() != "OggS" {
		t.Errorf("range: %d %q", w.Code, w.Body.String())
	}
}

func TestChannelStatus(t *testing.T) {
	s := newTestServer(t, Options{ChannelStatus: map[string]func(context.Context) (any, error){
		"tg":   func(context.Context) (any, error) { return map[string]int{"pending_update_count": 3}, nil },
		"down": func(context.Context) (any, error) { return nil, errors.New("dial tcp: api.telegram.org: i/o timeout") },
	}})
	if w := do(t, s.Handler(), "GET", "/api/v1/channels/tg/status", "", authed()...); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"pending_update_count":3`) {
		t.Errorf("status: %d %s", w.Code, w.Body.String())
	}
	w := do(t, s.Handler(), "GET", "/api/v1/channels/down/status", "", authed()...)
	if w.Code != http.StatusServiceUnavailable || strings.Contains(w.Body.String(), "api.telegram.org") {
		t.Errorf("provider down: %d %s", w.Code, w.Body.String())
	}
	if w := do(t, s.Handler(), "GET", "/api/v1/channels/crm/status", "", authed()...); w.Code != http.StatusNotFound {
		t.Errorf("channel without status: %d", w.Code)
	}
}

func TestChannelHealth(t *testing.T) {
	health := inbox.NewHealthBoard(nil)
	s := newTestServer(t, Options{Health: health, Channels: []ChannelInfo{
		{ID: "mail", Type: inbox.ChannelEmail, Status: "enabled"},
		{ID: "vk", Type: inbox.ChannelVK, Status: "enabled"},
	}})
	health.Fail("mail", inbox.HealthDown, "IMAP login failed: wrong user name or password")
	health.OK("vk")
	var got struct{ Items []inbox.ChannelHealth }
	w := do(t, s.Handler(), "GET", "/api/v1/channels/health", "", authed()...)
	if w.Code != http.StatusOK {
		t.Fatalf("health: %d %s", w.Code, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Items) != 2 || got.Items[0].Channel != "mail" || got.Items[0].State != inbox.HealthDown ||
		!strings.Contains(got.Items[0].Error, "IMAP login failed") || got.Items[1].State != inbox.HealthOK {
		t.Fatalf("health items: %+v", got.Items)
	}
}

// A signed link from an API channel's callback downloads the file without
// a token; a wrong, foreign or expired one is 404 like a missing file.
func TestSignedFileLink(t *testing.T) {
	dir := t.TempDir()
	s := newTestServer(t, Options{Files: dirFiles{dir: dir, mime: map[string]string{"offer": "application/pdf"}},
		SignedFileKeys: map[string]string{"crm": "crm-secret"}})
	if err := os.WriteFile(filepath.Join(dir, "offer"), []byte("%PDF offer"), 0o600); err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour).Unix()
	link := func(channel, secret, id string, exp int64) string {
		return fmt.Sprintf("/files/signed/%s/%s/offer.pdf?exp=%d&sig=%s", channel, id, exp, inbox.FileSignature(secret, channel, id, exp))
	}
	if w := do(t, s.Handler(), "GET", link("crm", "crm-secret", "offer", exp), ""); w.Code != 200 || w.Body.String() != "%PDF offer" {
		t.Errorf("signed link: %d %q", w.Code, w.Body.String())
	}
	for name, path := range map[string]string{
		"wrong secret":    link("crm", "guess", "offer", exp),
		"unknown channel": link("tg", "crm-secret", "offer", exp),
		"expired":         link("crm", "crm-secret", "offer", time.Now().Add(-time.Minute).Unix()),
		"another file":    strings.Replace(link("crm", "crm-secret", "offer", exp), "/offer/", "/other/", 1),
		"no signature":    "/files/signed/crm/offer/offer.pdf",
	} {
		if w := do(t, s.Handler(), "GET", path, ""); w.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", name, w.Code)
		}
	}
}
