package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/leadhub/leadhub/inbox"
)

// TestAdminCommands: teams, operators and scoped tokens through the
// commands an admin runs, against a running hub.
func TestAdminCommands(t *testing.T) {
	cfg := testConfig(t, false, false, "")
	env := envFor(t, cfg)
	cli := cliIn(t, env)
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

// TestOperatorAddBothDoors: an operator made with `leadhub operator add`
// leaves the same audit entry and the same operator.updated event as one
// made with POST /api/v1/operators, differing only in who did it; a
// password too short is refused by both doors with the same words.
func TestOperatorAddBothDoors(t *testing.T) {
	cfg := testConfig(t, false, false, "")
	env := envFor(t, cfg)
	cli := cliIn(t, env)
	if _, err := cli("the admin's password\n", "operator", "add", "--email", "admin@example.com", "--role", "admin"); err != nil {
		t.Fatal(err)
	}
	out, err := cli("", "token", "create", "--operator", "admin@example.com", "--scope", "admin")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	token := lines[len(lines)-1]
	hub := startHub(t, cfg)
	call := func(method, path, body string, v any) int {
		t.Helper()
		return apiCall(t, hub.base, token, method, path, body, v)
	}
	ws := dialWS(t, hub.base, token, 0)

	// The same operator through each door.
	if _, err := cli("", "team", "add", "sales"); err != nil {
		t.Fatal(err)
	}
	var viaAPI inbox.OperatorDetail
	if code := call("POST", "/api/v1/operators",
		`{"email":"api@example.com","name":"Анна","role":"supervisor","password":"a long enough password","teams":["sales"]}`, &viaAPI); code != 201 {
		t.Fatalf("POST /operators: %d", code)
	}
	if _, err := cli("a long enough password\n", "operator", "add", "--email", "cli@example.com", "--name", "Анна", "--role", "supervisor", "--teams", "sales"); err != nil {
		t.Fatal(err)
	}

	// The audit entries: same action, entity and detail; the API names its
	// admin, the command line nobody.
	var audit struct{ Items []inbox.AuditEntry }
	if code := call("GET", "/api/v1/audit?entity=operator&action=operator.create", "", &audit); code != 200 {
		t.Fatalf("GET /audit: %d", code)
	}
	byEntity := map[int64]inbox.AuditEntry{}
	for _, e := range audit.Items {
		byEntity[e.EntityID] = e
	}
	var viaCLI, admin inbox.Operator
	var ops struct{ Items []inbox.OperatorDetail }
	call("GET", "/api/v1/operators", "", &ops)
	for _, op := range ops.Items {
		switch op.Email {
		case "cli@example.com":
			viaCLI = op.Operator
		case "admin@example.com":
			admin = op.Operator
		}
	}
	apiEntry, ok1 := byEntity[viaAPI.ID]
	cliEntry, ok2 := byEntity[viaCLI.ID]
	if !ok1 || !ok2 {
		t.Fatalf("audit entries: API %v, CLI %v (%+v)", ok1, ok2, audit.Items)
	}
	if string(apiEntry.Detail) != string(cliEntry.Detail) || !strings.Contains(string(apiEntry.Detail), `"sales"`) {
		t.Errorf("audit detail: API %s, CLI %s", apiEntry.Detail, cliEntry.Detail)
	}
	if apiEntry.OperatorID == nil || *apiEntry.OperatorID != admin.ID || cliEntry.OperatorID != nil {
		t.Errorf("audit actors: API %v (want %d), CLI %v (want none)", apiEntry.OperatorID, admin.ID, cliEntry.OperatorID)
	}

	// The events: one operator.updated each, alike but for id, email and
	// creation time.
	type payload struct {
		Operator inbox.OperatorDetail `json:"operator"`
	}
	got := map[string]inbox.OperatorDetail{}
	for len(got) < 2 {
		ev := nextEvent(t, ws, inbox.EventOperatorUpdated)
		var p payload
		if err := json.Unmarshal(ev.Data, &p); err != nil {
			t.Fatal(err)
		}
		if e := p.Operator.Email; e == "api@example.com" || e == "cli@example.com" {
			got[e] = p.Operator
		}
	}
	a, c := got["api@example.com"], got["cli@example.com"]
	if a.Name != c.Name || a.Role != c.Role || a.Disabled != c.Disabled || strings.Join(a.Teams, ",") != strings.Join(c.Teams, ",") ||
		c.Name != "Анна" || c.Role != inbox.RoleSupervisor || strings.Join(c.Teams, ",") != "sales" {
		t.Errorf("operator.updated: API %+v, CLI %+v", a, c)
	}

	// Both passwords work the same way: each signs in.
	for _, email := range []string{"api@example.com", "cli@example.com"} {
		body := fmt.Sprintf(`{"email":%q,"password":"a long enough password"}`, email)
		resp, err := http.Post(hub.base+"/api/v1/session", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s signs in: %d", email, resp.StatusCode)
		}
	}

	// Too short: refused at both doors, in the same words, and nobody made.
	want := inbox.ErrorMessage(inbox.CheckPassword("short"))
	req, _ := http.NewRequest("POST", hub.base+"/api/v1/operators", strings.NewReader(`{"email":"short1@example.com","password":"short"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var apiErr struct{ Error string }
	json.NewDecoder(resp.Body).Decode(&apiErr)
	resp.Body.Close()
	if resp.StatusCode != 400 || apiErr.Error != want {
		t.Errorf("API with a short password: %d %q, want 400 %q", resp.StatusCode, apiErr.Error, want)
	}
	if _, err := cli("short\n", "operator", "add", "--email", "short2@example.com"); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("CLI with a short password: %v, want %q", err, want)
	}
	if out, _ := cli("", "operator", "list"); strings.Contains(out, "short") {
		t.Errorf("an operator with a short password was made:\n%s", out)
	}
}

// cliIn runs leadhub commands in-process with env, feeding stdin, and
// returns what they printed.
func cliIn(t *testing.T, env func(string) string) func(stdin string, args ...string) (string, error) {
	return func(stdin string, args ...string) (string, error) {
		t.Helper()
		var out bytes.Buffer
		err := run(context.Background(), args, strings.NewReader(stdin), &out, io.Discard, env)
		return out.String(), err
	}
}

// TestOperatorUnlockCommand: `leadhub operator unlock` ends a running
// hub's lockout of an operator, and --ip that of an address; both are
// audited.
func TestOperatorUnlockCommand(t *testing.T) {
	cfg := testConfig(t, false, false, "")
	cfg.Security.LoginMaxFailures = 2
	cfg.Security.LoginIPMaxFailures = 4
	env := envFor(t, cfg)
	cli := cliIn(t, env)
	if _, err := cli("olga's long password\n", "operator", "add", "--email", "olga@example.com"); err != nil {
		t.Fatal(err)
	}
	hub := startHub(t, cfg)
	login := func(email, password string) int {
		t.Helper()
		resp, err := http.Post(hub.base+"/api/v1/session", "application/json",
			strings.NewReader(fmt.Sprintf(`{"email":%q,"password":%q}`, email, password)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	login("olga@example.com", "wrong")
	login("olga@example.com", "wrong")
	if code := login("olga@example.com", "olga's long password"); code != http.StatusTooManyRequests {
		t.Fatalf("locked olga: %d, want 429", code)
	}
	for _, args := range [][]string{{"operator", "unlock"}, {"operator", "unlock", "a@b.c", "--ip", "127.0.0.1"}} {
		if _, err := cli("", args...); exitCode(err) != 2 {
			t.Errorf("leadhub %s: %v, want a usage error", strings.Join(args, " "), err)
		}
	}
	if _, err := cli("", "operator", "unlock", "nobody@example.com"); err == nil || !strings.Contains(err.Error(), "no operator") {
		t.Errorf("unlock an unknown operator: %v", err)
	}
	out, err := cli("", "operator", "unlock", "Olga@Example.com")
	if err != nil || !strings.Contains(out, "olga@example.com is unlocked") {
		t.Fatalf("operator unlock: %q, %v", out, err)
	}
	if code := login("olga@example.com", "olga's long password"); code != http.StatusOK {
		t.Fatalf("olga after unlock: %d, want 200", code)
	}

	// The address: four failures with invented emails lock 127.0.0.1.
	for i := range 4 {
		login(fmt.Sprintf("guess%d@example.com", i), "x")
	}
	if code := login("olga@example.com", "olga's long password"); code != http.StatusTooManyRequests {
		t.Fatalf("locked address: %d, want 429", code)
	}
	if out, err := cli("", "operator", "unlock", "--ip", "127.0.0.1"); err != nil || !strings.Contains(out, "127.0.0.1 is unlocked") {
		t.Fatalf("operator unlock --ip: %q, %v", out, err)
	}
	if code := login("olga@example.com", "olga's long password"); code != http.StatusOK {
		t.Fatalf("after unlocking the address: %d, want 200", code)
	}
	entries, _, err := hub.hub.backend.store.ListAudit(context.Background(), inbox.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var unlocks []string
	for _, e := range entries {
		if strings.HasSuffix(e.Action, ".unlock") {
			unlocks = append(unlocks, e.Action+" "+string(e.Detail))
		}
	}
	if fmt.Sprint(unlocks) != `[login.unlock {"cleared":true,"ip":"127.0.0.1"} operator.unlock {"cleared":true}]` {
		t.Errorf("unlock audit entries = %v", unlocks)
	}
}
