package eas

import "testing"

// Whatever a node answers, decoding gives an attestation or ErrMalformed,
// never a panic.
func FuzzDecodeAttestation(f *testing.F) {
	f.Add([]byte{})
	good := make([]byte, 32+11*32+32)
	good[31] = 32
	good[32+9*32+30], good[32+9*32+31] = 0x01, 0x40 // data at 10 words into the tuple
	f.Add(good)
	huge := append([]byte(nil), good...)
	for i := 32 + 10*32; i < 32+10*32+32; i++ {
		huge[i] = 0
	}
	for i := 32 + 10*32 + 24; i < 32+10*32+32; i++ {
		huge[i] = 0xff
	}
	f.Add(huge)
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := decodeAttestation(b)
		if (a == nil) == (err == nil) {
			t.Fatalf("decodeAttestation = %v, %v", a, err)
		}
	})
}
