package web

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// uiMux mounts the page the way routes.go does, behind the middleware that
// sets a default CSP, to show that the page's own policy wins.
func uiMux() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", UIHandler())
	mux.Handle("GET /ui/", UIHandler())
	return securityHeaders(mux)
}

func uiGet(t *testing.T, h http.Handler, method, target string, header ...string) *http.Response {
	t.Helper()
	r := httptest.NewRequest(method, target, http.NoBody)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func TestUIIndex(t *testing.T) {
	resp := uiGet(t, uiMux(), "GET", "/")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /: status %d, want 200", resp.StatusCode)
	}
	for k, want := range map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Content-Security-Policy": uiCSP,
		"X-Frame-Options":         "DENY",
		"X-Content-Type-Options":  "nosniff",
		"Cache-Control":           "no-cache",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	for _, bad := range []string{"unsafe-inline", "unsafe-eval"} {
		if strings.Contains(resp.Header.Get("Content-Security-Policy"), bad) {
			t.Errorf("CSP allows %s", bad)
		}
	}
	if !strings.Contains(string(body), `data-testid="login-form"`) {
		t.Errorf("GET / is not the page's index.html")
	}
}

// htmlTag is one start or end tag of a document, with its attributes.
type htmlTag struct {
	name  string
	end   bool
	attrs map[string]string
	// text is what follows the tag up to the next one.
	text string
}

var (
	tagRe  = regexp.MustCompile(`(?s)<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?)*)\s*/?>`)
	attrRe = regexp.MustCompile(`([^\s"'>/=]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+))?`)
)

// parseTags is a small tokenizer for our own page: enough to find every
// element and attribute (comments are removed first).
func parseTags(doc string) []htmlTag {
	doc = regexp.MustCompile(`(?s)<!--.*?-->`).ReplaceAllString(doc, "")
	locs := tagRe.FindAllStringSubmatchIndex(doc, -1)
	tags := make([]htmlTag, 0, len(locs))
	for i, m := range locs {
		tag := htmlTag{name: strings.ToLower(doc[m[4]:m[5]]), end: m[3] > m[2], attrs: map[string]string{}}
		for _, a := range attrRe.FindAllStringSubmatch(doc[m[6]:m[7]], -1) {
			v := a[2]
			if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') {
				v = v[1 : len(v)-1]
			}
			tag.attrs[strings.ToLower(a[1])] = v
		}
		next := len(doc)
		if i+1 < len(locs) {
			next = locs[i+1][0]
		}
		tag.text = doc[m[1]:next]
		tags = append(tags, tag)
	}
	return tags
}

func TestUIIndexHasNoInlineCode(t *testing.T) {
	b, err := fs.ReadFile(uiFiles, "ui/index.html")
	if err != nil {
		t.Fatal(err)
	}
	tags := parseTags(string(b))
	if len(tags) < 50 {
		t.Fatalf("parsed only %d tags; the tokenizer is broken", len(tags))
	}
	scripts := 0
	for _, tag := range tags {
		if tag.end {
			continue
		}
		switch tag.name {
		case "script":
			scripts++
			if tag.attrs["src"] == "" {
				t.Errorf("<script> without src")
			}
			if strings.TrimSpace(tag.text) != "" {
				t.Errorf("<script src=%q> has inline content", tag.attrs["src"])
			}
		case "style":
			t.Errorf("<style> element in index.html")
		}
		for name, v := range tag.attrs {
			switch {
			case name == "style":
				t.Errorf("<%s> has a style attribute", tag.name)
			case strings.HasPrefix(name, "on"):
				t.Errorf("<%s> has an inline handler %s", tag.name, name)
			case (name == "href" || name == "src") && strings.HasPrefix(strings.ToLower(strings.TrimSpace(v)), "javascript:"):
				t.Errorf("<%s %s=%q>", tag.name, name, v)
			}
		}
	}
	if scripts != 1 {
		t.Errorf("%d script tags, want the one module", scripts)
	}
	// Every page resource is one of ours.
	for _, tag := range tags {
		for _, name := range []string{"src", "href"} {
			v, ok := tag.attrs[name]
			if !ok || strings.HasPrefix(v, "#") {
				continue
			}
			if !strings.HasPrefix(v, "/ui/") {
				t.Errorf("<%s %s=%q> is not under /ui/", tag.name, name, v)
				continue
			}
			if _, err := fs.Stat(uiFiles, "ui/"+strings.TrimPrefix(v, "/ui/")); err != nil {
				t.Errorf("<%s %s=%q>: %v", tag.name, name, v, err)
			}
		}
	}
}

