package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/leadhub/leadhub/inbox"
)

func (c *cli) clientsCommand() *cobra.Command {
	var asJSON bool
	imp := &cobra.Command{
		Use:   "import [--json] FILE.csv",
		Short: `import client cards from CSV (UTF-8 or Windows-1251, ";" or ",")`,
		Args:  wantArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.clientsImport(cmd.Context(), args[0], asJSON)
		},
	}
	imp.Flags().BoolVar(&asJSON, "json", false, "print the whole report as JSON")

	var sep string
	exp := &cobra.Command{
		Use:   "export [--sep semicolon|comma|tab] [FILE.csv]",
		Short: "export every client card as CSV to FILE, or to stdout",
		Args:  wantArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			comma, ok := map[string]rune{"semicolon": ';', "comma": ',', "tab": '\t'}[sep]
			if !ok {
				return usageErr(cmd, "--sep must be semicolon, comma or tab")
			}
			file := ""
			if len(args) == 1 {
				file = args[0]
			}
			return c.clientsExport(cmd.Context(), file, comma)
		},
	}
	exp.Flags().StringVar(&sep, "sep", "semicolon", "separator: semicolon (Excel in Russian), comma or tab")
	return group("clients", "import and export client cards", imp, exp)
}

// clientsImport reads a CSV file of clients (UTF-8 or Windows-1251, ";" or
// ","; see store.ImportClients), files every row the way inbound messages
// are matched, and prints what happened: the totals, then each rejected row
// with its line and reason (or, with asJSON, the whole report).
func (c *cli) clientsImport(ctx context.Context, path string, asJSON bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return c.withBackend(ctx, func(ctx context.Context, a *adminEnv) error {
		// The command line has no publisher: the events the import wrote
		// reach operators' pages from the events table when they next
		// catch up.
		rep, _, err := a.store.ImportClients(ctx, f, inbox.ImportOptions{Region: a.cfg.Region})
		if err != nil {
			return err
		}
		if asJSON {
			enc := json.NewEncoder(c.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(rep)
		}
		fmt.Fprintf(c.stdout, "%s: %d imported, %d merged into existing cards, %d rejected\n",
			path, rep.Imported, rep.Merged, rep.Rejected)
		for _, r := range rep.Rows {
			if r.Outcome == inbox.ImportRejected {
				fmt.Fprintf(c.stdout, "line %d: rejected: %s\n", r.Line, r.Reason)
			}
		}
		return nil
	})
}

// clientsExport writes every client card as CSV to path, or to stdout when
// path is "".
func (c *cli) clientsExport(ctx context.Context, path string, comma rune) error {
	return c.withBackend(ctx, func(ctx context.Context, a *adminEnv) error {
		if path == "" {
			return a.store.WriteClientsCSV(ctx, c.stdout, comma)
		}
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := a.store.WriteClientsCSV(ctx, f, comma); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	})
}
