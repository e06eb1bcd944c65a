package interrupt

import "fmt"

// The immediates an instruction carries after its opcode.
type imm uint8

const (
	immBad      imm = iota // not an opcode the platform's runtime accepts
	immNone                // nothing
	immBlock               // a block type
	immIdx                 // one index (u32)
	immIdx2                // two indices
	immBrTable             // vec(label) label
	immMemarg              // align, offset
	immI32                 // s32
	immI64                 // s64
	immF32                 // 4 bytes
	immF64                 // 8 bytes
	immSelect              // vec(valtype)
	immTryTable            // block type, vec(catch)
	immRefNull             // heap type
	immLegacyEH            // legacy exception handling: refused, as by wazero
	immPrefixFC            // saturating truncation, bulk memory, tables
	immPrefixFD            // SIMD
	immPrefixFE            // threads
)

const (
	opLoop       = 0x03
	opIf         = 0x04
	opEnd        = 0x0b
	opCall       = 0x10
	opReturnCall = 0x12
	opGlobalGet  = 0x23
	opGlobalSet  = 0x24
	opI32Const   = 0x41
	opI32LeS     = 0x4c
	opI32Sub     = 0x6b
	opRefFunc    = 0xd2
	blockEmpty   = 0x40
)

// ops gives each one-byte opcode its immediates: the MVP, sign extension,
// reference types, tail calls, typed function references and exception
// handling (try_table, throw, throw_ref), with 0xFC, 0xFD and 0xFE prefixing
// the rest.
var ops = func() (t [256]imm) {
	set := func(from, to int, k imm) {
		for op := from; op <= to; op++ {
			t[op] = k
		}
	}
	set(0x00, 0x01, immNone)     // unreachable, nop
	set(0x02, 0x04, immBlock)    // block, loop, if
	set(0x05, 0x05, immNone)     // else
	set(0x06, 0x07, immLegacyEH) // try, catch
	set(0x08, 0x08, immIdx)      // throw tag
	set(0x09, 0x09, immLegacyEH) // rethrow
	set(0x0a, 0x0b, immNone)     // throw_ref, end
	set(0x0c, 0x0d, immIdx)      // br, br_if
	set(0x0e, 0x0e, immBrTable)  // br_table
	set(0x0f, 0x0f, immNone)     // return
	set(0x10, 0x10, immIdx)      // call
	set(0x11, 0x11, immIdx2)     // call_indirect type table
	set(0x12, 0x12, immIdx)      // return_call
	set(0x13, 0x13, immIdx2)     // return_call_indirect
	set(0x14, 0x15, immIdx)      // call_ref, return_call_ref (type index)
	set(0x18, 0x19, immLegacyEH) // delegate, catch_all
	set(0x1a, 0x1b, immNone)     // drop, select
	set(0x1c, 0x1c, immSelect)   // select t*
	set(0x1f, 0x1f, immTryTable)
	set(0x20, 0x26, immIdx)    // local.get/set/tee, global.get/set, table.get/set
	set(0x28, 0x3e, immMemarg) // loads and stores
	set(0x3f, 0x40, immIdx)    // memory.size, memory.grow (memory index)
	set(0x41, 0x41, immI32)
	set(0x42, 0x42, immI64)
	set(0x43, 0x43, immF32)
	set(0x44, 0x44, immF64)
	set(0x45, 0xc4, immNone) // numeric, sign extension
	set(0xd0, 0xd0, immRefNull)
	set(0xd1, 0xd1, immNone) // ref.is_null
	set(0xd2, 0xd2, immIdx)  // ref.func
	set(0xd4, 0xd4, immNone) // ref.as_non_null
	set(0xd5, 0xd6, immIdx)  // br_on_null, br_on_non_null
	t[0xfc], t[0xfd], t[0xfe] = immPrefixFC, immPrefixFD, immPrefixFE
	return t
}()

// simdNone are the SIMD opcodes (after 0xFD) from 0x5E on that exist and
// carry no immediate; below 0x5E the immediates are decided by range.
var simdNone = func() (t [256]bool) {
	for op := 0x5e; op <= 0xff; op++ {
		t[op] = true
	}
	for _, op := range []int{0x9a, 0xa2, 0xa5, 0xa6, 0xaf, 0xb0, 0xb2, 0xb3, 0xb4, 0xbb,
		0xc2, 0xc5, 0xc6, 0xcf, 0xd0, 0xd2, 0xd3, 0xd4, 0xe2, 0xee} {
		t[op] = false // unassigned
	}
	return t
}()

