package interrupt

// A few helpers to write modules byte by byte in tests.

func u32(v uint32) []byte { return appendU32(nil, v) }

func str(s string) []byte { return appendName(nil, s) }

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// vec is a vector: its length, then its items.
func vec(items ...[]byte) []byte { return cat(u32(uint32(len(items))), cat(items...)) }

func sec(id byte, payload ...[]byte) []byte {
	p := cat(payload...)
	return cat([]byte{id}, u32(uint32(len(p))), p)
}

func newModule(secs ...[]byte) []byte { return cat(magic, cat(secs...)) }

// body is a function body without locals: code then end.
func body(code ...byte) []byte { return bodyLocals(u32(0), code...) }

// bodyLocals is a function body with locals (a vector of groups).
func bodyLocals(locals []byte, code ...byte) []byte {
	b := cat(locals, code, []byte{opEnd})
	return cat(u32(uint32(len(b))), b)
}

// functype (params) -> (results).
func functype(params, results []byte) []byte {
	return cat([]byte{0x60}, u32(uint32(len(params))), params, u32(uint32(len(results))), results)
}

const (
	i32 = 0x7f
	i64 = 0x7e
)

func export(name string, kind byte, idx uint32) []byte { return cat(str(name), []byte{kind}, u32(idx)) }
