package evm

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
)

// TypedData is an EIP-712 message as eth_signTypedData_v4 takes it: the
// struct types, the primary type, the domain and the message. Types may leave
// out EIP712Domain; it is then derived from the domain's fields, as viem does.
type TypedData struct {
	Types       map[string][]TypedField `json:"types"`
	PrimaryType string                  `json:"primaryType"`
	Domain      map[string]any          `json:"domain"`
	Message     map[string]any          `json:"message"`
}

// TypedField is one member of a struct type.
type TypedField struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// ParseTypedData decodes typed data from JSON, keeping numbers exact.
func ParseTypedData(b []byte) (*TypedData, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var td TypedData
	if err := dec.Decode(&td); err != nil {
		return nil, fmt.Errorf("evm: typed data: %v", err)
	}
	return &td, nil
}

// domainOrder is the canonical order of EIP712Domain's fields.
var domainOrder = []TypedField{
	{"name", "string"}, {"version", "string"}, {"chainId", "uint256"},
	{"verifyingContract", "address"}, {"salt", "bytes32"},
}

func (td *TypedData) types() map[string][]TypedField {
	if _, ok := td.Types["EIP712Domain"]; ok {
		return td.Types
	}
	out := make(map[string][]TypedField, len(td.Types)+1)
	for k, v := range td.Types {
		out[k] = v
	}
	var dom []TypedField
	for _, f := range domainOrder {
		if _, ok := td.Domain[f.Name]; ok {
			dom = append(dom, f)
		}
	}
	out["EIP712Domain"] = dom
	return out
}

// Digest is the hash an EIP-712 signer signs:
// keccak256(0x19 0x01 ‖ hashStruct(domain) ‖ hashStruct(message)).
func (td *TypedData) Digest() ([32]byte, error) {
	types := td.types()
	if td.PrimaryType == "" || types[td.PrimaryType] == nil {
		return [32]byte{}, fmt.Errorf("evm: typed data: primaryType %q is not among the types", td.PrimaryType)
	}
	dom, err := hashStruct(types, "EIP712Domain", td.Domain, 0)
	if err != nil {
		return [32]byte{}, err
	}
	msg, err := hashStruct(types, td.PrimaryType, td.Message, 0)
	if err != nil {
		return [32]byte{}, err
	}
	return Keccak256([]byte{0x19, 0x01}, dom[:], msg[:]), nil
}

// maxDepth bounds nesting, so that hostile input cannot recurse without end.
const maxDepth = 16

// encodeType is "Primary(type name,…)" followed by the struct types it
// references, sorted by name.
func encodeType(types map[string][]TypedField, primary string) string {
	deps := map[string]bool{}
	var walk func(string)
	walk = func(t string) {
		if deps[t] || types[t] == nil {
			return
		}
		deps[t] = true
		for _, f := range types[t] {
			walk(baseType(f.Type))
		}
	}
	walk(primary)
	delete(deps, primary)
	rest := make([]string, 0, len(deps))
	for d := range deps {
		rest = append(rest, d)
	}
	slices.Sort(rest)
	var b strings.Builder
	for _, t := range append([]string{primary}, rest...) {
		b.WriteString(t + "(")
		for i, f := range types[t] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(f.Type + " " + f.Name)
		}
		b.WriteByte(')')
	}
	return b.String()
}

// baseType strips array suffixes: "Person[][2]" → "Person".
func baseType(t string) string {
	if i := strings.IndexByte(t, '['); i >= 0 {
		return t[:i]
	}
	return t
}

func hashStruct(types map[string][]TypedField, name string, v any, depth int) ([32]byte, error) {
	if depth > maxDepth {
		return [32]byte{}, fmt.Errorf("evm: typed data nested deeper than %d", maxDepth)
	}
	data, ok := v.(map[string]any)
	if !ok && v != nil {
		return [32]byte{}, fmt.Errorf("evm: typed data: %s must be an object", name)
	}
	th := Keccak256([]byte(encodeType(types, name)))
	enc := append([]byte(nil), th[:]...)
	for _, f := range types[name] {
		w, err := encodeValue(types, f.Type, data[f.Name], depth+1)
		if err != nil {
			return [32]byte{}, fmt.Errorf("%s.%s: %w", name, f.Name, err)
		}
		enc = append(enc, w[:]...)
	}
	return Keccak256(enc), nil
}

