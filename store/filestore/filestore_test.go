package filestore

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/leadhub/leadhub/inbox"
)

func TestSaveOpenDedupe(t *testing.T) {
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := s.Save(ctx, "прайс 2026.pdf", "application/pdf", 1024, strings.NewReader("%PDF-1.7 price"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a.URL, URLPrefix) || a.Size != 14 || a.MIME != "application/pdf" || a.Name != "прайс 2026.pdf" {
		t.Fatalf("attachment = %+v", a)
	}
	b, err := s.Save(ctx, "again.pdf", "", 1024, strings.NewReader("%PDF-1.7 price"))
	if err != nil {
		t.Fatal(err)
	}
	id := strings.Split(strings.TrimPrefix(a.URL, URLPrefix), "/")[0]
	if !strings.Contains(b.URL, id) {
		t.Fatalf("same bytes stored under a new id: %s vs %s", a.URL, b.URL)
	}
	f, meta, err := s.Open(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, _ := io.ReadAll(f)
	if string(got) != "%PDF-1.7 price" || meta.Size != 14 || meta.URL != a.URL || meta.MIME != "application/pdf" {
		t.Fatalf("read back %q, %+v", got, meta)
	}
}

func TestSaveRejectsAndSanitizes(t *testing.T) {
	s, _ := New(t.TempDir())
	ctx := context.Background()
	if _, err := s.Save(ctx, "big.bin", "", 10, strings.NewReader(strings.Repeat("x", 11))); inbox.ErrorCode(err) != inbox.ETOOLARGE {
		t.Fatalf("oversized: %v, want ETOOLARGE", err)
	}
	for name, want := range map[string]string{
		"../../etc/passwd":       "passwd",
		`C:\Users\x\photo.jpg`:   "photo.jpg",
		"a\"b<c>.html":           "a_b_c_.html",
		"":                       "file",
		"..":                     "file",
		"line\r\nbreak.txt":      "line__break.txt",
		strings.Repeat("я", 200): strings.Repeat("я", 60),
	} {
		a, err := s.Save(ctx, name, "", 1000, strings.NewReader(name+"x"))
		if err != nil {
			t.Fatal(err)
		}
		if a.Name != want {
			t.Errorf("name %q stored as %q, want %q", name, a.Name, want)
		}
	}
	for _, id := range []string{"", "../x", strings.Repeat("0", 64), strings.Repeat("Z", 64)} {
		if _, _, err := s.Open(ctx, id); inbox.ErrorCode(err) != inbox.ENOTFOUND {
			t.Errorf("Open(%q) = %v, want ENOTFOUND", id, err)
		}
	}
}

func TestOpenAttachment(t *testing.T) {
	s, _ := New(t.TempDir())
	ctx := context.Background()
	a, err := s.Save(ctx, "offer.txt", "text/plain", 1024, strings.NewReader("kitchen 350 000"))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := s.OpenAttachment(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != "kitchen 350 000" {
		t.Fatalf("read %q", got)
	}
	for _, bad := range []inbox.Attachment{
		{URL: "https://example.com/x.pdf"},
		{URL: URLPrefix + "../../etc/passwd"},
		{URL: URLPrefix + strings.Repeat("0", 64) + "/gone.txt"},
	} {
		if _, err := s.OpenAttachment(ctx, bad); inbox.ErrorCode(err) != inbox.ENOTFOUND {
			t.Errorf("%s: err = %v, want ENOTFOUND", bad.URL, err)
		}
	}
}
