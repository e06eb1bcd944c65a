// Package scaffold writes the starting modules `agentbot skills new` and
// `agentbot plugins new` make: a skill (templates/skill-go, after
// examples/skill-hello) and a provider plugin (templates/provider-go, after
// examples/provider-echo), each a Go module of its own that builds and
// passes its own test as generated. It also knows, per skill language, how
// to build and test a skill's module.
package scaffold

import (
	"bufio"
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
)

//go:embed templates
var templates embed.FS

// The gateway's module, and its kits' directories in a checkout.
const (
	GatewayModule  = "github.com/agentbot/gateway"
	SkillKitDir    = "sdk/skill"
	SkillASKitDir  = "sdk/skill-as"
	ProviderKitDir = "sdk/provider"
)

// Data fills a scaffold's templates.
type Data struct {
	// Name is the skill's or provider's name (its manifest name, or its
	// gateway ids).
	Name string
	// Module is the new Go module's path (Name when empty).
	Module string
	// Type is the provider's Go type (from Name when empty).
	Type string
	// KitDir is the kit's directory in a checkout of the gateway, which the
	// module's go.mod replaces the kit with; empty to leave the kit out of
	// go.mod (then `go mod tidy` fetches a released version).
	KitDir string
}

// KitRef is how an AssemblyScript module's package.json names its kit: the
// checkout's sdk/skill-as, else the published package.
func (d Data) KitRef() string {
	if d.KitDir == "" {
		return "^0.1.0"
	}
	return "file:" + filepath.ToSlash(d.KitDir)
}

// Lang is a language skills can be written in.
type Lang struct {
	Name string
	// Templates is the scaffold's directory under templates/; empty while
	// the language's kit has not landed (Skill then returns
	// ErrLangUnavailable).
	Templates string
	// Marker is a file that only a skill module of this language holds.
	Marker string
	// Kit is the language's kit directory in a checkout [SkillKitDir].
	Kit string
	// Setup, if set, runs once in a new module (fetching its packages).
	Setup *Command
	// Build is the command that builds the module in its directory into
	// out; Test the one that runs its tests. Env is added to the
	// environment.
	Build func(out string) Command
	Test  Command
}

// Command is a program to run in a skill's directory.
type Command struct {
	Args []string
	Env  []string
}

// Langs are the skill languages, the default first: Go (sdk/skill) and
// AssemblyScript (sdk/skill-as, built with npm's assemblyscript).
var Langs = []Lang{
	{Name: "go", Templates: "skill-go", Marker: "go.mod",
		Build: func(out string) Command {
			return Command{Args: []string{"go", "build", "-buildmode=c-shared", "-o", out, "."},
				Env: []string{"GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0"}}
		},
		Test: Command{Args: []string{"go", "test", "./..."}}},
	{Name: "as", Templates: "skill-as", Marker: "package.json", Kit: SkillASKitDir, Setup: &Command{Args: []string{"npm", "install", "--no-audit", "--no-fund"}},
		Build: func(out string) Command {
			return Command{Args: []string{"npx", "asc", "assembly/index.ts", "--config", "asconfig.json", "--outFile", out}}
		},
		Test: Command{Args: []string{"npm", "test"}}},
}

// ErrLangUnavailable: the language is known but its kit has not landed.
var ErrLangUnavailable = errors.New("not available yet")

// ErrNotEmpty: a scaffold is only written into a new or empty directory.
var ErrNotEmpty = errors.New("already exists and is not empty")

// LangByName returns the skill language called name.
func LangByName(name string) (Lang, error) {
	for _, l := range Langs {
		if l.Name == name {
			return l, nil
		}
	}
	names := make([]string, len(Langs))
	for i, l := range Langs {
		names[i] = l.Name
	}
	return Lang{}, fmt.Errorf("unknown language %q (want %s)", name, strings.Join(names, " or "))
}

// DetectLang returns the language of the skill module in dir, by its marker
// file.
func DetectLang(dir string) (Lang, error) {
	for _, l := range Langs {
		if _, err := os.Stat(filepath.Join(dir, l.Marker)); err == nil {
			return l, nil
		}
	}
	return Lang{}, fmt.Errorf("%s holds no skill module (no go.mod or package.json)", dir)
}

