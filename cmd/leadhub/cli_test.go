package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// cliConfig writes a configuration file whose data_dir is a fresh folder,
// and an environment that names nothing, so that only --config (or
// LEADHUB_CONFIG, when withEnv) can lead a command to the database.
func cliConfig(t *testing.T, withEnv bool) (path, dataDir string, env func(string) string) {
	t.Helper()
	dir := t.TempDir()
	dataDir = filepath.Join(dir, "data")
	path = filepath.Join(dir, "leadhub.toml")
	toml := fmt.Sprintf("data_dir = %q\n[http]\naddr = \"127.0.0.1:0\"\n[log]\nlevel = \"error\"\n", dataDir)
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	env = func(k string) string {
		if withEnv && k == "LEADHUB_CONFIG" {
			return path
		}
		return ""
	}
	return path, dataDir, env
}

// TestCLIFlagsAnywhere: the global --config works before the command and
// after it, and it is obeyed: the commands find the database the file
// names, not one in the working directory (where none exists, so a
// command that ignored --config would fail).
func TestCLIFlagsAnywhere(t *testing.T) {
	path, _, env := cliConfig(t, false)
	if err := run(context.Background(), []string{"migrate", "--config", path}, nil, io.Discard, io.Discard, env); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	tests := []struct {
		name string
		args func(email string) []string
	}{
		{"config first", func(e string) []string { return []string{"--config", path, "operator", "add", "--email", e} }},
		{"config=first", func(e string) []string { return []string{"--config=" + path, "operator", "add", "--email", e} }},
		{"config between", func(e string) []string { return []string{"operator", "--config", path, "add", "--email", e} }},
		{"config after the command", func(e string) []string { return []string{"operator", "add", "--config", path, "--email", e} }},
		{"config last", func(e string) []string { return []string{"operator", "add", "--email", e, "--config", path} }},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			email := fmt.Sprintf("op%d@example.com", i)
			var out bytes.Buffer
			if err := run(context.Background(), tt.args(email), strings.NewReader(""), &out, io.Discard, env); err != nil {
				t.Fatalf("leadhub %v: %v", tt.args(email), err)
			}
			if !strings.Contains(out.String(), "operator "+email+" (id ") || !strings.Contains(out.String(), "password: ") {
				t.Fatalf("operator add printed %q", out.String())
			}
			// The token command, flags the other way round, prints the
			// token alone on its last line (DESIGN.md §3).
			for _, args := range [][]string{
				{"token", "create", "--operator", email, "--config", path},
				{"--config", path, "token", "create", "--operator", email},
			} {
				out.Reset()
				if err := run(context.Background(), args, nil, &out, io.Discard, env); err != nil {
					t.Fatalf("leadhub %v: %v", args, err)
				}
				lines := strings.Split(strings.TrimSpace(out.String()), "\n")
				if last := lines[len(lines)-1]; !strings.HasPrefix(last, "lh_") || strings.ContainsAny(last, " \t") {
					t.Errorf("leadhub %v: last line %q, want the token alone", args, last)
				}
			}
		})
	}
	// Every operator went to the configured database.
	var out bytes.Buffer
	if err := run(context.Background(), []string{"operator", "list", "--config", path}, nil, &out, io.Discard, env); err != nil {
		t.Fatal(err)
	}
	for i := range tests {
		if email := fmt.Sprintf("op%d@example.com", i); !strings.Contains(out.String(), email) {
			t.Errorf("operator list does not show %s:\n%s", email, out.String())
		}
	}
}

// TestCLIServeIsTheDefault: leadhub alone, leadhub --config FILE and
// leadhub serve --config FILE all run the hub (and create its database).
func TestCLIServeIsTheDefault(t *testing.T) {
	for _, tt := range []struct {
		name    string
		withEnv bool
		args    func(path string) []string
	}{
		{"no arguments", true, func(string) []string { return nil }},
		{"only --config", false, func(p string) []string { return []string{"--config", p} }},
		{"serve --config", false, func(p string) []string { return []string{"serve", "--config", p} }},
		{"--config serve", false, func(p string) []string { return []string{"--config", p, "serve"} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path, dataDir, env := cliConfig(t, tt.withEnv)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out := &syncBuffer{}
			done := make(chan error, 1)
			go func() { done <- run(ctx, tt.args(path), nil, out, io.Discard, env) }()
			waitFor(t, "the hub's welcome", func() bool { return strings.Contains(out.String(), "leadhub is running at") })
			if _, err := os.Stat(filepath.Join(dataDir, "leadhub.db")); err != nil {
				t.Errorf("serve did not create the configured database: %v", err)
			}
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("serve stopped with %v", err)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("serve did not stop")
			}
		})
	}
}

