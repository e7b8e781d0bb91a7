package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/leadhub/leadhub/inbox"
)

// TestFilesAcrossInstances: two instances on one PostgreSQL, each with a
// data folder of its own. A file an operator attaches through instance A
// opens through instance B when files live in the database; in the local
// folder it is A's alone (the single-machine default).
func TestFilesAcrossInstances(t *testing.T) {
	for _, c := range []struct {
		storage string
		want    int
	}{{"database", http.StatusOK}, {"local", http.StatusNotFound}} {
		t.Run(c.storage, func(t *testing.T) {
			crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				io.WriteString(w, `{"id":"crm-reply"}`)
			}))
			defer crm.Close()
			cfg := testConfig(t, true, false, crm.URL)
			cfg.Files.Storage = c.storage
			token := createToken(t, cfg)
			a := startHub(t, cfg)
			cfgB := cfg
			cfgB.DataDir = t.TempDir()
			b := startHub(t, cfgB)

			resp := signedPost(t, a.base+"/hooks/api/crm", `{"id":"files-1","from":{"phone":"+79120000077"},"text":"Пришлите смету"}`)
			resp.Body.Close()
			var list struct {
				Items []inbox.Conversation `json:"items"`
			}
			waitFor(t, "the conversation", func() bool {
				apiGet(t, a.base, token, "/api/v1/conversations", &list)
				return len(list.Items) == 1
			})
			var form bytes.Buffer
			mw := multipart.NewWriter(&form)
			mw.WriteField("text", "Смета во вложении")
			fw, _ := mw.CreateFormFile("files", "смета.pdf")
			io.WriteString(fw, "%PDF-1.4 смета 350 000")
			mw.Close()
			req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/v1/conversations/%d/messages", a.base, list.Items[0].ID), &form)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var reply inbox.Message
			json.NewDecoder(resp.Body).Decode(&reply)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted || len(reply.Attachments) != 1 {
				t.Fatalf("reply: %d %+v", resp.StatusCode, reply)
			}
			get := func(base string) (int, string) {
				req, _ := http.NewRequest(http.MethodGet, base+reply.Attachments[0].URL, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(body)
			}
			if code, body := get(a.base); code != http.StatusOK || body != "%PDF-1.4 смета 350 000" {
				t.Fatalf("through A: %d %q", code, body)
			}
			code, body := get(b.base)
			if code != c.want || (c.want == http.StatusOK && body != "%PDF-1.4 смета 350 000") {
				t.Errorf("through B: %d %q, want %d", code, body, c.want)
			}
		})
	}
}
