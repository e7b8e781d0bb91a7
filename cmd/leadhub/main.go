// Command leadhub runs the omnichannel lead inbox, and administers it:
// operators, teams, API tokens, dead letters and client cards. `leadhub
// --help` lists every command; `leadhub` alone runs the hub.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/leadhub/leadhub/config"
	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "leadhub:", err)
		os.Exit(exitCode(err))
	}
}

// exitCode is 2 for a command line that could not be understood (as flag
// and most Unix tools do), so that scripts can tell it from a failure.
func exitCode(err error) int {
	var u *usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

// run is main without the process: tests call it with their own arguments,
// streams and environment.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	if args == nil {
		args = []string{} // cobra reads os.Args when given nil
	}
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	root := c.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	return root.ExecuteContext(ctx)
}

// cli is one invocation: its streams, environment and the global flags.
// Commands are built around it per run, so nothing is kept between runs.
type cli struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string

	// configPath is --config, accepted before or after the command.
	configPath string
}

// load reads the configuration and builds the logger.
func (c *cli) load() (config.Config, *slog.Logger, error) {
	cfg, err := config.Load(c.configPath, c.getenv)
	if err != nil {
		return config.Config{}, nil, err
	}
	return cfg, newLogger(cfg.Log, c.stderr), nil
}

// open loads the configuration and opens the database and queue, which
// must exist already: an admin command run from another directory would
// otherwise make itself a new empty database there and report success.
// Only serve and migrate create one.
func (c *cli) open(ctx context.Context) (*backend, config.Config, *slog.Logger, error) {
	cfg, logger, err := c.load()
	if err != nil {
		return nil, config.Config{}, nil, err
	}
	if err := store.CheckExists(store.Options{URL: cfg.Database.URL, DataDir: cfg.DataDir}); err != nil {
		if inbox.ErrorCode(err) == inbox.ENOTFOUND {
			return nil, config.Config{}, nil, fmt.Errorf("%s, and this command does not create one. "+
				"Run it with the configuration the hub runs with (--config FILE, or LEADHUB_DATA_DIR / LEADHUB_DATABASE_URL), "+
				"or create the database with: leadhub migrate", inbox.ErrorMessage(err))
		}
		return nil, config.Config{}, nil, err
	}
	b, err := openBackend(ctx, cfg, logger, nil)
	if err != nil {
		return nil, config.Config{}, nil, err
	}
	return b, cfg, logger, nil
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
