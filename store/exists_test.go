package store_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/store"
)

// TestCheckExists: a command that must not create a database learns which
// file it looked for, and looking creates nothing.
func TestCheckExists(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "there.db")
	if err := os.WriteFile(existing, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	missingDir := filepath.Join(dir, "nowhere")
	tests := []struct {
		name     string
		opts     store.Options
		code     string // "" for no error
		mentions string
	}{
		{"missing default file", store.Options{DataDir: missingDir}, inbox.ENOTFOUND, filepath.Join(missingDir, "leadhub.db")},
		{"missing sqlite: URL", store.Options{URL: "sqlite:" + filepath.Join(missingDir, "x.db")}, inbox.ENOTFOUND, filepath.Join(missingDir, "x.db")},
		{"existing file: URL", store.Options{URL: "file:" + existing + "?mode=rw"}, "", ""},
		{"postgres is never created by Open", store.Options{URL: "postgres://u@127.0.0.1/db", DataDir: missingDir}, "", ""},
		{"unknown scheme", store.Options{URL: "mysql://x"}, inbox.EINVALID, "mysql"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := store.CheckExists(tt.opts)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("CheckExists = %v, want nil", err)
				}
				return
			}
			if inbox.ErrorCode(err) != tt.code || !strings.Contains(err.Error(), tt.mentions) {
				t.Fatalf("CheckExists = %v, want %s naming %s", err, tt.code, tt.mentions)
			}
		})
	}
	if _, err := os.Stat(missingDir); !os.IsNotExist(err) {
		t.Errorf("CheckExists created %s (stat: %v)", missingDir, err)
	}
}
