package telephony

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/leadhub/leadhub/inbox"
)

// TestFetchRecording: each provider's recording is fetched the way the
// provider serves it, against a fake server speaking its format.
func TestFetchRecording(t *testing.T) {
	ctx := context.Background()
	var ready bool
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/pbx/record/request/", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.RawQuery
		sum := md5.Sum([]byte(q))
		if r.Header.Get("Authorization") != "zd-user-key:"+zadarmaSign(zadarmaSecret, r.URL.Path+q+hex.EncodeToString(sum[:])) {
			w.WriteHeader(401)
			io.WriteString(w, `{"status":"error","message":"Not authorized"}`)
			return
		}
		if !ready {
			io.WriteString(w, `{"status":"error","message":"Record not found"}`)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"status": "success",
			"link": "http://" + r.Host + "/files/" + r.URL.Query().Get("call_id") + ".mp3", "lifetime_till": "2026-12-04 14:00:00"})
	})
	mux.HandleFunc("POST /queries/recording/post", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		js := r.PostForm.Get("json")
		var p map[string]string
		if r.PostForm.Get("sign") != mangoSign(mangoKey, js, mangoSalt) || json.Unmarshal([]byte(js), &p) != nil ||
			p["recording_id"] != "MToxMDE=" || p["action"] != "download" {
			w.WriteHeader(401)
			return
		}
		w.Header().Set("Content-Type", "audio/mpeg")
		io.WriteString(w, "ID3 mango")
	})
	mux.HandleFunc("GET /files/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "audio/mpeg")
		io.WriteString(w, "ID3 "+strings.TrimPrefix(r.URL.Path, "/files/"))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	read := func(c *Channel, call inbox.Call) (string, string, error) {
		body, name, typ, err := c.FetchRecording(ctx, inbox.RecordingJob{CallID: 1, ChannelID: "pbx", Call: call, Attempt: 1})
		if err != nil {
			return "", "", err
		}
		defer body.Close()
		b, _ := io.ReadAll(body)
		return string(b), name + " " + typ, nil
	}

	zd := newChannel(t, ProviderZadarma, func(o *Options) { o.APIURL = srv.URL })
	call := inbox.Call{ID: "in_1b2d", Recording: "1580546459.3126845"}
	if _, _, err := read(zd, call); inbox.ErrorCode(err) != inbox.EUNAVAILABLE {
		t.Errorf("zadarma, not ready: %v, want EUNAVAILABLE (tried again)", err)
	}
	ready = true
	if body, meta, err := read(zd, call); err != nil || body != "ID3 1580546459.3126845.mp3" || meta != "call-in_1b2d.mp3 audio/mpeg" {
		t.Errorf("zadarma: %q %q %v", body, meta, err)
	}
	mg := newChannel(t, ProviderMango, func(o *Options) { o.APIURL = srv.URL })
	if body, _, err := read(mg, inbox.Call{ID: "MzUy/ODbv=", Recording: "MToxMDE="}); err != nil || body != "ID3 mango" {
		t.Errorf("mango: %q %v", body, err)
	}
	gen := newChannel(t, ProviderGeneric)
	if body, _, err := read(gen, inbox.Call{ID: "1", RecordingURL: srv.URL + "/files/g.mp3"}); err != nil || body != "ID3 g.mp3" {
		t.Errorf("generic: %q %v", body, err)
	}
	if _, _, err := read(gen, inbox.Call{ID: "1", RecordingURL: srv.URL + "/missing"}); inbox.ErrorCode(err) != inbox.EUNAVAILABLE {
		t.Errorf("generic 404: %v", err)
	}
	if _, _, err := read(gen, inbox.Call{ID: "1"}); inbox.ErrorCode(err) != inbox.EINVALID {
		t.Errorf("nothing to fetch: %v", err)
	}
}
