package interrupt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// loops is a module with a loop in every shape the check must catch, and a
// start function that never ends:
//
//	0 spin        loop br 0 end: a tight loop with no calls
//	1 indirect    call_indirect of spin through the table
//	2 start       (the start section) calls spin
//	3 sum(n)      1 + 2 + … + n, in a loop over locals
//	4 down(n)     a loop with a parameter (block type by type index), n times
//	5 viaref(n)   sum(n) through table[1], set from a global ref.func 3
//	6 tree(n)     calls tree(n-1) twice, down to 0: 2^n calls and no loop
//
// It imports a global set to 1 and defines one set to 1, so that a check
// reading the wrong global would misbehave at once, and names spin and sum
// in its name section.
func loops() []byte {
	return newModule(
		sec(1, vec(functype(nil, nil), functype([]byte{i32}, []byte{i32}))),
		sec(2, vec(cat(str("env"), str("one"), []byte{0x03, i32, 0x00}))),
		sec(3, vec(u32(0), u32(0), u32(0), u32(1), u32(1), u32(1), u32(1))),
		sec(4, vec([]byte{0x70, 0x00, 0x02})), // a funcref table of 2
		sec(6, vec([]byte{i32, 0x01, 0x41, 0x01, opEnd}, []byte{0x70, 0x00, opRefFunc, 0x03, opEnd})),
		sec(7, vec(export("spin", 0, 0), export("indirect", 0, 1), export("sum", 0, 3), export("down", 0, 4),
			export("viaref", 0, 5), export("tree", 0, 6), export("one", 3, 1))),
		sec(8, u32(2)),
		sec(9, vec(cat([]byte{0x00, 0x41, 0x00, opEnd}, vec(u32(0))))), // table[0] = spin
		sec(10, vec(
			body(opLoop, blockEmpty, 0x0c, 0x00, opEnd),
			body(0x41, 0x00, 0x11, 0x00, 0x00),
			body(opCall, 0x00),
			bodyLocals(vec(cat(u32(1), []byte{i32})), // local acc
				0x02, blockEmpty, opLoop, blockEmpty,
				0x20, 0x00, 0x45, 0x0d, 0x01, // n == 0: out
				0x20, 0x01, 0x20, 0x00, 0x6a, 0x21, 0x01, // acc += n
				0x20, 0x00, 0x41, 0x01, 0x6b, 0x21, 0x00, // n--
				0x0c, 0x00, opEnd, opEnd, 0x20, 0x01),
			body(0x20, 0x00, opLoop, 0x01, // loop (type 1): i32 -> i32
				0x41, 0x01, 0x6b, 0x22, 0x00, 0x20, 0x00, 0x0d, 0x00, opEnd),
			body(0x41, 0x01, opGlobalGet, 0x02, 0x26, 0x00, // table[1] = the global's function
				0x20, 0x00, 0x41, 0x01, 0x11, 0x01, 0x00),
			body(0x20, 0x00, 0x45, opIf, blockEmpty, 0x41, 0x00, 0x0f, opEnd, // n == 0: return 0
				0x20, 0x00, 0x41, 0x01, 0x6b, opCall, 0x06, 0x1a,
				0x20, 0x00, 0x41, 0x01, 0x6b, opCall, 0x06, 0x1a, 0x41, 0x00),
		)),
		sec(0, str("name"), []byte{0x01}, func() []byte { // function names
			p := vec(cat(u32(0), str("spin")), cat(u32(3), str("sum")), cat(u32(6), str("tree")))
			return cat(u32(uint32(len(p))), p)
		}()),
		sec(0, str(".debug_info"), []byte{1, 2, 3}),
	)
}

// env provides the global loops imports.
func env() []byte {
	return newModule(
		sec(6, vec([]byte{i32, 0x00, 0x41, 0x01, opEnd})),
		sec(7, vec(export("one", 3, 0))),
	)
}

// instantiate compiles wasm on a runtime without close-on-context-done and
// instantiates it, its start functions not run.
func instantiate(t *testing.T, wasm []byte) api.Module {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	t.Cleanup(func() { rt.Close(ctx) })
	if err := Instantiate(ctx, rt); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.InstantiateWithConfig(ctx, env(), wazero.NewModuleConfig().WithName("env")); err != nil {
		t.Fatal(err)
	}
	cm, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		t.Fatalf("compiling: %v", err)
	}
	mod, err := rt.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		t.Fatalf("instantiating: %v", err)
	}
	return mod
}

