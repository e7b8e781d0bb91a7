package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// rootCommand builds the command tree. Every command but serve and migrate
// works on an existing database (see cli.open).
func (c *cli) rootCommand() *cobra.Command {
	serve := &cobra.Command{
		Use:   "serve",
		Short: "run the hub (what leadhub alone does); creates and migrates the database",
		Args:  wantArgs(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, logger, err := c.load()
			if err != nil {
				return err
			}
			return serve(cmd.Context(), cfg, logger, c.stdout)
		},
	}
	root := &cobra.Command{
		Use:   "leadhub",
		Short: "the omnichannel lead inbox",
		// With no command the hub runs, as `go run ./cmd/leadhub` always
		// has; anything else that is not a command is a mistake.
		Args:          rejectUnknown,
		RunE:          serve.RunE,
		SilenceErrors: true, // main prints the error once, with the exit code it deserves
		SilenceUsage:  true, // a failed command is not a usage mistake; usage errors say so themselves
		CompletionOptions: cobra.CompletionOptions{
			DisableDefaultCmd: true,
		},
	}
	// Persistent: --config is accepted before the command and after it.
	root.PersistentFlags().StringVar(&c.configPath, "config", c.getenv("LEADHUB_CONFIG"),
		"configuration `FILE` (TOML); default $LEADHUB_CONFIG, or none: the embedded setup in ./data")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageErr(cmd, "%v", err)
	})

	migrate := &cobra.Command{
		Use:   "migrate",
		Short: "create the database if need be, apply its migrations and exit",
		Args:  wantArgs(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, logger, err := c.load()
			if err != nil {
				return err
			}
			return migrate(cmd.Context(), cfg, logger, c.stdout)
		},
	}
	root.AddCommand(serve, migrate, c.operatorCommand(), c.tokenCommand(), c.teamCommand(), c.deadCommand(), c.clientsCommand())

	defaultHelp := root.HelpFunc()
	root.SetHelpFunc(func(cmd *cobra.Command, args []string) {
		if cmd != root {
			defaultHelp(cmd, args)
			return
		}
		writeOverview(cmd.OutOrStdout(), root)
	})
	return root
}

// writeOverview is `leadhub --help`: every command, nested ones included,
// on one line each, so that a newcomer sees all there is in one screen.
func writeOverview(w io.Writer, root *cobra.Command) {
	fmt.Fprintf(w, "leadhub: %s.\n\nUsage:\n  leadhub [command] [--config FILE] [flags]\n\nCommands:\n", root.Short)
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	var walk func(cmd *cobra.Command, path string)
	walk = func(cmd *cobra.Command, path string) {
		for _, sub := range cmd.Commands() {
			if !sub.IsAvailableCommand() {
				continue
			}
			name := strings.TrimSpace(path + " " + sub.Name())
			if sub.HasAvailableSubCommands() {
				walk(sub, name)
				continue
			}
			fmt.Fprintf(tw, "  %s\t%s\n", name, sub.Short)
		}
	}
	walk(root, "")
	tw.Flush()
	fmt.Fprint(w, `
Flags, before or after the command:
  --config FILE   configuration file (TOML); default $LEADHUB_CONFIG, or none: the embedded setup
  -h, --help      help for leadhub or for a command

Environment: LEADHUB_CONFIG, LEADHUB_DATA_DIR, LEADHUB_HTTP_ADDR, LEADHUB_DATABASE_URL, LEADHUB_REDIS_URL.
Commands other than serve and migrate never create a database: they refuse
when the configured one does not exist.
Run 'leadhub COMMAND --help' for a command's flags.
`)
}

// group is a command that only holds others (leadhub operator, token, ...).
// Cobra would answer an unknown or missing subcommand with the group's help
// and success; a script must see a failure instead.
func group(name, short string, subs ...*cobra.Command) *cobra.Command {
	g := &cobra.Command{
		Use:   name,
		Short: short,
		Args:  rejectUnknown,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageErr(cmd, "%s needs a command", cmd.CommandPath())
		},
	}
	g.AddCommand(subs...)
	return g
}

// usageError is a command line that could not be understood: an unknown
// command or flag, a missing or extra argument. main exits 2 on it.
type usageError struct {
	msg   string
	usage string
}

func (e *usageError) Error() string { return e.msg + "\n" + e.usage }

// usageErr is a usageError for cmd, with the lines that say how it is used.
func usageErr(cmd *cobra.Command, format string, args ...any) error {
	var usage string
	if cmd.HasAvailableSubCommands() {
		var names []string
		for _, sub := range cmd.Commands() {
			if sub.IsAvailableCommand() {
				names = append(names, sub.Name())
			}
		}
		usage = fmt.Sprintf("usage: %s %s (see %s --help)", cmd.CommandPath(), strings.Join(names, "|"), cmd.CommandPath())
	} else {
		usage = fmt.Sprintf("usage: %s (see %s --help)", cmd.UseLine(), cmd.CommandPath())
	}
	return &usageError{msg: fmt.Sprintf(format, args...), usage: usage}
}

// rejectUnknown refuses words after a command that has subcommands: cobra
// hands them over as arguments when they name no subcommand.
func rejectUnknown(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErr(cmd, "unknown command %q for %q", args[0], cmd.CommandPath())
	}
	return nil
}

// wantArgs accepts between min and max positional arguments.
func wantArgs(min, max int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < min:
			return usageErr(cmd, "%s: missing argument", cmd.CommandPath())
		case len(args) > max:
			return usageErr(cmd, "%s: unexpected argument %q", cmd.CommandPath(), args[max])
		}
		return nil
	}
}
