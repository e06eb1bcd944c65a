package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func (c *cli) keysCmd() *cobra.Command {
	list := &cobra.Command{Use: "list", Short: "List your API keys (previews only)", Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.api(true)
			if err != nil {
				return err
			}
			keys, err := cl.ListKeys(cmd.Context())
			if err != nil {
				return err
			}
			if c.jsonOut {
				return c.printJSON(map[string]any{"keys": keys})
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tKEY\tCREATED\tLAST USED")
			for _, k := range keys {
				last := "never"
				if k.LastUsed != nil {
					last = when(*k.LastUsed)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.KeyPreview, when(k.CreatedAt), last)
			}
			return tw.Flush()
		}}
	create := &cobra.Command{Use: "create <name>", Short: "Create an API key (its secret is shown only now)",
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.api(true)
			if err != nil {
				return err
			}
			k, err := cl.CreateKey(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if c.jsonOut {
				return c.printJSON(k)
			}
			fmt.Fprintf(c.stdout, "Created %s (%s). Its secret, shown only now:\n%s\n", k.ID, k.Name, k.Key)
			return nil
		}}
	get := &cobra.Command{Use: "get <id>", Short: "Show one API key", Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.api(true)
			if err != nil {
				return err
			}
			k, err := cl.GetKey(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if c.jsonOut {
				return c.printJSON(k)
			}
			last := "never"
			if k.LastUsed != nil {
				last = when(*k.LastUsed)
			}
			fmt.Fprintf(c.stdout, "%s  %s  %s  created %s, last used %s\n", k.ID, k.Name, k.KeyPreview, when(k.CreatedAt), last)
			return nil
		}}
	del := &cobra.Command{Use: "delete <id>", Short: "Delete an API key; it stops working at once",
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.api(true)
			if err != nil {
				return err
			}
			if err := cl.DeleteKey(cmd.Context(), args[0]); err != nil {
				return err
			}
			if c.jsonOut {
				return c.printJSON(map[string]any{"deleted": args[0]})
			}
			fmt.Fprintf(c.stdout, "Deleted %s.\n", args[0])
			return nil
		}}
	return group("keys", "Manage your API keys", list, create, get, del)
}

// when shows a time for people, in UTC to the minute.
func when(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") }