// encodeValue is one member's 32-byte encoding: atomic types as ABI words,
// dynamic ones (string, bytes) and arrays by their keccak256, structs by
// their hashStruct.
func encodeValue(types map[string][]TypedField, t string, v any, depth int) ([32]byte, error) {
	var w [32]byte
	if strings.HasSuffix(t, "]") {
		i := strings.LastIndexByte(t, '[')
		if i < 0 {
			return w, fmt.Errorf("bad type %q", t)
		}
		elems, ok := v.([]any)
		if !ok {
			return w, fmt.Errorf("%s: want an array", t)
		}
		if n := t[i+1 : len(t)-1]; n != "" {
			if k, err := strconv.Atoi(n); err != nil || k != len(elems) {
				return w, fmt.Errorf("%s: want %s elements, have %d", t, n, len(elems))
			}
		}
		var enc []byte
		for _, e := range elems {
			ew, err := encodeValue(types, t[:i], e, depth+1)
			if err != nil {
				return w, err
			}
			enc = append(enc, ew[:]...)
		}
		return Keccak256(enc), nil
	}
	if types[t] != nil {
		return hashStruct(types, t, v, depth)
	}
	switch {
	case t == "string":
		s, ok := v.(string)
		if !ok {
			return w, fmt.Errorf("string: want a string")
		}
		return Keccak256([]byte(s)), nil
	case t == "bytes":
		b, err := hexArg(v)
		if err != nil {
			return w, err
		}
		return Keccak256(b), nil
	case t == "bool":
		b, ok := v.(bool)
		if !ok {
			return w, fmt.Errorf("bool: want true or false")
		}
		if b {
			w[31] = 1
		}
		return w, nil
	case t == "address":
		s, ok := v.(string)
		if !ok {
			return w, fmt.Errorf("address: want a string")
		}
		a, err := ParseAddress(s)
		if err != nil {
			return w, err
		}
		copy(w[12:], a[:])
		return w, nil
	case strings.HasPrefix(t, "bytes"):
		n, err := strconv.Atoi(t[5:])
		if err != nil || n < 1 || n > 32 {
			return w, fmt.Errorf("unknown type %q", t)
		}
		b, err := hexArg(v)
		if err != nil || len(b) != n {
			return w, fmt.Errorf("%s: want 0x and %d hex bytes", t, n)
		}
		copy(w[:], b)
		return w, nil
	case strings.HasPrefix(t, "uint"), strings.HasPrefix(t, "int"):
		signed := t[0] == 'i'
		bits, err := strconv.Atoi(strings.TrimPrefix(strings.TrimPrefix(t, "u"), "int"))
		if err != nil || bits < 8 || bits > 256 || bits%8 != 0 {
			return w, fmt.Errorf("unknown type %q", t)
		}
		x, err := intArg(v)
		if err != nil {
			return w, fmt.Errorf("%s: %v", t, err)
		}
		lo, hi := new(big.Int), new(big.Int).Lsh(big.NewInt(1), uint(bits))
		if signed {
			hi.Rsh(hi, 1)
			lo.Neg(hi)
		}
		if x.Cmp(lo) < 0 || x.Cmp(hi) >= 0 {
			return w, fmt.Errorf("%s: %s is out of range", t, x)
		}
		if x.Sign() < 0 {
			x = new(big.Int).Add(x, new(big.Int).Lsh(big.NewInt(1), 256)) // two's complement
		}
		x.FillBytes(w[:])
		return w, nil
	}
	return w, fmt.Errorf("unknown type %q", t)
}

// hexArg decodes "0x…" bytes.
func hexArg(v any) ([]byte, error) {
	s, ok := v.(string)
	if !ok || !strings.HasPrefix(s, "0x") || len(s)%2 != 0 {
		return nil, fmt.Errorf("want 0x-prefixed hex bytes")
	}
	return hex.DecodeString(s[2:])
}

// intArg takes a JSON number, a decimal string or a 0x hex string.
func intArg(v any) (*big.Int, error) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = x
	case float64:
		if x != float64(int64(x)) {
			return nil, fmt.Errorf("%v is not an integer", x)
		}
		return big.NewInt(int64(x)), nil
	default:
		return nil, fmt.Errorf("want an integer")
	}
	if len(s) > 80 {
		return nil, fmt.Errorf("number too long")
	}
	n, ok := new(big.Int), false
	if h, found := strings.CutPrefix(s, "0x"); found && h != "" {
		n, ok = n.SetString(h, 16)
	} else {
		n, ok = n.SetString(s, 10)
	}
	if !ok {
		return nil, fmt.Errorf("%q is not an integer", s)
	}
	return n, nil
}
