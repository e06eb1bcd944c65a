package auth

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
)

var apiKeyShape = regexp.MustCompile(`^sk_[0-9a-f]{64}$`)

func TestNewAPIKey(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		k := NewAPIKey()
		if !apiKeyShape.MatchString(k) {
			t.Fatalf("NewAPIKey() = %q; want sk_ + 64 lower-case hex", k)
		}
		if !wellFormedAPIKey(k) {
			t.Errorf("wellFormedAPIKey(NewAPIKey() = %q) = false; want true", k)
		}
		if seen[k] {
			t.Fatalf("NewAPIKey() returned %q twice", k)
		}
		seen[k] = true
	}
}

func TestNewToken(t *testing.T) {
	a, b := NewToken(), NewToken()
	if len(a) != 64 || strings.Trim(a, "0123456789abcdef") != "" {
		t.Errorf("NewToken() = %q; want 64 lower-case hex characters", a)
	}
	if a == b {
		t.Errorf("NewToken() returned %q twice", a)
	}
}

func TestDigest(t *testing.T) {
	tests := []string{"", "abc", "sk_" + strings.Repeat("0", 64)}
	for _, s := range tests {
		want := sha256.Sum256([]byte(s))
		if got := Digest(s); !bytes.Equal(got, want[:]) {
			t.Errorf("Digest(%q) = %x; want %x", s, got, want)
		}
	}
	// A known vector.
	if got, want := hex.EncodeToString(Digest("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Errorf("Digest(%q) = %s; want %s", "abc", got, want)
	}
	if bytes.Equal(Digest("a"), Digest("b")) {
		t.Errorf("Digest(a) == Digest(b)")
	}
}

func TestKeyPrefixAndPreview(t *testing.T) {
	tests := []struct {
		key, prefix, preview string
	}{
		{"sk_0123456789abcdef", "sk_0123456", "sk_0123456..."},
		{"sk_0123456", "sk_0123456", "sk_0123456..."},
		{"sk_01", "sk_01", "sk_01..."},
		{"", "", "..."},
	}
	for _, tt := range tests {
		if got := KeyPrefix(tt.key); got != tt.prefix {
			t.Errorf("KeyPrefix(%q) = %q; want %q", tt.key, got, tt.prefix)
		}
		if got := KeyPreview(KeyPrefix(tt.key)); got != tt.preview {
			t.Errorf("KeyPreview(%q) = %q; want %q", KeyPrefix(tt.key), got, tt.preview)
		}
	}
	k := NewAPIKey()
	if p := KeyPrefix(k); len(p) != 10 || !strings.HasPrefix(k, p) {
		t.Errorf("KeyPrefix(%q) = %q; want the key's first 10 characters", k, p)
	}
}

func TestWellFormedAPIKey(t *testing.T) {
	hex64 := strings.Repeat("0123456789abcdef", 4)
	tests := []struct {
		key  string
		want bool
	}{
		{"sk_" + hex64, true},
		{"sk_" + strings.Repeat("f", 64), true},
		{"", false},
		{"sk_", false},
		{"sk_" + hex64[:63], false},
		{"sk_" + hex64 + "0", false},
		{"sk_" + strings.ToUpper(hex64), false},
		{"SK_" + hex64, false},
		{"pk_" + hex64, false},
		{"sk-" + hex64, false},
		{hex64 + "abc", false},
		{"sk_" + hex64[:63] + "g", false},
		{"sk_" + hex64[:63] + " ", false},
		{"sk_" + hex64[:62] + "é", false}, // 67 bytes, but not 64 hex digits
	}
	for _, tt := range tests {
		if got := wellFormedAPIKey(tt.key); got != tt.want {
			t.Errorf("wellFormedAPIKey(%q) = %v; want %v", tt.key, got, tt.want)
		}
	}
}
