package x402

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// MaxHeaderSize bounds the encoded headers DecodeHeader accepts.
const MaxHeaderSize = 16 << 10

// ErrHeader is wrapped by every DecodeHeader error: the header is not
// base64 JSON of the expected shape.
var ErrHeader = errors.New("x402: malformed header")

// EncodeHeader returns standard base64, with padding, of v's JSON. Like
// JavaScript's JSON.stringify it leaves <, > and & unescaped.
func EncodeHeader(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("x402: encode header: %w", err)
	}
	return base64.StdEncoding.EncodeToString(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

// DecodeHeader decodes standard base64 JSON (at most MaxHeaderSize encoded
// bytes) into v. Only the standard alphabet is accepted: the URL-safe '-'
// and '_', whitespace and line breaks (which Go's decoder would otherwise
// skip) are errors. Padding may be left out, as @x402/core's decoder allows.
// Unknown JSON fields are ignored, so that newer clients still parse.
func DecodeHeader(s string, v any) error {
	if len(s) == 0 {
		return fmt.Errorf("%w: empty", ErrHeader)
	}
	if len(s) > MaxHeaderSize {
		return fmt.Errorf("%w: longer than %d bytes", ErrHeader, MaxHeaderSize)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '=') {
			return fmt.Errorf("%w: not standard base64", ErrHeader)
		}
	}
	enc := base64.StdEncoding
	if len(s)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	raw, err := enc.Strict().DecodeString(s)
	if err != nil {
		return fmt.Errorf("%w: not standard base64", ErrHeader)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: %v", ErrHeader, err)
	}
	return nil
}
