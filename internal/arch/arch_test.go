// Package arch holds the tests that keep the repository's structure honest.
//
// Imports flow one way: cmd wires everything; gateway may use payments, core
// and sdk; payments uses core and sdk; plugins and skills use sdk (and, for
// their host side, core); core never imports payments, gateway, plugins or
// skills. The SDK kits and the examples are Go modules of their own
// (RATIONALE.md, "The SDK is its own modules"): each kit imports nothing of
// ours outside itself, an example nothing but the SDK, and their module
// graphs hold none of the gateway's dependencies (modules_test.go).
package arch

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const module = "github.com/agentbot/gateway/"

// forbidden maps a package tree to the trees it must not import.
var forbidden = map[string][]string{
	"core/":         {"payments", "gateway", "plugins", "skills", "cmd", "examples", "internal"},
	"sdk/client/":   {"core", "payments", "gateway", "plugins", "skills", "cmd", "migrations", "internal", "examples", "sdk/provider", "sdk/skill"},
	"sdk/provider/": {"core", "payments", "gateway", "plugins", "skills", "cmd", "migrations", "internal", "examples", "sdk/skill"},
	"sdk/skill/":    {"core", "payments", "gateway", "plugins", "skills", "cmd", "migrations", "internal", "examples", "sdk/provider"},
	"examples/":     {"core", "payments", "gateway", "plugins", "skills", "cmd", "migrations", "internal"},
	"payments/":     {"gateway", "plugins", "skills", "cmd", "examples"},
	"gateway/":      {"plugins", "skills", "cmd", "examples"},
	"plugins/":      {"payments", "gateway", "cmd", "examples"},
	"skills/":       {"payments", "gateway", "plugins", "cmd", "examples"},
	"wallets/":      {"payments", "gateway", "skills", "cmd", "examples"},
}

// TestImportsFlowOneWay lists the packages of every module of the repository
// from within that module, where a nested module's imports resolve as they do
// for its users.
func TestImportsFlowOneWay(t *testing.T) {
	seen := 0
	for _, dir := range modules(t) {
		out := goCmd(t, dir, nil, "list", "-json=ImportPath,Imports,TestImports,XTestImports", "./...")
		dec := json.NewDecoder(strings.NewReader(out))
		for dec.More() {
			var p struct {
				ImportPath                         string
				Imports, TestImports, XTestImports []string
			}
			if err := dec.Decode(&p); err != nil {
				t.Fatal(err)
			}
			seen++
			checkImports(t, p.ImportPath, append(p.Imports, append(p.TestImports, p.XTestImports...)...))
		}
	}
	if seen < 50 {
		t.Fatalf("listed %d packages; the repository has more than 50", seen)
	}
}

func checkImports(t *testing.T, pkg string, imports []string) {
	t.Helper()
	rel := strings.TrimPrefix(pkg, module)
	for tree, bad := range forbidden {
		if !strings.HasPrefix(rel+"/", tree) {
			continue
		}
		for _, imp := range imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			irel := strings.TrimPrefix(imp, module)
			for _, b := range bad {
				if irel == b || strings.HasPrefix(irel, b+"/") {
					t.Errorf("%s imports %s: %s must not depend on %s", rel, irel, tree, b)
				}
			}
		}
	}
}

// Every route is an entry of the route table: only core/route makes a router,
// so no handler can be registered beside the table (tests included).
func TestOnlyTheRouteTableMakesARouter(t *testing.T) {
	out, err := exec.Command("git", "-C", "../..", "ls-files", "*.go").Output()
	if err != nil {
		t.Skipf("git ls-files: %v", err)
	}
	for _, file := range strings.Fields(string(out)) {
		if strings.HasPrefix(file, "core/route/") {
			continue
		}
		src, err := os.ReadFile(filepath.Join("..", "..", file))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(src), "httprouter"+".New(") {
			t.Errorf("%s makes its own router; add its routes to the route table (core/route) instead", file)
		}
	}
}

// Error codes come from one table (core/api/codes.go): the server's own code
// never spells one as a string literal where it builds an error.
func TestErrorCodesComeFromTheTable(t *testing.T) {
	out, err := exec.Command("git", "-C", "../..", "ls-files", "core/*.go", "gateway/*.go", "payments/*.go", "skills/*.go").Output()
	if err != nil {
		t.Skipf("git ls-files: %v", err)
	}
	literal := regexp.MustCompile(`(?:BadRequest|Unauthorized|Forbidden|Conflict)\("[A-Z]|api\.Errorf\([^,]+, "[A-Z]|Code: +"[A-Z]|\.Code [!=]= "[A-Z]`)
	for _, file := range strings.Fields(string(out)) {
		if strings.HasSuffix(file, "_test.go") || file == "core/api/codes.go" || strings.HasPrefix(file, "skills/shipped/") ||
			strings.Contains(file, "/testguests/") {
			continue
		}
		src, err := os.ReadFile(filepath.Join("..", "..", file))
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(src), "\n") {
			if literal.MatchString(line) {
				t.Errorf("%s:%d spells an error code as a literal; use (or add) its constant in core/api/codes.go: %s", file, i+1, strings.TrimSpace(line))
			}
		}
	}
}
