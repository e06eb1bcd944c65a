// Package interrupt instruments a WebAssembly module so that the host can
// stop it within a loop iteration: Instrument adds an i32 global, exported
// as GlobalExport, and a check of it at the head of every loop that traps
// (unreachable) once it is set. The host sets it (api.MutableGlobal.Set)
// when the call's deadline passes. This is how the skills runtime stops a
// runaway skill without wazero's WithCloseOnContextDone, whose check at
// every loop head is a call out of the guest's code (RATIONALE.md, "Stopping
// a runaway skill").
//
// A start section is taken out of the module and its function exported as
// StartExport, for the host to call under the same interrupt after
// instantiating: wazero runs a start section inside InstantiateModule, where
// nothing could stop it. Recursion without end needs no check: it overflows
// the stack and traps.
package interrupt

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Names the instrumented module exports, reserved: a module that exports
// either is refused.
const (
	GlobalExport = "__agentbot_interrupt"
	StartExport  = "__agentbot_start"
)

// Version is the instrumentation's version, recorded in the custom section
// VersionSection of every instrumented module, so that code compiled from
// one version's output (wazero's compilation cache is keyed by the bytes
// compiled) is never taken for another's.
const Version = 1

// VersionSection is the name of the custom section that records Version.
const VersionSection = "agentbot.interrupt"

var magic = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

// Section ids.
const (
	secCustom    = 0
	secImport    = 2
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secCode      = 10
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

// Instrument returns wasm instrumented (see the package comment). It refuses,
// with an error that says why, a module it cannot read, one that uses an
// instruction the platform's runtime does not enable (legacy exception
// handling, typed function references, GC) and one that exports a reserved
// name. DWARF sections (.debug_*) are dropped, since the code they describe
// has moved; the name section, which names functions in trap messages, is
// kept (no function's index changes).
func Instrument(wasm []byte) ([]byte, error) {
	if len(wasm) < len(magic) || !bytes.Equal(wasm[:4], magic[:4]) {
		return nil, errors.New("not a WebAssembly module")
	}
	if !bytes.Equal(wasm[4:8], magic[4:]) {
		return nil, fmt.Errorf("unsupported WebAssembly binary version % x", wasm[4:8])
	}
	secs, err := sections(wasm)
	if err != nil {
		return nil, err
	}
	var global uint32 // imported globals, then defined ones: ours is the next
	var start *section
	var startFunc uint32
	for i := range secs {
		s := &secs[i]
		r := &reader{b: s.payload, off: s.off}
		var n uint32
		switch s.id {
		case secImport:
			n, err = importedGlobals(r)
		case secGlobal:
			n, err = r.u32()
		case secExport:
			err = checkExports(r)
		case secStart:
			start = s
			if startFunc, err = r.u32(); err == nil && !r.done() {
				err = r.errorf("start section: trailing bytes")
			}
		}
		if err != nil {
			return nil, err
		}
		global += n
	}
	added := uint32(1) // exports
	if start != nil {
		added++
	}
	newGlobals := func(n uint32, rest []byte) []byte {
		// i32, mutable, initialised to 0.
		return append(append(appendU32(nil, n), rest...), 0x7f, 0x01, 0x41, 0x00, opEnd)
	}
	newExports := func(n uint32, rest []byte) []byte {
		b := append(appendU32(nil, n), rest...)
		b = appendU32(append(appendName(b, GlobalExport), 0x03), global)
		if start != nil {
			b = appendU32(append(appendName(b, StartExport), 0x00), startFunc)
		}
		return b
	}
	out := make([]byte, 0, len(wasm)+len(wasm)/8+64)
	out = append(out, magic...)
	add := func(id byte, payload []byte) {
		out = append(out, id)
		out = appendU32(out, uint32(len(payload)))
		out = append(out, payload...)
	}
	var haveGlobal, haveExport bool
	for _, s := range secs {
		// A section the module lacks goes before the first that follows it.
		if s.id != secCustom && !haveGlobal && order[s.id] > order[secGlobal] {
			add(secGlobal, newGlobals(1, nil))
			haveGlobal = true
		}
		if s.id != secCustom && !haveExport && order[s.id] > order[secExport] {
			add(secExport, newExports(added, nil))
			haveExport = true
		}
		switch s.id {
		case secCustom:
			if name, _ := (&reader{b: s.payload}).name(); strings.HasPrefix(name, ".debug_") || name == VersionSection {
				continue
			}
			add(s.id, s.payload)
		case secGlobal:
			r := &reader{b: s.payload}
			n, _ := r.u32() // read above
			add(s.id, newGlobals(n+1, s.payload[r.pos:]))
			haveGlobal = true
		case secExport:
			r := &reader{b: s.payload}
			n, _ := r.u32() // read above
			add(s.id, newExports(n+added, s.payload[r.pos:]))
			haveExport = true
		case secStart:
			// Exported as StartExport instead.
		case secCode:
			code, err := instrumentCode(s, global)
			if err != nil {
				return nil, err
			}
			add(s.id, code)
		default:
			add(s.id, s.payload)
		}
	}
	if !haveGlobal {
		add(secGlobal, newGlobals(1, nil))
	}
	if !haveExport {
		add(secExport, newExports(added, nil))
	}
	add(secCustom, append(appendName(nil, VersionSection), Version))
	return out, nil
}

// sections splits a module into its sections.
func sections(wasm []byte) ([]section, error) {
	r := &reader{b: wasm, pos: len(magic)}
	var secs []section
	for !r.done() {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		if id != secCustom && order[id] == 0 {
			return nil, r.errorf("unknown section id %d", id)
		}
		size, err := r.u32()
		if err != nil {
			return nil, err
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

// importedGlobals counts the globals an import section imports.
func importedGlobals(r *reader) (uint32, error) {
	n, err := r.count(3)
	if err != nil {
		return 0, err
	}
	var globals uint32
	for range n {
		if _, err := r.name(); err != nil {
			return 0, err
		}
		if _, err := r.name(); err != nil {
			return 0, err
		}
		kind, err := r.byte()
		if err != nil {
			return 0, err
		}
		switch kind {
		case 0x00: // function: type index
			_, err = r.u32()
		case 0x01: // table: reference type, limits
			if err = heapType(r); err == nil {
				err = limits(r)
			}
		case 0x02: // memory
			err = limits(r)
		case 0x03: // global: value type, mutability
			globals++
			if err = valType(r); err == nil {
				_, err = r.byte()
			}
		case 0x04: // tag: attribute, type index
			if _, err = r.byte(); err == nil {
				_, err = r.u32()
			}
		default:
			return 0, r.errorf("unknown import kind 0x%02x", kind)
		}
		if err != nil {
			return 0, err
		}
	}
	return globals, nil
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

// instrumentCode returns the code section's payload with every function
// body instrumented.
func instrumentCode(s section, global uint32) ([]byte, error) {
	r := &reader{b: s.payload, off: s.off}
	n, err := r.count(2)
	if err != nil {
		return nil, err
	}
	out := appendU32(make([]byte, 0, len(s.payload)+len(s.payload)/8), n)
	for i := range n {
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		off := r.pos
		body, err := r.bytes(uint64(size))
		if err != nil {
			return nil, err
		}
		nb, _, err := instrumentBody(body, s.off+off, global)
		if err != nil {
			return nil, fmt.Errorf("function body %d: %w", i, err)
		}
		out = appendU32(out, uint32(len(nb)))
		out = append(out, nb...)
	}
	if !r.done() {
		return nil, r.errorf("code section: trailing bytes")
	}
	return out, nil
}