// instr skips one instruction, returning its opcode (for a prefixed one, the
// prefix). After a loop, r is just past its block type.
func instr(r *reader) (byte, error) {
	start := r.pos
	op, err := r.byte()
	if err != nil {
		return 0, err
	}
	switch ops[op] {
	case immNone:
	case immBlock:
		err = blockType(r)
	case immIdx:
		_, err = r.u32()
	case immIdx2:
		if _, err = r.u32(); err == nil {
			_, err = r.u32()
		}
	case immBrTable:
		var n uint32
		if n, err = r.count(1); err != nil {
			return 0, err
		}
		for i := uint32(0); i <= n && err == nil; i++ { // n labels and the default
			_, err = r.u32()
		}
	case immMemarg:
		err = memarg(r)
	case immI32:
		_, err = r.sleb(32)
	case immI64:
		_, err = r.sleb(64)
	case immF32:
		_, err = r.bytes(4)
	case immF64:
		_, err = r.bytes(8)
	case immSelect:
		var n uint32
		if n, err = r.count(1); err != nil {
			return 0, err
		}
		for i := uint32(0); i < n && err == nil; i++ {
			err = valType(r)
		}
	case immTryTable:
		err = tryTable(r)
	case immRefNull:
		err = heapType(r)
	case immPrefixFC:
		err = prefixFC(r)
	case immPrefixFD:
		err = prefixFD(r)
	case immPrefixFE:
		err = prefixFE(r)
	case immLegacyEH:
		r.pos = start
		return 0, r.errorf("legacy exception handling instruction 0x%02x is not supported (translate it to try_table)", op)
	default:
		r.pos = start
		return 0, r.errorf("unknown opcode 0x%02x", op)
	}
	return op, err
}

// blockType skips a block type: empty, a value type, or a type index (s33).
func blockType(r *reader) error {
	if c, err := r.byte(); err != nil {
		return err
	} else if c == refNull || c == ref {
		return heapType(r)
	}
	r.pos--
	start := r.pos
	v, err := r.sleb(33)
	if err != nil {
		return err
	}
	if v >= 0 {
		return nil // a type index
	}
	if r.pos-start == 1 && (r.b[start] == blockEmpty || isValType(r.b[start])) {
		return nil
	}
	r.pos = start
	return r.errorf("unsupported block type 0x%02x", r.b[start])
}

// Typed references (the function references proposal): 0x63 or 0x64, then
// a heap type.
const (
	refNull = 0x63
	ref     = 0x64
)

// isValType: the one-byte value types (numbers, v128, funcref, externref,
// exnref).
func isValType(c byte) bool {
	switch c {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f, 0x69:
		return true
	}
	return false
}

func valType(r *reader) error {
	c, err := r.byte()
	if err != nil {
		return err
	}
	if c == refNull || c == ref {
		return heapType(r)
	}
	if !isValType(c) {
		r.pos--
		return r.errorf("unsupported value type 0x%02x", c)
	}
	return nil
}

// heapType skips a heap type: func, extern or exn, or a type index (s33).
func heapType(r *reader) error {
	start := r.pos
	v, err := r.sleb(33)
	if err != nil {
		return err
	}
	if v >= 0 || r.pos-start == 1 && (v == -0x10 || v == -0x11 || v == -0x17) { // 0x70, 0x6f, 0x69
		return nil
	}
	r.pos = start
	return r.errorf("unsupported heap type 0x%02x", r.b[start])
}