var (
	skillNameRE    = regexp.MustCompile(`^[a-z][a-z0-9-]{1,62}[a-z0-9]$`)
	providerNameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}[a-z0-9]$`)
)

// CheckSkillName checks a skill name as the marketplace will (3–64
// lower-case letters, digits and dashes), and that it starts with a letter.
func CheckSkillName(name string) error {
	if !skillNameRE.MatchString(name) {
		return fmt.Errorf("skill name %q must be 3–64 lower-case letters, digits and dashes, starting with a letter", name)
	}
	if name == "publish" {
		return fmt.Errorf("skill name %q is reserved", name)
	}
	return nil
}

// CheckProviderName checks a provider name, which is also its gateway ids'
// stem: 2–64 lower-case letters, digits and dashes, starting with a letter.
func CheckProviderName(name string) error {
	if !providerNameRE.MatchString(name) {
		return fmt.Errorf("provider name %q must be 2–64 lower-case letters, digits and dashes, starting with a letter", name)
	}
	return nil
}

// Skill writes a new skill module in lang into dir, which must not exist or
// be empty, and returns the files written.
func Skill(dir string, lang Lang, d Data) ([]string, error) {
	if err := CheckSkillName(d.Name); err != nil {
		return nil, err
	}
	if lang.Templates == "" {
		return nil, fmt.Errorf("skills in %q: %w", lang.Name, ErrLangUnavailable)
	}
	return write(dir, lang.Templates, d)
}

// Provider writes a new provider plugin module into dir, which must not
// exist or be empty, and returns the files written.
func Provider(dir string, d Data) ([]string, error) {
	if err := CheckProviderName(d.Name); err != nil {
		return nil, err
	}
	if d.Type == "" {
		d.Type = goType(d.Name)
	}
	return write(dir, "provider-go", d)
}

// goType turns "my-echo" into "MyEcho".
func goType(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(name, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// write renders the templates of one scaffold into dir.
func write(dir, tmpl string, d Data) ([]string, error) {
	if d.Module == "" {
		d.Module = d.Name
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s %w", dir, ErrNotEmpty)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	root := path.Join("templates", tmpl)
	files, err := fs.ReadDir(templates, root)
	if err != nil {
		return nil, err
	}
	type out struct {
		name string
		body []byte
	}
	var outs []out
	for _, f := range files {
		name := strings.TrimSuffix(f.Name(), ".tmpl")
		if name == "gitignore" {
			name = ".gitignore"
		}
		name = strings.ReplaceAll(name, "__", "/") // assembly__index.ts: assembly/index.ts
		if name == "go.sum" && d.KitDir == "" {
			continue // `go mod tidy` writes it with the released kit's sums
		}
		src, err := templates.ReadFile(path.Join(root, f.Name()))
		if err != nil {
			return nil, err
		}
		t, err := template.New(f.Name()).Option("missingkey=error").Parse(string(src))
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", f.Name(), err)
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, d); err != nil {
			return nil, fmt.Errorf("template %s: %w", f.Name(), err)
		}
		outs = append(outs, out{name, buf.Bytes()})
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	written := make([]string, 0, len(outs))
	for _, o := range outs {
		p := filepath.Join(dir, filepath.FromSlash(o.name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return written, err
		}
		if err := os.WriteFile(p, o.body, 0o644); err != nil {
			return written, err
		}
		written = append(written, p)
	}
	return written, nil
}

// FindCheckout returns the root of a checkout of the gateway holding the
// kits, looking in each start directory and its parents (the working
// directory, and the directory of an agentbot built into a checkout's bin/),
// or "" when there is none.
func FindCheckout(starts ...string) string {
	for _, start := range starts {
		if start == "" {
			continue
		}
		dir, err := filepath.Abs(start)
		if err != nil {
			continue
		}
		for {
			if IsCheckout(dir) {
				return dir
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return ""
}

// IsCheckout reports whether dir is the root of a checkout of the gateway
// holding both kits.
func IsCheckout(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if mod, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			if strings.TrimSpace(mod) != GatewayModule {
				return false
			}
			for _, kit := range []string{SkillKitDir, ProviderKitDir} {
				if _, err := os.Stat(filepath.Join(dir, kit, "go.mod")); err != nil {
					return false
				}
			}
			return true
		}
	}
	return false
}
