package vk

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeVK speaks VK's wire format: POST /method/<name> with a form body and
// the token as a Bearer header; answers are HTTP 200 with either
// {"response": ...} or {"error": {"error_code", "error_msg",
// "request_params"}}. Upload servers take multipart POSTs at /upload/*.
type fakeVK struct {
	t   testing.TB
	srv *httptest.Server

	mu    sync.Mutex
	calls []fakeCall
	// errs are the error codes the next calls of a method answer with,
	// in turn; after them the method succeeds.
	errs       map[string][]int
	uploads    []fakeUpload
	users      map[string]string // user id → "First Last"
	nextMsg    int64
	stickyAuth bool // every call answers error 5
}

type fakeCall struct {
	Method string
	Form   map[string]string
	Auth   string
}

type fakeUpload struct {
	Field, Name string
	Data        []byte
}

func newFakeVK(t testing.TB) *fakeVK {
	f := &fakeVK{t: t, errs: map[string][]int{}, users: map[string]string{}, nextMsg: 1000}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeVK) url() string { return f.srv.URL + "/method/" }

func (f *fakeVK) failNext(method string, codes ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs[method] = append(f.errs[method], codes...)
}

func (f *fakeVK) callsOf(method string) []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeCall
	for _, c := range f.calls {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

var errorMessages = map[int]string{
	1: "Unknown error occurred", 5: "User authorization failed: invalid access_token (4).",
	6: "Too many requests per second", 9: "Flood control", 10: "Internal server error",
	14: "Captcha needed", 100: "One of the parameters specified was missing or invalid",
	900: "Can't send messages for users from blacklist", 901: "Can't send messages for users without permission",
	902: "Can't send messages to this user due to their privacy settings",
}

func (f *fakeVK) serve(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/upload/") {
		f.serveUpload(w, r)
		return
	}
	method, ok := strings.CutPrefix(r.URL.Path, "/method/")
	if !ok || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		f.t.Errorf("fake VK: %s: %v", method, err)
	}
	form := map[string]string{}
	for k := range r.PostForm {
		form[k] = r.PostForm.Get(k)
	}
	f.mu.Lock()
	f.calls = append(f.calls, fakeCall{Method: method, Form: form, Auth: r.Header.Get("Authorization")})
	code := 0
	if f.stickyAuth {
		code = 5
	} else if q := f.errs[method]; len(q) > 0 {
		code, f.errs[method] = q[0], q[1:]
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if form["v"] != APIVersion {
		f.t.Errorf("fake VK: %s called with v=%q, want %s", method, form["v"], APIVersion)
	}
	if code != 0 {
		// VK echoes the request's parameters; a careless client would
		// print them, and with them the token if it went in the form.
		params := []map[string]string{{"key": "method", "value": method}, {"key": "oauth", "value": "1"},
			{"key": "access_token", "value": strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")}}
		msg := errorMessages[code]
		if code == 5 {
			msg += " token " + strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"error_code": code, "error_msg": msg, "request_params": params}})
		return
	}
	var resp any
	switch method {
	case "messages.send":
		f.mu.Lock()
		f.nextMsg++
		resp = f.nextMsg
		f.mu.Unlock()
	case "users.get":
		var users []map[string]any
		for _, id := range strings.Split(form["user_ids"], ",") {
			f.mu.Lock()
			name, ok := f.users[id]
			f.mu.Unlock()
			if !ok {
				continue
			}
			first, last, _ := strings.Cut(name, " ")
			var n int
			fmt.Sscan(id, &n)
			users = append(users, map[string]any{"id": n, "first_name": first, "last_name": last, "can_access_closed": true, "is_closed": false})
		}
		resp = users
	case "photos.getMessagesUploadServer":
		resp = map[string]any{"album_id": -3, "upload_url": f.srv.URL + "/upload/photo", "group_id": testGroup}
	case "docs.getMessagesUploadServer":
		resp = map[string]any{"upload_url": f.srv.URL + "/upload/doc"}
	case "photos.saveMessagesPhoto":
		if form["hash"] != "h4sh" || form["server"] != "8371" {
			f.t.Errorf("fake VK: saveMessagesPhoto got %v", form)
		}
		resp = []map[string]any{{"id": 457239017, "album_id": -3, "owner_id": -testGroup, "access_key": "ak1", "sizes": []any{}}}
	case "docs.save":
		if !strings.HasPrefix(form["file"], "doc-file:") {
			f.t.Errorf("fake VK: docs.save got %v", form)
		}
		resp = map[string]any{"type": "doc", "doc": map[string]any{"id": 6640001, "owner_id": -testGroup, "title": form["title"], "ext": "pdf", "url": "https://vk.com/doc"}}
	default:
		f.t.Errorf("fake VK: unexpected method %s", method)
		resp = 1
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"response": resp})
}

func (f *fakeVK) serveUpload(w http.ResponseWriter, r *http.Request) {
	field := "file"
	if r.URL.Path == "/upload/photo" {
		field = "photo"
	}
	file, hdr, err := r.FormFile(field)
	if err != nil {
		// VK's upload servers answer a wrong field with an error in the body.
		_ = json.NewEncoder(w).Encode(map[string]any{"error": "no file in field " + field})
		return
	}
	data, _ := io.ReadAll(file)
	f.mu.Lock()
	f.uploads = append(f.uploads, fakeUpload{Field: field, Name: hdr.Filename, Data: data})
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=windows-1251") // as VK's upload servers do
	if field == "photo" {
		_ = json.NewEncoder(w).Encode(map[string]any{"server": 8371, "photo": `[{"markers_restarted":true,"photo":"f00"}]`, "hash": "h4sh"})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"file": "doc-file:" + hdr.Filename})
}
