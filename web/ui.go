package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"
	"time"
)

// uiFiles is the operators' page: one HTML shell, ES modules, CSS and icons.
// It is plain files on purpose, so that building and testing leadhub needs
// no Node toolchain.
//
//go:embed ui
var uiFiles embed.FS

// uiCSP lets the page load only its own scripts, styles and API. Images
// may also be data: or blob: (pasted previews); call recordings may come
// from a telephony provider's https URL, so media also allows https:.
const uiCSP = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data: blob:; media-src 'self' https:; connect-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// UIHandler serves the operators' page embedded in the binary: GET / is
// index.html and GET /ui/<file> the other files. Mount it on "GET /{$}"
// and "GET /ui/".
func UIHandler() http.Handler {
	sub, err := fs.Sub(uiFiles, "ui")
	if err != nil {
		// fs.Sub fails only for an invalid literal directory name.
		panic("web: ui files: " + err.Error())
	}
	return &uiHandler{fsys: sub, cache: true}
}

// UIHandlerDir serves the page from dir on disk instead, read afresh on
// every request, for working on the page without rebuilding the binary.
func UIHandlerDir(dir string) http.Handler {
	return &uiHandler{fsys: os.DirFS(dir)}
}

type uiHandler struct {
	fsys fs.FS
	// cache keeps files and their ETags; only for files that never change
	// (the embedded ones).
	cache bool
	mu    sync.Mutex
	files map[string]*uiFile
}

type uiFile struct {
	body []byte
	etag string
}

func (h *uiHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var name string
	switch {
	case r.URL.Path == "/":
		name = "index.html"
	case strings.HasPrefix(r.URL.Path, "/ui/"):
		name = strings.TrimPrefix(r.URL.Path, "/ui/")
	}
	f, ok := h.file(name)
	if !ok {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", uiContentType(name))
	hd.Set("Content-Security-Policy", uiCSP)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	// File names carry no content hash, so the browser revalidates every
	// time and gets a 304 while the file is unchanged.
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", f.etag)
	// ServeContent answers If-None-Match with 304 and handles HEAD and
	// ranges; the zero modtime keeps Last-Modified out of it.
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
}

// file returns a regular file of the page; dot files, directories and
// anything outside the tree are not found.
func (h *uiHandler) file(name string) (*uiFile, bool) {
	if name == "" || !fs.ValidPath(name) {
		return nil, false
	}
	for _, part := range strings.Split(name, "/") {
		if strings.HasPrefix(part, ".") {
			return nil, false
		}
	}
	if h.cache {
		h.mu.Lock()
		f, ok := h.files[name]
		h.mu.Unlock()
		if ok {
			return f, true
		}
	}
	st, err := fs.Stat(h.fsys, name)
	if err != nil || !st.Mode().IsRegular() {
		return nil, false
	}
	body, err := fs.ReadFile(h.fsys, name)
	if err != nil {
		return nil, false
	}
	sum := sha256.Sum256(body)
	f := &uiFile{body: body, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
	if h.cache {
		h.mu.Lock()
		if h.files == nil {
			h.files = make(map[string]*uiFile)
		}
		h.files[name] = f
		h.mu.Unlock()
	}
	return f, true
}

// uiContentType is spelled out rather than taken from the system's MIME
// table, which differs between machines.
func uiContentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".json":
		return "application/json; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".ico":
		return "image/x-icon"
	case ".txt":
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}
