// Package interrupt instruments a WebAssembly module so that its host can
// stop it at its deadline, and so that it lets the Go scheduler and garbage
// collector in while it runs, without wazero's WithCloseOnContextDone, whose
// check at every loop head is a call out of the guest's code (RATIONALE.md,
// "Stopping a runaway skill").
//
// Instrument adds an i32 global, the budget, exported as GlobalExport, and
// an import of a host function, ImportModule.ImportName, of type () -> ().
// At the entry of every function and the head of every loop the budget is
// decremented; when it is no longer positive the guest calls the host
// function and sets the budget back to Budget. The host function returns,
// or stops the guest if its context is done (by panicking, which wazero
// turns into a trap). So the guest calls out at least every Budget loop
// iterations or calls: a goroutine running wazero's
// compiled code cannot be preempted, and without such calls one guest could
// hold up every stop-the-world of the garbage collector, and keep the timer
// that ends its own deadline from running. To stop a guest at once, the
// host sets its budget to 0 when the deadline passes (a write the guest may
// overwrite, in a race, with the budget it had: then it calls out within
// Budget iterations).
//
// The import shifts the index of every function the module defines by one,
// which Instrument carries through the code, the exports, the element and
// global sections and the name section. A start section is taken out and its
// function exported as StartExport, for the host to call after
// instantiating, under its deadline: wazero runs a start section inside
// InstantiateModule, out of reach. DWARF sections (.debug_*) are dropped,
// since the code they describe has moved.
//
// Recursion without end overflows the stack and traps.
package interrupt

import (
	"bytes"
	"errors"
	"fmt"
)

// What the instrumented module exports and imports. The names are reserved:
// a module that exports either name or imports from ImportModule is
// refused.
const (
	GlobalExport = "__agentbot_interrupt"
	StartExport  = "__agentbot_start"
	ImportModule = "agentbot:interrupt"
	ImportName   = "yield"
)

// Budget is how many loop iterations and calls a guest makes between two
// calls of the host function: each costs some tens of nanoseconds, an
// iteration of a tight loop about one, so that the calls take a few per
// cent at most (BenchmarkLoopCheck), and the guest lets the Go runtime in
// every few microseconds.
var Budget int32 = 1 << 12

// Version is the instrumentation's version, recorded in the custom section
// VersionSection of every instrumented module, so that code compiled from
// one version's output (wazero's compilation cache is keyed by the bytes
// compiled) is never taken for another's.
const Version = 2

// VersionSection is the name of the custom section that records Version.
const VersionSection = "agentbot.interrupt"

var magic = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

// Section ids.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
)

// order is where each known section stands in a module (the tag section,
// 13, stands between memory and global; data count, 12, before code).
var order = map[byte]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}

type section struct {
	id      byte
	off     int // of the payload in the module
	payload []byte
}

// module is what Instrument learns of a module before rewriting it.
type module struct {
	secs        []section
	types       uint32 // function types: the host function's type is the next
	funcImports uint32 // the host function's index; defined functions follow it
	defined     uint32 // functions the module defines
	globals     uint32 // imported and defined: the budget is the next
	start       *uint32
	named       bool // the module has a name section
}

// Instrument returns wasm instrumented (see the package comment). It
// refuses, with an error that says why, a module it cannot read, one with a
// function of more than MaxLocals locals, one that uses an instruction the
// platform's runtime does not know (legacy exception handling, GC) and one
// that uses a reserved name.
func Instrument(wasm []byte) ([]byte, error) {
	if len(wasm) < len(magic) || !bytes.Equal(wasm[:4], magic[:4]) {
		return nil, errors.New("not a WebAssembly module")
	}
	if !bytes.Equal(wasm[4:8], magic[4:]) {
		return nil, fmt.Errorf("unsupported WebAssembly binary version % x", wasm[4:8])
	}
	m, err := read(wasm)
	if err != nil {
		return nil, err
	}
	return m.write()
}

// read splits a module into its sections and counts what Instrument adds to.
func read(wasm []byte) (*module, error) {
	secs, err := sections(wasm)
	if err != nil {
		return nil, err
	}
	for _, s := range secs {
		if err := precheck(s); err != nil {
			return nil, err
		}
	}
	m := &module{secs: secs}
	for i := range secs {
		s := &secs[i]
		r := &reader{b: s.payload, off: s.off}
		switch s.id {
		case secType:
			m.types, err = r.u32()
		case secFunction:
			m.defined, err = r.u32()
		case secImport:
			err = m.readImports(r)
		case secGlobal:
			var n uint32
			n, err = r.u32()
			m.globals += n
		case secExport:
			err = checkExports(r)
		case secStart:
			var f uint32
			if f, err = r.u32(); err == nil && !r.done() {
				err = r.errorf("start section: trailing bytes")
			}
			m.start = &f
		}
		if err != nil {
			return nil, err
		}
	}
	return m, nil
}

