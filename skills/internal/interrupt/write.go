package interrupt

import (
	"fmt"
	"strings"
)

// write writes the instrumented module.
func (m *module) write() ([]byte, error) {
	size := 0
	for _, s := range m.secs {
		size += len(s.payload) + 6
	}
	w := &writer{out: make([]byte, 0, size+size/8+256), m: m, done: map[byte]bool{}}
	w.out = append(w.out, magic...)
	for _, s := range m.secs {
		if err := w.section(s); err != nil {
			return nil, err
		}
	}
	w.missing(0xff)
	if !m.named {
		p, _ := m.names(nil)
		w.add(secCustom, p)
	}
	w.add(secCustom, append(appendName(nil, VersionSection), Version))
	return w.out, nil
}

type writer struct {
	out  []byte
	m    *module
	done map[byte]bool // sections written that Instrument adds to
}

func (w *writer) add(id byte, payload []byte) {
	w.out = append(w.out, id)
	w.out = appendU32(w.out, uint32(len(payload)))
	w.out = append(w.out, payload...)
}

// The entries Instrument adds.
var hostFuncType = []byte{0x60, 0x00, 0x00} // () -> ()

func (w *writer) hostImport() []byte {
	b := appendName(appendName(nil, ImportModule), ImportName)
	return appendU32(append(b, 0x00), w.m.types)
}

func (w *writer) budgetGlobal() []byte {
	b := []byte{0x7f, 0x01, 0x41} // mutable i32, i32.const
	return append(appendS32(b, Budget), opEnd)
}

func (w *writer) exports() []byte {
	b := appendU32(append(appendName(nil, GlobalExport), 0x03), w.m.globals)
	if w.m.start != nil {
		b = appendU32(append(appendName(b, StartExport), 0x00), w.m.funcIndex(*w.m.start))
	}
	return b
}

func (w *writer) addedExports() uint32 {
	if w.m.start != nil {
		return 2
	}
	return 1
}

// missing writes the sections Instrument adds to that the module lacks and
// that stand before section id.
func (w *writer) missing(id byte) {
	next := order[id]
	if id == 0xff {
		next = 100
	}
	for _, s := range []struct {
		id      byte
		payload func() []byte
	}{
		{secType, func() []byte { return append(appendU32(nil, 1), hostFuncType...) }},
		{secImport, func() []byte { return append(appendU32(nil, 1), w.hostImport()...) }},
		{secGlobal, func() []byte { return append(appendU32(nil, 1), w.budgetGlobal()...) }},
		{secExport, func() []byte { return append(appendU32(nil, w.addedExports()), w.exports()...) }},
	} {
		if !w.done[s.id] && order[s.id] < next {
			w.add(s.id, s.payload())
			w.done[s.id] = true
		}
	}
}

func (w *writer) section(s section) error {
	if s.id != secCustom {
		w.missing(s.id)
	}
	r := &reader{b: s.payload, off: s.off}
	n, _ := r.u32() // the count of a vector, read before (none for start and custom)
	switch s.id {
	case secCustom:
		name, err := (&reader{b: s.payload}).name()
		switch {
		case err != nil, strings.HasPrefix(name, ".debug_"), name == VersionSection:
			// Dropped (wazero would ignore a malformed one).
		case name == "name" && !w.m.named:
			p, ok := w.m.names(s.payload)
			if !ok {
				p, _ = w.m.names(nil)
			}
			w.add(s.id, p)
			w.m.named = true
		default:
			w.add(s.id, s.payload)
		}
	case secType:
		w.add(s.id, append(append(appendU32(nil, n+1), s.payload[r.pos:]...), hostFuncType...))
	case secImport:
		w.add(s.id, append(append(appendU32(nil, n+1), s.payload[r.pos:]...), w.hostImport()...))
	case secGlobal:
		p, err := w.m.globalSection(r, n)
		if err != nil {
			return err
		}
		w.add(s.id, append(p, w.budgetGlobal()...))
	case secExport:
		p, err := w.m.exportSection(r, n+w.addedExports())
		if err != nil {
			return err
		}
		w.add(s.id, append(p, w.exports()...))
	case secStart:
		// Exported as StartExport instead.
		return nil
	case secElement:
		p, err := w.m.elementSection(r, n)
		if err != nil {
			return err
		}
		w.add(s.id, p)
	case secCode:
		p, err := w.m.codeSection(r, n)
		if err != nil {
			return err
		}
		w.add(s.id, p)
	default:
		w.add(s.id, s.payload)
	}
	if s.id != secCustom {
		w.done[s.id] = true
	}
	return nil
}

