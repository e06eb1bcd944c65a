package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/agentbot/gateway/sdk/client"
)

func (c *cli) loginCmd() *cobra.Command {
	var email string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Store a gateway URL and an API key for the other commands",
		Long: `Asks for the gateway's URL and an API key, or an email and password (then it creates
an API key named after this machine and signs the session out), checks the key with the
gateway, and stores the URL and the key in the credentials file with mode 0600. It
refuses to write into a file that group or others may read.

Without prompts: agentbot login --url URL --key KEY, or --email EMAIL --password-stdin.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.login(cmd.Context(), email, passwordStdin)
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "sign in with this email address (and a password)")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of stdin")
	return cmd
}

// prompter asks questions on stderr and reads the answers from stdin.
type prompter struct {
	c  *cli
	rd *bufio.Reader
}

// ask prints question and reads one line (io.EOF when stdin has ended).
func (p *prompter) ask(question string) (string, error) {
	fmt.Fprint(p.c.stderr, question)
	line, err := p.rd.ReadString('\n')
	if err != nil && (line == "" || !errors.Is(err, io.EOF)) {
		return "", err
	}
	return strings.TrimSpace(line), nil
}

// secret reads a password: without echo from a terminal, else one line.
func (p *prompter) secret(question string) (string, error) {
	if f, ok := p.c.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(p.c.stderr, question)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(p.c.stderr)
		return string(b), err
	}
	return p.ask(question)
}

func (c *cli) login(ctx context.Context, email string, passwordStdin bool) error {
	path, err := c.credentialsPath()
	if err != nil {
		return err
	}
	// Refuse now, before a key is created on the server, rather than after.
	if err := checkWritable(path); err != nil {
		return withCode(exitAuth, err)
	}
	p := &prompter{c: c, rd: bufio.NewReader(c.stdin)}
	url := first(c.url, c.getenv("AGENTBOT_URL"))
	if url == "" {
		if url, err = p.ask(fmt.Sprintf("Gateway URL [%s]: ", defaultURL)); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		url = first(url, defaultURL)
	}
	key := first(c.key, c.getenv("AGENTBOT_KEY"))
	if key == "" && email == "" {
		if passwordStdin {
			return usageErrorf("--password-stdin needs --email")
		}
		key, err = p.ask("API key (sk_…; leave empty to sign in with email and password): ")
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if key == "" {
			if email, err = p.ask("Email: "); email == "" {
				return usageErrorf("no API key and no email given")
			}
		}
	}
	cr := &credentials{Server: url, APIKey: key}
	if key == "" {
		var password string
		if passwordStdin {
			password, err = p.ask("")
		} else {
			password, err = p.secret("Password: ")
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if cr, err = c.keyFromPassword(ctx, url, email, password); err != nil {
			return err
		}
	}
	cl, err := c.newClient(cr.Server, cr.APIKey)
	if err != nil {
		return err
	}
	me, err := cl.Me(ctx)
	if err != nil {
		return fmt.Errorf("checking the key with %s: %w", url, err)
	}
	cr.Email = me.Email
	if err := saveCredentials(path, cr); err != nil {
		if cr.KeyID != "" { // do not leave behind a key nobody holds
			_ = cl.DeleteKey(context.WithoutCancel(ctx), cr.KeyID)
		}
		return withCode(exitAuth, err)
	}
	if c.jsonOut {
		return c.printJSON(map[string]any{"server": cr.Server, "email": cr.Email, "config": path, "keyId": cr.KeyID})
	}
	fmt.Fprintf(c.stdout, "Logged in to %s as %s.\nThe key is stored in %s (mode 0600).\n", cr.Server, cr.Email, path)
	return nil
}

// keyFromPassword signs in, creates an API key for this machine and signs
// the session out again: the stored credential is a key the user can see
// and delete (keys list, logout), never the password.
func (c *cli) keyFromPassword(ctx context.Context, url, email, password string) (*credentials, error) {
	if password == "" {
		return nil, usageErrorf("no password given")
	}
	cl, err := c.newClient(url, "")
	if err != nil {
		return nil, err
	}
	if _, err := cl.Login(ctx, email, password); err != nil {
		return nil, fmt.Errorf("signing in to %s: %w", url, err)
	}
	defer cl.Logout(context.WithoutCancel(ctx))
	host, _ := os.Hostname()
	name := strings.TrimSpace("agentbot CLI " + host)
	if len(name) > 64 {
		name = name[:64]
	}
	k, err := cl.CreateKey(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("creating an API key: %w", err)
	}
	return &credentials{Server: url, APIKey: k.Key, KeyID: k.ID}, nil
}

func (c *cli) logoutCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Forget the stored key (deleting it on the gateway if login created it)",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.logout(cmd.Context())
		},
	}
}

func (c *cli) logout(ctx context.Context) error {
	path, err := c.credentialsPath()
	if err != nil {
		return err
	}
	cr, _, err := c.loadCredentials()
	exposed := errors.Is(err, errExposed) // its key is not used, but the file goes
	if err != nil && !exposed {
		return err
	}
	deleted := false
	if cr != nil && cr.KeyID != "" {
		cl, err := c.newClient(cr.Server, cr.APIKey)
		if err == nil {
			err = cl.DeleteKey(ctx, cr.KeyID)
		}
		switch {
		case err == nil:
			deleted = true
		case client.StatusOf(err) == 401 || client.StatusOf(err) == 404: // already gone
		default:
			return fmt.Errorf("deleting the key on %s (run logout again, or delete it with keys delete): %w", cr.Server, err)
		}
	}
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return err
	}
	if c.jsonOut {
		return c.printJSON(map[string]any{"loggedOut": cr != nil || exposed, "keyDeleted": deleted})
	}
	switch {
	case exposed:
		fmt.Fprintf(c.stdout, "Removed %s, which others could read; delete its key with agentbot keys delete.\n", path)
	case cr == nil:
		fmt.Fprintln(c.stdout, "Not logged in.")
	case deleted:
		fmt.Fprintf(c.stdout, "Logged out of %s; deleted the key login created.\n", cr.Server)
	default:
		fmt.Fprintf(c.stdout, "Logged out of %s; the key itself still works (agentbot keys delete removes it).\n", cr.Server)
	}
	return nil
}
