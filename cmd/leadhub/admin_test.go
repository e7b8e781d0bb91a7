package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestAdminCommands: teams, operators and scoped tokens through the
// commands an admin runs, against a running hub.
func TestAdminCommands(t *testing.T) {
	cfg := testConfig(t, false, false, "")
	env := envFor(t, cfg)
	cli := func(stdin string, args ...string) (string, error) {
		t.Helper()
		var out bytes.Buffer
		err := run(context.Background(), args, strings.NewReader(stdin), &out, io.Discard, env)
		return out.String(), err
	}
	must := func(stdin string, args ...string) string {
		t.Helper()
		out, err := cli(stdin, args...)
		if err != nil {
			t.Fatalf("leadhub %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	lastLine := func(s string) string {
		lines := strings.Split(strings.TrimSpace(s), "\n")
		return lines[len(lines)-1]
	}
	must("an admin password\n", "operator", "add", "--email", "admin@example.com", "--role", "admin")
	must("olga's password\n", "operator", "add", "--email", "olga@example.com", "--role", "operator")
	must("", "team", "add", "sales")
	if _, err := cli("", "team", "add", "Sales Team"); err == nil {
		t.Errorf("team add accepted a name with spaces")
	}
	if out := must("", "operator", "teams", "--email", "olga@example.com", "--set", "sales"); !strings.Contains(out, "sales") {
		t.Errorf("operator teams: %q", out)
	}
	if out := must("", "operator", "list"); !regexp.MustCompile(`olga@example.com\s+operator\s+sales\s+false`).MatchString(out) {
		t.Errorf("operator list:\n%s", out)
	}
	if out := must("", "team", "list"); !regexp.MustCompile(`sales\s+1`).MatchString(out) {
		t.Errorf("team list:\n%s", out)
	}
	if _, err := cli("", "token", "create", "--operator", "olga@example.com", "--scope", "admin"); err == nil {
		t.Errorf("an operator got an admin token")
	}
	if _, err := cli("", "token", "create", "--operator", "olga@example.com", "--scope", "root"); err == nil {
		t.Errorf("token create accepted scope root")
	}
	read := lastLine(must("", "token", "create", "--operator", "olga@example.com", "--scope", "read", "--name", "reports"))
	write := lastLine(must("", "token", "create", "--operator", "olga@example.com"))
	if out := must("", "token", "list", "--operator", "olga@example.com"); !regexp.MustCompile(`reports\s+read`).MatchString(out) ||
		!regexp.MustCompile(`cli\s+write`).MatchString(out) || strings.Contains(out, read) {
		t.Errorf("token list:\n%s", out)
	}

	hub := startHub(t, cfg)
	call := func(token, method, path, body string) int {
		req, _ := http.NewRequest(method, hub.base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := call(read, "GET", "/api/v1/conversations", ""); code != 200 {
		t.Errorf("read token reads: %d", code)
	}
	if code := call(read, "POST", "/api/v1/tokens", `{"scope":"read"}`); code != 403 {
		t.Errorf("read token writes: %d, want 403", code)
	}
	if code := call(write, "POST", "/api/v1/tokens", `{"scope":"read"}`); code != 201 {
		t.Errorf("write token writes: %d", code)
	}
	if code := call(write, "GET", "/api/v1/operators", ""); code != 403 {
		t.Errorf("operator's token on an admin route: %d, want 403", code)
	}

	// Disabling ends every token at once, running hub or not.
	if out := must("", "operator", "disable", "--email", "olga@example.com"); !strings.Contains(out, "disabled") {
		t.Errorf("operator disable: %q", out)
	}
	for _, tok := range []string{read, write} {
		if code := call(tok, "GET", "/api/v1/conversations", ""); code != 401 {
			t.Errorf("token of a disabled operator: %d, want 401", code)
		}
	}
	must("", "operator", "enable", "--email", "olga@example.com")
	if code := call(read, "GET", "/api/v1/conversations", ""); code != 401 {
		t.Errorf("token after re-enabling: %d, want 401 (it was deleted)", code)
	}

	admin := lastLine(must("", "token", "create", "--operator", "admin@example.com", "--scope", "admin"))
	if code := call(admin, "GET", "/api/v1/operators", ""); code != 200 {
		t.Errorf("admin token on an admin route: %d", code)
	}
	id := regexp.MustCompile(`(?m)^(\d+)\s+cli\s+admin`).FindStringSubmatch(must("", "token", "list", "--operator", "admin@example.com"))
	if id == nil {
		t.Fatal("admin token not listed")
	}
	must("", "token", "revoke", id[1])
	if code := call(admin, "GET", "/api/v1/operators", ""); code != 401 {
		t.Errorf("revoked token: %d", code)
	}
	must("", "team", "delete", "sales")
	if out := must("", "operator", "list"); strings.Contains(out, "sales") {
		t.Errorf("a deleted team is still listed:\n%s", out)
	}
}