// memarg skips an alignment (whose bit 6 announces a memory index, as in
// multi-memory) and an offset (64-bit for memory64).
func memarg(r *reader) error {
	align, err := r.u32()
	if err != nil {
		return err
	}
	if align&0x40 != 0 {
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	_, err = r.uleb(64)
	return err
}

// tryTable skips a block type and a vector of catch clauses.
func tryTable(r *reader) error {
	if err := blockType(r); err != nil {
		return err
	}
	n, err := r.count(2)
	if err != nil {
		return err
	}
	for range n {
		kind, err := r.byte()
		if err != nil {
			return err
		}
		switch kind {
		case 0x00, 0x01: // catch, catch_ref: tag, label
			if _, err := r.u32(); err != nil {
				return err
			}
		case 0x02, 0x03: // catch_all, catch_all_ref: label
		default:
			r.pos--
			return r.errorf("unknown catch clause 0x%02x", kind)
		}
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	return nil
}

// prefixFC: saturating truncation, bulk memory and table instructions.
func prefixFC(r *reader) error {
	start := r.pos
	sub, err := r.u32()
	if err != nil {
		return err
	}
	var idx int
	switch sub {
	case 0, 1, 2, 3, 4, 5, 6, 7: // trunc_sat
	case 9, 11, 13, 15, 16, 17: // data.drop, memory.fill, elem.drop, table.grow/size/fill
		idx = 1
	case 8, 10, 12, 14: // memory.init, memory.copy, table.init, table.copy
		idx = 2
	default:
		r.pos = start
		return r.errorf("unknown instruction 0xfc %d", sub)
	}
	for range idx {
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	return nil
}

// prefixFD: SIMD.
func prefixFD(r *reader) error {
	start := r.pos
	sub, err := r.u32()
	if err != nil {
		return err
	}
	switch {
	case sub <= 0x0b, sub == 0x5c, sub == 0x5d: // loads, store, load_zero
		return memarg(r)
	case sub == 0x0c, sub == 0x0d: // v128.const, i8x16.shuffle
		_, err = r.bytes(16)
	case sub <= 0x14: // swizzle, splats
	case sub <= 0x22: // extract_lane, replace_lane
		_, err = r.byte()
	case sub <= 0x53:
	case sub <= 0x5b: // load_lane, store_lane
		if err = memarg(r); err == nil {
			_, err = r.byte()
		}
	case sub <= 0xff && simdNone[sub]:
	default:
		r.pos = start
		return r.errorf("unknown instruction 0xfd %d", sub)
	}
	return err
}

// prefixFE: threads (atomics).
func prefixFE(r *reader) error {
	start := r.pos
	sub, err := r.u32()
	if err != nil {
		return err
	}
	switch {
	case sub <= 0x02 || 0x10 <= sub && sub <= 0x4e: // notify, wait, loads, stores, rmw
		return memarg(r)
	case sub == 0x03: // atomic.fence
		_, err = r.byte()
		return err
	}
	r.pos = start
	return r.errorf("unknown instruction 0xfe %d", sub)
}

// MaxLocals bounds the locals a function may declare, as browsers' engines
// do: wazero allocates room for all of them before it reads their types, so
// that a few bytes declaring 2^32 locals would make it allocate 4 GB.
const MaxLocals = 50_000

// checkCalls puts the check at the entry of every function too, so that a
// tree of calls without loops (each function calling the next twice, 60
// deep) cannot run long without calling out either: such a tree never
// reaches a loop head, and would hold up the garbage collector as long as
// it ran. Benchmarks turn it off to measure loop heads alone.
var checkCalls = true

// appendCheck is (*module).appendCheck; benchmarks measure others.
var appendCheck = (*module).appendCheck

// appendCheck appends the check of the budget: decrement it and, once it is
// no longer positive, call the host function and set it back to Budget. It
// leaves the operand stack as it found it.
func (m *module) appendCheck(b []byte) []byte {
	budget := appendU32(nil, m.globals)
	b = append(append(b, opGlobalGet), budget...)
	b = append(b, opI32Const, 0x01, opI32Sub, opGlobalSet)
	b = append(append(b, budget...), opGlobalGet)
	b = append(append(b, budget...), opI32Const, 0x00, opI32LeS, opIf, blockEmpty, opCall)
	b = append(appendU32(b, m.funcImports), opI32Const)
	b = append(appendS32(b, Budget), opGlobalSet)
	return append(append(b, budget...), opEnd)
}

// instrumentBody appends to out the function body in r (one entry of the
// code section, without its size) with the check at its entry and at the
// head of every loop, and the functions' new indices.
func (m *module) instrumentBody(out []byte, r *reader) ([]byte, error) {
	groups, err := r.count(2)
	if err != nil {
		return nil, fmt.Errorf("locals: %w", err)
	}
	for range groups { // their total checked by precheck
		if _, err := r.u32(); err != nil {
			return nil, fmt.Errorf("locals: %w", err)
		}
		if err := valType(r); err != nil {
			return nil, fmt.Errorf("locals: %w", err)
		}
	}
	out = append(out, r.b[:r.pos]...)
	if checkCalls {
		out = appendCheck(m, out)
	}
	for !r.done() {
		start := r.pos
		op, err := instr(r)
		if err != nil {
			return nil, err
		}
		out = m.remapped(out, r, start, op)
		if op == opLoop {
			out = appendCheck(m, out)
		}
	}
	return out, nil
}
