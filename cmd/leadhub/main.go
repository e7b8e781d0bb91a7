// Command leadhub runs the omnichannel lead inbox.
//
//	leadhub [serve] [--config FILE]       run the hub (the default)
//	leadhub migrate [--config FILE]       apply database migrations and exit
//	leadhub operator add --email E --role admin|supervisor|operator [--name N]
//	leadhub operator list | disable --email E | enable --email E | teams --email E --set T1,T2
//	leadhub token create --operator E [--name N] [--scope read|write|admin]
//	leadhub token list --operator E | token revoke ID
//	leadhub team add NAME | team list | team delete NAME
//	leadhub dead list | dead replay ID     inspect and replay dead letters
//	leadhub clients import FILE.csv | clients export [FILE.csv]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/leadhub/leadhub/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "leadhub:", err)
		os.Exit(1)
	}
}

// run is main without the process: tests call it with their own arguments,
// streams and environment.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		cfg, logger, _, err := setup("serve", args, stderr, getenv, nil)
		if err != nil {
			return err
		}
		return serve(ctx, cfg, logger, stdout)
	case "migrate":
		cfg, logger, _, err := setup("migrate", args, stderr, getenv, nil)
		if err != nil {
			return err
		}
		return migrate(ctx, cfg, logger, stdout)
	case "operator":
		return operatorsCmd(ctx, args, stdin, stdout, stderr, getenv)
	case "token":
		return tokensCmd(ctx, args, stdout, stderr, getenv)
	case "team":
		return teamCmd(ctx, args, stdout, stderr, getenv)
	case "dead":
		return deadCmd(ctx, args, stdout, stderr, getenv)
	case "clients":
		return clientsCmd(ctx, args, stdout, stderr, getenv)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
}

const usage = `usage:
  leadhub [serve] [--config FILE]        run the hub
  leadhub migrate [--config FILE]        apply database migrations
  leadhub operator add --email E --role admin|supervisor|operator [--name N]
  leadhub operator list | disable --email E | enable --email E | teams --email E --set T1,T2
  leadhub token create --operator E [--name N] [--scope read|write|admin]
  leadhub token list --operator E | leadhub token revoke ID
  leadhub team add NAME | leadhub team list | leadhub team delete NAME
  leadhub dead list | leadhub dead replay ID
  leadhub clients import [--json] FILE.csv   import client cards (UTF-8 or Windows-1251, ";" or ",")
  leadhub clients export [--sep comma|semicolon|tab] [FILE.csv]`

// setup parses the common flags plus the command's own (added by extra),
// loads the configuration and builds the logger.
func setup(name string, args []string, stderr io.Writer, getenv func(string) string, extra func(*flag.FlagSet)) (config.Config, *slog.Logger, *flag.FlagSet, error) {
	fs := flag.NewFlagSet("leadhub "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", getenv("LEADHUB_CONFIG"), "configuration file (TOML); default: none, the embedded setup")
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		return config.Config{}, nil, nil, err
	}
	cfg, err := config.Load(*path, getenv)
	if err != nil {
		return config.Config{}, nil, nil, err
	}
	return cfg, newLogger(cfg.Log, stderr), fs, nil
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
