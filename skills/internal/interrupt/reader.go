package interrupt

import (
	"errors"
	"fmt"
)

// reader decodes the primitives of the WebAssembly binary format from b.
// Every method fails, never panics, on truncated or malformed input.
type reader struct {
	b   []byte
	pos int
	off int // of b within the module, for error messages
}

var errEnd = errors.New("unexpected end")

// errFraming: a module whose sections cannot be told apart, one that runs
// past the module's end, or a count or size larger than what follows. No
// valid module has one; refusing it early also spares wazero, which
// allocates room for what a count announces before it reads it.
var errFraming = errors.New("malformed section")

// errLimit: a module past one of the platform's limits (MaxLocals).
var errLimit = errors.New("over the platform's limit")

func (r *reader) errorf(format string, args ...any) error {
	return fmt.Errorf("at byte %d: "+format, append([]any{r.off + r.pos}, args...)...)
}

func (r *reader) done() bool { return r.pos >= len(r.b) }

func (r *reader) byte() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, r.errorf("%v", errEnd)
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

func (r *reader) bytes(n uint64) ([]byte, error) {
	if n > uint64(len(r.b)-r.pos) {
		return nil, r.errorf("%v: %d bytes wanted, %d left", errEnd, n, len(r.b)-r.pos)
	}
	p := r.b[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return p, nil
}

// uleb reads an unsigned LEB128 number of at most bits bits.
func (r *reader) uleb(bits uint) (uint64, error) {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		if shift >= bits {
			return 0, r.errorf("integer too long")
		}
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			if shift+7 > bits && c>>(bits-shift) != 0 {
				return 0, r.errorf("integer too large")
			}
			return v, nil
		}
	}
}

func (r *reader) u32() (uint32, error) {
	v, err := r.uleb(32)
	return uint32(v), err
}

// sleb reads a signed LEB128 number of at most bits bits. Its value is only
// needed for block types; elsewhere it is skipped.
func (r *reader) sleb(bits uint) (int64, error) {
	var v int64
	for shift := uint(0); ; shift += 7 {
		if shift >= bits {
			return 0, r.errorf("integer too long")
		}
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= int64(c&0x7f) << shift
		if c&0x80 == 0 {
			if shift+7 < 64 && c&0x40 != 0 {
				v |= -1 << (shift + 7)
			}
			return v, nil
		}
	}
}

// name reads a length-prefixed name.
func (r *reader) name() (string, error) {
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	b, err := r.bytes(uint64(n))
	return string(b), err
}

// count reads a vector's length, refusing one that cannot fit in what is
// left (each element takes at least min bytes), so that no caller allocates
// or loops on a forged count.
func (r *reader) count(min int) (uint32, error) {
	n, err := r.u32()
	if err != nil {
		return 0, err
	}
	if uint64(n)*uint64(min) > uint64(len(r.b)-r.pos) {
		return 0, r.errorf("count %d larger than what follows", n)
	}
	return n, nil
}

func appendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendS32(b []byte, v int32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 && c&0x40 == 0 || v == -1 && c&0x40 != 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendName(b []byte, s string) []byte {
	return append(appendU32(b, uint32(len(s))), s...)
}
