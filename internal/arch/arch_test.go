// Package arch holds the test that keeps imports flowing one way (STYLE.md §1):
// cmd wires everything; gateway may use core and sdk; plugins and skills use sdk
// (and, for their host side, core); core never imports gateway, plugins or
// skills; sdk imports nothing of ours outside sdk.
package arch

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/agentbot/gateway/"

// forbidden maps a package tree to the trees it must not import.
var forbidden = map[string][]string{
	"core/":    {"gateway", "plugins", "skills", "cmd", "examples", "internal"},
	"sdk/":     {"core", "gateway", "plugins", "skills", "cmd", "migrations", "internal", "examples"},
	"gateway/": {"plugins", "skills", "cmd", "examples"},
	"plugins/": {"gateway", "cmd", "examples"},
	"skills/":  {"gateway", "plugins", "cmd", "examples"},
}

func TestImportsFlowOneWay(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports,TestImports,XTestImports", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p struct {
			ImportPath                         string
			Imports, TestImports, XTestImports []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(p.ImportPath, module)
		for tree, bad := range forbidden {
			if !strings.HasPrefix(rel+"/", tree) {
				continue
			}
			for _, imp := range append(p.Imports, append(p.TestImports, p.XTestImports...)...) {
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
