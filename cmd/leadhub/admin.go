package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/leadhub/leadhub/config"
	"github.com/leadhub/leadhub/inbox"
	"github.com/leadhub/leadhub/inbox/redisq"
)

// The admin commands go through inbox.Admin and the store's audited
// methods, as the admin API does, on behalf of actor 0 (the command line):
// each writes the same audit entry and events as its API twin.

func (c *cli) operatorCommand() *cobra.Command {
	var email, role, name, teams string
	add := &cobra.Command{
		Use:   "add --email E [--role admin|supervisor|operator] [--name N] [--teams T1,T2]",
		Short: "create an operator; prints a generated password unless one is piped in",
		Args:  wantArgs(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if email == "" {
				return usageErr(cmd, "--email is required")
			}
			password, err := readPassword(c.stdin)
			if err != nil {
				return err
			}
			return c.withBackend(cmd.Context(), func(ctx context.Context, a *adminEnv) error {
				d, generated, evs, err := a.admin.AddOperator(ctx, 0, inbox.NewOperator{
					Email: email, Name: name, Role: inbox.Role(role), Password: password, Teams: splitList(teams)})
				if err != nil {
					if inbox.ErrorCode(err) == inbox.ECONFLICT {
						return fmt.Errorf("an operator with email %s already exists", email)
					}
					return err
				}
				a.announce(ctx, evs)
				fmt.Fprintf(c.stdout, "operator %s (id %d, role %s) created\n", d.Email, d.ID, d.Role)
				if generated != "" {
					fmt.Fprintf(c.stdout, "password: %s\n", generated)
				}
				return nil
			})
		},
	}
	add.Flags().StringVar(&email, "email", "", "operator's email (their login)")
	add.Flags().StringVar(&role, "role", string(inbox.RoleOperator), "admin, supervisor or operator")
	add.Flags().StringVar(&name, "name", "", "display name")
	add.Flags().StringVar(&teams, "teams", "", "comma-separated team names (see leadhub team list)")

	list := &cobra.Command{
		Use:   "list",
		Short: "list operators with their roles and teams",
		Args:  wantArgs(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withBackend(cmd.Context(), func(ctx context.Context, a *adminEnv) error {
				ops, err := a.store.ListOperators(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tROLE\tTEAMS\tDISABLED")
				for _, op := range ops {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%v\n", op.ID, op.Email, op.Name, op.Role, strings.Join(op.Teams, ","), op.Disabled)
				}
				return tw.Flush()
			})
		},
	}

	disableEmail := new(string)
	disable := &cobra.Command{
		Use:   "disable --email E",
		Short: "disable an operator; ends their sessions and API tokens at once",
		Args:  wantArgs(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			off := true
			d, err := c.updateOperator(cmd, *disableEmail, inbox.OperatorChange{Disabled: &off})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "operator %s is disabled; their sessions and API tokens are gone\n", d.Email)
			return nil
		},
	}
	disable.Flags().StringVar(disableEmail, "email", "", "the operator's email")

	enableEmail := new(string)
	enable := &cobra.Command{
		Use:   "enable --email E",
		Short: "enable a disabled operator",
		Args:  wantArgs(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			off := false
			d, err := c.updateOperator(cmd, *enableEmail, inbox.OperatorChange{Disabled: &off})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "operator %s is enabled\n", d.Email)
			return nil
		},
	}
	enable.Flags().StringVar(enableEmail, "email", "", "the operator's email")

	var teamsEmail, set string
	teamsCmd := &cobra.Command{
		Use:   "teams --email E --set T1,T2",
		Short: `set an operator's teams (--set "" leaves every team)`,
		Args:  wantArgs(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("set") {
				return usageErr(cmd, "--set is required")
			}
			list := splitList(set)
			d, err := c.updateOperator(cmd, teamsEmail, inbox.OperatorChange{Teams: &list})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "operator %s is in teams: %s\n", d.Email, strings.Join(d.Teams, ", "))
			return nil
		},
	}
	teamsCmd.Flags().StringVar(&teamsEmail, "email", "", "the operator's email")
	teamsCmd.Flags().StringVar(&set, "set", "", "comma-separated team names")

	var passwordEmail string
	password := &cobra.Command{
		Use:   "password --email E",
		Short: "set an operator's password (piped in, or generated and printed); ends their sessions",
		Args:  wantArgs(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := readPassword(c.stdin)
			if err != nil {
				return err
			}
			generated := p == ""
			if generated {
				p = inbox.GeneratePassword()
			}
			d, err := c.updateOperator(cmd, passwordEmail, inbox.OperatorChange{Password: &p})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "operator %s has a new password; their sessions are ended\n", d.Email)
			if generated {
				fmt.Fprintf(c.stdout, "password: %s\n", p)
			}
			return nil
		},
	}
	password.Flags().StringVar(&passwordEmail, "email", "", "the operator's email")

	var unlockIP string
	unlock := &cobra.Command{
		Use:   "unlock EMAIL | --ip ADDR",
		Short: "end a login lockout: an operator's (failed logins to their email) or a client address's",
		Args:  wantArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == (unlockIP != "") {
				return usageErr(cmd, "name an operator's email or --ip, one of them")
			}
			return c.withBackend(cmd.Context(), func(ctx context.Context, a *adminEnv) error {
				var cleared bool
				what := unlockIP
				if unlockIP != "" {
					var err error
					if cleared, err = a.store.UnlockAddress(ctx, 0, unlockIP); err != nil {
						return err
					}
				} else {
					what = inbox.NormalizeLoginEmail(args[0])
					op, _, err := a.store.OperatorByEmail(ctx, what)
					if err != nil {
						if inbox.ErrorCode(err) == inbox.ENOTFOUND {
							return fmt.Errorf("no operator with email %s", what)
						}
						return err
					}
					if cleared, err = a.store.UnlockOperator(ctx, 0, op.ID); err != nil {
						return err
					}
				}
				if cleared {
					fmt.Fprintf(c.stdout, "%s is unlocked: its failed logins are forgotten\n", what)
				} else {
					fmt.Fprintf(c.stdout, "%s was not locked (no failed logins counted)\n", what)
				}
				return nil
			})
		},
	}
	unlock.Flags().StringVar(&unlockIP, "ip", "", "a client address to unlock instead (as /api/v1/audit shows it)")

	return group("operator", "manage operators", add, list, disable, enable, teamsCmd, password, unlock)
}

