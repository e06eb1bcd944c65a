package abi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Instantiate instantiates the host module "agentbot:skill/v1" in r, or returns
// it if r already has it. Its functions find the current Call through the
// context of the export call (WithCall), so one host module serves every
// instance of every skill.
func Instantiate(ctx context.Context, r wazero.Runtime) (api.Module, error) {
	if m := r.Module(Module); m != nil {
		return m, nil
	}
	b := r.NewHostModuleBuilder(Module)
	for _, f := range hostFuncs {
		b = b.NewFunctionBuilder().
			WithGoModuleFunction(bind(f), f.params, f.results).
			WithName(f.name).
			Export(f.name)
	}
	m, err := b.Instantiate(ctx)
	if err != nil {
		return nil, fmt.Errorf("abi: instantiating %s: %w", Module, err)
	}
	return m, nil
}

// errNoCall traps a host function called outside Run, e.g. from a Go init
// function during _initialize: there is no call to serve.
var errNoCall = errors.New(Module + ": host function called outside a call")

// bind wraps f with the lookup of the call and the budget.
func bind(f hostFunc) api.GoModuleFunc {
	return func(ctx context.Context, m api.Module, stack []uint64) {
		c := callFrom(ctx)
		if c == nil {
			panic(errNoCall)
		}
		if f.budgeted {
			if !f.keepsPending {
				c.pending = nil
			}
			if c.hostCalls >= c.limits.MaxHostCalls {
				c.overBudget = true
				switch {
				case len(f.results) == 0: // log: the line is dropped
				case f.results[0] == i32:
					setI32(stack, ErrnoHostCallLimit)
				default:
					setI64(stack, ErrnoHostCallLimit)
				}
				return
			}
			c.hostCalls++
		}
		f.fn(ctx, c, m, stack)
	}
}

// read returns a view of guest memory; an out-of-range pointer traps.
func read(m api.Module, ptr, n uint32) []byte {
	b, ok := m.Memory().Read(ptr, n)
	if !ok {
		panic(fmt.Errorf("%s: guest memory [%d, %d+%d) out of range", Module, ptr, ptr, n))
	}
	return b
}

func write(m api.Module, ptr uint32, b []byte) {
	if !m.Memory().Write(ptr, b) {
		panic(fmt.Errorf("%s: guest memory [%d, %d+%d) out of range", Module, ptr, ptr, len(b)))
	}
}

func setI32(stack []uint64, v int32) { stack[0] = api.EncodeI32(v) }
func setI64(stack []uint64, v int64) { stack[0] = api.EncodeI64(v) }

// setResult makes b the pending result and returns its length.
func (c *Call) setResult(stack []uint64, b []byte) {
	c.pending = b
	setI64(stack, int64(len(b)))
}

// key reads a key or prefix; ok is false when it is too long (or empty and
// emptyOK is false).
func key(m api.Module, ptr, n uint32, emptyOK bool) (string, bool) {
	if n > MaxKeyLen || (n == 0 && !emptyOK) {
		return "", false
	}
	return string(read(m, ptr, n)), true
}

func inputLen(_ context.Context, c *Call, _ api.Module, stack []uint64) {
	setI32(stack, int32(len(c.input)))
}

func inputRead(_ context.Context, c *Call, m api.Module, stack []uint64) {
	write(m, api.DecodeU32(stack[0]), c.input)
}

func outputWrite(_ context.Context, c *Call, m api.Module, stack []uint64) {
	ptr, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	// Checked before reading, so a skill cannot make the host copy more than
	// the cap, however much it writes.
	if c.outputFull || len(c.output)+int(n) > c.limits.MaxOutput {
		c.outputFull = true
		setI32(stack, ErrnoOutputFull)
		return
	}
	c.output = append(c.output, read(m, ptr, n)...)
	setI32(stack, 0)
}

const (
	maxCodeLen    = 64
	maxMessageLen = 4 << 10
)

func fail(_ context.Context, c *Call, m api.Module, stack []uint64) {
	status := int(api.DecodeI32(stack[0]))
	if status < 400 || status > 599 {
		status = 500
	}
	code := clip(read(m, api.DecodeU32(stack[1]), api.DecodeU32(stack[2])), maxCodeLen)
	msg := clip(read(m, api.DecodeU32(stack[3]), api.DecodeU32(stack[4])), maxMessageLen)
	if code == "" {
		code = CodeSkillFailed
	}
	c.failure = &Failure{Status: status, Code: code, Message: msg}
}

// clip copies at most n bytes of b into a valid UTF-8 string.
func clip(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return strings.ToValidUTF8(string(b), "")
}

func logLine(_ context.Context, c *Call, m api.Module, stack []uint64) {
	level := int(api.DecodeI32(stack[0]))
	ptr, n := api.DecodeU32(stack[1]), api.DecodeU32(stack[2])
	level = min(max(level, 0), 3)
	c.logs++
	room := c.limits.MaxLogBytes - c.logBytes
	if room <= 0 {
		return
	}
	n = min(n, uint32(room))
	msg := clip(read(m, ptr, n), int(n))
	c.logBytes += int(n)
	if c.caps.Log != nil {
		c.caps.Log(level, msg)
	}
}

