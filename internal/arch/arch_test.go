// Package arch holds the test that keeps imports flowing one way (STYLE.md §1):
// cmd wires everything; gateway may use payments, core and sdk; payments uses
// core and sdk; plugins and skills use sdk (and, for their host side, core);
// core never imports payments, gateway, plugins or skills; sdk imports nothing
// of ours outside sdk.
package arch

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/agentbot/gateway/"

// forbidden maps a package tree to the trees it must not import.
var forbidden = map[string][]string{
	"core/":     {"payments", "gateway", "plugins", "skills", "cmd", "examples"},
	"sdk/":      {"core", "payments", "gateway", "plugins", "skills", "cmd", "migrations", "internal", "examples"},
	"payments/": {"gateway", "plugins", "skills", "cmd", "examples"},
	"gateway/":  {"plugins", "skills", "cmd", "examples"},
	"plugins/":  {"payments", "gateway", "cmd", "examples"},
	"skills/":   {"payments", "gateway", "plugins", "cmd", "examples"},
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
