package email

import (
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// FuzzParse: no input crashes the parser or leaves a message without an id,
// and what it returns is valid UTF-8 for the database.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.eml"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m := Parse(raw, 1<<16)
		if m.MessageID == "" {
			t.Fatal("no message id")
		}
		for _, s := range []string{m.Text, m.Quoted, m.Subject, m.HTML, m.MessageID, m.FromName} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 in %q", s)
			}
		}
	})
}