func TestUIFiles(t *testing.T) {
	h := uiMux()
	tests := []struct {
		path   string
		status int
		ctype  string
	}{
		{"/ui/app.js", 200, "text/javascript; charset=utf-8"},
		{"/ui/i18n.js", 200, "text/javascript; charset=utf-8"},
		{"/ui/app.css", 200, "text/css; charset=utf-8"},
		{"/ui/icons/telegram.svg", 200, "image/svg+xml"},
		{"/ui/index.html", 200, "text/html; charset=utf-8"},
		{"/ui/", 404, ""},
		{"/ui/icons", 404, ""},
		{"/ui/icons/", 404, ""},
		{"/ui/nope.js", 404, ""},
		{"/ui/.hidden", 404, ""},
		{"/nope", 404, ""},
		// Not cleaned by a mux first: the handler itself refuses.
		{"direct:/ui/../ui.go", 404, ""},
		{"direct:/ui/./app.js", 404, ""},
		{"direct:/ui//app.js", 404, ""},
		{"direct:/ui/icons/../../ui.go", 404, ""},
		{"direct:/index.html", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			h := h
			path := tt.path
			if p, ok := strings.CutPrefix(path, "direct:"); ok {
				h, path = UIHandler(), p
			}
			resp := uiGet(t, h, "GET", path)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.status != 200 {
				return
			}
			if got := resp.Header.Get("Content-Type"); got != tt.ctype {
				t.Errorf("Content-Type %q, want %q", got, tt.ctype)
			}
			if got := resp.Header.Get("Content-Security-Policy"); got != uiCSP {
				t.Errorf("CSP %q, want the page's", got)
			}
		})
	}
	if resp := uiGet(t, UIHandler(), "POST", "/"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d, want 405", resp.StatusCode)
	}
}

func TestUIETag(t *testing.T) {
	h := uiMux()
	for _, path := range []string{"/", "/ui/app.js"} {
		resp := uiGet(t, h, "GET", path)
		etag := resp.Header.Get("ETag")
		if !regexp.MustCompile(`^"[0-9a-f]{32}"$`).MatchString(etag) {
			t.Fatalf("%s: ETag %q", path, etag)
		}
		again := uiGet(t, h, "GET", path, "If-None-Match", etag)
		body, _ := io.ReadAll(again.Body)
		if again.StatusCode != http.StatusNotModified || len(body) != 0 {
			t.Errorf("%s with If-None-Match: %d and %d bytes, want 304 and none", path, again.StatusCode, len(body))
		}
		if again.Header.Get("ETag") != etag {
			t.Errorf("%s: 304 without the ETag", path)
		}
		stale := uiGet(t, h, "GET", path, "If-None-Match", `"0000"`)
		if stale.StatusCode != http.StatusOK {
			t.Errorf("%s with a stale ETag: %d, want 200", path, stale.StatusCode)
		}
		head := uiGet(t, h, "HEAD", path)
		if head.StatusCode != http.StatusOK || head.Header.Get("ETag") != etag {
			t.Errorf("HEAD %s: %d, ETag %q", path, head.StatusCode, head.Header.Get("ETag"))
		}
	}
	if a, b := uiGet(t, h, "GET", "/").Header.Get("ETag"), uiGet(t, h, "GET", "/ui/app.js").Header.Get("ETag"); a == b {
		t.Errorf("two files share the ETag %s", a)
	}
}