// updateOperator changes the operator with this email through the same use
// case as PATCH /api/v1/operators/{id}, and tells running hubs.
func (c *cli) updateOperator(cmd *cobra.Command, email string, ch inbox.OperatorChange) (inbox.OperatorDetail, error) {
	if email == "" {
		return inbox.OperatorDetail{}, usageErr(cmd, "--email is required")
	}
	var d inbox.OperatorDetail
	err := c.withBackend(cmd.Context(), func(ctx context.Context, a *adminEnv) error {
		op, _, err := a.store.OperatorByEmail(ctx, email)
		if err != nil {
			if inbox.ErrorCode(err) == inbox.ENOTFOUND {
				return fmt.Errorf("no operator with email %s", email)
			}
			return err
		}
		var evs []inbox.Event
		if d, evs, err = a.admin.UpdateOperator(ctx, 0, op.ID, ch); err != nil {
			return err
		}
		a.announce(ctx, evs)
		return nil
	})
	return d, err
}

// readPassword takes the first line of a piped stdin, or "" when stdin is a
// terminal or empty (the caller then generates one). The rules a password
// must meet are inbox.CheckPassword's, the same as the API's.
func readPassword(stdin io.Reader) (string, error) {
	if stdin == nil {
		return "", nil
	}
	if f, ok := stdin.(*os.File); ok {
		if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice != 0 {
			return "", nil
		}
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func splitList(s string) []string {
	out := []string{}
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func (c *cli) tokenCommand() *cobra.Command {
	var email, name, scope string
	create := &cobra.Command{
		Use:   "create --operator E [--name N] [--scope read|write|admin]",
		Short: "make an API token; prints it alone on the last line",
		Args:  wantArgs(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if email == "" {
				return usageErr(cmd, "--operator is required")
			}
			return c.withBackend(cmd.Context(), func(ctx context.Context, a *adminEnv) error {
				op, _, err := a.store.OperatorByEmail(ctx, email)
				if err != nil {
					if inbox.ErrorCode(err) == inbox.ENOTFOUND {
						return fmt.Errorf("no operator with email %s (create one with: leadhub operator add --email %s --role admin)", email, email)
					}
					return err
				}
				t, token, err := a.admin.CreateToken(ctx, 0, inbox.APIToken{OperatorID: op.ID, Name: name, Scope: inbox.TokenScope(scope)})
				if err != nil {
					return err
				}
				// The token alone on the last line: scripts take it with
				// tail -n1 (DESIGN.md §3).
				fmt.Fprintf(c.stdout, "API token %d for %s, scope %s (shown once, store it now):\n%s\n", t.ID, op.Email, t.Scope, token)
				return nil
			})
		},
	}
	create.Flags().StringVar(&email, "operator", "", "email of the operator the token acts as")
	create.Flags().StringVar(&name, "name", "cli", "what the token is for")
	create.Flags().StringVar(&scope, "scope", string(inbox.ScopeWrite), "read (GET only), write, or admin (admin routes; admins only)")

	var listEmail string
	list := &cobra.Command{
		Use:   "list --operator E",
		Short: "list an operator's API tokens (never the tokens themselves)",
		Args:  wantArgs(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if listEmail == "" {
				return usageErr(cmd, "--operator is required")
			}
			return c.withBackend(cmd.Context(), func(ctx context.Context, a *adminEnv) error {
				op, _, err := a.store.OperatorByEmail(ctx, listEmail)
				if err != nil {
					return err
				}
				tokens, err := a.store.ListTokens(ctx, op.ID)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tNAME\tSCOPE\tCREATED\tLAST USED")
				for _, t := range tokens {
					used := "never"
					if t.LastUsedAt != nil {
						used = t.LastUsedAt.Format("2006-01-02 15:04")
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Scope, t.CreatedAt.Format("2006-01-02 15:04"), used)
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().StringVar(&listEmail, "operator", "", "email of the operator whose tokens to list")

	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "revoke an API token by its id (see token list)",
		Args:  wantArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return usageErr(cmd, "token id must be a number (see leadhub token list)")
			}
			return c.withBackend(cmd.Context(), func(ctx context.Context, a *adminEnv) error {
				_, evs, err := a.store.RevokeToken(ctx, 0, 0, id)
				if err != nil {
					return err
				}
				a.announce(ctx, evs)
				fmt.Fprintf(c.stdout, "token %d revoked\n", id)
				return nil
			})
		},
	}
	return group("token", "manage API tokens", create, list, revoke)
}

func (c *cli) teamCommand() *cobra.Command {
	add := &cobra.Command{
		Use:   "add NAME",
		Short: "create a team (a slug: put it on channels with team = NAME)",
		Args:  wantArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withBackend(cmd.Context(), func(ctx context.Context, a *adminEnv) error {
				t, evs, err := a.store.CreateTeam(ctx, 0, args[0])
				if err != nil {
					return err
				}
				a.announce(ctx, evs)
				fmt.Fprintf(c.stdout, "team %s (id %d) created; put it on channels with team = %q\n", t.Name, t.ID, t.Name)
				return nil
			})
		},
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "list teams and how many operators each has",
		Args:  wantArgs(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withBackend(cmd.Context(), func(ctx context.Context, a *adminEnv) error {
				teams, err := a.store.ListTeams(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tNAME\tMEMBERS")
				for _, t := range teams {
					fmt.Fprintf(tw, "%d\t%s\t%d\n", t.ID, t.Name, len(t.Members))
				}
				return tw.Flush()
			})
		},
	}
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "delete a team; its operators leave it",
		Args:  wantArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withBackend(cmd.Context(), func(ctx context.Context, a *adminEnv) error {
				teams, err := a.store.ListTeams(ctx)
				if err != nil {
					return err
				}
				for _, t := range teams {
					if t.Name != args[0] {
						continue
					}
					evs, err := a.store.DeleteTeam(ctx, 0, t.ID)
					if err != nil {
						return err
					}
					a.announce(ctx, evs)
					fmt.Fprintf(c.stdout, "team %s deleted\n", t.Name)
					return nil
				}
				return fmt.Errorf("no team %q", args[0])
			})
		},
	}
	return group("team", "manage teams", add, list, del)
}

func (c *cli) deadCommand() *cobra.Command {
	list := &cobra.Command{
		Use:   "list",
		Short: "list dead letters: envelopes that failed every attempt",
		Args:  wantArgs(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withBackend(cmd.Context(), func(ctx context.Context, a *adminEnv) error {
				dead, err := a.queue.ListDead(ctx, 1000)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tFAILED AT\tATTEMPTS\tDEDUPE KEY\tERROR")
				for _, d := range dead {
					key, _ := json.Marshal(d.Envelope.DedupeKey)
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", d.ID, d.FailedAt.Format("2006-01-02 15:04:05"), d.Attempts, key, d.Error)
				}
				return tw.Flush()
			})
		},
	}
	replay := &cobra.Command{
		Use:   "replay ID",
		Short: "queue a dead letter again (see dead list)",
		Args:  wantArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withBackend(cmd.Context(), func(ctx context.Context, a *adminEnv) error {
				if err := a.queue.ReplayDead(ctx, args[0]); err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "dead letter %s is queued again\n", args[0])
				return nil
			})
		},
	}
	return group("dead", "inspect and replay dead letters", list, replay)
}

// adminEnv is what an admin command works with: the opened backend, the
// admin use cases over it, and how to tell running hubs about a change.
type adminEnv struct {
	*backend
	admin *inbox.Admin
	cfg   config.Config
	// pub tells running hubs about what a command wrote: through Redis
	// when there is one; embedded hubs find it in the events table.
	pub inbox.Publisher
}

// withBackend opens the existing database (see cli.open) for fn and closes
// it after.
func (c *cli) withBackend(ctx context.Context, fn func(ctx context.Context, a *adminEnv) error) error {
	b, cfg, logger, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer b.Close()
	var pub inbox.Publisher = nopPublisher{}
	if b.rdb != nil {
		pub = redisq.NewFanout(b.rdb, eventsChannel(cfg), nopPublisher{}, logger)
	}
	return fn(ctx, &adminEnv{backend: b, admin: inbox.NewAdmin(b.store, 0), cfg: cfg, pub: pub})
}

// announce tells running hubs about the events a command wrote. They find
// them in the events table anyway; with Redis every instance is told at
// once, as after the same change through the API.
func (a *adminEnv) announce(ctx context.Context, evs []inbox.Event) {
	if len(evs) > 0 {
		a.pub.Publish(ctx, evs)
	}
}

type nopPublisher struct{}

func (nopPublisher) Publish(context.Context, []inbox.Event) {}
