package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"

	"github.com/leadhub/leadhub/inbox"
)

// apiCall sends one authenticated API request and decodes a 2xx JSON answer
// into v (when v is not nil).
func apiCall(t *testing.T, base, token, method, path, body string, v any) int {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if v != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

// postMessage sends one signed message from the API channel and waits
// until the queue is drained: the message is filed.
func postMessage(t *testing.T, r *running, id, from, text string) {
	t.Helper()
	body := fmt.Sprintf(`{"id":%q,"from":%s,"text":%q}`, id, from, text)
	resp := signedPost(t, r.base+"/hooks/api/crm", body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("post %s: status %d", id, resp.StatusCode)
	}
	waitFor(t, "queue drained", func() bool {
		st, err := r.hub.backend.queue.Stats(context.Background())
		return err == nil && st.Depth == 0
	})
}

// findClient searches the API for q and returns the only card found.
func findClient(t *testing.T, r *running, token, q string) inbox.Client {
	t.Helper()
	var l struct {
		Items []inbox.Client `json:"items"`
	}
	if code := apiCall(t, r.base, token, "GET", "/api/v1/clients?q="+urlQuery(q), "", &l); code != http.StatusOK || len(l.Items) != 1 {
		t.Fatalf("search %q: status %d, %d cards", q, code, len(l.Items))
	}
	return l.Items[0]
}

func urlQuery(q string) string {
	r := strings.NewReplacer(" ", "%20", "+", "%2B", "(", "%28", ")", "%29", "@", "%40")
	return r.Replace(q)
}

// TestClientCardsAPI drives issue 3 end to end through the real hub on the
// embedded and the production setup: matching with a duplicate suggestion,
// merge, triage, do-not-contact, search, CSV, export and erasure.
func TestClientCardsAPI(t *testing.T) {
	for _, s := range setups[:2] {
		t.Run(s.name, func(t *testing.T) {
			// The CRM takes replies, so a reply with the override goes out.
			crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"id":"crm-reply"}`) }))
			defer crm.Close()
			cfg := testConfig(t, s.postgres, s.rds, crm.URL)
			token := createToken(t, cfg)
			r := startHub(t, cfg)
			ws := dialWS(t, r.base, token, 0)

			// Two cards, then a message carrying both: a suggestion.
			postMessage(t, r, "c-1", `{"name":"Анна","phone":"8 (912) 345-67-89"}`, "по телефону")
			postMessage(t, r, "c-2", `{"email":"anna@example.com"}`, "по почте")
			a := findClient(t, r, token, "+7 912 345 67 89")
			b := findClient(t, r, token, "anna@example.com")
			postMessage(t, r, "c-3", `{"phone":"89123456789","email":"ANNA@example.com"}`, "оба")
			nextEvent(t, ws, inbox.EventClientDuplicateSuggested)
			var dups struct {
				Items []inbox.DuplicateSuggestion `json:"items"`
			}
			if code := apiCall(t, r.base, token, "GET", fmt.Sprintf("/api/v1/clients/%d/duplicates", b.ID), "", &dups); code != 200 ||
				len(dups.Items) != 1 || dups.Items[0].ClientID != a.ID || dups.Items[0].OtherClientID != b.ID {
				t.Fatalf("duplicates of B: %d %+v", code, dups.Items)
			}

			// Merge: bad input first, then for real, then again.
			for _, bad := range []struct {
				path, body string
				want       int
			}{
				{fmt.Sprintf("/api/v1/clients/%d/merge", a.ID), fmt.Sprintf(`{"from":%d}`, a.ID), 400},
				{fmt.Sprintf("/api/v1/clients/%d/merge", a.ID), `{"from":999999}`, 404},
				{"/api/v1/clients/999999/merge", fmt.Sprintf(`{"from":%d}`, b.ID), 404},
				{fmt.Sprintf("/api/v1/clients/%d/merge", a.ID), `{}`, 400},
			} {
				if code := apiCall(t, r.base, token, "POST", bad.path, bad.body, nil); code != bad.want {
					t.Errorf("POST %s %s: status %d, want %d", bad.path, bad.body, code, bad.want)
				}
			}
			var survivor inbox.Client
			for range 2 {
				if code := apiCall(t, r.base, token, "POST", fmt.Sprintf("/api/v1/clients/%d/merge", a.ID),
					fmt.Sprintf(`{"from":%d}`, b.ID), &survivor); code != 200 || survivor.ID != a.ID || len(survivor.Identities) != 2 {
					t.Fatalf("merge: %d %+v", code, survivor)
				}
			}
			nextEvent(t, ws, inbox.EventClientMerged)
			if got := findClient(t, r, token, "anna@example.com"); got.ID != a.ID {
				t.Errorf("B's email finds card %d, want %d", got.ID, a.ID)
			}

			// Triage: accept one new sender, reject another as spam.
			postMessage(t, r, "c-4", `{"name":"Новый","email":"new@example.com"}`, "здравствуйте")
			postMessage(t, r, "c-5", `{"email":"spam@example.com"}`, "купите")
			newbie, spam := findClient(t, r, token, "new@example.com"), findClient(t, r, token, "spam@example.com")
			convOf := func(clientID int64) inbox.Conversation {
				var d inbox.ClientDetail
				if code := apiCall(t, r.base, token, "GET", fmt.Sprintf("/api/v1/clients/%d", clientID), "", &d); code != 200 || len(d.Conversations) == 0 {
					t.Fatalf("client %d: %d, %+v", clientID, code, d)
				}
				return d.Conversations[0]
			}
			var conv inbox.Conversation
			if code := apiCall(t, r.base, token, "POST", fmt.Sprintf("/api/v1/conversations/%d/accept", convOf(newbie.ID).ID), "", &conv); code != 200 ||
				conv.Status != inbox.StatusOpen || conv.AssigneeID == nil {
				t.Errorf("accept: %d %+v", code, conv)
			}
			spamConv := convOf(spam.ID)
			if code := apiCall(t, r.base, token, "POST", fmt.Sprintf("/api/v1/conversations/%d/reject", spamConv.ID), "", &conv); code != 200 ||
				conv.Status != inbox.StatusClosed {
				t.Errorf("reject: %d %+v", code, conv)
			}
			postMessage(t, r, "c-6", `{"email":"spam@example.com"}`, "купите ещё")
			var msgs struct {
				Items []inbox.Message `json:"items"`
			}
			apiCall(t, r.base, token, "GET", fmt.Sprintf("/api/v1/conversations/%d/messages", spamConv.ID), "", &msgs)
			if got := convOf(spam.ID); len(msgs.Items) != 2 || got.Status != inbox.StatusClosed || got.ID != spamConv.ID {
				t.Errorf("spam after reject: %d messages, conversation %+v", len(msgs.Items), got)
			}

			// Do not contact: a reply is refused unless overridden.
			if code := apiCall(t, r.base, token, "PATCH", fmt.Sprintf("/api/v1/clients/%d", a.ID),
				`{"do_not_contact":true,"do_not_contact_reason":"просила не писать","tags":["vip"]}`, nil); code != 200 {
				t.Fatalf("patch: %d", code)
			}
			aConv := convOf(a.ID)
			reply := fmt.Sprintf("/api/v1/conversations/%d/messages", aConv.ID)
			if code := apiCall(t, r.base, token, "POST", reply, `{"text":"Здравствуйте!"}`, nil); code != http.StatusConflict {
				t.Errorf("reply to do-not-contact: %d, want 409", code)
			}
			if code := apiCall(t, r.base, token, "POST", reply, `{"text":"Удалили вас из рассылки","override_dnc":true}`, nil); code != http.StatusAccepted {
				t.Errorf("reply with override: %d, want 202", code)
			}
			if code := apiCall(t, r.base, token, "POST", fmt.Sprintf("/api/v1/clients/%d/notes", a.ID), `{"text":"звонить нельзя"}`, nil); code != http.StatusCreated {
				t.Errorf("note: %d", code)
			}

			// CSV out and in.
			req, _ := http.NewRequest("GET", r.base+"/api/v1/clients.csv", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			csvOut, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(csvOut), "'+79123456789") || !strings.Contains(string(csvOut), "anna@example.com") {
				t.Errorf("clients.csv: %d %s", resp.StatusCode, csvOut)
			}
			var rep inbox.ImportReport
			if code := apiCall(t, r.base, token, "POST", "/api/v1/clients/import", "Имя;Телефон\nБорис;+7 913 000 00 01\nсломано\n", &rep); code != 200 ||
				rep.Imported != 1 || rep.Rejected != 1 || rep.Rows[1].Line != 3 {
				t.Errorf("import: %d %+v", code, rep)
			}

			// Export everything about Anna, then erase her.
			var exp inbox.ClientExport
			if code := apiCall(t, r.base, token, "GET", fmt.Sprintf("/api/v1/clients/%d/export", a.ID), "", &exp); code != 200 ||
				len(exp.Messages) != 4 || len(exp.Notes) != 1 || len(exp.Audit) == 0 {
				t.Errorf("export: %d, %d messages, %d notes, %d audit entries", code, len(exp.Messages), len(exp.Notes), len(exp.Audit))
			}
			var erased inbox.Client
			if code := apiCall(t, r.base, token, "POST", fmt.Sprintf("/api/v1/clients/%d/erase", a.ID), "", &erased); code != 200 ||
				erased.Name != fmt.Sprintf("Erased client #%d", a.ID) || len(erased.Identities) != 0 {
				t.Errorf("erase: %d %+v", code, erased)
			}
			nextEvent(t, ws, inbox.EventClientErased)
			// The provider retries an old message: it stays erased.
			postMessage(t, r, "c-1", `{"name":"Анна","phone":"8 (912) 345-67-89"}`, "по телефону")
			var l struct {
				Items []inbox.Client `json:"items"`
			}
			apiCall(t, r.base, token, "GET", "/api/v1/clients?q=89123456789", "", &l)
			if len(l.Items) != 0 {
				t.Errorf("a retried erased message brought back %+v", l.Items)
			}
			if code := apiCall(t, r.base, token, "GET", "/api/v1/clients/999999/export", "", nil); code != 404 {
				t.Errorf("export unknown: %d", code)
			}
		})
	}
}

// TestClientsImportCommand runs `leadhub clients import` on an Excel-style
// Windows-1251 file and `leadhub clients export`.
func TestClientsImportCommand(t *testing.T) {
	cfg := testConfig(t, false, false, "")
	env := envFor(t, cfg)
	dir := t.TempDir()
	win, err := charmap.Windows1251.NewEncoder().String(
		"ФИО;Телефон;Почта;Теги\n" +
			"Иван Петров;8 (912) 345-67-89;ivan@example.com;vip\n" +
			"Мария;+7 912 000-00-02;;\n" +
			"Сломанная;строка;с лишним;полем;вот\n" +
			"Иван;89123456789;;опт\n")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "clients.csv")
	if err := os.WriteFile(path, []byte(win), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"clients", "import", path}, nil, &out, io.Discard, env); err != nil {
		t.Fatalf("clients import: %v", err)
	}
	want := path + ": 2 imported, 1 merged into existing cards, 1 rejected\nline 4: rejected: the row has 5 fields, the header 4\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	out.Reset()
	if err := run(context.Background(), []string{"clients", "import", "--json", path}, nil, &out, io.Discard, env); err != nil {
		t.Fatal(err)
	}
	var rep inbox.ImportReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.Merged != 3 || rep.Rejected != 1 || len(rep.Rows) != 4 {
		t.Errorf("--json report = %s (%v)", out.String(), err)
	}

	exported := filepath.Join(dir, "out.csv")
	if err := run(context.Background(), []string{"clients", "export", "--sep", "comma", exported}, nil, io.Discard, io.Discard, env); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(exported)
	if !strings.Contains(string(data), "Иван Петров") || !strings.Contains(string(data), "id,name,company") || strings.Count(string(data), "\n") != 3 {
		t.Errorf("export:\n%s", data)
	}

	for _, args := range [][]string{{"clients"}, {"clients", "import"}, {"clients", "wipe"}, {"clients", "export", "--sep", "pipe"}} {
		if err := run(context.Background(), args, nil, io.Discard, io.Discard, env); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	if err := run(context.Background(), []string{"clients", "import", filepath.Join(dir, "missing.csv")}, nil, io.Discard, io.Discard, env); err == nil {
		t.Error("importing a missing file succeeded")
	}
}
