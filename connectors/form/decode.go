package form

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/leadhub/leadhub/inbox"
)

// decode reads urlencoded, multipart and JSON bodies into one shape, keeping
// the fields in the order the form sent them.
func (c *Channel) decode(r *http.Request, body []byte) (*submission, error) {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if ct != "" && err != nil {
		return nil, inbox.Errorf(inbox.EINVALID, "malformed Content-Type")
	}
	switch {
	case mt == "application/x-www-form-urlencoded":
		return decodeURLEncoded(body)
	case mt == "multipart/form-data":
		return c.decodeMultipart(params["boundary"], body)
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return decodeJSON(body)
	case mt == "" || mt == "text/plain":
		// sendBeacon and hand-written clients often say nothing useful.
		if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '{' {
			return decodeJSON(body)
		}
		return decodeURLEncoded(body)
	}
	return nil, inbox.Errorf(inbox.EINVALID, "unsupported Content-Type %s: send a form (urlencoded or multipart) or JSON", mt)
}

func decodeURLEncoded(body []byte) (*submission, error) {
	sub := &submission{}
	for _, pair := range strings.Split(string(body), "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		name, err1 := url.QueryUnescape(k)
		value, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, inbox.Errorf(inbox.EINVALID, "malformed urlencoded body")
		}
		if err := sub.add(name, value); err != nil {
			return nil, err
		}
	}
	return sub, nil
}

func (c *Channel) decodeMultipart(boundary string, body []byte) (*submission, error) {
	if boundary == "" {
		return nil, inbox.Errorf(inbox.EINVALID, "multipart body without a boundary")
	}
	sub := &submission{}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return sub, nil
		}
		if err != nil {
			return nil, inbox.Errorf(inbox.EINVALID, "malformed multipart body")
		}
		name := p.FormName()
		if p.FileName() == "" {
			v, err := io.ReadAll(io.LimitReader(p, maxCookiesLen+1))
			if err != nil {
				return nil, inbox.Errorf(inbox.EINVALID, "malformed multipart body")
			}
			if len(v) > maxCookiesLen {
				return nil, inbox.Errorf(inbox.EINVALID, "field %q is too long", clean(truncate(name, maxNameLen)))
			}
			if err := sub.add(name, string(v)); err != nil {
				return nil, err
			}
			continue
		}
		data, err := io.ReadAll(io.LimitReader(p, c.opts.MaxFileSize+1))
		if err != nil {
			return nil, inbox.Errorf(inbox.EINVALID, "malformed multipart body")
		}
		if len(data) == 0 {
			continue // an empty file input
		}
		switch {
		case c.opts.Files == nil:
			return nil, inbox.Errorf(inbox.EINVALID, "this form does not accept files")
		case int64(len(data)) > c.opts.MaxFileSize:
			return nil, inbox.Errorf(inbox.ETOOLARGE, "a file is larger than %d bytes", c.opts.MaxFileSize)
		case len(sub.files) == maxFiles:
			return nil, inbox.Errorf(inbox.EINVALID, "more than %d files", maxFiles)
		}
		mt := p.Header.Get("Content-Type")
		if _, _, err := mime.ParseMediaType(mt); err != nil || mt == "application/octet-stream" {
			mt = http.DetectContentType(data)
		}
		sub.files = append(sub.files, upload{name: fileName(p.FileName()), mime: mt, data: data})
	}
}

// MaxBody is the largest body this channel needs: one file of MaxFileSize
// plus room for the fields. More files must share it. The web layer's own
// limit (1 MiB by default) would refuse uploads with 413 before Parse sees
// them, so a form channel's hook should be allowed this much.
func (c *Channel) MaxBody() int64 { return c.opts.MaxFileSize + 1<<20 }

// fileName keeps the base name only: browsers send names, old IE sent paths.
func fileName(s string) string {
	s = clean(strings.TrimSpace(s))
	s = path.Base(strings.ReplaceAll(s, `\`, "/"))
	if s == "." || s == "/" || s == "" {
		s = "file"
	}
	return truncate(s, 200)
}

// decodeJSON reads an object of string, number and boolean values (arrays
// of them are joined like repeated form fields; null is skipped).
func decodeJSON(body []byte) (*submission, error) {
	bad := inbox.Errorf(inbox.EINVALID, "JSON body must be an object of string, number or boolean values")
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, bad
	}
	sub := &submission{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, bad
		}
		name, ok := t.(string)
		if !ok {
			return nil, bad
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, bad
		}
		var values []any
		if bytes.HasPrefix(raw, []byte("[")) {
			if err := unmarshalNumbers(raw, &values); err != nil {
				return nil, bad
			}
		} else {
			var v any
			if err := unmarshalNumbers(raw, &v); err != nil {
				return nil, bad
			}
			values = []any{v}
		}
		for _, v := range values {
			s, ok := scalar(v)
			if !ok {
				return nil, bad
			}
			if err := sub.add(name, s); err != nil {
				return nil, err
			}
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, bad
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, bad
	}
	return sub, nil
}

func unmarshalNumbers(raw []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	return d.Decode(v)
}

func scalar(v any) (string, bool) {
	switch v := v.(type) {
	case nil:
		return "", true
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		if v {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

// isKeyField reports the body fields an API key may arrive in.
func isKeyField(name string) bool {
	n := strings.ToLower(name)
	return n == "api_key" || n == "apikey"
}

// apiKey finds the key a caller presented. Where Tilda puts its "API key"
// is not documented anywhere we could read (research/protocols.md §4.1), so
// every usual place is accepted: a body field api_key, a header
// (Authorization: Bearer, X-Api-Key, Api-Key) or ?api_key= / ?token= in the
// webhook URL.
func apiKey(r *http.Request, sub *submission) (string, bool) {
	for _, f := range sub.fields {
		if isKeyField(f.name) {
			return f.value, true
		}
	}
	if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(v), true
	}
	for _, h := range []string{"X-Api-Key", "Api-Key", "Api_key"} {
		if v := r.Header.Get(h); v != "" {
			return strings.TrimSpace(v), true
		}
	}
	if r.URL != nil {
		q := r.URL.Query()
		for _, k := range []string{"api_key", "token"} {
			if q.Has(k) {
				return q.Get(k), true
			}
		}
	}
	return "", false
}

// checkKey enforces the channel's API key: a wrong key is refused from
// anyone, a missing one only when required (Tilda's submissions; the test
// ping files nothing, so it passes without one).
func (c *Channel) checkKey(r *http.Request, sub *submission, required bool) error {
	if c.opts.Secret == "" {
		return nil
	}
	key, ok := apiKey(r, sub)
	if !ok {
		if required {
			return inbox.Errorf(inbox.EUNAUTHORIZED, "missing API key")
		}
		return nil
	}
	// Hashing first makes the comparison constant-time in the length too.
	got, want := sha256.Sum256([]byte(key)), sha256.Sum256([]byte(c.opts.Secret))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return inbox.Errorf(inbox.EUNAUTHORIZED, "wrong API key")
	}
	return nil
}

// save stores the uploads once the submission is known to be real, so
// spam never reaches the disk. Files are content-addressed: a retry stores
// nothing new.
func (c *Channel) save(r *http.Request, files []upload) ([]inbox.Attachment, error) {
	atts := make([]inbox.Attachment, 0, len(files))
	for _, f := range files {
		a, err := c.opts.Files.Save(r.Context(), f.name, f.mime, c.opts.MaxFileSize, bytes.NewReader(f.data))
		if err != nil {
			return nil, fmt.Errorf("form: save upload: %w", err)
		}
		atts = append(atts, a)
	}
	return atts, nil
}
