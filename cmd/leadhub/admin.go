package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/inbox/redisq"
)

// operatorsCmd: leadhub operator add | list | disable | enable | teams.
func operatorsCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	const usage = `usage:
  leadhub operator add --email E --role admin|supervisor|operator [--name N]
  leadhub operator list
  leadhub operator disable --email E     ends their sessions and tokens at once
  leadhub operator enable --email E
  leadhub operator teams --email E --set team1,team2   ("" leaves every team)`
	if len(args) == 0 {
		return fmt.Errorf("%s", usage)
	}
	sub := args[0]
	if sub == "add" {
		return operatorCmd(ctx, args, stdin, stdout, stderr, getenv)
	}
	var email, teams string
	extra := func(fs *flag.FlagSet) {
		if sub != "list" {
			fs.StringVar(&email, "email", "", "the operator's email")
		}
		if sub == "teams" {
			fs.StringVar(&teams, "set", "", "comma-separated team names")
		}
	}
	switch sub {
	case "list", "disable", "enable", "teams":
	default:
		return fmt.Errorf("%s", usage)
	}
	cfg, logger, fs, err := setup("operator "+sub, args[1:], stderr, getenv, extra)
	if err != nil {
		return err
	}
	teamsSet := false
	fs.Visit(func(f *flag.Flag) { teamsSet = teamsSet || f.Name == "set" })
	b, err := openBackend(ctx, cfg, logger, nil)
	if err != nil {
		return err
	}
	defer b.Close()
	if sub == "list" {
		ops, err := b.store.ListOperators(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tROLE\tTEAMS\tDISABLED")
		for _, op := range ops {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%v\n", op.ID, op.Email, op.Name, op.Role, strings.Join(op.Teams, ","), op.Disabled)
		}
		return tw.Flush()
	}
	if email == "" {
		return fmt.Errorf("--email is required")
	}
	op, _, err := b.store.OperatorByEmail(ctx, email)
	if err != nil {
		if inbox.ErrorCode(err) == inbox.ENOTFOUND {
			return fmt.Errorf("no operator with email %s", email)
		}
		return err
	}
	var p inbox.OperatorPatch
	switch sub {
	case "disable", "enable":
		off := sub == "disable"
		p.Disabled = &off
	case "teams":
		if !teamsSet {
			return fmt.Errorf("--set is required")
		}
		list := splitList(teams)
		p.Teams = &list
	}
	d, evs, err := b.store.UpdateOperator(ctx, 0, op.ID, p)
	if err != nil {
		return err
	}
	// A running hub notices the change when it reads the events; with
	// Redis every instance is told at once.
	if b.rdb != nil {
		redisq.NewFanout(b.rdb, cfg.Redis.Stream+":events", nopPublisher{}, logger).Publish(ctx, evs)
	}
	switch sub {
	case "disable":
		fmt.Fprintf(stdout, "operator %s is disabled; their sessions and API tokens are gone\n", d.Email)
	case "enable":
		fmt.Fprintf(stdout, "operator %s is enabled\n", d.Email)
	default:
		fmt.Fprintf(stdout, "operator %s is in teams: %s\n", d.Email, strings.Join(d.Teams, ", "))
	}
	return nil
}

type nopPublisher struct{}

func (nopPublisher) Publish(context.Context, []inbox.Event) {}

func splitList(s string) []string {
	out := []string{}
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// tokensCmd: leadhub token create | list | revoke.
func tokensCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	const usage = `usage:
  leadhub token create --operator E [--name N] [--scope read|write|admin]
  leadhub token list --operator E
  leadhub token revoke ID`
	if len(args) == 0 {
		return fmt.Errorf("%s", usage)
	}
	switch args[0] {
	case "create":
		return tokenCmd(ctx, args, stdout, stderr, getenv)
	case "list", "revoke":
	default:
		return fmt.Errorf("%s", usage)
	}
	sub := args[0]
	var email string
	cfg, logger, fs, err := setup("token "+sub, args[1:], stderr, getenv, func(fs *flag.FlagSet) {
		if sub == "list" {
			fs.StringVar(&email, "operator", "", "email of the operator whose tokens to list")
		}
	})
	if err != nil {
		return err
	}
	b, err := openBackend(ctx, cfg, logger, nil)
	if err != nil {
		return err
	}
	defer b.Close()
	if sub == "revoke" {
		if fs.NArg() != 1 {
			return fmt.Errorf("usage: leadhub token revoke ID")
		}
		id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if err != nil || id <= 0 {
			return fmt.Errorf("token id must be a number (see leadhub token list)")
		}
		_, evs, err := b.store.RevokeToken(ctx, 0, 0, id)
		if err != nil {
			return err
		}
		if b.rdb != nil {
			redisq.NewFanout(b.rdb, cfg.Redis.Stream+":events", nopPublisher{}, logger).Publish(ctx, evs)
		}
		fmt.Fprintf(stdout, "token %d revoked\n", id)
		return nil
	}
	if email == "" {
		return fmt.Errorf("--operator is required")
	}
	op, _, err := b.store.OperatorByEmail(ctx, email)
	if err != nil {
		return err
	}
	list, err := b.store.ListTokens(ctx, op.ID)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSCOPE\tCREATED\tLAST USED")
	for _, t := range list {
		used := "never"
		if t.LastUsedAt != nil {
			used = t.LastUsedAt.Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Scope, t.CreatedAt.Format("2006-01-02 15:04"), used)
	}
	return tw.Flush()
}

// teamCmd: leadhub team add NAME | list | delete NAME.
func teamCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	const usage = `usage:
  leadhub team add NAME
  leadhub team list
  leadhub team delete NAME`
	if len(args) == 0 || (args[0] != "add" && args[0] != "list" && args[0] != "delete") {
		return fmt.Errorf("%s", usage)
	}
	sub := args[0]
	cfg, logger, fs, err := setup("team "+sub, args[1:], stderr, getenv, nil)
	if err != nil {
		return err
	}
	if (sub == "list") != (fs.NArg() == 0) || fs.NArg() > 1 {
		return fmt.Errorf("%s", usage)
	}
	b, err := openBackend(ctx, cfg, logger, nil)
	if err != nil {
		return err
	}
	defer b.Close()
	switch sub {
	case "add":
		t, _, err := b.store.CreateTeam(ctx, 0, fs.Arg(0))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "team %s (id %d) created; put it on channels with team = %q\n", t.Name, t.ID, t.Name)
		return nil
	case "delete":
		teams, err := b.store.ListTeams(ctx)
		if err != nil {
			return err
		}
		for _, t := range teams {
			if t.Name == fs.Arg(0) {
				if _, err := b.store.DeleteTeam(ctx, 0, t.ID); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "team %s deleted\n", t.Name)
				return nil
			}
		}
		return fmt.Errorf("no team %q", fs.Arg(0))
	}
	teams, err := b.store.ListTeams(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tMEMBERS")
	for _, t := range teams {
		fmt.Fprintf(tw, "%d\t%s\t%d\n", t.ID, t.Name, len(t.Members))
	}
	return tw.Flush()
}
