package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/agentbot/gateway/core/api"
)

// A call's input is passed to its target as the bytes the caller sent: the
// gateway reads the few members it needs ("plugin", "stream") from the object
// in place and removes "plugin", instead of decoding the whole body into a map
// and encoding it again. A large prompt is scanned once, never re-encoded
// (RATIONALE.md, "Performance").

// callBody is a call's JSON object body.
type callBody struct {
	raw []byte // the object as sent; `{}` for an empty body
	// plugin is the last "plugin" member's raw value (nil when absent), and
	// stream the last "stream" member's.
	plugin, stream []byte
	// named: the "plugin" member named the target (POST /api/v1/gateway)
	// and is not part of the input.
	named bool
}

// readCallBody reads a call's body: a JSON object, or nothing (an empty
// object).
func readCallBody(r *http.Request) (*callBody, error) {
	if r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
		return &callBody{raw: []byte("{}")}, nil
	}
	raw, err := api.ReadJSON(r)
	if err != nil {
		if errors.Is(err, api.ErrBodyRequired) {
			return &callBody{raw: []byte("{}")}, nil
		}
		return nil, err
	}
	b := &callBody{raw: raw}
	err = members(raw, func(key, value []byte, _, _ int) {
		switch {
		case keyIs(key, "plugin"):
			b.plugin = value
		case keyIs(key, "stream"):
			b.stream = value
		}
	})
	if err != nil {
		return nil, api.BadRequest(api.CodeInvalidJSON, "Request body must be a JSON object")
	}
	return b, nil
}

// id is the body's "plugin" string ("" when absent), which is then no part
// of the input.
func (b *callBody) id() (string, error) {
	b.named = true
	if b.plugin == nil {
		return "", nil
	}
	var s string
	if json.Unmarshal(b.plugin, &s) != nil {
		return "", api.BadRequest(api.CodeInvalidFieldType, `Field "plugin" must be of type string`)
	}
	return s, nil
}

// streaming is the body's "stream" flag (false when absent).
func (b *callBody) streaming() (bool, error) {
	if b.stream == nil {
		return false, nil
	}
	var v bool
	if json.Unmarshal(b.stream, &v) != nil {
		return false, api.BadRequest(api.CodeInvalidFieldType, `Field "stream" must be of type boolean`)
	}
	return v, nil
}

// input is the object the target receives: the body as sent, byte for
// byte, less its "plugin" members when they named the target.
func (b *callBody) input() []byte {
	if b.plugin == nil || !b.named {
		return b.raw
	}
	out := make([]byte, 0, len(b.raw))
	out = append(out, '{')
	n := 0
	members(b.raw, func(key, _ []byte, start, end int) {
		if keyIs(key, "plugin") {
			return
		}
		if n > 0 {
			out = append(out, ',')
		}
		out = append(out, b.raw[start:end]...)
		n++
	})
	return append(out, '}')
}

// keyIs reports whether a member's key (its raw, quoted JSON string) is
// name, escapes decoded as encoding/json decodes them.
func keyIs(key []byte, name string) bool {
	if bytes.IndexByte(key, '\\') < 0 {
		return len(key) == len(name)+2 && string(key[1:len(key)-1]) == name
	}
	var s string
	return json.Unmarshal(key, &s) == nil && s == name
}

var errNotJSONObject = errors.New("not a JSON object")

// members calls fn for each member of the JSON object raw, in order, with its
// key (quoted, as written), its value (as written) and the span [start, end)
// of the whole member from its key to its value's end. raw must be valid JSON
// (api.ReadJSON checked it); anything but an object is errNotJSONObject.
func members(raw []byte, fn func(key, value []byte, start, end int)) error {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return errNotJSONObject
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return nil
	}
	for i < len(raw) {
		start := i
		keyEnd := skipString(raw, i)
		i = skipSpace(raw, keyEnd)
		i = skipSpace(raw, i+1) // the colon
		valueStart := i
		i = skipValue(raw, i)
		fn(raw[start:keyEnd], raw[valueStart:i], start, i)
		i = skipSpace(raw, i)
		if i >= len(raw) || raw[i] == '}' {
			return nil
		}
		i = skipSpace(raw, i+1) // the comma
	}
	return errNotJSONObject
}

func skipSpace(raw []byte, i int) int {
	for i < len(raw) && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' || raw[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at raw[i] (a quote).
func skipString(raw []byte, i int) int {
	for i++; i < len(raw); i++ {
		switch raw[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// skipValue returns the index after the value starting at raw[i].
func skipValue(raw []byte, i int) int {
	if i >= len(raw) {
		return i
	}
	switch raw[i] {
	case '"':
		return skipString(raw, i)
	case '{', '[':
		depth := 0
		for ; i < len(raw); i++ {
			switch raw[i] {
			case '"':
				i = skipString(raw, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	// A number or a literal: up to the next delimiter.
	for i < len(raw) && raw[i] != ',' && raw[i] != '}' && raw[i] != ']' &&
		raw[i] != ' ' && raw[i] != '\t' && raw[i] != '\n' && raw[i] != '\r' {
		i++
	}
	return i
}
