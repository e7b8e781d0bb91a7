package vk

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/SevereCloud/vksdk/v3/api"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/store/filestore"
)

// sendChannel is a channel talking to fake VK, with a health board, a file
// store and a log that the token must never reach.
func sendChannel(t *testing.T, f *fakeVK) (*Channel, *inbox.HealthBoard, *filestore.Store, *bytes.Buffer) {
	t.Helper()
	files, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	health := inbox.NewHealthBoard(inbox.NewFakeClock(testNow))
	var logs bytes.Buffer
	c := newTestChannel(t, testGroup, testSecret, func(o *Options) {
		o.APIURL = f.url()
		o.Health = health
		o.Files = files
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		o.Rate = 1000
	})
	return c, health, files, &logs
}

func reply(id int64, text string, atts ...inbox.Attachment) inbox.Outbound {
	return inbox.Outbound{
		Message:   inbox.Message{ID: id, Text: text, Attachments: atts, CreatedAt: testNow, Direction: inbox.DirectionOut},
		ChannelID: "vk", ChannelType: inbox.ChannelVK, ClientID: 7,
		To:      []inbox.Identity{{Kind: inbox.IdentityPhone, Value: "+79123456789"}, {Kind: inbox.IdentityVK, Value: "715616525"}},
		ReplyTo: "715616525:41", Attempt: 1,
	}
}

func TestSendText(t *testing.T) {
	f := newFakeVK(t)
	c, health, _, _ := sendChannel(t, f)
	o := reply(55, "Доставка завтра")
	ext, err := c.Send(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if ext != "715616525:id1001" {
		t.Errorf("external id %q", ext)
	}
	calls := f.callsOf("messages.send")
	if len(calls) != 1 {
		t.Fatalf("%d sends", len(calls))
	}
	form := calls[0].Form
	want := map[string]string{"peer_id": "715616525", "message": "Доставка завтра", "random_id": strconv.FormatInt(c.RandomID(o.Message), 10), "v": APIVersion}
	for k, v := range want {
		if form[k] != v {
			t.Errorf("%s = %q, want %q", k, form[k], v)
		}
	}
	if calls[0].Auth != "Bearer "+testToken {
		t.Errorf("authorization %q", calls[0].Auth)
	}
	if _, ok := form["access_token"]; ok {
		t.Error("the token went into the form body")
	}
	if h := health.Get("vk"); h.State != inbox.HealthOK {
		t.Errorf("health %+v, want ok", h)
	}
	// A retry of the same message sends the same random_id: VK delivers
	// it once.
	if _, err := c.Send(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if again := f.callsOf("messages.send")[1].Form["random_id"]; again != form["random_id"] {
		t.Errorf("retry random_id %s, first %s", again, form["random_id"])
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		code        int
		permanent   bool
		unreachable bool
		retryAfter  time.Duration
		health      inbox.HealthState
	}{
		{code: 6, retryAfter: tooManyDelay, health: inbox.HealthDegraded},
		{code: 9, retryAfter: floodDelay, health: inbox.HealthDegraded},
		{code: 10, health: inbox.HealthDegraded},
		{code: 1, health: inbox.HealthDegraded},
		{code: 5, health: inbox.HealthDown},
		{code: 900, permanent: true, unreachable: true, health: inbox.HealthOK},
		{code: 901, permanent: true, unreachable: true, health: inbox.HealthOK},
		{code: 902, permanent: true, unreachable: true, health: inbox.HealthOK},
		{code: 14, permanent: true, health: inbox.HealthOK},
		{code: 100, permanent: true, health: inbox.HealthOK},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.code), func(t *testing.T) {
			f := newFakeVK(t)
			c, health, _, logs := sendChannel(t, f)
			health.OK("vk")
			f.failNext("messages.send", tt.code)
			_, err := c.Send(context.Background(), reply(56, "Здравствуйте"))
			if err == nil {
				t.Fatal("Send succeeded")
			}
			var vkErr *api.Error
			if !errors.As(err, &vkErr) || int(vkErr.Code) != tt.code {
				t.Errorf("error %v does not carry VK's error %d", err, tt.code)
			}
			var se *inbox.SendError
			isSE := errors.As(err, &se)
			if got := isSE && se.Permanent; got != tt.permanent {
				t.Errorf("permanent = %v, want %v (%v)", got, tt.permanent, err)
			}
			if got := isSE && se.Unreachable; got != tt.unreachable {
				t.Errorf("unreachable = %v, want %v", got, tt.unreachable)
			}
			if tt.unreachable {
				if se.Identity != (inbox.Identity{Kind: inbox.IdentityVK, Value: "715616525"}) || !errors.Is(err, ErrNoPermission) {
					t.Errorf("identity %v, err %v", se.Identity, err)
				}
				if !strings.Contains(err.Error(), "error "+strconv.Itoa(tt.code)) {
					t.Errorf("the reason does not name VK's error: %v", err)
				}
			}
			var retryAfter time.Duration
			if isSE {
				retryAfter = se.RetryAfter
			}
			if retryAfter != tt.retryAfter {
				t.Errorf("retry after %v, want %v", retryAfter, tt.retryAfter)
			}
			if h := health.Get("vk"); h.State != tt.health {
				t.Errorf("health %+v, want %s", h, tt.health)
			}
			for _, s := range []string{err.Error(), logs.String(), health.Get("vk").Error} {
				if strings.Contains(s, testToken) || strings.Contains(s, "TOKEN-never") {
					t.Fatalf("the token leaked: %s", s)
				}
			}
		})
	}
}

