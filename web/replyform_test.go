package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/leadhub/leadhub/inbox"
)

// memFiles is an inbox.Files in memory.
type memFiles struct {
	mu    sync.Mutex
	saved map[string][]byte
}

func (m *memFiles) Save(_ context.Context, name, mime string, max int64, r io.Reader) (inbox.Attachment, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return inbox.Attachment{}, err
	}
	if int64(len(b)) > max {
		return inbox.Attachment{}, inbox.Errorf(inbox.ETOOLARGE, "file is larger than %d bytes", max)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.saved == nil {
		m.saved = map[string][]byte{}
	}
	m.saved[name] = b
	return inbox.Attachment{URL: "/files/" + fmt.Sprint(len(m.saved)) + "/" + name, Name: name, MIME: mime, Size: int64(len(b))}, nil
}

// replyForm builds a multipart reply: fields first, then files (name →
// content).
func replyForm(t *testing.T, fields map[string]string, files ...[2]string) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		w, err := mw.CreateFormFile("files", f[0])
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, f[1])
	}
	mw.Close()
	return mw.FormDataContentType(), &buf
}

func TestAPIReplyWithFiles(t *testing.T) {
	store := newFakeStore()
	store.conversations[3] = inbox.Conversation{ID: 3}
	uploads := &memFiles{}
	s := newTestServer(t, Options{Store: store, Uploads: uploads})
	post := func(ct string, body io.Reader, id int) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", fmt.Sprintf("/api/v1/conversations/%d/messages", id), body)
		r.Header.Set("Content-Type", ct)
		for h := authed(); len(h) >= 2; h = h[2:] {
			r.Header.Set(h[0], h[1])
		}
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, r)
		return w
	}

	ct, body := replyForm(t, map[string]string{"text": "Смета во вложении"}, [2]string{"смета.pdf", "%PDF-1.7"}, [2]string{"plan.png", "PNG"})
	w := post(ct, body, 3)
	if w.Code != http.StatusAccepted {
		t.Fatalf("reply with files: %d %s", w.Code, w.Body)
	}
	var m inbox.Message
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m.Text != "Смета во вложении" || len(m.Attachments) != 2 || m.Attachments[0].Name != "смета.pdf" || m.Attachments[1].Size != 3 {
		t.Errorf("message = %+v", m)
	}
	if string(uploads.saved["смета.pdf"]) != "%PDF-1.7" || len(store.replyFiles) != 1 || len(store.replyFiles[0]) != 2 {
		t.Errorf("saved %v, store got %+v", uploads.saved, store.replyFiles)
	}

	// A file alone is a reply.
	ct, body = replyForm(t, nil, [2]string{"photo.jpg", "JPEG"})
	if w := post(ct, body, 3); w.Code != http.StatusAccepted {
		t.Errorf("file without text: %d %s", w.Code, w.Body)
	}

	bad := []struct {
		name string
		ct   string
		body io.Reader
		want int
	}{
		{"nothing", "", nil, http.StatusBadRequest},
		{"unknown field", "", nil, http.StatusBadRequest},
		{"override_dnc not a bool", "", nil, http.StatusBadRequest},
		{"broken multipart", "multipart/form-data; boundary=xyz", strings.NewReader("--xyz\r\nno end"), http.StatusBadRequest},
		{"too many files", "", nil, http.StatusBadRequest},
	}
	bad[0].ct, bad[0].body = replyForm(t, map[string]string{"text": "  "})
	bad[1].ct, bad[1].body = replyForm(t, map[string]string{"to": "someone"})
	bad[2].ct, bad[2].body = replyForm(t, map[string]string{"text": "x", "override_dnc": "maybe"})
	many := make([][2]string, maxReplyFiles+1)
	for i := range many {
		many[i] = [2]string{fmt.Sprintf("f%d.txt", i), "x"}
	}
	bad[4].ct, bad[4].body = replyForm(t, nil, many...)
	for _, b := range bad {
		if w := post(b.ct, b.body, 3); w.Code != b.want {
			t.Errorf("%s: %d %s, want %d", b.name, w.Code, w.Body, b.want)
		}
	}

	// Too large as a whole: 413, not a crash or a partial reply.
	ct, body = replyForm(t, nil, [2]string{"huge.bin", strings.Repeat("x", maxReplyBody)})
	if w := post(ct, body, 3); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized reply: %d %s", w.Code, w.Body)
	}
	// A conversation the operator cannot see stores nothing.
	before := len(uploads.saved)
	ct, body = replyForm(t, nil, [2]string{"secret.txt", "x"})
	if w := post(ct, body, 4); w.Code != http.StatusNotFound || len(uploads.saved) != before {
		t.Errorf("unknown conversation: %d, saved %d files", w.Code, len(uploads.saved)-before)
	}
	if got := len(store.replyFiles); got != 2 {
		t.Errorf("%d replies with files stored, want 2", got)
	}
}
