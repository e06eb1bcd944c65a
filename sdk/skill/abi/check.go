package abi

import (
	"errors"
	"fmt"
	"slices"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// WASIModule is the only import module allowed besides Module.
const WASIModule = "wasi_snapshot_preview1"

// CheckImports refuses a module that is not an ABI v1 skill: one that imports
// a function outside Module (by name and exact signature) and WASIModule, or
// any memory, or that lacks the exports memory and agentbot_run() -> i32, or
// that is a command module (exports _start). The error names every offending
// import as "module.name". hostModules are import modules the host adds to
// the module itself before compiling it (a platform's instrumentation),
// whose functions are allowed too.
func CheckImports(m wazero.CompiledModule, hostModules ...string) error {
	var errs []error
	for _, f := range m.ImportedFunctions() {
		mod, name, _ := f.Import()
		if slices.Contains(hostModules, mod) {
			continue
		}
		switch mod {
		case WASIModule:
			// Served by the runtime's wasi_snapshot_preview1, which has no
			// filesystem, network, environment or real clock to offer (see
			// ModuleConfig); an unknown name fails to instantiate.
		case Module:
			i := slices.IndexFunc(hostFuncs, func(h hostFunc) bool { return h.name == name })
			if i < 0 {
				errs = append(errs, fmt.Errorf("import %q is not a function of %s", mod+"."+name, Module))
				continue
			}
			h := hostFuncs[i]
			if !slices.Equal(f.ParamTypes(), h.params) || !slices.Equal(f.ResultTypes(), h.results) {
				errs = append(errs, fmt.Errorf("import %q has signature %s; ABI v%d has %s", mod+"."+name,
					signature(f.ParamTypes(), f.ResultTypes()), Version, signature(h.params, h.results)))
			}
		default:
			errs = append(errs, fmt.Errorf("import %q is not allowed: skills may import only %s and %s",
				mod+"."+name, Module, WASIModule))
		}
	}
	for _, mem := range m.ImportedMemories() {
		mod, name, _ := mem.Import()
		errs = append(errs, fmt.Errorf("import %q: skills may not import memory", mod+"."+name))
	}
	if _, ok := m.ExportedMemories()["memory"]; !ok {
		errs = append(errs, errors.New(`no export "memory"`))
	}
	exports := m.ExportedFunctions()
	if run, ok := exports[RunExport]; !ok {
		errs = append(errs, fmt.Errorf("no export %q", RunExport))
	} else if len(run.ParamTypes()) != 0 || !slices.Equal(run.ResultTypes(), []api.ValueType{i32}) {
		errs = append(errs, fmt.Errorf("export %q has signature %s; want () -> i32", RunExport,
			signature(run.ParamTypes(), run.ResultTypes())))
	}
	if _, ok := exports["_start"]; ok {
		errs = append(errs, errors.New(`exports "_start": build a reactor (go build -buildmode=c-shared), not a command`))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("abi: not a %s skill: %w", Module, err)
	}
	return nil
}

func signature(params, results []api.ValueType) string {
	name := func(ts []api.ValueType) string {
		s := "("
		for i, t := range ts {
			if i > 0 {
				s += ", "
			}
			s += api.ValueTypeName(t)
		}
		return s + ")"
	}
	return name(params) + " -> " + name(results)
}
