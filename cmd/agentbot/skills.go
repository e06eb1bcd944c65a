package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/agentbot/gateway/internal/scaffold"
	"github.com/agentbot/gateway/sdk/client"
)

func (c *cli) skillsCmd() *cobra.Command {
	return group("skills", "Scaffold, build, test and publish skills",
		c.skillsNewCmd(), c.skillsBuildCmd(), c.skillsTestCmd(), c.skillsPublishCmd(), c.skillsListCmd())
}

// scaffoldFlags are what skills new and plugins new share.
type scaffoldFlags struct {
	dir, module, sdk string
}

func (f *scaffoldFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.dir, "dir", ".", "where to create the module's directory")
	cmd.Flags().StringVar(&f.module, "module", "", "the new Go module's path (default: the name)")
	cmd.Flags().StringVar(&f.sdk, "sdk", "", "a checkout of the gateway whose kit to use (default: the one agentbot finds)")
}

// kitDir finds the kit a scaffold uses: --sdk, else a checkout holding the
// working directory or this binary (bin/agentbot). "" means none: the new
// module then gets a released kit from go mod tidy.
func (c *cli) kitDir(f *scaffoldFlags, kit string) (string, error) {
	if f.sdk != "" {
		root, err := filepath.Abs(f.sdk)
		if err != nil || !scaffold.IsCheckout(root) {
			return "", usageErrorf("--sdk %s is not a checkout of %s", f.sdk, scaffold.GatewayModule)
		}
		return filepath.Join(root, kit), nil
	}
	exe := c.executable
	if exe == "" {
		exe, _ = os.Executable()
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	wd, _ := os.Getwd()
	if root := scaffold.FindCheckout(wd, filepath.Dir(exe)); root != "" {
		return filepath.Join(root, kit), nil
	}
	return "", nil
}

// finishScaffold runs go mod tidy when the kit comes from a release, and
// reports what was made.
func (c *cli) finishScaffold(ctx context.Context, what, name, dir, kit string, files []string, next []string) error {
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); kit == "" && err == nil {
		fmt.Fprintf(c.stderr, "No checkout of the gateway found: fetching a released kit (go mod tidy in %s)…\n", dir)
		if err := c.runIn(ctx, dir, scaffold.Command{Args: []string{"go", "mod", "tidy"}}, c.stderr); err != nil {
			return fmt.Errorf("the module is in %s, but go mod tidy failed (offline? point --sdk at a checkout): %w", dir, err)
		}
	}
	if c.jsonOut {
		return c.printJSON(map[string]any{"name": name, "dir": dir, "files": files, "kit": kit})
	}
	fmt.Fprintf(c.stdout, "Created %s %s in %s", what, name, dir)
	if kit != "" {
		fmt.Fprintf(c.stdout, " (kit: %s)", kit)
	}
	fmt.Fprintln(c.stdout, ".\nNext:")
	for _, n := range next {
		fmt.Fprintln(c.stdout, "  "+n)
	}
	return nil
}

