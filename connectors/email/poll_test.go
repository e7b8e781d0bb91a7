package email

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadhub/leadhub/connectors/email/emailtest"
	"github.com/leadhub/leadhub/inbox"
)

// memFiles is an inbox.Files and inbox.FileSource in memory.
type memFiles struct {
	mu    sync.Mutex
	saved map[string][]byte // by URL
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
	url := fmt.Sprintf("/files/%d/%s", len(m.saved), name)
	m.saved[url] = b
	return inbox.Attachment{URL: url, Name: name, MIME: mime, Size: int64(len(b))}, nil
}

func (m *memFiles) OpenAttachment(ctx context.Context, a inbox.Attachment) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.saved[a.URL]
	if !ok {
		return nil, inbox.Errorf(inbox.ENOTFOUND, "no such file")
	}
	return io.NopCloser(strings.NewReader(string(b))), nil
}

// testChannel is a channel on the servers' addresses.
func testChannel(t testing.TB, imapAddr, smtpAddr string, edit func(*Options)) (*Channel, *inbox.HealthBoard) {
	t.Helper()
	health := inbox.NewHealthBoard(nil)
	files := &memFiles{}
	o := Options{
		ChannelID:   "mail",
		IMAPAddr:    imapAddr,
		IMAPTLS:     TLSNone,
		Username:    emailtest.User,
		Password:    emailtest.Password,
		SentMailbox: "Sent",
		SMTPAddr:    smtpAddr,
		SMTPTLS:     TLSNone,
		FromName:    "Shop",
		Backfill:    24 * time.Hour,
		Files:       files,
		FileSource:  files,
		Health:      health,
		Holder:      "test",
	}
	if edit != nil {
		edit(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.disconnect)
	return c, health
}

// textMail is a small message from a customer.
func textMail(n int, from, extra string) []byte {
	return []byte(fmt.Sprintf("From: Client %d <%s>\r\nTo: sales@shop.test\r\nSubject: Question %d\r\nMessage-ID: <q%d@client.test>\r\nDate: Mon, 2 Dec 2024 10:00:00 +0000\r\n%s\r\nHello %d\r\n", n, from, n, n, extra, n))
}

func noIdle(o *Options) { o.NoIdle = true }

// pollAll polls from cp until a poll brings nothing new, returning the
// envelopes and the last checkpoint.
func pollAll(t *testing.T, c *Channel, cp string) ([]inbox.Envelope, string) {
	t.Helper()
	var envs []inbox.Envelope
	for range 100 {
		items, err := c.Poll(context.Background(), cp)
		if err != nil {
			t.Fatalf("poll from %q: %v", cp, err)
		}
		if len(items) == 0 {
			return envs, cp
		}
		for _, it := range items {
			envs = append(envs, it.Envelopes...)
			cp = it.Checkpoint
		}
	}
	t.Fatal("polling never ended")
	return nil, ""
}

func TestPollTLSModes(t *testing.T) {
	cert := emailtest.NewTLS(t)
	for _, mode := range []string{TLSNone, TLSStart, TLSImplicit} {
		t.Run(mode, func(t *testing.T) {
			srv := emailtest.NewIMAP(t, emailtest.IMAPOptions{TLS: mode, Cert: cert})
			srv.Deliver(t, "INBOX", textMail(1, "a@client.test", ""))
			c, health := testChannel(t, srv.Addr, "", func(o *Options) {
				o.IMAPTLS = mode
				o.TLSConfig = cert.Client
				o.NoIdle = true
			})
			envs, cp := pollAll(t, c, "")
			if len(envs) != 1 || envs[0].DedupeKey != "email:mail:q1@client.test" || cp != "1:1" {
				t.Fatalf("got %d envelopes, checkpoint %q", len(envs), cp)
			}
			if h := health.Get("mail"); h.State != inbox.HealthOK {
				t.Fatalf("health = %+v", h)
			}
		})
	}
}

// The checkpoint is the position: polling from it brings exactly what came
// after, nothing before; a changed UIDVALIDITY reads everything again, with
// the same dedupe keys.
func TestPollCheckpointAndUIDValidity(t *testing.T) {
	srv := emailtest.NewIMAP(t, emailtest.IMAPOptions{})
	for i := 1; i <= 3; i++ {
		srv.Deliver(t, "INBOX", textMail(i, fmt.Sprintf("c%d@client.test", i), ""))
	}
	c, _ := testChannel(t, srv.Addr, "", noIdle)
	envs, cp := pollAll(t, c, "")
	if len(envs) != 3 || cp != "1:3" {
		t.Fatalf("first poll: %d envelopes, checkpoint %q", len(envs), cp)
	}
	// A new poller (a restarted hub) from the saved checkpoint.
	c2, _ := testChannel(t, srv.Addr, "", noIdle)
	if envs, _ := pollAll(t, c2, cp); len(envs) != 0 {
		t.Fatalf("re-read %d envelopes after the checkpoint", len(envs))
	}
	srv.Deliver(t, "INBOX", textMail(4, "c4@client.test", ""))
	envs, cp = pollAll(t, c2, cp)
	if len(envs) != 1 || envs[0].DedupeKey != "email:mail:q4@client.test" || cp != "1:4" {
		t.Fatalf("after new mail: %d envelopes, checkpoint %q", len(envs), cp)
	}

	srv.Recreate(t, "INBOX")
	for i := 1; i <= 4; i++ {
		srv.Deliver(t, "INBOX", textMail(i, fmt.Sprintf("c%d@client.test", i), ""))
	}
	c3, _ := testChannel(t, srv.Addr, "", noIdle)
	envs, cp = pollAll(t, c3, cp)
	if len(envs) != 4 || strings.HasPrefix(cp, "1:") {
		t.Fatalf("after UIDVALIDITY changed: %d envelopes, checkpoint %q", len(envs), cp)
	}
	if envs[0].DedupeKey != "email:mail:q1@client.test" {
		t.Fatalf("re-scan key %q", envs[0].DedupeKey)
	}
}

// Backfill reads only mail since the configured time on a first
// connection; without backfill only later mail is read.
func TestPollBackfill(t *testing.T) {
	srv := emailtest.NewIMAP(t, emailtest.IMAPOptions{})
	srv.Deliver(t, "INBOX", textMail(1, "old@client.test", ""))
	c, _ := testChannel(t, srv.Addr, "", func(o *Options) { o.Backfill, o.NoIdle = 0, true })
	envs, cp := pollAll(t, c, "")
	if len(envs) != 0 || cp != "1:1" {
		t.Fatalf("without backfill: %d envelopes, checkpoint %q", len(envs), cp)
	}
	// The in-memory server's INTERNALDATE is now; a backfill window ending
	// in the future (Now a day ahead, window of an hour) excludes it.
	c2, _ := testChannel(t, srv.Addr, "", func(o *Options) {
		o.Backfill, o.NoIdle = time.Hour, true
		o.Now = func() time.Time { return time.Now().Add(48 * time.Hour) }
	})
	if envs, _ := pollAll(t, c2, ""); len(envs) != 0 {
		t.Fatalf("mail older than the backfill read: %d", len(envs))
	}
	c3, _ := testChannel(t, srv.Addr, "", func(o *Options) { o.Backfill, o.NoIdle = 24*time.Hour, true })
	if envs, _ := pollAll(t, c3, ""); len(envs) != 1 {
		t.Fatalf("backfill read %d, want 1", len(envs))
	}
}

// With IDLE, Poll waits in the mailbox and wakes when mail arrives.
func TestPollIdleWakesOnNewMail(t *testing.T) {
	srv := emailtest.NewIMAP(t, emailtest.IMAPOptions{})
	c, _ := testChannel(t, srv.Addr, "", func(o *Options) { o.Backfill = 0 })
	items, err := c.Poll(context.Background(), "")
	if err != nil || len(items) != 1 {
		t.Fatalf("first poll: %v, %d items", err, len(items))
	}
	cp := items[0].Checkpoint
	done := make(chan []inbox.PollItem, 1)
	go func() {
		items, err := c.Poll(context.Background(), cp)
		if err != nil {
			t.Errorf("idle poll: %v", err)
		}
		done <- items
	}()
	srv.Deliver(t, "INBOX", textMail(1, "a@client.test", ""))
	select {
	case items := <-done:
		// The wake-up moves nothing; the next poll brings the mail.
		if len(items) == 1 && len(items[0].Envelopes) == 0 && items[0].Checkpoint == cp {
			items, err = c.Poll(context.Background(), cp)
			if err != nil {
				t.Fatal(err)
			}
		}
		if len(items) != 1 || len(items[0].Envelopes) != 1 {
			t.Fatalf("after the wake-up: %+v", items)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("IDLE did not wake on new mail")
	}
}

// Poll returns when its context ends, even while waiting in IDLE.
func TestPollIdleStopsWithContext(t *testing.T) {
	srv := emailtest.NewIMAP(t, emailtest.IMAPOptions{})
	c, _ := testChannel(t, srv.Addr, "", func(o *Options) { o.Backfill = 0 })
	items, _ := c.Poll(context.Background(), "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Poll(ctx, items[0].Checkpoint)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Poll did not return after its context ended")
	}
}

// Wrong credentials put the channel down with a reason that holds no
// secret, and the poll loop retries them with a growing wait.
func TestWrongPasswordIsDownAndBackedOff(t *testing.T) {
	srv := emailtest.NewIMAP(t, emailtest.IMAPOptions{})
	c, health := testChannel(t, srv.Addr, "", func(o *Options) {
		o.Password = "wrong-secret-pw"
		o.RetryDelay = 20 * time.Millisecond
		o.MaxRetryDelay = 80 * time.Millisecond
	})
	_, err := c.Poll(context.Background(), "")
	if err == nil || !strings.Contains(err.Error(), ErrAuth.Error()) {
		t.Fatalf("poll with a wrong password: %v", err)
	}
	h := health.Get("mail")
	if h.State != inbox.HealthDown || h.Error == "" || strings.Contains(h.Error, "wrong-secret-pw") || strings.Contains(err.Error(), "wrong-secret-pw") {
		t.Fatalf("health = %+v, err = %v", h, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, &sink{}, newMemPollers()) }()
	deadline := time.Now().Add(20 * time.Second)
	for len(srv.Logins()) < 6 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	logins := srv.Logins()[1:] // the loop's attempts
	if len(logins) < 5 {
		t.Fatalf("only %d login attempts", len(logins))
	}
	// Backoff's jitter takes at most 20% off the wait.
	for i := 1; i < len(logins); i++ {
		if gap := logins[i].Sub(logins[i-1]); gap < 16*time.Millisecond {
			t.Fatalf("login %d came %v after the one before: a tight loop", i, gap)
		}
	}
	if gap := logins[len(logins)-1].Sub(logins[len(logins)-2]); gap < 64*time.Millisecond {
		t.Fatalf("the wait did not grow to the cap: last gap %v", gap)
	}
}

type sink struct {
	mu  sync.Mutex
	got []inbox.Envelope
}

func (s *sink) Enqueue(ctx context.Context, e inbox.Envelope) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, e)
	return nil
}

