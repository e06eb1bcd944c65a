package secrets_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/agentbot/gateway/core/secrets"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func mustBox(t *testing.T, k []byte) *secrets.Box {
	t.Helper()
	b, err := secrets.New(k)
	if err != nil {
		t.Fatalf("New(%d-byte key) = %v", len(k), err)
	}
	return b
}

func TestNewKeyLength(t *testing.T) {
	tests := []struct {
		n       int
		wantErr bool
	}{
		{0, true},
		{16, true}, // AES-128 is a valid AES key but not what the box uses
		{24, true},
		{31, true},
		{32, false},
		{33, true},
		{64, true},
	}
	for _, tc := range tests {
		b, err := secrets.New(make([]byte, tc.n))
		if (err != nil) != tc.wantErr || (err == nil) != (b != nil) {
			t.Errorf("New(%d-byte key) = %v, %v; want error %v", tc.n, b, err, tc.wantErr)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	box := mustBox(t, key(7))
	tests := []struct {
		plaintext []byte
		context   string
	}{
		{[]byte("sk-live-abcdef"), "byok|usr_1|openai"},
		{[]byte{}, "byok|usr_1|openai"},
		{nil, ""},
		{bytes.Repeat([]byte{0, 0xff}, 4096), "wallet|usr_2"},
		{[]byte("x"), ""},
	}
	for _, tc := range tests {
		sealed := box.Seal(tc.plaintext, tc.context)
		// Only a plaintext long enough not to turn up in random bytes by chance.
		if len(tc.plaintext) >= 8 && bytes.Contains(sealed, tc.plaintext) {
			t.Errorf("Seal(%q, %q) = %x; contains the plaintext", tc.plaintext, tc.context, sealed)
		}
		got, err := box.Open(sealed, tc.context)
		if err != nil || !bytes.Equal(got, tc.plaintext) {
			t.Errorf("Open(Seal(%q, %q)) = %q, %v; want %q, nil", tc.plaintext, tc.context, got, err, tc.plaintext)
		}
	}
}

func TestSealUsesAFreshNonce(t *testing.T) {
	box := mustBox(t, key(7))
	seen := map[string]bool{}
	for range 100 {
		s := string(box.Seal([]byte("same"), "ctx"))
		if seen[s] {
			t.Fatalf("Seal(%q, %q) = %x twice; want a different value each time", "same", "ctx", s)
		}
		seen[s] = true
	}
}

func TestOpenRefuses(t *testing.T) {
	box := mustBox(t, key(7))
	other := mustBox(t, key(8))
	const ctx = "byok|usr_1|openai"
	sealed := box.Seal([]byte("sk-live-abcdef"), ctx)

	flip := func(i int) []byte {
		c := bytes.Clone(sealed)
		c[i] ^= 0x01
		return c
	}
	tests := []struct {
		name    string
		box     *secrets.Box
		sealed  []byte
		context string
	}{
		{"wrong context", box, sealed, "byok|usr_2|openai"},
		{"context with other provider", box, sealed, "byok|usr_1|anthropic"},
		{"empty context", box, sealed, ""},
		{"wrong key", other, sealed, ctx},
		{"version byte changed", box, flip(0), ctx},
		{"nonce changed", box, flip(1), ctx},
		{"ciphertext changed", box, flip(14), ctx},
		{"tag changed", box, flip(len(sealed) - 1), ctx},
		{"byte appended", box, append(bytes.Clone(sealed), 0), ctx},
		{"last byte cut", box, sealed[:len(sealed)-1], ctx},
		{"tag cut", box, sealed[:len(sealed)-16], ctx},
		{"only version and nonce", box, sealed[:13], ctx},
		{"shorter than a nonce", box, sealed[:5], ctx},
		{"only version", box, sealed[:1], ctx},
		{"empty", box, []byte{}, ctx},
		{"nil", box, nil, ctx},
	}
	for _, tc := range tests {
		if got, err := tc.box.Open(tc.sealed, tc.context); !errors.Is(err, secrets.ErrOpen) || got != nil {
			t.Errorf("Open(%s: %x, %q) = %q, %v; want nil, ErrOpen", tc.name, tc.sealed, tc.context, got, err)
		}
	}

	// Every single-byte change is detected.
	for i := range sealed {
		if got, err := box.Open(flip(i), ctx); !errors.Is(err, secrets.ErrOpen) {
			t.Errorf("Open(sealed with byte %d flipped) = %q, %v; want ErrOpen", i, got, err)
		}
	}
	// The original still opens: the cases above worked on copies.
	if got, err := box.Open(sealed, ctx); err != nil || string(got) != "sk-live-abcdef" {
		t.Errorf("Open(original) = %q, %v; want %q, nil", got, err, "sk-live-abcdef")
	}
}

// A second Box with the same key opens what the first sealed: the key, not the
// instance, is what matters (values survive restarts).
func TestSameKeyOtherBox(t *testing.T) {
	sealed := mustBox(t, key(9)).Seal([]byte("v"), "c")
	if got, err := mustBox(t, key(9)).Open(sealed, "c"); err != nil || string(got) != "v" {
		t.Errorf("Open(%x, %q) = %q, %v; want %q, nil", sealed, "c", got, err, "v")
	}
}

func TestDeriveIsKeyedAndStable(t *testing.T) {
	a, a2, b := mustBox(t, key(1)), mustBox(t, key(1)), mustBox(t, key(2))
	x := a.Derive("webhook chn_1")
	if x != a2.Derive("webhook chn_1") {
		t.Error("Derive differs between boxes with one key")
	}
	if x == a.Derive("webhook chn_2") || x == b.Derive("webhook chn_1") {
		t.Error("Derive ignores its label or its key")
	}
	if len(x) != 43 || strings.Trim(x, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != "" {
		t.Errorf("Derive = %q; want 43 URL-safe characters", x)
	}
}