// The outbound worker's view: a 6 is retried and then sent; a 901 fails at
// once and marks the identity.
func TestSendThroughOutboundWorker(t *testing.T) {
	f := newFakeVK(t)
	c, _, _, _ := sendChannel(t, f)
	f.failNext("messages.send", 6, 10)
	st := &memOutbox{pending: []inbox.Outbound{reply(70, "first")}}
	clock := inbox.NewFakeClock(testNow)
	w := inbox.NewOutboundWorker(inbox.OutboundOptions{Store: st, Senders: map[string]inbox.Sender{"vk": c}, Clock: clock, BaseDelay: time.Second})
	ctx := context.Background()
	st.claimDue(ctx, w, clock)
	if st.sent[70] == "" || len(st.retries) != 2 {
		t.Fatalf("sent %v, retries %v", st.sent, st.retries)
	}
	if st.retries[0] < tooManyDelay {
		t.Errorf("error 6 retried after %v", st.retries[0])
	}
	rids := map[string]bool{}
	for _, call := range f.callsOf("messages.send") {
		rids[call.Form["random_id"]] = true
	}
	if len(rids) != 1 {
		t.Errorf("attempts used %d random_ids", len(rids))
	}

	f.failNext("messages.send", 901)
	st.pending = []inbox.Outbound{reply(71, "second")}
	st.claimDue(ctx, w, clock)
	if !strings.Contains(st.failed[71], "error 901") || len(st.unreachable) != 1 || st.unreachable[0].Value != "715616525" {
		t.Fatalf("failed %v, unreachable %v", st.failed, st.unreachable)
	}
}

// memOutbox is an inbox.OutboundStore holding replies in memory. It
// ignores due times: a retry is claimed at once, and the delay asked for is
// recorded instead.
type memOutbox struct {
	mu          sync.Mutex
	pending     []inbox.Outbound
	sent        map[int64]string
	failed      map[int64]string
	retries     []time.Duration
	unreachable []inbox.Identity
	now         time.Time
	idle        chan struct{} // closed when a claim finds nothing to do
}

// claimDue runs the worker until it has nothing left to claim.
func (m *memOutbox) claimDue(ctx context.Context, w *inbox.OutboundWorker, clock *inbox.FakeClock) {
	m.mu.Lock()
	m.now = clock.Now()
	idle := make(chan struct{})
	m.idle = idle
	m.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	<-idle
	cancel()
	<-done
}

func (m *memOutbox) ClaimOutbound(ctx context.Context, limit int, lease time.Duration) ([]inbox.Outbound, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.pending) == 0 {
		if m.idle != nil {
			close(m.idle)
			m.idle = nil
		}
		return nil, nil
	}
	out := m.pending
	m.pending = nil
	return out, nil
}

func (m *memOutbox) MarkSent(ctx context.Context, id int64, ext string) ([]inbox.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sent == nil {
		m.sent = map[int64]string{}
	}
	m.sent[id] = ext
	return nil, nil
}

func (m *memOutbox) MarkFailed(ctx context.Context, id int64, reason string) ([]inbox.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failed == nil {
		m.failed = map[int64]string{}
	}
	m.failed[id] = reason
	return nil, nil
}

func (m *memOutbox) RetryLater(ctx context.Context, id int64, at time.Time, reason string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.retries = append(m.retries, at.Sub(m.now))
	o := reply(id, "first")
	o.Attempt = len(m.retries) + 1
	m.pending = append(m.pending, o)
	return nil
}

func (m *memOutbox) MarkUnreachable(ctx context.Context, clientID int64, id inbox.Identity, reason string) ([]inbox.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.unreachable = append(m.unreachable, id)
	return nil, nil
}