// memPollers is an inbox.PollerStore in memory whose lease is always free
// for the asker.
type memPollers struct {
	mu  sync.Mutex
	cps map[string]string
}

func newMemPollers() *memPollers { return &memPollers{cps: map[string]string{}} }

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

func (m *memPollers) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (inbox.Lease, bool, error) {
	return inbox.Lease{Name: name, Holder: holder, ExpiresAt: time.Now().Add(ttl)}, true, nil
}

func (m *memPollers) RenewLease(ctx context.Context, name, holder string, ttl time.Duration) (inbox.Lease, bool, error) {
	return inbox.Lease{Name: name, Holder: holder, ExpiresAt: time.Now().Add(ttl)}, true, nil
}

func (m *memPollers) ReleaseLease(ctx context.Context, name, holder string) error { return nil }

// Big mail is fetched a few at a time, and a message over the size limit is
// read by its beginning, flagged, and does not stop the mailbox.
func TestPollBoundsWhatIsFetched(t *testing.T) {
	srv := emailtest.NewIMAP(t, emailtest.IMAPOptions{})
	for i := 1; i <= 5; i++ {
		srv.Deliver(t, "INBOX", textMail(i, fmt.Sprintf("c%d@client.test", i), ""))
	}
	huge := textMail(6, "big@client.test", "")
	huge = append(huge, []byte(strings.Repeat("x", 5000)+"\r\n")...)
	srv.Deliver(t, "INBOX", huge)
	srv.Deliver(t, "INBOX", textMail(7, "c7@client.test", ""))
	c, _ := testChannel(t, srv.Addr, "", noIdle)
	c.maxFetch, c.maxMessage = 400, 2000
	envs, cp := pollAll(t, c, "")
	if len(envs) != 7 || cp != "1:7" {
		t.Fatalf("%d envelopes, checkpoint %q", len(envs), cp)
	}
	big := envs[5]
	if big.DedupeKey != "email:mail:q6@client.test" || !strings.Contains(big.Meta[MetaMalformed], "only its beginning") || !strings.Contains(big.Text, "Hello 6") {
		t.Fatalf("huge mail: %q, %q", big.Meta[MetaMalformed], big.Text[:min(len(big.Text), 40)])
	}
}
