package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/leadhub/leadhub/inbox"
)

const clientsUsage = "usage: leadhub clients import [--json] FILE.csv | leadhub clients export [--sep comma|semicolon|tab] [FILE.csv]"

// clientsCmd: leadhub clients import FILE.csv | leadhub clients export [FILE.csv].
func clientsCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		return fmt.Errorf("%s", clientsUsage)
	}
	switch args[0] {
	case "import":
		return clientsImport(ctx, args[1:], stdout, stderr, getenv)
	case "export":
		return clientsExport(ctx, args[1:], stdout, stderr, getenv)
	}
	return fmt.Errorf("%s", clientsUsage)
}

// clientsImport reads a CSV file of clients (UTF-8 or Windows-1251, ";" or
// ","; see store.ImportClients), files every row the way inbound messages
// are matched, and prints what happened: the totals, then each rejected row
// with its line and reason (or, with --json, the whole report).
func clientsImport(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	var asJSON bool
	cfg, logger, fs, err := setup("clients import", args, stderr, getenv, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print the whole report as JSON")
	})
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: leadhub clients import [--json] FILE.csv")
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	b, err := openBackend(ctx, cfg, logger, nil)
	if err != nil {
		return err
	}
	defer b.Close()
	// The command line has no publisher: the events the import wrote reach
	// operators' pages from the events table when they next catch up.
	rep, _, err := b.store.ImportClients(ctx, f, inbox.ImportOptions{Region: cfg.Region})
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(stdout, "%s: %d imported, %d merged into existing cards, %d rejected\n",
		fs.Arg(0), rep.Imported, rep.Merged, rep.Rejected)
	for _, r := range rep.Rows {
		if r.Outcome == inbox.ImportRejected {
			fmt.Fprintf(stdout, "line %d: rejected: %s\n", r.Line, r.Reason)
		}
	}
	return nil
}

// clientsExport writes every client card as CSV to FILE (or stdout).
func clientsExport(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	var sep string
	cfg, logger, fs, err := setup("clients export", args, stderr, getenv, func(fs *flag.FlagSet) {
		fs.StringVar(&sep, "sep", "semicolon", "separator: semicolon (Excel in Russian), comma or tab")
	})
	if err != nil {
		return err
	}
	comma, ok := map[string]rune{"semicolon": ';', "comma": ',', "tab": '\t'}[sep]
	if !ok || fs.NArg() > 1 {
		return fmt.Errorf("usage: leadhub clients export [--sep comma|semicolon|tab] [FILE.csv]")
	}
	b, err := openBackend(ctx, cfg, logger, nil)
	if err != nil {
		return err
	}
	defer b.Close()
	if fs.NArg() == 0 {
		return b.store.WriteClientsCSV(ctx, stdout, comma)
	}
	f, err := os.Create(fs.Arg(0))
	if err != nil {
		return err
	}
	if err := b.store.WriteClientsCSV(ctx, f, comma); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