func TestInstrumentedLoopsStop(t *testing.T) {
	wasm, err := Instrument(loops())
	if err != nil {
		t.Fatal(err)
	}
	for _, armed := range []bool{true, false} {
		for _, fn := range []string{"spin", "indirect", StartExport, "tree"} {
			t.Run(fmt.Sprintf("%s armed %v", fn, armed), func(t *testing.T) {
				mod := instantiate(t, wasm)
				g, ok := mod.ExportedGlobal(GlobalExport).(api.MutableGlobal)
				if !ok || g.Type() != api.ValueTypeI32 || g.Get() != uint64(Budget) {
					t.Fatalf("export %s = %v; want a mutable i32 global at %d", GlobalExport, mod.ExportedGlobal(GlobalExport), Budget)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				defer cancel()
				if armed {
					defer Arm(ctx, mod)()
				}
				start := time.Now()
				var args []uint64
				looping := ".spin("
				if fn == "tree" {
					args, looping = []uint64{60}, ".tree("
				}
				_, err := mod.ExportedFunction(fn).Call(ctx, args...)
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("%s() past its deadline = %v; want the deadline's error", fn, err)
				}
				// The trap names the function that ran on: the name
				// section follows the functions' new indices.
				if err != nil && !strings.Contains(err.Error(), looping) {
					t.Errorf("trap %q does not name %s", err, looping)
				}
				if d := time.Since(start); d > 2*time.Second {
					t.Errorf("%s() stopped after %v; want soon after 50ms", fn, d)
				}
			})
		}
	}
}

func TestInstrumentedLoopsComputeAlike(t *testing.T) {
	wasm, err := Instrument(loops())
	if err != nil {
		t.Fatal(err)
	}
	mod := instantiate(t, wasm)
	for _, tc := range []struct {
		fn   string
		n    uint64
		want uint64
	}{{"sum", 0, 0}, {"sum", 10, 55}, {"sum", 100000, 5000050000 & 0xffffffff}, {"down", 5, 0}, {"viaref", 10, 55}, {"tree", 10, 0}} {
		res, err := mod.ExportedFunction(tc.fn).Call(context.Background(), tc.n)
		if err != nil || uint32(res[0]) != uint32(tc.want) {
			t.Errorf("%s(%d) = %v, %v; want %d", tc.fn, tc.n, res, err, tc.want)
		}
	}
	if g := mod.ExportedGlobal("one"); g == nil || g.Get() != 1 {
		t.Errorf("the module's own global = %v; want 1", g)
	}
}

func TestInstrumentOutput(t *testing.T) {
	in := loops()
	out, err := Instrument(in)
	if err != nil {
		t.Fatal(err)
	}
	// The budget is global 3 (one imported, two defined), the host function 0.
	check := (&module{globals: 3}).appendCheck(nil)
	if n := bytes.Count(out, check); n != 3+7 {
		t.Errorf("%d checks of global 3 calling function 0; want 10 (one per loop and function)", n)
	}
	if bytes.Contains(out, []byte(".debug_info")) {
		t.Error("the DWARF section was kept; want it dropped")
	}
	if !bytes.Contains(out, cat(str(ImportModule), str(ImportName))) {
		t.Error("the host function is not imported")
	}
	if !bytes.HasSuffix(out, append(str(VersionSection), Version)) {
		t.Errorf("module does not end with the %s section", VersionSection)
	}
	again, err := Instrument(in)
	if err != nil || !bytes.Equal(out, again) {
		t.Error("Instrument is not deterministic")
	}
}

// A module without type, import, global, export or code sections gets the
// first four.
func TestInstrumentEmptyModule(t *testing.T) {
	for _, in := range [][]byte{newModule(), newModule(sec(1, vec(functype(nil, nil))), sec(3, vec(u32(0))), sec(10, vec(body())))} {
		out, err := Instrument(in)
		if err != nil {
			t.Fatalf("Instrument(% x) = %v", in, err)
		}
		ctx := context.Background()
		rt := wazero.NewRuntime(ctx)
		defer rt.Close(ctx)
		if err := Instantiate(ctx, rt); err != nil {
			t.Fatal(err)
		}
		mod, err := rt.Instantiate(ctx, out)
		if err != nil {
			t.Fatalf("instrumented % x: %v", in, err)
		}
		if _, ok := mod.ExportedGlobal(GlobalExport).(api.MutableGlobal); !ok {
			t.Errorf("instrumented % x exports no mutable %s", in, GlobalExport)
		}
	}
}