// funcIndex is where a function of the module stands once the host function
// is imported after the module's own imports.
func (m *module) funcIndex(i uint32) uint32 {
	if i >= m.funcImports {
		return i + 1
	}
	return i
}

// globalSection re-encodes the n globals that follow in r, whose initial
// values may name functions (ref.func), then the count n+1.
func (m *module) globalSection(r *reader, n uint32) ([]byte, error) {
	out := appendU32(make([]byte, 0, len(r.b)+16), n+1)
	for i := range n {
		start := r.pos
		if err := valType(r); err != nil {
			return nil, fmt.Errorf("global %d: %w", i, err)
		}
		if _, err := r.byte(); err != nil {
			return nil, err
		}
		out = append(out, r.b[start:r.pos]...)
		var err error
		if out, err = m.constExpr(r, out); err != nil {
			return nil, fmt.Errorf("global %d: %w", i, err)
		}
	}
	if !r.done() {
		return nil, r.errorf("global section: trailing bytes")
	}
	return out, nil
}

// exportSection re-encodes the exports that follow in r, under the count
// total, with the functions' new indices.
func (m *module) exportSection(r *reader, total uint32) ([]byte, error) {
	out := appendU32(make([]byte, 0, len(r.b)+64), total)
	for !r.done() {
		start := r.pos
		if _, err := r.name(); err != nil {
			return nil, err
		}
		kind, err := r.byte()
		if err != nil {
			return nil, err
		}
		at := r.pos
		idx, err := r.u32()
		if err != nil {
			return nil, err
		}
		out = append(out, r.b[start:at]...)
		if kind == 0x00 {
			idx = m.funcIndex(idx)
		}
		out = appendU32(out, idx)
	}
	return out, nil
}

// elementSection re-encodes the n element segments that follow in r, with
// the functions' new indices.
func (m *module) elementSection(r *reader, n uint32) ([]byte, error) {
	out := appendU32(make([]byte, 0, len(r.b)+len(r.b)/16), n)
	for i := range n {
		flags, err := r.u32()
		if err != nil {
			return nil, err
		}
		if flags > 7 {
			return nil, r.errorf("element segment %d: unknown flags %d", i, flags)
		}
		out = appendU32(out, flags)
		if flags&0x03 == 0x02 { // a table index
			t, err := r.u32()
			if err != nil {
				return nil, err
			}
			out = appendU32(out, t)
		}
		if flags&0x01 == 0 { // active: an offset
			if out, err = m.constExpr(r, out); err != nil {
				return nil, fmt.Errorf("element segment %d: %w", i, err)
			}
		}
		if flags&0x03 != 0 { // an element kind or a reference type
			c, err := r.byte()
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		count, err := r.count(1)
		if err != nil {
			return nil, err
		}
		out = appendU32(out, count)
		for range count {
			if flags&0x04 != 0 { // expressions
				if out, err = m.constExpr(r, out); err != nil {
					return nil, fmt.Errorf("element segment %d: %w", i, err)
				}
				continue
			}
			f, err := r.u32()
			if err != nil {
				return nil, err
			}
			out = appendU32(out, m.funcIndex(f))
		}
	}
	if !r.done() {
		return nil, r.errorf("element section: trailing bytes")
	}
	return out, nil
}

// constExpr appends to out the constant expression that follows in r, up to
// its end, with the functions' new indices.
func (m *module) constExpr(r *reader, out []byte) ([]byte, error) {
	for {
		start := r.pos
		op, err := instr(r)
		if err != nil {
			return nil, err
		}
		out = m.remapped(out, r, start, op)
		if op == opEnd {
			return out, nil
		}
	}
}

// remapped appends the instruction r.b[start:r.pos] of opcode op to out,
// with the function index it names (if any) moved.
func (m *module) remapped(out []byte, r *reader, start int, op byte) []byte {
	switch op {
	case opCall, opReturnCall, opRefFunc:
		f, _ := (&reader{b: r.b, pos: start + 1}).u32() // read by instr
		return appendU32(append(out, op), m.funcIndex(f))
	}
	return append(out, r.b[start:r.pos]...)
}

// codeSection re-encodes the n function bodies that follow in r.
func (m *module) codeSection(r *reader, n uint32) ([]byte, error) {
	out := appendU32(make([]byte, 0, len(r.b)+len(r.b)/4), n)
	var body []byte
	for i := range n {
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		off := r.pos
		b, err := r.bytes(uint64(size))
		if err != nil {
			return nil, err
		}
		if body, err = m.instrumentBody(body[:0], &reader{b: b, off: r.off + off}); err != nil {
			return nil, fmt.Errorf("function body %d: %w", i, err)
		}
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	if !r.done() {
		return nil, r.errorf("code section: trailing bytes")
	}
	return out, nil
}
