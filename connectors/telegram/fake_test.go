package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// A token shaped like a real one, so that scrubbing is tested on the real
// thing, and a secret of the characters setWebhook accepts.
const (
	testToken  = "7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
	testSecret = "hook_Secret-123"
	testUser   = int64(5012345678)
)

// call is one Bot API request the fake received.
type call struct {
	Method string
	Form   url.Values
}

// fakeAPI is a Bot API server speaking Telegram's wire format: POST
// /bot<token>/<method> with multipart or urlencoded parameters, answers
// {"ok":true,"result":...} or {"ok":false,"error_code":N,"description":...}
// with the HTTP status equal to error_code, files under /file/bot<token>/.
type fakeAPI struct {
	t   *testing.T
	srv *httptest.Server

	mu      sync.Mutex
	calls   []call
	replies map[string]func(form url.Values) (int, string)
	updates []json.RawMessage // not yet confirmed, in id order
	offsets []int64           // offset of every getUpdates, 0 when absent
	files   map[string][]byte // file_path → body
	nextMsg int
	wake    chan struct{} // closed and replaced when updates are added
	polling chan struct{} // gets a value when a getUpdates waits empty-handed
}

func newFake(t *testing.T) *fakeAPI {
	t.Helper()
	f := &fakeAPI{
		t:       t,
		replies: map[string]func(url.Values) (int, string){},
		files:   map[string][]byte{},
		nextMsg: 100,
		wake:    make(chan struct{}),
		polling: make(chan struct{}, 1),
	}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

// reply makes method answer with status and body from now on.
func (f *fakeAPI) reply(method string, fn func(form url.Values) (int, string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replies[method] = fn
}

// replyFixture makes method fail with a testdata error body, its
// error_code as the HTTP status.
func (f *fakeAPI) replyFixture(method, file string) {
	body := readFile(f.t, file)
	var e struct {
		ErrorCode int `json:"error_code"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		f.t.Fatal(err)
	}
	f.reply(method, func(url.Values) (int, string) { return e.ErrorCode, string(body) })
}

func (f *fakeAPI) addUpdates(raws ...[]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, raw := range raws {
		f.updates = append(f.updates, json.RawMessage(raw))
	}
	close(f.wake)
	f.wake = make(chan struct{})
}

func (f *fakeAPI) callsOf(method string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeAPI) offsetsSeen() []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int64(nil), f.offsets...)
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p, ok := strings.CutPrefix(r.URL.Path, "/file/bot"+testToken+"/"); ok {
		f.mu.Lock()
		body, found := f.files[p]
		f.mu.Unlock()
		if !found {
			http.NotFound(w, r)
			return
		}
		w.Write(body)
		return
	}
	method, ok := strings.CutPrefix(r.URL.Path, "/bot"+testToken+"/")
	if !ok {
		answer(w, http.StatusUnauthorized, `{"ok":false,"error_code":401,"description":"Unauthorized"}`)
		return
	}
	// Parameterless calls (getMe) come as a multipart body without even a
	// closing boundary; Telegram accepts that, and so does the fake. What a
	// call should carry is asserted by the tests.
	_ = r.ParseMultipartForm(1 << 20)
	// Uploaded files show in the recorded form as "upload:<field>" =
	// "<file name>:<content>".
	if r.MultipartForm != nil {
		for field, fhs := range r.MultipartForm.File {
			for _, fh := range fhs {
				if fr, err := fh.Open(); err == nil {
					b, _ := io.ReadAll(fr)
					fr.Close()
					r.Form.Add("upload:"+field, fh.Filename+":"+string(b))
				}
			}
		}
	}
	f.mu.Lock()
	f.calls = append(f.calls, call{Method: method, Form: r.Form})
	fn := f.replies[method]
	var (
		status int
		body   string
	)
	if fn != nil {
		// Under the lock, so replies may keep state without races.
		status, body = fn(r.Form)
	}
	f.mu.Unlock()
	if fn != nil {
		answer(w, status, body)
		return
	}
	switch method {
	case "getMe":
		answer(w, 200, `{"ok":true,"result":{"id":7000000001,"is_bot":true,"first_name":"Окна Плюс","username":"oknaplus_bot","can_join_groups":true}}`)
	case "setWebhook":
		answer(w, 200, `{"ok":true,"result":true,"description":"Webhook was set"}`)
	case "deleteWebhook":
		answer(w, 200, `{"ok":true,"result":true,"description":"Webhook was deleted"}`)
	case "getWebhookInfo":
		answer(w, 200, `{"ok":true,"result":{"url":"","has_custom_certificate":false,"pending_update_count":0}}`)
	case "sendMessage", "sendPhoto", "sendDocument":
		f.mu.Lock()
		f.nextMsg++
		id := f.nextMsg
		f.mu.Unlock()
		chat := r.Form.Get("chat_id")
		answer(w, 200, fmt.Sprintf(`{"ok":true,"result":{"message_id":%d,"from":{"id":7000000001,"is_bot":true,"first_name":"Окна Плюс","username":"oknaplus_bot"},"chat":{"id":%s,"type":"private"},"date":1767261800,"text":"ok"}}`, id, chat))
	case "getUpdates":
		f.getUpdates(w, r)
	default:
		answer(w, 404, `{"ok":false,"error_code":404,"description":"Not Found: method not found"}`)
	}
}

// getUpdates behaves like Telegram's: an offset confirms every update
// below it for good; with nothing to return it holds the request for the
// timeout or until updates arrive.
func (f *fakeAPI) getUpdates(w http.ResponseWriter, r *http.Request) {
	offset, _ := strconv.ParseInt(r.Form.Get("offset"), 10, 64)
	timeout, _ := strconv.Atoi(r.Form.Get("timeout"))
	for {
		f.mu.Lock()
		f.offsets = append(f.offsets, offset)
		var keep, out []json.RawMessage
		for _, u := range f.updates {
			if offset > 0 && updateID(f.t, u) < offset {
				continue // confirmed
			}
			keep = append(keep, u)
			out = append(out, u)
		}
		f.updates = keep
		wake := f.wake
		f.mu.Unlock()
		if len(out) > 0 {
			b, _ := json.Marshal(out)
			answer(w, 200, `{"ok":true,"result":`+string(b)+`}`)
			return
		}
		select {
		case f.polling <- struct{}{}:
		default:
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(time.Duration(timeout) * time.Second):
			answer(w, 200, `{"ok":true,"result":[]}`)
			return
		case <-wake:
			// Count the repeat as a new poll only once.
			f.mu.Lock()
			f.offsets = f.offsets[:len(f.offsets)-1]
			f.mu.Unlock()
		}
	}
}

func answer(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func updateID(t *testing.T, raw []byte) int64 {
	var u struct {
		ID int64 `json:"update_id"`
	}
	if err := json.Unmarshal(raw, &u); err != nil {
		t.Fatalf("update: %v", err)
	}
	return u.ID
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// lockedBuffer collects log output written from several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newChannel returns a channel talking to fake, with options adjusted by
// edit; its log goes to the returned buffer.
func newChannel(t *testing.T, apiURL string, edit func(*Options)) (*Channel, *lockedBuffer) {
	t.Helper()
	logs := &lockedBuffer{}
	opts := Options{
		ChannelID:   "tg",
		Token:       testToken,
		Secret:      testSecret,
		APIURL:      apiURL,
		PublicURL:   "https://hub.example.com/",
		Region:      "RU",
		Logger:      slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		PollTimeout: time.Second,
		RetryDelay:  10 * time.Millisecond,
		Now:         func() time.Time { return time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC) },
		Holder:      "test-host:1:a1",
	}
	if edit != nil {
		edit(&opts)
	}
	c, err := New(context.Background(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, logs
}

// memFiles is an inbox.Files keeping files in memory.
type memFiles struct {
	mu    sync.Mutex
	saved map[string][]byte
}

func (m *memFiles) Save(ctx context.Context, name, mime string, max int64, r io.Reader) (inbox.Attachment, error) {
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
	return inbox.Attachment{URL: "/files/0123/" + name, Name: name, MIME: mime, Size: int64(len(b))}, nil
}

// OpenAttachment opens a file Save stored, as filestore does.
func (m *memFiles) OpenAttachment(_ context.Context, a inbox.Attachment) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.saved[a.Name]
	if !ok || !strings.HasPrefix(a.URL, "/files/") {
		return nil, inbox.Errorf(inbox.ENOTFOUND, "file not in storage")
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// sink records envelopes and fails the first fail[key] attempts for a key.
type sink struct {
	mu       sync.Mutex
	fail     map[string]int
	attempts []string
	got      []inbox.Envelope
}

func (s *sink) Enqueue(ctx context.Context, e inbox.Envelope) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts = append(s.attempts, e.DedupeKey)
	if s.fail[e.DedupeKey] > 0 {
		s.fail[e.DedupeKey]--
		return inbox.Errorf(inbox.EUNAVAILABLE, "queue is full")
	}
	s.got = append(s.got, e)
	return nil
}

func (s *sink) keys() (got, attempts []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.got {
		got = append(got, e.DedupeKey)
	}
	return got, append([]string(nil), s.attempts...)
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// memPollers is an inbox.PollerStore in memory, as the store keeps it:
// positions by source, leases that expire by clock.
type memPollers struct {
	clock inbox.Clock

	mu      sync.Mutex
	cps     map[string]string
	holders map[string]inbox.Lease
}

func newMemPollers(clock inbox.Clock) *memPollers {
	return &memPollers{clock: clock, cps: map[string]string{}, holders: map[string]inbox.Lease{}}
}

func (m *memPollers) LoadCheckpoint(ctx context.Context, source string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cps[source], nil
}

func (m *memPollers) SaveCheckpoint(ctx context.Context, source, pos string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cps[source] = pos
	return nil
}

func (m *memPollers) checkpoint(source string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cps[source]
}

func (m *memPollers) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (inbox.Lease, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, held := m.holders[name]
	if held && l.Holder != holder && m.clock.Now().Before(l.ExpiresAt) {
		return l, false, nil
	}
	l = inbox.Lease{Name: name, Holder: holder, ExpiresAt: m.clock.Now().Add(ttl)}
	m.holders[name] = l
	return l, true, nil
}

func (m *memPollers) RenewLease(ctx context.Context, name, holder string, ttl time.Duration) (inbox.Lease, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.holders[name]
	if l.Holder != holder || !m.clock.Now().Before(l.ExpiresAt) {
		return l, false, nil
	}
	l.ExpiresAt = m.clock.Now().Add(ttl)
	m.holders[name] = l
	return l, true, nil
}

func (m *memPollers) ReleaseLease(ctx context.Context, name, holder string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.holders[name].Holder == holder {
		delete(m.holders, name)
	}
	return nil
}

func (m *memPollers) holder(name string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.holders[name].Holder
}

// killed is a PollerStore of a process that is killed: it never gets to
// release its lease.
type killed struct{ *memPollers }

func (killed) ReleaseLease(context.Context, string, string) error { return nil }