func TestInstrumentRefuses(t *testing.T) {
	code := func(c ...byte) []byte {
		return newModule(sec(1, vec(functype(nil, nil))), sec(3, vec(u32(0))), sec(10, vec(body(c...))))
	}
	for _, tc := range []struct {
		name string
		wasm []byte
		want string
	}{
		{"empty", nil, "not a WebAssembly module"},
		{"text", []byte("(module)"), "not a WebAssembly module"},
		{"component", append([]byte{0, 'a', 's', 'm'}, 0x0d, 0x00, 0x01, 0x00), "unsupported WebAssembly binary version"},
		{"truncated section", newModule([]byte{1, 10, 0}), "unexpected end"},
		{"unknown section", newModule(sec(42)), "unknown section id 42"},
		{"unknown opcode", code(0xff), "unknown opcode 0xff"},
		{"gap in the opcodes", code(0x27), "unknown opcode 0x27"},
		{"GC ref.eq", code(0xd3), "unknown opcode 0xd3"},
		{"legacy try", code(0x06, blockEmpty, opEnd), "legacy exception handling"},
		{"unknown 0xfc", code(0xfc, 0x20), "unknown instruction 0xfc 32"},
		{"unassigned SIMD", code(0xfd, 0x9a, 0x01), "unknown instruction 0xfd 154"},
		{"relaxed SIMD", code(0xfd, 0x80, 0x02), "unknown instruction 0xfd 256"},
		{"unknown atomic", code(0xfe, 0x04), "unknown instruction 0xfe 4"},
		{"GC heap type", code(opLoop, 0x63, 0x6e, opEnd), "unsupported heap type"},
		{"truncated v128.const", code(0xfd, 0x0c, 1, 2, 3), "unexpected end"},
		{"overlong integer", code(0x41, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01), "integer too long"},
		{"forged count", code(0x0e, 0xff, 0xff, 0xff, 0xff, 0x0f), "larger than what follows"},
		{"reserved export", newModule(sec(7, vec(export(GlobalExport, 3, 0)))), "reserved"},
		{"4 billion locals", newModule(sec(1, vec(functype(nil, nil))), sec(3, vec(u32(0))),
			sec(10, vec(bodyLocals(vec(cat(u32(0xffffffff), []byte{i32})))))), "more than 50000 locals"},
		{"50,001 locals", newModule(sec(1, vec(functype(nil, nil))), sec(3, vec(u32(0))),
			sec(10, vec(bodyLocals(vec(cat(u32(50000), []byte{i32}), cat(u32(1), []byte{i64})))))), "more than 50000 locals"},
		{"a forged parameter count", newModule(sec(1, vec(cat([]byte{0x60}, u32(1<<30))))), "larger than what follows"},
		{"a forged data size", newModule(sec(11, vec(cat(u32(1), u32(1<<30), []byte{1, 2})))), "bytes wanted"},
		{"reserved start export", newModule(sec(7, vec(export(StartExport, 0, 0)))), "reserved"},
		{"reserved import", newModule(sec(2, vec(cat(str(ImportModule), str(ImportName), []byte{0x00, 0x00})))), "reserved"},
	} {
		out, err := Instrument(tc.wasm)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Instrument(%s) = %d bytes, %v; want an error mentioning %q", tc.name, len(out), err, tc.want)
		}
	}
}