// leafCommands lists every runnable command of the tree by its path,
// "operator add" and the like.
func leafCommands(cmd *cobra.Command, path string) []string {
	var out []string
	for _, sub := range cmd.Commands() {
		if !sub.IsAvailableCommand() {
			continue
		}
		name := strings.TrimSpace(path + " " + sub.Name())
		if sub.HasAvailableSubCommands() {
			out = append(out, leafCommands(sub, name)...)
		} else {
			out = append(out, name)
		}
	}
	return out
}

// TestCLIHelpListsEveryCommand: leadhub --help (and -h, and help) names
// every command, nested ones included, with a line about each.
func TestCLIHelpListsEveryCommand(t *testing.T) {
	want := []string{
		"serve", "migrate",
		"operator add", "operator list", "operator disable", "operator enable", "operator teams", "operator password", "operator unlock",
		"token create", "token list", "token revoke",
		"team add", "team list", "team delete",
		"dead list", "dead replay",
		"clients import", "clients export",
	}
	c := &cli{getenv: func(string) string { return "" }}
	if got := leafCommands(c.rootCommand(), ""); len(got) != len(want) {
		t.Errorf("the tree has %d commands %v; this test knows %d: add the new ones to want", len(got), got, len(want))
	}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		var out bytes.Buffer
		if err := run(context.Background(), args, nil, &out, io.Discard, func(string) string { return "" }); err != nil {
			t.Fatalf("leadhub %v: %v", args, err)
		}
		lines := strings.Split(out.String(), "\n")
		for _, name := range want {
			found := false
			for _, l := range lines {
				f := strings.Fields(l)
				// "  operator add   create an operator; ..."
				if len(f) > len(strings.Fields(name)) && strings.HasPrefix(strings.TrimSpace(l), name+" ") {
					found = true
				}
			}
			if !found {
				t.Errorf("leadhub %v does not list %q with a description:\n%s", args, name, out.String())
			}
		}
		if !strings.Contains(out.String(), "--config FILE") {
			t.Errorf("leadhub %v does not mention --config", args)
		}
	}
	// A command's own help shows its flags.
	var out bytes.Buffer
	if err := run(context.Background(), []string{"operator", "add", "--help"}, nil, &out, io.Discard, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	for _, flag := range []string{"--email", "--role", "--name", "--teams", "--config"} {
		if !strings.Contains(out.String(), flag) {
			t.Errorf("operator add --help does not show %s:\n%s", flag, out.String())
		}
	}
}

// TestCLIUsageErrors: a command line that cannot be understood fails with
// a message that says what was wrong and how the command is used, and is
// told apart by its exit code (2).
func TestCLIUsageErrors(t *testing.T) {
	_, dataDir, env := cliConfig(t, true)
	tests := []struct {
		args []string
		says string
	}{
		{[]string{"frob"}, `unknown command "frob" for "leadhub"`},
		{[]string{"operatr", "add"}, `unknown command "operatr"`},
		{[]string{"operator"}, "leadhub operator needs a command"},
		{[]string{"operator", "frob"}, `unknown command "frob" for "leadhub operator"`},
		{[]string{"operator", "add"}, "--email is required"},
		{[]string{"operator", "add", "--email", "a@example.com", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"--bogus", "operator", "list"}, "unknown flag: --bogus"},
		{[]string{"operator", "teams", "--email", "a@example.com"}, "--set is required"},
		{[]string{"token", "create"}, "--operator is required"},
		{[]string{"token", "revoke"}, "missing argument"},
		{[]string{"token", "revoke", "abc"}, "token id must be a number"},
		{[]string{"team", "add", "a", "b"}, `unexpected argument "b"`},
		{[]string{"dead", "replay"}, "missing argument"},
		{[]string{"clients", "export", "--sep", "pipe"}, "--sep must be semicolon, comma or tab"},
		{[]string{"migrate", "now"}, `unexpected argument "now"`},
	}
	for _, tt := range tests {
		err := run(context.Background(), tt.args, nil, io.Discard, io.Discard, env)
		if err == nil || !strings.Contains(err.Error(), tt.says) || !strings.Contains(err.Error(), "usage: leadhub") {
			t.Errorf("leadhub %v: %v, want an error saying %q and the usage", tt.args, err, tt.says)
			continue
		}
		if code := exitCode(err); code != 2 {
			t.Errorf("leadhub %v: exit code %d, want 2", tt.args, code)
		}
	}
	if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a usage error created %s (stat: %v)", dataDir, err)
	}
}