func resultRead(_ context.Context, c *Call, m api.Module, stack []uint64) {
	write(m, api.DecodeU32(stack[0]), c.pending)
	c.pending = nil
}

func kvGet(ctx context.Context, c *Call, m api.Module, stack []uint64) {
	if c.caps.KV == nil {
		setI64(stack, ErrnoNotGranted)
		return
	}
	k, ok := key(m, api.DecodeU32(stack[0]), api.DecodeU32(stack[1]), false)
	if !ok {
		setI64(stack, ErrnoInvalid)
		return
	}
	v, found, err := c.caps.KV.Get(ctx, k)
	switch {
	case err != nil:
		c.hostFailed(fmt.Errorf("kv get %q: %w", k, err))
		setI64(stack, ErrnoHostFailure)
	case !found:
		setI64(stack, ErrnoNotFound)
	default:
		c.setResult(stack, v)
	}
}

func kvSet(ctx context.Context, c *Call, m api.Module, stack []uint64) {
	if c.caps.KV == nil {
		setI32(stack, ErrnoNotGranted)
		return
	}
	k, ok := key(m, api.DecodeU32(stack[0]), api.DecodeU32(stack[1]), false)
	if !ok {
		setI32(stack, ErrnoInvalid)
		return
	}
	vptr, vlen := api.DecodeU32(stack[2]), api.DecodeU32(stack[3])
	if int(vlen) > c.limits.MaxKVValue {
		setI32(stack, ErrnoTooLarge)
		return
	}
	// A copy: the store may keep it, and guest memory changes under it.
	err := c.caps.KV.Set(ctx, k, bytes.Clone(read(m, vptr, vlen)))
	switch {
	case errors.Is(err, ErrQuota):
		setI32(stack, ErrnoQuota)
		return
	case err != nil:
		c.hostFailed(fmt.Errorf("kv set %q: %w", k, err))
		setI32(stack, ErrnoHostFailure)
		return
	}
	setI32(stack, 0)
}

func kvDelete(ctx context.Context, c *Call, m api.Module, stack []uint64) {
	if c.caps.KV == nil {
		setI32(stack, ErrnoNotGranted)
		return
	}
	k, ok := key(m, api.DecodeU32(stack[0]), api.DecodeU32(stack[1]), false)
	if !ok {
		setI32(stack, ErrnoInvalid)
		return
	}
	if err := c.caps.KV.Delete(ctx, k); err != nil {
		c.hostFailed(fmt.Errorf("kv delete %q: %w", k, err))
		setI32(stack, ErrnoHostFailure)
		return
	}
	setI32(stack, 0)
}

func kvList(ctx context.Context, c *Call, m api.Module, stack []uint64) {
	if c.caps.KV == nil {
		setI64(stack, ErrnoNotGranted)
		return
	}
	prefix, ok := key(m, api.DecodeU32(stack[0]), api.DecodeU32(stack[1]), true)
	if !ok {
		setI64(stack, ErrnoInvalid)
		return
	}
	keys, err := c.caps.KV.List(ctx, prefix)
	if err != nil {
		c.hostFailed(fmt.Errorf("kv list %q: %w", prefix, err))
		setI64(stack, ErrnoHostFailure)
		return
	}
	if keys == nil {
		keys = []string{}
	}
	b, _ := json.Marshal(keys) // strings always encode
	c.setResult(stack, b)
}

func httpFetch(ctx context.Context, c *Call, m api.Module, stack []uint64) {
	if c.caps.Fetch == nil {
		setI64(stack, ErrnoNotGranted)
		return
	}
	raw := read(m, api.DecodeU32(stack[0]), api.DecodeU32(stack[1]))
	c.setResult(stack, fetch(ctx, c.caps.Fetch, raw))
}

// fetch runs one http_fetch and returns its JSON result.
func fetch(ctx context.Context, f Fetcher, raw []byte) []byte {
	fail := func(msg string) []byte {
		b, _ := json.Marshal(struct {
			Error string `json:"error"`
		}{msg})
		return b
	}
	var req FetchRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return fail("invalid request: " + err.Error())
	}
	if req.URL == "" {
		return fail("invalid request: no url")
	}
	req.Method = strings.ToUpper(req.Method)
	if req.Method == "" {
		req.Method = "GET"
	}
	res, err := f.Fetch(ctx, &req)
	if err != nil {
		return fail(err.Error())
	}
	if res == nil {
		return fail("no response")
	}
	b, err := json.Marshal(res)
	if err != nil {
		return fail("encoding response: " + err.Error())
	}
	return b
}

func configGet(_ context.Context, c *Call, m api.Module, stack []uint64) {
	k, ok := key(m, api.DecodeU32(stack[0]), api.DecodeU32(stack[1]), false)
	if !ok {
		setI64(stack, ErrnoInvalid)
		return
	}
	v, found := c.caps.Config[k]
	if !found {
		setI64(stack, ErrnoNotFound)
		return
	}
	c.setResult(stack, []byte(v))
}
