package dbfiles_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/store"
	"github.com/leadhub/leadhub/store/dbfiles"
	"github.com/leadhub/leadhub/store/storetest"
)

func TestSQLite(t *testing.T)   { testFiles(t, store.DialectSQLite) }
func TestPostgres(t *testing.T) { testFiles(t, store.DialectPostgres) }

// testFiles: a file saved is opened by its id and its attachment, the same
// bytes saved twice are one file under their first name, a file over the
// limit is refused, and an unknown or malformed id is not found.
func testFiles(t *testing.T, dialect string) {
	ctx := context.Background()
	fs := dbfiles.New(storetest.Open(t, dialect).DB())
	att, err := fs.Save(ctx, "../смета.pdf", "", 100, strings.NewReader("%PDF-1.4 смета"))
	if err != nil {
		t.Fatal(err)
	}
	if att.Name != "смета.pdf" || att.MIME != "application/pdf" || att.Size != int64(len("%PDF-1.4 смета")) ||
		!strings.HasPrefix(att.URL, "/files/") {
		t.Fatalf("saved %+v", att)
	}
	again, err := fs.Save(ctx, "other.pdf", "", 100, strings.NewReader("%PDF-1.4 смета"))
	if err != nil || again.URL[:71] != att.URL[:71] {
		t.Fatalf("saved again %+v (%v), want the same id as %s", again, err, att.URL)
	}
	id := strings.Split(strings.TrimPrefix(att.URL, "/files/"), "/")[0]
	f, meta, err := fs.Open(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(f)
	f.Close()
	if string(body) != "%PDF-1.4 смета" || meta.Name != "смета.pdf" {
		t.Errorf("opened %q as %+v", body, meta)
	}
	rc, err := fs.OpenAttachment(ctx, att)
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if _, err := fs.Save(ctx, "big.bin", "", 4, strings.NewReader("12345")); inbox.ErrorCode(err) != inbox.ETOOLARGE {
		t.Errorf("over the limit: %v", err)
	}
	for _, bad := range []string{strings.Repeat("0", 64), "../../etc/passwd", ""} {
		if _, _, err := fs.Open(ctx, bad); inbox.ErrorCode(err) != inbox.ENOTFOUND {
			t.Errorf("open %q: %v", bad, err)
		}
	}
	if _, err := fs.OpenAttachment(ctx, inbox.Attachment{URL: "https://example.com/x.pdf"}); inbox.ErrorCode(err) != inbox.ENOTFOUND {
		t.Errorf("an outside URL: %v", err)
	}
}