func (c *cli) skillsNewCmd() *cobra.Command {
	var f scaffoldFlags
	var lang string
	cmd := &cobra.Command{
		Use:   "new <name>",
		Short: "Create a skill module that builds and passes its own test as generated",
		Long: `Creates <name>/ (under --dir) holding a skill: a Go module with a "hello" and a "count"
action, its test (skilltest: the module built for wasip1 and called in-process),
manifest.json and .gitignore. Inside a checkout of the gateway, or run as a checkout's
bin/agentbot, the module uses that checkout's kit (a replace line); elsewhere it
requires the released kit. --lang as writes an AssemblyScript module instead (package.json,
assembly/index.ts, a node test; sdk/skill-as) and installs its packages with npm.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := scaffold.LangByName(lang)
			if err != nil {
				return withCode(exitUsage, err)
			}
			if l.Templates == "" {
				return usageErrorf("skills in %q are not available yet", lang)
			}
			kitDir := l.Kit
			if kitDir == "" {
				kitDir = scaffold.SkillKitDir
			}
			name := args[0]
			if err := scaffold.CheckSkillName(name); err != nil {
				return withCode(exitUsage, err)
			}
			kit, err := c.kitDir(&f, kitDir)
			if err != nil {
				return err
			}
			dir := filepath.Join(f.dir, name)
			files, err := scaffold.Skill(dir, l, scaffold.Data{Name: name, Module: f.module, KitDir: kit})
			if err == nil && l.Setup != nil {
				fmt.Fprintf(c.stderr, "Installing the module's packages (%s in %s)…\n", strings.Join(l.Setup.Args, " "), dir)
				if err := c.runIn(cmd.Context(), dir, *l.Setup, c.stderr); err != nil {
					return fmt.Errorf("the module is in %s, but %s failed: %w", dir, strings.Join(l.Setup.Args, " "), err)
				}
			}
			if errors.Is(err, scaffold.ErrNotEmpty) {
				return withCode(exitUsage, err)
			}
			if err != nil {
				return err
			}
			return c.finishScaffold(cmd.Context(), "skill", name, dir, kit, files, []string{
				"cd " + dir, "agentbot skills test", "agentbot skills build", "agentbot skills publish .",
				fmt.Sprintf(`agentbot gateway call skill:%s --input '{"action":"hello","name":"Ada"}'`, name)})
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&lang, "lang", "go", "the skill's language: go, or as (AssemblyScript)")
	return cmd
}

// skillDir resolves a skill command's directory argument ("." when none).
func skillDir(args []string) (string, scaffold.Lang, error) {
	dir := "."
	if len(args) > 0 {
		dir = args[0]
	}
	l, err := scaffold.DetectLang(dir)
	if err != nil {
		return "", l, withCode(exitUsage, err)
	}
	if l.Build == nil {
		return "", l, usageErrorf("skills in %q are not available yet", l.Name)
	}
	return dir, l, nil
}

// manifestName reads the skill's name from dir's manifest.json.
func manifestName(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return "", withCode(exitUsage, fmt.Errorf("%s holds no manifest.json: %w", dir, err))
	}
	var m struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(b, &m); err != nil || m.Name == "" {
		return "", withCode(exitUsage, fmt.Errorf("%s/manifest.json has no name", dir))
	}
	return m.Name, nil
}

func (c *cli) skillsBuildCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "build [dir]",
		Short: "Build the skill in dir (default .) into <name>.wasm",
		Long: `Builds the skill module in dir as the platform runs it: for Go,
GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o <name>.wasm . (a WASI reactor),
<name> from manifest.json.`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, l, err := skillDir(args)
			if err != nil {
				return err
			}
			if out == "" {
				name, err := manifestName(dir)
				if err != nil {
					return err
				}
				out = name + ".wasm"
			}
			abs, err := filepath.Abs(filepath.Join(dir, out))
			if filepath.IsAbs(out) {
				abs, err = out, nil
			}
			if err != nil {
				return err
			}
			logs := c.stderr
			if c.jsonOut {
				logs = &bytes.Buffer{}
			}
			if err := c.runIn(cmd.Context(), dir, l.Build(abs), logs); err != nil {
				if b, ok := logs.(*bytes.Buffer); ok {
					return fmt.Errorf("build failed: %w\n%s", err, b)
				}
				return fmt.Errorf("build failed: %w", err)
			}
			sum, size, err := fileDigest(abs)
			if err != nil {
				return err
			}
			if c.jsonOut {
				return c.printJSON(map[string]any{"module": abs, "bytes": size, "sha256": sum})
			}
			fmt.Fprintf(c.stdout, "Built %s (%s, sha256 %s).\n", abs, humanBytes(size), sum[:12])
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "the module's file (default <name>.wasm in dir)")
	return cmd
}

func (c *cli) skillsTestCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "test [dir]",
		Short: "Run the skill's tests in dir (default .)",
		Long:  `Runs the skill module's tests: for Go, go test ./... (skilltest builds the module and calls it in-process).`,
		Args:  usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, l, err := skillDir(args)
			if err != nil {
				return err
			}
			if !c.jsonOut {
				if err := c.runIn(cmd.Context(), dir, l.Test, c.stdout); err != nil {
					return fmt.Errorf("tests failed: %w", err)
				}
				return nil
			}
			var out bytes.Buffer
			err = c.runIn(cmd.Context(), dir, l.Test, &out)
			if perr := c.printJSON(map[string]any{"ok": err == nil, "output": out.String()}); perr != nil {
				return perr
			}
			if err != nil {
				return fmt.Errorf("tests failed: %w", err)
			}
			return nil
		},
	}
}

// runIn runs a command in dir, its output (stdout and stderr) to w.
func (c *cli) runIn(ctx context.Context, dir string, command scaffold.Command, w io.Writer) error {
	cmd := exec.CommandContext(ctx, command.Args[0], command.Args[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), command.Env...)
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", strings.Join(command.Args, " "), err)
	}
	return nil
}

