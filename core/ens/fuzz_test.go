package ens

import "testing"

// Whatever a resolver answers, decoding a string never panics.
func FuzzDecodeString(f *testing.F) {
	f.Add([]byte{})
	w := make([]byte, 96)
	w[31] = 32
	w[63] = 5
	copy(w[64:], "a.eth")
	f.Add(w)
	over := append([]byte(nil), w...)
	for i := 56; i < 64; i++ {
		over[i] = 0xff
	}
	f.Add(over)
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, ok := decodeString(b); ok && len(s) > len(b) {
			t.Fatalf("decodeString = %q from %d bytes", s, len(b))
		}
	})
}
