package scaffold

import (
	"bytes"
	"errors"
	"go/format"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/agentbot/gateway/skills"
)

const repo = "../.."

// significant drops go.mod's comments and blank lines.
func significant(b []byte) string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "//") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// The scaffolds require what the examples require, at the same versions,
// with the same sums: when a kit's dependencies move, regenerate the
// templates' go.mod and go.sum from the examples (their go.sum files are
// copies).
func TestScaffoldsPinWhatTheExamplesPin(t *testing.T) {
	for _, tt := range []struct {
		example, kit string
		write        func(dir string, d Data) ([]string, error)
	}{
		{"examples/skill-hello", SkillKitDir, func(dir string, d Data) ([]string, error) { return Skill(dir, Langs[0], d) }},
		{"examples/provider-echo", ProviderKitDir, Provider},
	} {
		dir := filepath.Join(t.TempDir(), "m")
		module := GatewayModule + "/" + tt.example
		if _, err := tt.write(dir, Data{Name: "same", Module: module, KitDir: "../../" + tt.kit}); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"go.mod", "go.sum"} {
			got, _ := os.ReadFile(filepath.Join(dir, f))
			want, err := os.ReadFile(filepath.Join(repo, tt.example, f))
			if err != nil {
				t.Fatal(err)
			}
			if f == "go.mod" {
				got, want = []byte(significant(got)), []byte(significant(want))
			}
			if !bytes.Equal(got, want) {
				t.Errorf("the %s scaffold's %s differs from %s's:\n%s\nwant\n%s", tt.kit, f, tt.example, got, want)
			}
		}
	}
}