func (c *cli) skillsPublishCmd() *cobra.Command {
	var manifest string
	var progress bool
	cmd := &cobra.Command{
		Use:   "publish <dir|module.wasm>",
		Short: "Publish a skill: its module and manifest",
		Long: `Uploads a skill's module and manifest.json to the marketplace, with a progress bar on a
terminal. Given a directory, the module is <name>.wasm in it (agentbot skills build);
given a .wasm file, the manifest is manifest.json beside it unless --manifest says
otherwise. A refusal is shown field by field (e.g. field: limits.maxOutputBytes,
limit: 1048576).`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.publish(cmd.Context(), args[0], manifest, progress)
		},
	}
	cmd.Flags().StringVar(&manifest, "manifest", "", "the manifest (default manifest.json beside the module)")
	cmd.Flags().BoolVar(&progress, "progress", false, "show the progress bar even when stderr is not a terminal")
	return cmd
}

func (c *cli) publish(ctx context.Context, target, manifestPath string, forceProgress bool) error {
	info, err := os.Stat(target)
	if err != nil {
		return withCode(exitUsage, err)
	}
	module := target
	dir := filepath.Dir(target)
	if info.IsDir() {
		dir = target
		name, err := manifestName(dir)
		if err != nil {
			return err
		}
		module = filepath.Join(dir, name+".wasm")
		if _, err := os.Stat(module); err != nil {
			return withCode(exitUsage, fmt.Errorf("no %s: run agentbot skills build first", module))
		}
	}
	if manifestPath == "" {
		manifestPath = filepath.Join(dir, "manifest.json")
	}
	man, err := os.ReadFile(manifestPath)
	if err != nil {
		return withCode(exitUsage, err)
	}
	f, err := os.Open(module)
	if err != nil {
		return withCode(exitUsage, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	cl, err := c.api(true)
	if err != nil {
		return err
	}
	req := &client.PublishRequest{Module: f, Size: st.Size(), ModuleName: filepath.Base(module), Manifest: man}
	var bar *progressbar.ProgressBar
	if !c.jsonOut && (forceProgress || isTerminal(c.stderr)) {
		bar = progressbar.NewOptions64(-1, progressbar.OptionSetWriter(c.stderr),
			progressbar.OptionSetDescription("uploading "+filepath.Base(module)), progressbar.OptionShowBytes(true),
			progressbar.OptionSetWidth(30), progressbar.OptionShowCount(),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(c.stderr) }))
		req.Progress = func(sent, total int64) {
			if bar.GetMax64() != total {
				bar.ChangeMax64(total)
			}
			_ = bar.Set64(sent)
		}
	}
	res, err := cl.PublishSkill(ctx, req)
	if bar != nil && !bar.IsFinished() {
		_ = bar.Exit()
		fmt.Fprintln(c.stderr)
	}
	if err != nil {
		var e *client.Error
		if errors.As(err, &e) {
			return fmt.Errorf("the gateway refused %s: %w", filepath.Base(module), err)
		}
		return err
	}
	if c.jsonOut {
		return c.printJSON(res)
	}
	fmt.Fprintf(c.stdout, "Published %s %s (%s). Call it: agentbot gateway call %s --input '{\"action\": …}'\n",
		res.Skill.Name, res.Skill.Version, res.GatewayID, res.GatewayID)
	return nil
}

func (c *cli) skillsListCmd() *cobra.Command {
	var category string
	var featured bool
	cmd := &cobra.Command{Use: "list", Short: "List the marketplace's skills", Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.api(false)
			if err != nil {
				return err
			}
			l, err := cl.ListSkills(cmd.Context(), &client.ListSkillsOptions{Category: category, Featured: featured})
			if err != nil {
				return err
			}
			if c.jsonOut {
				return c.printJSON(l)
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tVERSION\tPRICE\tCATEGORY\tACTIONS")
			for _, s := range l.Skills {
				fmt.Fprintf(tw, "%s\t%s\t$%s\t%s\t%s\n", s.Name, s.Version, s.Price, s.Category, strings.Join(s.Actions, ","))
			}
			return tw.Flush()
		}}
	cmd.Flags().StringVar(&category, "category", "", "only this category")
	cmd.Flags().BoolVar(&featured, "featured", false, "only featured skills")
	return cmd
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// fileDigest returns a file's SHA-256 (hex) and size.
func fileDigest(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
