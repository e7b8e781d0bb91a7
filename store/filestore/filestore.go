// Package filestore keeps attachment bodies on disk, named by the SHA-256
// of their content: saving the same bytes twice (a provider retry, a form
// resubmitted) stores one file, and a name can never be guessed or point
// outside the directory.
//
// With several leadhub instances the directory must be shared storage.
package filestore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/leadhub/leadhub/inbox"
)

// URLPrefix is where the web layer serves files: URLPrefix + id + "/" + name.
const URLPrefix = inbox.FileURLPrefix

// Store saves and opens attachment bodies under one directory.
type Store struct {
	dir string
}

var (
	_ inbox.Files      = (*Store)(nil)
	_ inbox.FileSource = (*Store)(nil)
)

// New returns a store in dir, creating it if needed.
func New(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("filestore: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Meta is what is known about a stored file besides its bytes.
type Meta struct {
	Name string `json:"name"`
	MIME string `json:"mime"`
	Size int64  `json:"size"`
}

var validID = regexp.MustCompile(`^[0-9a-f]{64}$`)

func (s *Store) paths(id string) (data, meta string) {
	base := filepath.Join(s.dir, id[:2], id)
	return base, base + ".json"
}

// Save stores at most max bytes of r (more is ETOOLARGE) and returns the
// attachment pointing at it.
func (s *Store) Save(ctx context.Context, name, mimeType string, max int64, r io.Reader) (inbox.Attachment, error) {
	if max <= 0 || max > inbox.MaxFileSize {
		max = inbox.MaxFileSize
	}
	tmp, err := os.CreateTemp(s.dir, ".upload-*")
	if err != nil {
		return inbox.Attachment{}, fmt.Errorf("filestore: save: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename this is a no-op
	defer tmp.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), &ctxReader{ctx: ctx, r: io.LimitReader(r, max+1)})
	if err != nil {
		return inbox.Attachment{}, fmt.Errorf("filestore: save: %w", err)
	}
	if n > max {
		return inbox.Attachment{}, inbox.Errorf(inbox.ETOOLARGE, "file is larger than %d bytes", max)
	}
	// The file must be on disk before a message points at it.
	if err := tmp.Sync(); err != nil {
		return inbox.Attachment{}, fmt.Errorf("filestore: save: %w", err)
	}
	id := hex.EncodeToString(h.Sum(nil))
	name = inbox.CleanFileName(name)
	if mimeType == "" {
		mimeType = mime.TypeByExtension(path.Ext(name))
	}
	if mimeType == "" {
		mimeType = "application/octet-stream"
	}
	data, metaPath := s.paths(id)
	if err := os.MkdirAll(filepath.Dir(data), 0o750); err != nil {
		return inbox.Attachment{}, fmt.Errorf("filestore: save: %w", err)
	}
	// The first name a file was saved under stays its name.
	if _, err := os.Stat(metaPath); errors.Is(err, fs.ErrNotExist) {
		meta, _ := json.Marshal(Meta{Name: name, MIME: mimeType, Size: n})
		if err := os.WriteFile(metaPath, meta, 0o640); err != nil {
			return inbox.Attachment{}, fmt.Errorf("filestore: save: %w", err)
		}
	}
	if err := os.Rename(tmp.Name(), data); err != nil {
		return inbox.Attachment{}, fmt.Errorf("filestore: save: %w", err)
	}
	return inbox.Attachment{URL: URLPrefix + id + "/" + name, Name: name, MIME: mimeType, Size: n}, nil
}

// Open returns the file with the given id and what is known of it; an
// unknown or malformed id is ENOTFOUND. The caller closes the file.
func (s *Store) Open(ctx context.Context, id string) (io.ReadSeekCloser, inbox.Attachment, error) {
	f, m, err := s.open(id)
	if err != nil {
		return nil, inbox.Attachment{}, err
	}
	return f, inbox.Attachment{URL: URLPrefix + id + "/" + m.Name, Name: m.Name, MIME: m.MIME, Size: m.Size}, nil
}

// OpenAttachment opens the body of an attachment this store saved, found by
// its URL (URLPrefix + id + "/" + name).
func (s *Store) OpenAttachment(ctx context.Context, a inbox.Attachment) (io.ReadCloser, error) {
	rest, ok := strings.CutPrefix(a.URL, URLPrefix)
	if !ok {
		return nil, inbox.Errorf(inbox.ENOTFOUND, "file not in storage")
	}
	id, _, _ := strings.Cut(rest, "/")
	f, _, err := s.open(id)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (s *Store) open(id string) (*os.File, Meta, error) {
	if !validID.MatchString(id) {
		return nil, Meta{}, inbox.Errorf(inbox.ENOTFOUND, "file not found")
	}
	data, metaPath := s.paths(id)
	var m Meta
	b, err := os.ReadFile(metaPath)
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, Meta{}, inbox.Errorf(inbox.ENOTFOUND, "file not found")
		}
		return nil, Meta{}, fmt.Errorf("filestore: open: %w", err)
	}
	f, err := os.Open(data)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, Meta{}, inbox.Errorf(inbox.ENOTFOUND, "file not found")
		}
		return nil, Meta{}, fmt.Errorf("filestore: open: %w", err)
	}
	return f, m, nil
}

// ctxReader stops a long copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
