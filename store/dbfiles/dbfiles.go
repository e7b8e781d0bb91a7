// Package dbfiles keeps attachment bodies in the database (table
// file_blobs, migration 0020), so that every instance of a cluster serves
// every file: a Telegram photo filed on one instance opens through any
// other. It is the same content-addressed store as filestore — the id is
// the SHA-256 of the bytes, the URL /files/<id>/<name> — so a message
// points at its files the same way whichever store kept them.
package dbfiles

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/leadhub/leadhub/inbox"
)

// Store keeps files in a database's file_blobs table. It is safe for
// concurrent use.
type Store struct {
	db  *sqlx.DB
	ins string
	get string
}

// New returns a store on db, whose schema has file_blobs (the store's
// migrations).
func New(db *sqlx.DB) *Store {
	return &Store{
		db: db,
		// The first name a file was saved under stays its name.
		ins: db.Rebind(`INSERT INTO file_blobs (id, name, mime, size, data, created_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`),
		get: db.Rebind(`SELECT name, mime, size, data FROM file_blobs WHERE id = ?`),
	}
}

var validID = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Save stores at most max bytes of r (more is ETOOLARGE) and returns the
// attachment pointing at it. The body is held in memory while it is
// written: files are bounded by inbox.MaxFileSize.
func (s *Store) Save(ctx context.Context, name, mimeType string, max int64, r io.Reader) (inbox.Attachment, error) {
	if max <= 0 || max > inbox.MaxFileSize {
		max = inbox.MaxFileSize
	}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, max+1))
	if err != nil {
		return inbox.Attachment{}, fmt.Errorf("dbfiles: save: %w", err)
	}
	if n > max {
		return inbox.Attachment{}, inbox.Errorf(inbox.ETOOLARGE, "file is larger than %d bytes", max)
	}
	sum := sha256.Sum256(buf.Bytes())
	id := hex.EncodeToString(sum[:])
	name = inbox.CleanFileName(name)
	if mimeType == "" {
		mimeType = mime.TypeByExtension(path.Ext(name))
	}
	if mimeType == "" {
		mimeType = "application/octet-stream"
	}
	if _, err := s.db.ExecContext(ctx, s.ins, id, name, mimeType, n, buf.Bytes(), time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		return inbox.Attachment{}, fmt.Errorf("dbfiles: save: %w", err)
	}
	return inbox.Attachment{URL: inbox.FileURLPrefix + id + "/" + name, Name: name, MIME: mimeType, Size: n}, nil
}

// Open returns the file with the given id and what is known of it; an
// unknown or malformed id is ENOTFOUND.
func (s *Store) Open(ctx context.Context, id string) (io.ReadSeekCloser, inbox.Attachment, error) {
	if !validID.MatchString(id) {
		return nil, inbox.Attachment{}, inbox.Errorf(inbox.ENOTFOUND, "file not found")
	}
	var row struct {
		Name string `db:"name"`
		MIME string `db:"mime"`
		Size int64  `db:"size"`
		Data []byte `db:"data"`
	}
	err := s.db.GetContext(ctx, &row, s.get, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, inbox.Attachment{}, inbox.Errorf(inbox.ENOTFOUND, "file not found")
	}
	if err != nil {
		return nil, inbox.Attachment{}, fmt.Errorf("dbfiles: open: %w", err)
	}
	att := inbox.Attachment{URL: inbox.FileURLPrefix + id + "/" + row.Name, Name: row.Name, MIME: row.MIME, Size: row.Size}
	return nopCloser{bytes.NewReader(row.Data)}, att, nil
}

// OpenAttachment opens the body of an attachment this store saved, found by
// its URL.
func (s *Store) OpenAttachment(ctx context.Context, a inbox.Attachment) (io.ReadCloser, error) {
	rest, ok := strings.CutPrefix(a.URL, inbox.FileURLPrefix)
	if !ok {
		return nil, inbox.Errorf(inbox.ENOTFOUND, "file not in storage")
	}
	id, _, _ := strings.Cut(rest, "/")
	f, _, err := s.Open(ctx, id)
	return f, err
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }
