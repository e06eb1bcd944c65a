package arch

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// root is the repository's top directory (this package is internal/arch).
const root = "../.."

// gatewayOnly are the modules the gateway needs for itself (storage, rate
// limits, billing, sessions, routing, MCP): none may reach a plugin or a skill
// author through the SDK.
var gatewayOnly = []string{
	"github.com/jackc/pgx",
	"github.com/stripe/stripe-go",
	"github.com/redis/go-redis",
	"github.com/ulule/limiter",
	"modernc.org/sqlite",
	"github.com/golang-jwt/jwt",
	"github.com/julienschmidt/httprouter",
	"github.com/modelcontextprotocol/go-sdk",
	"github.com/decred/dcrd",
}

type kit struct {
	dir       string
	forbidden []string // module paths, besides the gateway's and gatewayOnly
}

// kits are the repository's modules besides the gateway's, each with the
// modules its graph must not hold besides the gateway module and gatewayOnly.
// The skill kit may hold wazero: its host side (abi) and test harness
// (skilltest) run modules with it; the guest package sdk/skill itself is
// held to the standard library by TestSkillGuestIsStandardLibraryOnly. The
// Go client requires nothing at all (TestClientRequiresNothing).
var kits = []kit{
	{"sdk/client", []string{"github.com/tetratelabs/wazero", "google.golang.org/grpc", "github.com/hashicorp/go-plugin"}},
	{"sdk/provider", []string{"github.com/tetratelabs/wazero"}},
	{"examples/provider-echo", []string{"github.com/tetratelabs/wazero"}},
	{"sdk/skill", nil},
	{"examples/skill-hello", nil},
}

// TestSDKModuleGraphs checks that each kit is a module of its own whose
// module graph (`go list -m all`: what `go mod download` and go.sum see, not
// only what is compiled) holds nothing of the gateway.
func TestSDKModuleGraphs(t *testing.T) {
	for _, k := range kits {
		t.Run(k.dir, func(t *testing.T) {
			mods := moduleGraph(t, k.dir)
			if want := module + k.dir; mods[0] != want {
				t.Fatalf("the module in %s is %s; want %s, a module of its own", k.dir, mods[0], want)
			}
			for _, m := range mods[1:] {
				if heavy(m, k.forbidden) != "" {
					t.Errorf("the module graph of %s holds %s; `go mod graph` there shows what requires it", k.dir, m)
				}
			}
		})
	}
}

// TestGatewayGraphHoldsItsDependencies keeps TestSDKModuleGraphs meaningful:
// the same check on the gateway's own module finds what it looks for.
func TestGatewayGraphHoldsItsDependencies(t *testing.T) {
	mods := moduleGraph(t, ".")
	if mods[0] != strings.TrimSuffix(module, "/") {
		t.Fatalf("the module at the root is %s", mods[0])
	}
	for _, want := range gatewayOnly {
		if !slices.ContainsFunc(mods, func(m string) bool { return heavy(m, nil) == want }) {
			t.Errorf("the gateway's module graph does not hold %s: is gatewayOnly out of date?", want)
		}
	}
}

// TestSkillGuestIsStandardLibraryOnly: a skill compiled with sdk/skill
// carries nothing but the standard library and the SDK, for the platform
// (wasip1) as for the author's own machine (where tests and vet run).
func TestSkillGuestIsStandardLibraryOnly(t *testing.T) {
	guests := map[string][]string{
		"sdk/skill":            {module + "sdk/skill"},
		"examples/skill-hello": {module + "sdk/skill", module + "examples/skill-hello"},
	}
	for dir, allowed := range guests {
		for _, env := range [][]string{{"GOOS=wasip1", "GOARCH=wasm"}, nil} {
			out := goCmd(t, dir, env, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".")
			for _, pkg := range strings.Fields(out) {
				if !slices.Contains(allowed, pkg) {
					t.Errorf("%s %v depends on %s; a skill needs only the standard library and sdk/skill", dir, env, pkg)
				}
			}
		}
	}
}

// TestClientRequiresNothing: the Go client (sdk/client) is what API
// consumers import, so its module graph is itself alone: the standard
// library only.
func TestClientRequiresNothing(t *testing.T) {
	if mods := moduleGraph(t, "sdk/client"); len(mods) != 1 {
		t.Errorf("the module graph of sdk/client is %v; want the module alone", mods)
	}
}

// TestEveryModuleIsChecked: a new go.mod in the repository must join kits.
func TestEveryModuleIsChecked(t *testing.T) {
	for _, dir := range modules(t) {
		if dir != "." && !slices.ContainsFunc(kits, func(k kit) bool { return k.dir == dir }) {
			t.Errorf("module %s is not in kits (internal/arch/modules_test.go)", dir)
		}
	}
}

// heavy returns the entry of gatewayOnly or extra that module path m is
// (or a major version of), or "" if none.
func heavy(m string, extra []string) string {
	for _, p := range append(slices.Clone(gatewayOnly), extra...) {
		if m == p || strings.HasPrefix(m, p+"/") {
			return p
		}
	}
	if m == strings.TrimSuffix(module, "/") {
		return "the gateway itself"
	}
	return ""
}

// moduleGraph returns the module paths of `go list -m all` in dir, the
// main module first.
func moduleGraph(t *testing.T, dir string) []string {
	t.Helper()
	mods := strings.Fields(goCmd(t, dir, nil, "list", "-m", "-f", "{{.Path}}", "all"))
	if len(mods) == 0 {
		t.Fatalf("go list -m all in %s listed nothing", dir)
	}
	return mods
}

// modules returns the directories, relative to the repository root, of every
// go.mod in it: "." first.
func modules(t *testing.T) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" ||
			d.Name() == "node_modules" || path == filepath.Join(root, "bin")) {
			return filepath.SkipDir
		}
		if !d.IsDir() && d.Name() == "go.mod" {
			rel, _ := filepath.Rel(root, filepath.Dir(path))
			dirs = append(dirs, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(dirs) // "." sorts first
	return dirs
}

// goCmd runs the go command in dir (relative to the repository root) with
// the module files as committed: no workspace, no go.mod updates.
func goCmd(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = filepath.Join(root, dir)
	cmd.Env = append(append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly"), env...)
	out, err := cmd.Output()
	if err != nil {
		msg := err.Error()
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("go %s in %s: %s", strings.Join(args, " "), dir, msg)
	}
	return string(out)
}
