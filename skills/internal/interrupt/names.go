package interrupt

import "strconv"

// names re-encodes the name section's payload (nil: the module has none)
// with the functions' new indices (function, local and label names are by
// function), and names every function the module defines that it does not
// name "$i", i its index as published: the name wazero would give it, so
// that trap messages read the same as without instrumenting. False if the
// section is malformed: it is then replaced.
func (m *module) names(payload []byte) ([]byte, bool) {
	r := &reader{b: payload}
	if payload == nil {
		r.b = appendName(nil, "name")
	}
	if _, err := r.name(); err != nil {
		return nil, false
	}
	out := append(make([]byte, 0, len(payload)+16), r.b[:r.pos]...)
	functions := false
	for !r.done() {
		id, err := r.byte()
		if err != nil {
			return nil, false
		}
		size, err := r.u32()
		if err != nil {
			return nil, false
		}
		sub, err := r.bytes(uint64(size))
		if err != nil {
			return nil, false
		}
		if id >= 1 && !functions {
			functions = true
			if id > 1 {
				out, _ = m.functionNames(out, nil)
			}
		}
		switch {
		case id == 1:
			if out, err = m.functionNames(out, sub); err != nil {
				return nil, false
			}
			continue
		case id == 2 || id == 3: // local and label names, by function
			if sub, err = m.byFunction(sub); err != nil {
				return nil, false
			}
		}
		out = appendU32(append(out, id), uint32(len(sub)))
		out = append(out, sub...)
	}
	if !functions {
		out, _ = m.functionNames(out, nil)
	}
	return out, true
}

// functionNames appends the function names subsection: the names of sub (a
// name map, nil: none), and "$i" for the functions defined without one.
func (m *module) functionNames(out []byte, sub []byte) ([]byte, error) {
	s := &reader{b: sub}
	n := uint32(0)
	if sub != nil {
		var err error
		if n, err = s.count(2); err != nil {
			return nil, err
		}
	}
	total := m.funcImports + m.defined
	var p []byte
	entries := uint32(0)
	next := m.funcImports // the next defined function without a name
	fill := func(upTo uint32) {
		for ; next < upTo && next < total; next++ {
			p = appendName(appendU32(p, next+1), "$"+strconv.FormatUint(uint64(next), 10))
			entries++
		}
	}
	for range n {
		f, err := s.u32()
		if err != nil {
			return nil, err
		}
		name, err := s.name()
		if err != nil {
			return nil, err
		}
		fill(f)
		if f >= next {
			next = f + 1
		}
		p = appendName(appendU32(p, m.funcIndex(f)), name)
		entries++
	}
	if !s.done() {
		return nil, s.errorf("trailing bytes")
	}
	fill(total)
	p = append(appendU32(nil, entries), p...)
	return append(appendU32(append(out, 1), uint32(len(p))), p...), nil
}

// byFunction re-encodes an indirect name map (local or label names) with
// the functions' new indices.
func (m *module) byFunction(sub []byte) ([]byte, error) {
	s := &reader{b: sub}
	n, err := s.count(2)
	if err != nil {
		return nil, err
	}
	p := appendU32(nil, n)
	for range n {
		f, err := s.u32()
		if err != nil {
			return nil, err
		}
		p = appendU32(p, m.funcIndex(f))
		start := s.pos
		if err := skipNameMap(s); err != nil {
			return nil, err
		}
		p = append(p, sub[start:s.pos]...)
	}
	if !s.done() {
		return nil, s.errorf("trailing bytes")
	}
	return p, nil
}

func skipNameMap(r *reader) error {
	n, err := r.count(2)
	if err != nil {
		return err
	}
	for range n {
		if _, err := r.u32(); err != nil {
			return err
		}
		if _, err := r.name(); err != nil {
			return err
		}
	}
	return nil
}