// every is a module that uses the instructions of every feature Instrument
// decodes, each in a loop: wazero, with those features enabled, must accept
// it instrumented.
func every() []byte {
	loop := func(code ...byte) []byte { return body(cat([]byte{opLoop, blockEmpty}, code, []byte{opEnd})...) }
	v128 := cat([]byte{0xfd, 0x0c}, make([]byte, 16))
	return newModule(
		sec(1, vec(functype(nil, nil), functype([]byte{i32}, nil))),
		sec(3, vec(u32(0), u32(0), u32(0), u32(0), u32(0), u32(0), u32(0), u32(0), u32(0))),
		sec(4, vec([]byte{0x70, 0x00, 0x01})),
		sec(5, vec([]byte{0x03, 0x01, 0x01})), // shared memory 1..1
		sec(13, vec([]byte{0x00, 0x01})),      // tag of type (i32)
		sec(9, vec(cat([]byte{0x00, 0x41, 0x00, opEnd}, vec(u32(0))))),
		sec(12, u32(1)),
		sec(10, vec(
			// MVP and sign extension: br_table, call_indirect, memory, consts
			loop(0x41, 0x00, 0x0e, 0x01, 0x00, 0x00,
				0x41, 0x00, 0x28, 0x02, 0x00, 0xc0, 0x1a,
				0x42, 0x7f, 0xc4, 0x1a, 0x43, 0, 0, 0, 0, 0x1a, 0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0x1a,
				0x3f, 0x00, 0x1a, 0x41, 0x00, 0x40, 0x00, 0x1a, 0x41, 0x00, 0x11, 0x00, 0x00),
			// saturating truncation, bulk memory
			loop(0x43, 0, 0, 0, 0, 0xfc, 0x00, 0x1a,
				0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x08, 0x00, 0x00,
				0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x0a, 0x00, 0x00,
				0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x0b, 0x00, 0xfc, 0x09, 0x00),
			// reference types
			loop(0xd0, 0x70, 0xd1, 0x1a, 0xd2, 0x00, 0x1a,
				0x41, 0x00, 0x25, 0x00, 0x1a, 0x41, 0x00, 0xd0, 0x70, 0x26, 0x00,
				0xd0, 0x70, 0x41, 0x00, 0xfc, 0x0f, 0x00, 0x1a, 0xfc, 0x10, 0x00, 0x1a,
				0x41, 0x00, 0xd0, 0x70, 0x41, 0x00, 0xfc, 0x11, 0x00,
				0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x0c, 0x00, 0x00, 0xfc, 0x0d, 0x00,
				0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x0e, 0x00, 0x00,
				0x41, 0x01, 0x41, 0x02, 0x41, 0x00, 0x1c, 0x01, i32, 0x1a),
			// SIMD: const, shuffle, lanes, loads and stores with lanes
			loop(cat(v128, v128, []byte{0xfd, 0x0d}, make([]byte, 16), []byte{0xfd, 0x15, 0x03, 0x1a},
				[]byte{0x41, 0x00}, v128, []byte{0xfd, 0x54, 0x00, 0x00, 0x01, 0xfd, 0x62, 0xfd, 0xff, 0x01, 0x1a},
				[]byte{0x41, 0x00}, v128, []byte{0xfd, 0x5b, 0x03, 0x00, 0x01},
				[]byte{0x41, 0x00, 0xfd, 0x5d, 0x03, 0x00, 0x1a, 0x41, 0x00, 0xfd, 0x00, 0x04, 0x00, 0x1a})...),
			// threads
			loop(0x41, 0x00, 0x41, 0x00, 0xfe, 0x00, 0x02, 0x00, 0x1a,
				0x41, 0x00, 0x41, 0x00, 0x42, 0x00, 0xfe, 0x01, 0x02, 0x00, 0x1a,
				0xfe, 0x03, 0x00, 0x41, 0x00, 0xfe, 0x10, 0x02, 0x00, 0x1a,
				0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfe, 0x48, 0x02, 0x00, 0x1a),
			// exception handling: try_table catching the tag, throw
			loop(0x02, blockEmpty, 0x02, i32, 0x1f, blockEmpty, 0x01, 0x00, 0x00, 0x00,
				0x41, 0x07, 0x08, 0x00, opEnd, 0x0c, 0x01, opEnd, 0x1a, opEnd),
			// throw_ref of a caught exnref, tail calls
			loop(0x02, 0x69, 0x1f, blockEmpty, 0x01, 0x03, 0x00, opEnd, 0x0c, 0x01, opEnd, 0x0a),
			body(0x41, 0x00, 0x13, 0x00, 0x00, 0x12, 0x00),
			// typed function references
			loop(0x02, refNull, 0x70, 0xd0, 0x70, opEnd, 0x1a, opRefFunc, 0x00, 0xd4, 0x14, 0x00,
				0x02, ref, 0x70, opRefFunc, 0x00, 0xd6, 0x00, 0x00, opEnd, 0x1a),
		)),
		sec(11, vec([]byte{0x01, 0x01, 0x2a})), // a passive data segment
	)
}

// features are those the platform's runtime enables (wazero's defaults)
// and the experimental ones Instrument decodes too.
const features = api.CoreFeaturesV2 | experimental.CoreFeaturesThreads | experimental.CoreFeaturesTailCall |
	experimental.CoreFeaturesExceptionHandling | experimental.CoreFeaturesTypedFunctionReferences

func TestInstrumentEveryFeature(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(features))
	defer rt.Close(ctx)
	in := every()
	if _, err := rt.CompileModule(ctx, in); err != nil {
		t.Fatalf("the test module itself is invalid: %v", err)
	}
	out, err := Instrument(in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rt.CompileModule(ctx, out); err != nil {
		t.Errorf("instrumented: %v", err)
	}
	if n := bytes.Count(out, (&module{}).appendCheck(nil)); n != 8+9 {
		t.Errorf("%d checks; want 17 (one per loop and function)", n)
	}
}
