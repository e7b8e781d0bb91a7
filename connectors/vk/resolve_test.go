package vk

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/store/filestore"
)

// mediaServer is VK's media host (sun9-*.userapi.com): https, the files at
// their paths.
func mediaServer(t *testing.T, files map[string]string) *httptest.Server {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func resolveChannel(t *testing.T, f *fakeVK, media *httptest.Server, rate float64) (*Channel, *filestore.Store, *inbox.HealthBoard) {
	files, err := filestore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	health := inbox.NewHealthBoard(nil)
	c := newTestChannel(t, testGroup, testSecret, func(o *Options) {
		o.APIURL = f.url()
		o.Files = files
		o.Health = health
		o.HTTPClient = media.Client()
		o.Rate = rate
	})
	return c, files, health
}

func TestResolveDownloadsAndNames(t *testing.T) {
	f := newFakeVK(t)
	f.users["715616525"] = "Ирина Смирнова"
	media := mediaServer(t, map[string]string{"/photo.jpg": "JPEG bytes", "/voice.mp3": "MP3 bytes"})
	c, files, health := resolveChannel(t, f, media, 100)

	e := inbox.Envelope{
		Item: inbox.ItemMessage, DedupeKey: "vk:vk:1", ChannelID: "vk",
		From: inbox.Contact{Identities: vkID("715616525")},
		Attachments: []inbox.Attachment{
			{URL: FileScheme + media.URL + "/photo.jpg", Name: "photo.jpg", MIME: "image/jpeg"},
			{URL: FileScheme + media.URL + "/voice.mp3", Name: "voice.mp3", MIME: "audio/mpeg"},
			{URL: FileScheme + media.URL + "/gone.pdf", Name: "gone.pdf", MIME: "application/pdf"},
		},
	}
	shared := e.Attachments
	c.Resolve(context.Background(), &e)
	if e.From.Name != "Ирина Смирнова" {
		t.Errorf("name %q", e.From.Name)
	}
	for i, want := range []string{"JPEG bytes", "MP3 bytes"} {
		a := e.Attachments[i]
		if !strings.HasPrefix(a.URL, "/files/") {
			t.Fatalf("attachment %d not stored: %+v", i, a)
		}
		r, err := files.OpenAttachment(context.Background(), a)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		r.Close()
		if string(b) != want {
			t.Errorf("attachment %d holds %q", i, b)
		}
	}
	if got := e.Attachments[2].URL; got != media.URL+"/gone.pdf" {
		t.Errorf("a file that could not be downloaded became %q, want its link", got)
	}
	if e.Meta["file_note"] == "" {
		t.Error("no note on the file kept as a link")
	}
	if !strings.HasPrefix(shared[0].URL, FileScheme) {
		t.Error("Resolve changed the queue's copy of the attachments")
	}
	if h := health.Get("vk"); h.State != inbox.HealthOK {
		t.Errorf("health %+v", h)
	}

	// The name is cached: the sender's next message asks VK nothing.
	next := inbox.Envelope{Item: inbox.ItemMessage, From: inbox.Contact{Identities: vkID("715616525")}}
	c.Resolve(context.Background(), &next)
	if next.From.Name != "Ирина Смирнова" || len(f.callsOf("users.get")) != 1 {
		t.Errorf("name %q after %d users.get calls", next.From.Name, len(f.callsOf("users.get")))
	}
	// Edits, the community's own replies and facts need no name.
	for _, item := range []inbox.Item{inbox.ItemEdit, inbox.ItemOutgoing, inbox.ItemFact} {
		e := inbox.Envelope{Item: item, From: inbox.Contact{Identities: vkID("1")}}
		c.Resolve(context.Background(), &e)
	}
	if n := len(f.callsOf("users.get")); n != 1 {
		t.Errorf("%d users.get calls", n)
	}
}

func TestResolveNameNeverHoldsFilingUp(t *testing.T) {
	f := newFakeVK(t)
	f.users["1"], f.users["2"] = "Anna A", "Boris B"
	media := mediaServer(t, nil)
	// A rate of 1/s with a burst of 1: the first unknown sender spends it.
	c, _, health := resolveChannel(t, f, media, 1)
	one := inbox.Envelope{Item: inbox.ItemMessage, From: inbox.Contact{Identities: vkID("1")}}
	two := inbox.Envelope{Item: inbox.ItemMessage, From: inbox.Contact{Identities: vkID("2")}}
	c.Resolve(context.Background(), &one)
	c.Resolve(context.Background(), &two)
	if one.From.Name != "Anna A" || two.From.Name != "" || len(f.callsOf("users.get")) != 1 {
		t.Fatalf("names %q, %q after %d calls: the second must not wait for the limit", one.From.Name, two.From.Name, len(f.callsOf("users.get")))
	}

	// VK rejecting the token: no name, the message is still filed, and the
	// channel shows down.
	f2 := newFakeVK(t)
	c2, _, health2 := resolveChannel(t, f2, media, 100)
	f2.failNext("users.get", 5)
	e := inbox.Envelope{Item: inbox.ItemMessage, From: inbox.Contact{Identities: vkID("3")}}
	c2.Resolve(context.Background(), &e)
	if e.From.Name != "" {
		t.Errorf("name %q", e.From.Name)
	}
	if h := health2.Get("vk"); h.State != inbox.HealthDown || strings.Contains(h.Error, testToken) {
		t.Errorf("health %+v", h)
	}
	_ = health
}
