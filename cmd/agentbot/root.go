package main

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/agentbot/gateway/core/config"
	"github.com/spf13/cobra"
)

// run runs the command line args and returns the exit code.
func (c *cli) run(ctx context.Context, args []string) int {
	for i, a := range args {
		if a == "-version" { // the single-dash spelling of earlier releases
			args[i] = "version"
		}
	}
	root := c.rootCmd()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	report(c.stderr, err, c.jsonOut)
	code := exitCode(err)
	if code == exitUsage && !c.jsonOut {
		fmt.Fprintln(c.stderr, "Run 'agentbot help' for usage.")
	}
	return code
}

func (c *cli) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "agentbot",
		Short: "The Agentbot gateway, and a client for it",
		Long: `agentbot runs the Agentbot gateway (serve, the default with no command; migrate;
plan) and talks to one: log in once, then manage API keys, call the gateway, and
scaffold, build, test and publish skills and provider plugins.

The API commands find the gateway and the key in --url and --key, then AGENTBOT_URL
and AGENTBOT_KEY, then the file "agentbot login" writes (--credentials,
AGENTBOT_CREDENTIALS, or agentbot/config.json in the user's config directory); the
URL defaults to http://127.0.0.1:8080. Every command prints for people by default,
and JSON with --json: one document, or one object a line for a stream; an error is
then a JSON object on stderr.

` + exitCodesHelp,
		Version:       version,
		Args:          usageArgs(cobra.NoArgs),
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.serve(cmd.Context())
		},
	}
	root.SetIn(c.stdin)
	root.SetOut(c.stdout) // before the completion command, which keeps the writer it finds
	root.SetErr(c.stderr)
	root.SetVersionTemplate("agentbot {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return withCode(exitUsage, err) })
	pf := root.PersistentFlags()
	pf.BoolVar(&c.jsonOut, "json", false, "print JSON for scripts")
	pf.StringVar(&c.url, "url", "", "the gateway's URL (AGENTBOT_URL)")
	pf.StringVar(&c.key, "key", "", "an API key (AGENTBOT_KEY; prefer the environment or agentbot login)")
	pf.StringVar(&c.configPath, "credentials", "", "the credentials file login writes (AGENTBOT_CREDENTIALS)")

	root.AddCommand(
		&cobra.Command{Use: "serve", Short: "Start the HTTP server (the default)", Args: usageArgs(cobra.NoArgs),
			RunE: func(cmd *cobra.Command, _ []string) error { return c.serve(cmd.Context()) }},
		&cobra.Command{Use: "migrate", Short: "Apply database migrations and exit", Args: usageArgs(cobra.NoArgs),
			RunE: func(cmd *cobra.Command, _ []string) error { return c.migrate(cmd.Context()) }},
		&cobra.Command{Use: "plan <email> <plan|none>", Short: "Give an account a plan without Stripe, or take it away",
			Args: usageArgs(cobra.ExactArgs(2)),
			RunE: func(cmd *cobra.Command, args []string) error {
				cfg, err := config.Load(c.getenv)
				if err != nil {
					return err
				}
				return planCmd(cmd.Context(), cfg, args, c.stdout, c.jsonOut)
			}},
		&cobra.Command{Use: "version", Short: "Print the version", Args: usageArgs(cobra.NoArgs),
			RunE: func(*cobra.Command, []string) error {
				if c.jsonOut {
					return c.printJSON(map[string]any{"version": version, "go": runtime.Version()})
				}
				fmt.Fprintln(c.stdout, "agentbot", version)
				return nil
			}},
		c.loginCmd(), c.logoutCmd(), c.keysCmd(), c.gatewayCmd(), c.skillsCmd(), c.pluginsCmd(),
	)
	// cobra's completion command (bash, zsh, fish, powershell), made now so
	// that an unknown shell is a usage error like any unknown command.
	root.InitDefaultCompletionCmd()
	for _, sub := range root.Commands() {
		if sub.Name() == "completion" {
			sub.Args = usageArgs(cobra.NoArgs)
			sub.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
		}
	}
	return root
}

// group is a command that only holds others: alone it shows its help, and
// an unknown subcommand is a usage error.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	g := &cobra.Command{Use: use, Short: short, Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	g.AddCommand(subs...)
	return g
}

// usageArgs makes an argument check's refusal a usage error (exit code 2).
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		return withCode(exitUsage, check(cmd, args))
	}
}

// printJSON writes v as one indented JSON document.
func (c *cli) printJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "%s\n", b)
	return err
}