// What a scaffold writes is gofmt-clean Go and a manifest the marketplace
// accepts; a module without a kit directory leaves the kit to go mod tidy.
func TestScaffoldFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "greeter")
	files, err := Skill(dir, Langs[0], Data{Name: "greeter", KitDir: "/src/gateway/sdk/skill"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	slices.Sort(names)
	if want := []string{".gitignore", "go.mod", "go.sum", "main.go", "main_test.go", "manifest.json"}; !slices.Equal(names, want) {
		t.Errorf("files = %v; want %v", names, want)
	}
	checkGo(t, dir)
	m, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
	man, err := skills.ParseManifest(m)
	if err != nil || man.Name != "greeter" {
		t.Errorf("manifest %s: %v", m, err)
	}
	mod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
	if !strings.HasPrefix(string(mod), "module greeter\n") || !strings.Contains(string(mod), "=> /src/gateway/sdk/skill\n") {
		t.Errorf("go.mod =\n%s", mod)
	}

	dir = filepath.Join(t.TempDir(), "my-echo")
	if _, err := Provider(dir, Data{Name: "my-echo", Module: "example.com/my-echo"}); err != nil {
		t.Fatal(err)
	}
	checkGo(t, dir)
	main, _ := os.ReadFile(filepath.Join(dir, "main.go"))
	if !strings.Contains(string(main), "type MyEcho struct{}") || !strings.Contains(string(main), `{ID: "my-echo-stream"`) {
		t.Errorf("main.go does not serve my-echo as MyEcho:\n%s", main)
	}
	mod, _ = os.ReadFile(filepath.Join(dir, "go.mod"))
	if string(mod) != "module example.com/my-echo\n\ngo 1.26.0\n" {
		t.Errorf("go.mod without a kit directory =\n%s", mod)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.sum")); err == nil {
		t.Error("go.sum written without a kit directory")
	}
}

func checkGo(t *testing.T, dir string) {
	t.Helper()
	for _, f := range []string{"main.go", "main_test.go"} {
		src, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		out, err := format.Source(src)
		if err != nil || !bytes.Equal(out, src) {
			t.Errorf("%s/%s is not gofmt-clean Go: %v", filepath.Base(dir), f, err)
		}
	}
}

func TestScaffoldRefusals(t *testing.T) {
	tmp := t.TempDir()
	for _, name := range []string{"", "ab", "Hello", "9lives", "has_underscore", "trailing-", "publish", strings.Repeat("a", 65)} {
		if _, err := Skill(filepath.Join(tmp, "x"), Langs[0], Data{Name: name}); err == nil {
			t.Errorf("Skill(%q) = nil error", name)
		}
	}
	for _, name := range []string{"", "a", "Echo", "-x", "x_y"} {
		if _, err := Provider(filepath.Join(tmp, "y"), Data{Name: name}); err == nil {
			t.Errorf("Provider(%q) = nil error", name)
		}
	}
	full := filepath.Join(tmp, "full")
	os.MkdirAll(full, 0o755)
	os.WriteFile(filepath.Join(full, "keep.txt"), []byte("mine"), 0o644)
	if _, err := Skill(full, Langs[0], Data{Name: "greeter"}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("Skill into a non-empty directory = %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(full, "keep.txt")); string(b) != "mine" {
		t.Error("a refused scaffold touched the directory")
	}
	as, err := LangByName("as")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Skill(filepath.Join(tmp, "as"), Lang{Name: "as"}, Data{Name: "greeter"}); !errors.Is(err, ErrLangUnavailable) {
		t.Errorf("Skill(a language without templates) = %v; want ErrLangUnavailable", err)
	}
	// The AssemblyScript scaffold: its sources in their directories, the
	// kit named by path in a checkout and by version elsewhere, a manifest
	// the marketplace takes.
	files, err := Skill(filepath.Join(tmp, "as"), as, Data{Name: "greeter", KitDir: "/src/gateway/sdk/skill-as"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		rel, _ := filepath.Rel(filepath.Join(tmp, "as"), f)
		names = append(names, filepath.ToSlash(rel))
	}
	slices.Sort(names)
	if want := []string{".gitignore", "asconfig.json", "assembly/index.ts", "assembly/tsconfig.json", "manifest.json", "package.json", "test/skill.test.js"}; !slices.Equal(names, want) {
		t.Errorf("AssemblyScript files = %v; want %v", names, want)
	}
	pkg, _ := os.ReadFile(filepath.Join(tmp, "as", "package.json"))
	if !strings.Contains(string(pkg), `"@agentbot/skill-as": "file:/src/gateway/sdk/skill-as"`) || !strings.Contains(string(pkg), `"name": "greeter"`) {
		t.Errorf("package.json = %s", pkg)
	}
	m, _ := os.ReadFile(filepath.Join(tmp, "as", "manifest.json"))
	if _, err := skills.ParseManifest(m); err != nil {
		t.Errorf("the AssemblyScript manifest: %v", err)
	}
	if got, err := DetectLang(filepath.Join(tmp, "as")); err != nil || got.Name != "as" {
		t.Errorf("DetectLang = %v, %v; want as", got.Name, err)
	}
	if _, err := LangByName("rust"); err == nil {
		t.Error("LangByName(rust) = nil error")
	}
}

func TestFindCheckout(t *testing.T) {
	root, _ := filepath.Abs(repo)
	if got := FindCheckout("", t.TempDir(), "."); got != root {
		t.Errorf("FindCheckout(here) = %q; want %q", got, root)
	}
	if got := FindCheckout(t.TempDir()); got != "" {
		t.Errorf("FindCheckout(a temporary directory) = %q; want none", got)
	}
	if got := FindCheckout(filepath.Join(root, "examples", "skill-hello")); got != root {
		t.Errorf("FindCheckout(an example) = %q; the example's own go.mod is not the gateway's", got)
	}
}

func TestDetectLang(t *testing.T) {
	if l, err := DetectLang(filepath.Join(repo, "examples", "skill-hello")); err != nil || l.Name != "go" {
		t.Errorf("DetectLang(skill-hello) = %v, %v", l.Name, err)
	}
	if _, err := DetectLang(t.TempDir()); err == nil {
		t.Error("DetectLang(empty) = nil error")
	}
}

// The AssemblyScript scaffold's code is the example's (below each file's
// opening comment): when the example changes, copy it into the template.
func TestASScaffoldIsTheExample(t *testing.T) {
	body := func(b []byte) string {
		s := string(b)
		if i := strings.Index(s, "\nimport "); i >= 0 {
			return s[i:]
		}
		return s
	}
	tmpl, err := templates.ReadFile("templates/skill-as/assembly__index.ts")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(filepath.Join(repo, "examples/skill-hello-as/assembly/index.ts"))
	if err != nil {
		t.Fatal(err)
	}
	if body(tmpl) != body(example) {
		t.Error("templates/skill-as/assembly__index.ts differs from examples/skill-hello-as/assembly/index.ts")
	}
}
