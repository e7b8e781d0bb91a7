package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"golang.org/x/crypto/bcrypt"

	"github.com/leadhub/leadhub/inbox"
)

// operatorCmd: leadhub operator add --email E --role R [--name N].
// The password is read from stdin when one is piped in; otherwise a random
// one is generated and printed once.
func operatorCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || args[0] != "add" {
		return fmt.Errorf("usage: leadhub operator add --email E --role admin|supervisor|operator [--name N]")
	}
	var email, role, name string
	cfg, logger, _, err := setup("operator add", args[1:], stderr, getenv, func(fs *flag.FlagSet) {
		fs.StringVar(&email, "email", "", "operator's email (their login)")
		fs.StringVar(&role, "role", "operator", "admin, supervisor or operator")
		fs.StringVar(&name, "name", "", "display name")
	})
	if err != nil {
		return err
	}
	if email == "" {
		return fmt.Errorf("--email is required")
	}
	if !inbox.Role(role).Valid() {
		return fmt.Errorf("--role must be admin, supervisor or operator")
	}
	password, generated, err := readPassword(stdin)
	if err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	b, err := openBackend(ctx, cfg, logger, nil)
	if err != nil {
		return err
	}
	defer b.Close()
	op, err := b.store.CreateOperator(ctx, inbox.Operator{Email: email, Name: name, Role: inbox.Role(role)}, string(hash))
	if err != nil {
		if inbox.ErrorCode(err) == inbox.ECONFLICT {
			return fmt.Errorf("an operator with email %s already exists", email)
		}
		return err
	}
	fmt.Fprintf(stdout, "operator %s (id %d, role %s) created\n", op.Email, op.ID, op.Role)
	if generated {
		fmt.Fprintf(stdout, "password: %s\n", password)
	}
	return nil
}

// readPassword takes the first line of a piped stdin, or makes one up when
// stdin is a terminal or empty.
func readPassword(stdin io.Reader) (password string, generated bool, err error) {
	if f, ok := stdin.(*os.File); ok {
		if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice != 0 {
			return generatePassword(), true, nil
		}
	}
	if stdin != nil {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", false, fmt.Errorf("read password: %w", err)
		}
		if p := strings.TrimRight(line, "\r\n"); p != "" {
			if len(p) < 8 {
				return "", false, fmt.Errorf("the piped password must have at least 8 characters")
			}
			if len(p) > 72 {
				return "", false, fmt.Errorf("the piped password must have at most 72 bytes")
			}
			return p, false, nil
		}
	}
	return generatePassword(), true, nil
}

func generatePassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// tokenCmd: leadhub token create --operator E [--name N]; the token is
// printed alone on the last line so scripts can take it with tail -n1.
func tokenCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("usage: leadhub token create --operator E [--name N] [--scope read|write|admin]")
	}
	var email, name, scope string
	cfg, logger, _, err := setup("token create", args[1:], stderr, getenv, func(fs *flag.FlagSet) {
		fs.StringVar(&email, "operator", "", "email of the operator the token acts as")
		fs.StringVar(&name, "name", "cli", "what the token is for")
		fs.StringVar(&scope, "scope", "write", "read (GET only), write, or admin (admin routes; admins only)")
	})
	if err != nil {
		return err
	}
	if email == "" {
		return fmt.Errorf("--operator is required")
	}
	if !inbox.TokenScope(scope).Valid() {
		return fmt.Errorf("--scope must be read, write or admin")
	}
	b, err := openBackend(ctx, cfg, logger, nil)
	if err != nil {
		return err
	}
	defer b.Close()
	op, _, err := b.store.OperatorByEmail(ctx, email)
	if err != nil {
		if inbox.ErrorCode(err) == inbox.ENOTFOUND {
			return fmt.Errorf("no operator with email %s (create one with: leadhub operator add --email %s --role admin)", email, email)
		}
		return err
	}
	token, hash := inbox.NewToken()
	t, err := b.store.CreateScopedToken(ctx, 0, inbox.APIToken{OperatorID: op.ID, Name: name, Scope: inbox.TokenScope(scope)}, hash)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "API token %d for %s, scope %s (shown once, store it now):\n%s\n", t.ID, op.Email, t.Scope, token)
	return nil
}

// deadCmd: leadhub dead list | leadhub dead replay ID.
func deadCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "replay") {
		return fmt.Errorf("usage: leadhub dead list | leadhub dead replay ID")
	}
	sub := args[0]
	cfg, logger, fs, err := setup("dead "+sub, args[1:], stderr, getenv, nil)
	if err != nil {
		return err
	}
	b, err := openBackend(ctx, cfg, logger, nil)
	if err != nil {
		return err
	}
	defer b.Close()
	if sub == "replay" {
		if fs.NArg() != 1 {
			return fmt.Errorf("usage: leadhub dead replay ID")
		}
		if err := b.queue.ReplayDead(ctx, fs.Arg(0)); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "dead letter %s is queued again\n", fs.Arg(0))
		return nil
	}
	dead, err := b.queue.ListDead(ctx, 1000)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tFAILED AT\tATTEMPTS\tDEDUPE KEY\tERROR")
	for _, d := range dead {
		key, _ := json.Marshal(d.Envelope.DedupeKey)
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", d.ID, d.FailedAt.Format("2006-01-02 15:04:05"), d.Attempts, key, d.Error)
	}
	return tw.Flush()
}