func TestSendAttachments(t *testing.T) {
	f := newFakeVK(t)
	c, _, files, _ := sendChannel(t, f)
	ctx := context.Background()
	photo, err := files.Save(ctx, "plan.png", "image/png", 1<<20, strings.NewReader("\x89PNG fake image"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := files.Save(ctx, "Договор.pdf", "application/pdf", 1<<20, strings.NewReader("%PDF-1.4 fake"))
	if err != nil {
		t.Fatal(err)
	}
	outside := inbox.Attachment{URL: "https://example.com/price.xlsx", Name: "price.xlsx"}
	ext, err := c.Send(ctx, reply(80, "Документы во вложении", photo, doc, outside))
	if err != nil {
		t.Fatal(err)
	}
	if ext == "" {
		t.Error("no external id")
	}
	if len(f.uploads) != 2 || f.uploads[0].Field != "photo" || string(f.uploads[0].Data) != "\x89PNG fake image" ||
		f.uploads[1].Field != "file" || f.uploads[1].Name != "Договор.pdf" {
		t.Fatalf("uploads %+v", f.uploads)
	}
	if got := f.callsOf("photos.getMessagesUploadServer")[0].Form["peer_id"]; got != "715616525" {
		t.Errorf("photo upload server for peer %s", got)
	}
	if got := f.callsOf("docs.getMessagesUploadServer")[0].Form; got["peer_id"] != "715616525" || got["type"] != "doc" {
		t.Errorf("doc upload server form %v", got)
	}
	send := f.callsOf("messages.send")[0].Form
	if want := "photo-183287114_457239017_ak1,doc-183287114_6640001"; send["attachment"] != want {
		t.Errorf("attachment %q, want %q", send["attachment"], want)
	}
	if want := "Документы во вложении\nhttps://example.com/price.xlsx"; send["message"] != want {
		t.Errorf("message %q, want %q", send["message"], want)
	}
}

func TestSendUploadErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("upload server error is retried", func(t *testing.T) {
		f := newFakeVK(t)
		c, _, files, _ := sendChannel(t, f)
		doc, _ := files.Save(ctx, "a.pdf", "application/pdf", 1<<20, strings.NewReader("x"))
		f.failNext("docs.getMessagesUploadServer", 10)
		_, err := c.Send(ctx, reply(81, "", doc))
		var se *inbox.SendError
		if err == nil || errors.As(err, &se) && se.Permanent {
			t.Fatalf("err %v: want a retryable error", err)
		}
		if len(f.callsOf("messages.send")) != 0 {
			t.Fatal("sent without the file")
		}
	})
	t.Run("save refused for permission", func(t *testing.T) {
		f := newFakeVK(t)
		c, _, files, _ := sendChannel(t, f)
		img, _ := files.Save(ctx, "a.jpg", "image/jpeg", 1<<20, strings.NewReader("jpeg"))
		f.failNext("photos.saveMessagesPhoto", 901)
		_, err := c.Send(ctx, reply(82, "", img))
		var se *inbox.SendError
		if !errors.As(err, &se) || !se.Unreachable {
			t.Fatalf("err %v: want unreachable", err)
		}
	})
	t.Run("file missing from storage", func(t *testing.T) {
		f := newFakeVK(t)
		c, _, _, _ := sendChannel(t, f)
		_, err := c.Send(ctx, reply(83, "", inbox.Attachment{URL: "/files/deadbeef/x.pdf", Name: "x.pdf"}))
		var se *inbox.SendError
		if !errors.As(err, &se) || !se.Permanent {
			t.Fatalf("err %v: want permanent", err)
		}
	})
}

func TestSendRefusesWhatCannotGo(t *testing.T) {
	f := newFakeVK(t)
	c, _, _, _ := sendChannel(t, f)
	cases := map[string]inbox.Outbound{
		"no VK identity": func() inbox.Outbound { o := reply(90, "x"); o.To = o.To[:1]; return o }(),
		"empty":          reply(91, "  "),
		"too long":       reply(92, strings.Repeat("я", maxTextLen+1)),
	}
	for name, o := range cases {
		_, err := c.Send(context.Background(), o)
		var se *inbox.SendError
		if !errors.As(err, &se) || !se.Permanent {
			t.Errorf("%s: err %v, want permanent", name, err)
		}
	}
	if n := len(f.callsOf("messages.send")); n != 0 {
		t.Errorf("%d sends", n)
	}
}

// A network failure is retried, reported degraded, and its error (a
// *url.Error printing the request URL) holds no token.
func TestSendNetworkError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hj, _ := w.(http.Hijacker)
		conn, _, _ := hj.Hijack()
		conn.Close()
	}))
	defer srv.Close()
	health := inbox.NewHealthBoard(nil)
	c := newTestChannel(t, testGroup, testSecret, func(o *Options) {
		o.APIURL = srv.URL + "/method/?access_token=" + testToken + "&"
		o.Health = health
	})
	_, err := c.Send(context.Background(), reply(93, "x"))
	var se *inbox.SendError
	if err == nil || errors.As(err, &se) && se.Permanent {
		t.Fatalf("err %v: want retryable", err)
	}
	if strings.Contains(err.Error(), testToken) {
		t.Fatalf("token in %v", err)
	}
	if h := health.Get("vk"); h.State != inbox.HealthDegraded {
		t.Errorf("health %+v", h)
	}
}
