package inbox

import (
	"strings"
	"testing"
)

func TestLoginAccountKey(t *testing.T) {
	k := LoginAccountKey(" Olga@Example.com ")
	if k != LoginAccountKey("olga@example.com") {
		t.Error("the key depends on case or spaces; sign-in and unlock would disagree")
	}
	if !strings.HasPrefix(k, "account:") || len(k) != len("account:")+64 || strings.Contains(k, "olga") {
		t.Errorf("key = %q, want account:<64 hex digits> without the text", k)
	}
	if k == LoginAccountKey("petr@example.com") {
		t.Error("two emails share a key")
	}
}