func TestUIHandlerDir(t *testing.T) {
	resp := uiGet(t, UIHandlerDir("ui"), "GET", "/ui/app.js")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == "" {
		t.Fatalf("from disk: %d, ETag %q", resp.StatusCode, resp.Header.Get("ETag"))
	}
	embedded := uiGet(t, UIHandler(), "GET", "/ui/app.js")
	if resp.Header.Get("ETag") != embedded.Header.Get("ETag") {
		t.Errorf("disk and embedded copies differ")
	}
}

// uiScripts returns every script of the page by path.
func uiScripts(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := fs.WalkDir(uiFiles, "ui", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".js") {
			return err
		}
		b, err := fs.ReadFile(uiFiles, path)
		out[path] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("no scripts found")
	}
	return out
}

// TestUINoHTMLSinks keeps customer text out of the HTML parser: the page's
// scripts must not use any API that turns a string into markup or code.
// There is no allow-list; dom.js builds everything from text nodes.
func TestUINoHTMLSinks(t *testing.T) {
	sinks := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|createContextualFragment|DOMParser|setHTMLUnsafe|parseHTMLUnsafe|srcdoc|\beval\s*\(|new\s+Function\b|setTimeout\s*\(\s*['"\x60]|setInterval\s*\(\s*['"\x60]`)
	for path, src := range uiScripts(t) {
		for i, line := range strings.Split(src, "\n") {
			if m := sinks.FindString(line); m != "" {
				t.Errorf("%s:%d uses %s", path, i+1, m)
			}
		}
	}
}

// TestUIModuleImports catches a misspelt module before a browser does.
func TestUIModuleImports(t *testing.T) {
	imp := regexp.MustCompile(`(?m)^import\s[^'"]*from\s+'\./([^']+)'`)
	for path, src := range uiScripts(t) {
		for _, m := range imp.FindAllStringSubmatch(src, -1) {
			if _, err := fs.Stat(uiFiles, "ui/"+m[1]); err != nil {
				t.Errorf("%s imports ./%s: %v", path, m[1], err)
			}
		}
	}
}

// TestUITranslations checks that both languages have the same keys and
// that every key the page uses exists.
func TestUITranslations(t *testing.T) {
	src := uiScripts(t)["ui/i18n.js"]
	keyRe := regexp.MustCompile(`(?m)^\s*'([a-zA-Z.]+)':`)
	block := func(name string) []string {
		start := strings.Index(src, "const "+name+" = {")
		if start < 0 {
			t.Fatalf("no dictionary %s", name)
		}
		end := strings.Index(src[start:], "\n};")
		var keys []string
		for _, m := range keyRe.FindAllStringSubmatch(src[start:start+end], -1) {
			keys = append(keys, m[1])
		}
		slices.Sort(keys)
		return keys
	}
	en, ru := block("en"), block("ru")
	if len(en) < 50 {
		t.Fatalf("only %d keys in en", len(en))
	}
	for _, k := range en {
		if !slices.Contains(ru, k) {
			t.Errorf("ru lacks %q", k)
		}
	}
	for _, k := range ru {
		if !slices.Contains(en, k) {
			t.Errorf("en lacks %q", k)
		}
	}

	used := map[string]bool{}
	index, _ := fs.ReadFile(uiFiles, "ui/index.html")
	for _, m := range regexp.MustCompile(`data-i18n(?:-[a-z-]+)?="([^"]+)"`).FindAllStringSubmatch(string(index), -1) {
		used[m[1]] = true
	}
	for _, s := range uiScripts(t) {
		for _, m := range regexp.MustCompile(`\bt\('([a-zA-Z.]+)'`).FindAllStringSubmatch(s, -1) {
			used[m[1]] = true
		}
	}
	for k := range used {
		if !slices.Contains(en, k) {
			t.Errorf("the page uses %q, which is not translated", k)
		}
	}
}
