package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/agentbot/gateway/internal/scaffold"
	"github.com/agentbot/gateway/sdk/client"
)

func (c *cli) pluginsCmd() *cobra.Command {
	return group("plugins", "Scaffold provider plugins, declare them, and see their state",
		c.pluginsNewCmd(), c.pluginsAddCmd(), c.pluginsStatusCmd())
}

func (c *cli) pluginsNewCmd() *cobra.Command {
	var f scaffoldFlags
	cmd := &cobra.Command{
		Use:   "new <name>",
		Short: "Create a provider plugin module with a providertest test that passes as generated",
		Long: `Creates <name>/ (under --dir) holding a provider plugin: a Go module serving the gateway
ids <name> (answers with its input) and <name>-stream (streams its input's words), and
its test (providertest: a real gRPC connection, in-process). The kit is found as for
skills new.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := scaffold.CheckProviderName(name); err != nil {
				return withCode(exitUsage, err)
			}
			kit, err := c.kitDir(&f, scaffold.ProviderKitDir)
			if err != nil {
				return err
			}
			dir := filepath.Join(f.dir, name)
			files, err := scaffold.Provider(dir, scaffold.Data{Name: name, Module: f.module, KitDir: kit})
			if errors.Is(err, scaffold.ErrNotEmpty) {
				return withCode(exitUsage, err)
			}
			if err != nil {
				return err
			}
			return c.finishScaffold(cmd.Context(), "provider", name, dir, kit, files, []string{
				"cd " + dir, "go test ./...", "go build -o " + name + " .",
				"agentbot plugins add " + name + " --file plugins.json",
				"AGENTBOT_PLUGINS=plugins.json agentbot serve"})
		},
	}
	f.add(cmd)
	return cmd
}

// pluginEntry is the entry plugins add writes (the gateway's plugin spec).
type pluginEntry struct {
	Name          string          `json:"name"`
	Path          string          `json:"path"`
	SHA256        string          `json:"sha256"`
	Config        json.RawMessage `json:"config,omitempty"`
	Timeout       string          `json:"timeout,omitempty"`
	StreamTimeout string          `json:"streamTimeout,omitempty"`
}

func (c *cli) pluginsAddCmd() *cobra.Command {
	var name, file, config, timeout, streamTimeout string
	cmd := &cobra.Command{
		Use:   "add <path>",
		Short: "Declare a plugin binary in the plugins file, with its SHA-256",
		Long: `Computes the SHA-256 of the plugin binary at path and writes its entry (name, absolute
path, sha256, and config and timeouts if given) into the plugins file the gateway reads
(AGENTBOT_PLUGINS), replacing the entry of the same name; other entries are kept. The
file is replaced atomically. Run it again after each rebuild: the gateway refuses a
binary whose digest differs.`,
		Example: `  agentbot plugins add ./greet --file plugins.json
  AGENTBOT_PLUGINS=plugins.json agentbot serve`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			e := pluginEntry{Name: name, Timeout: timeout, StreamTimeout: streamTimeout}
			for _, d := range []string{timeout, streamTimeout} {
				if d == "" {
					continue
				}
				if v, err := time.ParseDuration(d); err != nil || v < 0 {
					return usageErrorf("bad duration %q (like 5s or 2m)", d)
				}
			}
			if config != "" {
				raw, err := c.readInput(config)
				if err != nil {
					return err
				}
				e.Config = raw
			}
			return c.addPlugin(args[0], file, e)
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the plugin's name (default: the binary's file name)")
	cmd.Flags().StringVar(&file, "file", "plugins.json", "the plugins file")
	cmd.Flags().StringVar(&config, "config", "", "the plugin's config: a JSON object, @file or -")
	cmd.Flags().StringVar(&timeout, "timeout", "", "each call's deadline (e.g. 5s)")
	cmd.Flags().StringVar(&streamTimeout, "stream-timeout", "", "each streaming call's deadline (e.g. 5m)")
	return cmd
}

func (c *cli) addPlugin(path, file string, e pluginEntry) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	info, err := os.Stat(abs)
	if err != nil {
		return withCode(exitUsage, err)
	}
	if !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0 {
		return usageErrorf("%s is not an executable file", path)
	}
	if e.Name == "" {
		e.Name = filepath.Base(abs)
	}
	sum, _, err := fileDigest(abs)
	if err != nil {
		return err
	}
	e.Path, e.SHA256 = abs, sum

	var entries []json.RawMessage
	mode := fs.FileMode(0o600) // a new file: entries may carry secrets in config
	old, err := os.ReadFile(file)
	switch {
	case err == nil:
		if err := json.Unmarshal(old, &entries); err != nil {
			return fmt.Errorf("%s is not a JSON array of plugin entries: %w", file, err)
		}
		if st, err := os.Stat(file); err == nil {
			mode = st.Mode().Perm()
		}
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	updated := false
	for i, raw := range entries {
		var cur map[string]json.RawMessage
		if err := json.Unmarshal(raw, &cur); err != nil {
			return fmt.Errorf("%s: entry %d is not an object: %w", file, i+1, err)
		}
		var n string
		_ = json.Unmarshal(cur["name"], &n)
		if n != e.Name {
			continue
		}
		// Keep what this run does not set (config, timeouts).
		var prev pluginEntry
		_ = json.Unmarshal(raw, &prev)
		if e.Config == nil {
			e.Config = prev.Config
		}
		e.Timeout, e.StreamTimeout = first(e.Timeout, prev.Timeout), first(e.StreamTimeout, prev.StreamTimeout)
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		entries[i], updated = b, true
	}
	if !updated {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		entries = append(entries, b)
	}
	var out bytes.Buffer
	out.WriteString("[\n")
	for i, raw := range entries {
		var compact bytes.Buffer
		if err := json.Compact(&compact, raw); err != nil {
			return err
		}
		out.WriteString("  ")
		out.Write(compact.Bytes())
		if i < len(entries)-1 {
			out.WriteByte(',')
		}
		out.WriteByte('\n')
	}
	out.WriteString("]\n")
	if err := writeFileAtomic(file, out.Bytes(), mode); err != nil {
		return err
	}
	if c.jsonOut {
		return c.printJSON(map[string]any{"file": file, "name": e.Name, "path": e.Path, "sha256": e.SHA256, "updated": updated})
	}
	verb := "Added"
	if updated {
		verb = "Updated"
	}
	fmt.Fprintf(c.stdout, "%s %s in %s (sha256 %s).\nServe with it: AGENTBOT_PLUGINS=%s agentbot serve\n", verb, e.Name, file, e.SHA256[:12], file)
	return nil
}

// writeFileAtomic replaces path with b: a temporary file in the same
// directory, synced, then renamed over it.
func writeFileAtomic(path string, b []byte, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func (c *cli) pluginsStatusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show each plugin's state, restarts and last error (admins)",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.api(true)
			if err != nil {
				return err
			}
			ps, err := cl.PluginsStatus(cmd.Context())
			if client.StatusOf(err) == 404 {
				return fmt.Errorf("this gateway does not serve GET /api/admin/plugins: %w", err)
			}
			if err != nil {
				return err
			}
			if c.jsonOut {
				return c.printJSON(map[string]any{"plugins": ps})
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSTATE\tPID\tRESTARTS\tBREAKER\tLAST ERROR")
			for _, p := range ps {
				state, pid := "down", "-"
				if p.Up {
					state = "up"
				}
				if p.Pid != 0 {
					pid = fmt.Sprint(p.Pid)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", p.Name, state, pid, p.Restarts, p.Breaker, first(p.Error, "-"))
			}
			return tw.Flush()
		},
	}
}