// TestCLIExitCodes runs main itself in a child process (this test binary
// again) to see the exit codes a shell sees.
func TestCLIExitCodes(t *testing.T) {
	if args, ok := os.LookupEnv("LEADHUB_TEST_MAIN_ARGS"); ok {
		os.Args = append([]string{"leadhub"}, strings.Fields(args)...)
		main()
		os.Exit(0)
	}
	dataDir := filepath.Join(t.TempDir(), "nothing-here")
	for _, tt := range []struct {
		args   string
		code   int
		stderr string
	}{
		{"frob", 2, `unknown command "frob"`},
		{"operator add --email a@example.com --nope", 2, "unknown flag: --nope"},
		{"operator list", 1, "no database at " + filepath.Join(dataDir, "leadhub.db")},
		{"--help", 0, ""},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCLIExitCodes$")
		cmd.Env = append(os.Environ(), "LEADHUB_TEST_MAIN_ARGS="+tt.args, "LEADHUB_DATA_DIR="+dataDir, "LEADHUB_CONFIG=", "LEADHUB_DATABASE_URL=")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tt.code || !strings.Contains(stderr.String(), tt.stderr) {
			t.Errorf("leadhub %s: exit %d, stderr %q; want %d and %q", tt.args, code, stderr.String(), tt.code, tt.stderr)
		}
	}
}

// TestCLIRefusesToCreateDatabase: every command but serve and migrate,
// pointed at a database that does not exist, says which one it looked for
// and how to point it at the right one, and leaves no file behind; after
// leadhub migrate, the same command works.
func TestCLIRefusesToCreateDatabase(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	env := func(k string) string {
		switch k {
		case "LEADHUB_DATA_DIR":
			return dataDir
		case "LEADHUB_LOG_LEVEL":
			return "error"
		}
		return ""
	}
	csv := filepath.Join(dir, "clients.csv")
	if err := os.WriteFile(csv, []byte("name;phone\nИван;+79120000001\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	commands := [][]string{
		{"operator", "add", "--email", "a@example.com"},
		{"operator", "list"},
		{"operator", "disable", "--email", "a@example.com"},
		{"operator", "enable", "--email", "a@example.com"},
		{"operator", "teams", "--email", "a@example.com", "--set", ""},
		{"operator", "password", "--email", "a@example.com"},
		{"operator", "unlock", "a@example.com"},
		{"token", "create", "--operator", "a@example.com"},
		{"token", "list", "--operator", "a@example.com"},
		{"token", "revoke", "1"},
		{"team", "add", "sales"},
		{"team", "list"},
		{"team", "delete", "sales"},
		{"dead", "list"},
		{"dead", "replay", "1"},
		{"clients", "import", csv},
		{"clients", "export", filepath.Join(dir, "out.csv")},
	}
	c := &cli{getenv: env}
	if got, want := len(leafCommands(c.rootCommand(), "")), len(commands)+2; got != want {
		t.Errorf("the tree has %d commands, this test covers %d besides serve and migrate: add the new ones", got, want-2)
	}
	wantPath := filepath.Join(dataDir, "leadhub.db")
	for _, args := range commands {
		err := run(context.Background(), args, strings.NewReader(""), io.Discard, io.Discard, env)
		if err == nil {
			t.Errorf("leadhub %v succeeded without a database", args)
			continue
		}
		for _, s := range []string{"no database at " + wantPath, "--config", "LEADHUB_DATA_DIR", "leadhub migrate"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("leadhub %v: %q does not say %q", args, err, s)
			}
		}
		if code := exitCode(err); code != 1 {
			t.Errorf("leadhub %v: exit code %d, want 1 (not a usage mistake)", args, code)
		}
		if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("leadhub %v created %s (stat: %v)", args, dataDir, err)
		}
	}

	if err := run(context.Background(), []string{"migrate"}, nil, io.Discard, io.Discard, env); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if _, err := os.Stat(wantPath); err != nil {
		t.Fatalf("migrate did not create the database: %v", err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"team", "add", "sales"}, nil, &out, io.Discard, env); err != nil || !strings.Contains(out.String(), "team sales") {
		t.Fatalf("team add after migrate: %q, %v", out.String(), err)
	}
}