// sections splits a module into its sections. Its errors are errFraming.
func sections(wasm []byte) ([]section, error) {
	r := &reader{b: wasm, pos: len(magic)}
	var secs []section
	for !r.done() {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		if id != secCustom && order[id] == 0 {
			return nil, r.errorf("%w: unknown section id %d", errFraming, id)
		}
		size, err := r.u32()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errFraming, err)
		}
		off := r.pos
		payload, err := r.bytes(uint64(size))
		if err != nil {
			return nil, fmt.Errorf("section %d: %w: %w", id, errFraming, err)
		}
		if id != secCustom && id != secStart && id != secDataCount {
			// Every other section is a vector, each entry at least a byte.
			p := &reader{b: payload, off: off}
			if _, err := p.count(1); err != nil {
				return nil, fmt.Errorf("section %d: %w: %w", id, errFraming, err)
			}
		}
		secs = append(secs, section{id: id, off: off, payload: payload})
	}
	return secs, nil
}

// precheck refuses a section with a count or size larger than what
// follows, or a function with more than MaxLocals locals, before anything
// else: wazero allocates room for what a count announces before it reads
// it (a few bytes made it allocate gigabytes, or spend a minute). Other
// faults stop the check of the section, for the rest of Instrument to
// report (wazero stops at them too).
func precheck(s section) error {
	r := &reader{b: s.payload, off: s.off}
	switch s.id {
	case secType:
		n, _ := r.u32() // checked by sections
		for i := range n {
			if form, err := r.byte(); err != nil || form != 0x60 {
				return nil
			}
			for range 2 { // parameters, results
				k, err := r.count(1)
				if err != nil {
					return fmt.Errorf("type %d: %w: %w", i, errFraming, err)
				}
				for range k {
					if valType(r) != nil {
						return nil
					}
				}
			}
		}
	case secData:
		n, _ := r.u32()
		for i := range n {
			flags, err := r.u32()
			if err != nil || flags > 2 {
				return nil
			}
			if flags == 2 { // a memory index
				if _, err := r.u32(); err != nil {
					return nil
				}
			}
			if flags != 1 { // active: an offset
				for op := byte(0); op != opEnd; {
					if op, err = instr(r); err != nil {
						return nil
					}
				}
			}
			size, err := r.u32()
			if err != nil {
				return nil
			}
			if _, err := r.bytes(uint64(size)); err != nil {
				return fmt.Errorf("data segment %d: %w: %w", i, errFraming, err)
			}
		}
	case secCode:
		n, _ := r.u32()
		for i := range n {
			size, err := r.u32()
			if err != nil {
				return nil
			}
			at := r.pos
			b, err := r.bytes(uint64(size))
			if err != nil {
				return fmt.Errorf("function body %d: %w: %w", i, errFraming, err)
			}
			if err := checkLocals(&reader{b: b, off: r.off + at}); err != nil {
				return fmt.Errorf("function body %d: %w", i, err)
			}
		}
	}
	return nil
}

// checkLocals checks a function body's local declarations: their count,
// and the total against MaxLocals.
func checkLocals(r *reader) error {
	groups, err := r.count(2)
	if err != nil {
		return fmt.Errorf("%w: %w", errFraming, err)
	}
	var locals uint64
	for range groups {
		n, err := r.u32()
		if err != nil {
			return nil
		}
		if locals += uint64(n); locals > MaxLocals {
			return r.errorf("%w: more than %d locals", errLimit, MaxLocals)
		}
		if valType(r) != nil {
			return nil
		}
	}
	return nil
}

// readImports counts the functions and globals an import section imports.
func (m *module) readImports(r *reader) error {
	n, err := r.count(3)
	if err != nil {
		return err
	}
	for range n {
		mod, err := r.name()
		if err != nil {
			return err
		}
		if mod == ImportModule {
			return fmt.Errorf("import from %q: the module name is reserved for the platform", mod)
		}
		if _, err := r.name(); err != nil {
			return err
		}
		kind, err := r.byte()
		if err != nil {
			return err
		}
		switch kind {
		case 0x00: // function: type index
			m.funcImports++
			_, err = r.u32()
		case 0x01: // table: reference type, limits
			if err = valType(r); err == nil {
				err = limits(r)
			}
		case 0x02: // memory
			err = limits(r)
		case 0x03: // global: value type, mutability
			m.globals++
			if err = valType(r); err == nil {
				_, err = r.byte()
			}
		case 0x04: // tag: attribute, type index
			if _, err = r.byte(); err == nil {
				_, err = r.u32()
			}
		default:
			return r.errorf("unknown import kind 0x%02x", kind)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// limits skips the limits of a table or memory: flags (bit 0: a maximum
// follows; bit 1: shared; bit 2: 64-bit), minimum and maximum.
func limits(r *reader) error {
	flags, err := r.byte()
	if err != nil {
		return err
	}
	if flags > 0x07 {
		r.pos--
		return r.errorf("unknown limits flags 0x%02x", flags)
	}
	if _, err := r.uleb(64); err != nil {
		return err
	}
	if flags&1 != 0 {
		_, err = r.uleb(64)
	}
	return err
}

// checkExports refuses a module that exports a reserved name.
func checkExports(r *reader) error {
	n, err := r.count(3)
	if err != nil {
		return err
	}
	for range n {
		name, err := r.name()
		if err != nil {
			return err
		}
		if name == GlobalExport || name == StartExport {
			return fmt.Errorf("export %q: the name is reserved for the platform", name)
		}
		if _, err := r.byte(); err != nil {
			return err
		}
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	return nil
}
