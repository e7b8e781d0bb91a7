package store_test

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/inbox/inboxtest"
	"github.com/leadhub/leadhub/store"
	"github.com/leadhub/leadhub/store/filestore"
)

func TestRecordingsSQLite(t *testing.T)   { testRecordings(t, store.DialectSQLite) }
func TestRecordingsPostgres(t *testing.T) { testRecordings(t, store.DialectPostgres) }

// flakyFetcher fails until ok is set.
type flakyFetcher struct {
	mu    sync.Mutex
	ok    bool
	tries int
}

func (f *flakyFetcher) FetchRecording(_ context.Context, j inbox.RecordingJob) (io.ReadCloser, string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tries++
	if !f.ok {
		return nil, "", "", inbox.Errorf(inbox.EUNAVAILABLE, "the recording is not available yet (status 404)")
	}
	return io.NopCloser(strings.NewReader("ID3 fake mp3 of " + j.Call.ID)), "call-" + j.Call.ID + ".mp3", "audio/mpeg", nil
}

type eventLog struct {
	mu  sync.Mutex
	evs []inbox.Event
}

func (l *eventLog) Publish(_ context.Context, evs []inbox.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, evs...)
}

// testRecordings: a call's recording is fetched after the provider had
// time to publish it, retried with growing pauses while it cannot be
// fetched (the entry says so), then attached to the entry, where the files
// access check finds it; one that never comes is marked failed.
func testRecordings(t *testing.T, dialect string) {
	ctx := ctxT(t)
	url := "sqlite:" + filepath.Join(t.TempDir(), "leadhub.db")
	if dialect == store.DialectPostgres {
		url = inboxtest.PostgresURL(t)
	}
	clock := inbox.NewFakeClock(time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC))
	s, err := store.Open(ctx, store.Options{URL: url, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	files, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fetch := &flakyFetcher{}
	pub := &eventLog{}
	w := inbox.NewRecordingWorker(inbox.RecordingOptions{Store: s, Fetchers: map[string]inbox.RecordingFetcher{"pbx": fetch},
		Files: files, Publisher: pub, Clock: clock, MaxAttempts: 3})
	runOnce := func(want int) {
		t.Helper()
		n, err := w.RunOnce(ctx)
		if err != nil || n != want {
			t.Fatalf("RunOnce = %d, %v; want %d", n, err, want)
		}
	}
	entry := func(id int64) inbox.Message {
		t.Helper()
		for _, m := range messages(t, s, id) {
			if m.Kind == inbox.KindCall {
				return m
			}
		}
		t.Fatal("no call entry")
		return inbox.Message{}
	}

	filed, _ := file(t, s, callEnv("rec-1", "ended", "+79123456710", inbox.Call{Event: inbox.CallEnded,
		Disposition: inbox.DispositionAnswered, Duration: 30, RecordingURL: "https://pbx.example.com/rec-1.mp3"}))
	conv := filed[0].Message.ConversationID
	if m := entry(conv); m.Meta["call_recording"] != "pending" {
		t.Fatalf("entry = %v, want the recording pending", m.Meta)
	}
	runOnce(0) // not before the provider had time to publish it
	clock.Advance(time.Minute)
	runOnce(1)
	if m := entry(conv); m.Meta["call_recording"] != "pending" || !strings.Contains(m.Meta["call_recording_error"], "not available") {
		t.Fatalf("after a failed fetch the entry says %v", m.Meta)
	}
	runOnce(0) // the pause after the first failure is a minute
	clock.Advance(time.Minute)
	fetch.ok = true
	runOnce(1)
	m := entry(conv)
	if m.Meta["call_recording"] != "ready" || m.Meta["call_recording_error"] != "" || len(m.Attachments) != 1 ||
		m.Attachments[0].MIME != "audio/mpeg" || !strings.HasPrefix(m.Attachments[0].URL, "/files/") {
		t.Fatalf("fetched recording: %+v", m)
	}
	fileID := strings.SplitN(strings.TrimPrefix(m.Attachments[0].URL, "/files/"), "/", 2)[0]
	if ok, err := s.FileVisible(ctx, inbox.Scope{All: true}, fileID); err != nil || !ok {
		t.Errorf("the recording is not served by the files access check: %v %v", ok, err)
	}
	pub.mu.Lock()
	last := pub.evs[len(pub.evs)-1]
	pub.mu.Unlock()
	if last.Type != inbox.EventCallUpdated {
		t.Errorf("last event %s, want call.updated", last.Type)
	}
	runOnce(0)

	// A recording that never comes: failed after MaxAttempts.
	fetch.ok = false
	filed, _ = file(t, s, callEnv("rec-2", "ended", "+79123456711", inbox.Call{Event: inbox.CallEnded,
		RecordingURL: "https://pbx.example.com/rec-2.mp3"}))
	for i := 0; i < 3; i++ {
		clock.Advance(4 * time.Hour)
		runOnce(1)
	}
	clock.Advance(4 * time.Hour)
	runOnce(0)
	if m := entry(filed[0].Message.ConversationID); m.Meta["call_recording"] != "failed" {
		t.Errorf("a recording that never comes: entry %v", m.Meta)
	}
}
