package skills

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/tetratelabs/wazero"

	"github.com/agentbot/gateway/sdk/skill/abi"
	"github.com/agentbot/gateway/skills/internal/interrupt"
)

// Module is a compiled skill module.
type Module struct {
	SHA256  string // of the module as published (what runs is instrumented: interrupt.go)
	cm      wazero.CompiledModule
	elem    *list.Element // in Runtime.mlru
	pins    int           // calls under way; a pinned module is never evicted
	evicted bool
}

// ImportError is a module refused for its imports or exports.
type ImportError struct{ Err error }

func (e *ImportError) Error() string { return e.Err.Error() }
func (e *ImportError) Unwrap() error { return e.Err }

var errClosed = errors.New("skills runtime closed")

// Compile validates and compiles a module, once per SHA-256 while it stays in
// memory. Compiles run one at a time (each is CPU-bound, ≈ 1 s for a Go
// guest without the disk cache). A refused module leaves nothing behind, in
// memory or on disk.
func (r *Runtime) Compile(ctx context.Context, wasm []byte) (*Module, error) {
	sum := sha256.Sum256(wasm)
	sha := hex.EncodeToString(sum[:])
	if m := r.Module(sha); m != nil {
		return m, nil
	}
	select {
	case r.compiling <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-r.compiling }()
	if m := r.Module(sha); m != nil {
		return m, nil
	}
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return nil, errClosed
	}
	// What runs is the module instrumented for interruption (interrupt.go);
	// Module.SHA256 stays the digest of the published bytes.
	code, err := interrupt.Instrument(wasm)
	if err != nil {
		return nil, &ImportError{Err: fmt.Errorf("not a valid WebAssembly module: %v", err)}
	}
	before := r.disk.files()
	cm, err := r.rt.CompileModule(ctx, code)
	if err != nil {
		r.disk.discard(before)
		return nil, &ImportError{Err: fmt.Errorf("not a valid WebAssembly module: %v", err)}
	}
	if err := abi.CheckImports(cm, interrupt.ImportModule); err != nil {
		cm.Close(ctx)
		r.disk.discard(before)
		return nil, &ImportError{Err: err}
	}
	r.disk.added(sha, before)
	m := &Module{SHA256: sha, cm: cm}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.modules[sha] = m
	m.elem = r.mlru.PushBack(m)
	r.evictModules()
	return m, nil
}

// Module returns the compiled module of a digest if it is in memory, or nil.
func (r *Runtime) Module(sha string) *Module {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.modules[sha]
	if m != nil {
		r.mlru.MoveToBack(m.elem)
	}
	return m
}

// Modules reports how many compiled modules are kept in memory.
func (r *Runtime) Modules() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.modules)
}

// pin marks a call of m under way, so that m is not evicted meanwhile.
func (r *Runtime) pin(m *Module) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.closed:
		return errClosed
	case m.evicted:
		return ErrEvicted
	}
	m.pins++
	r.mlru.MoveToBack(m.elem)
	r.disk.touch(m.SHA256)
	return nil
}

func (r *Runtime) unpin(m *Module) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m.pins--
	r.evictModules()
}

// evictModules drops the least recently used modules that no call is using
// until at most MaxModules are kept, with their warm instances (r.mu held).
// wazero frees a compiled module's code when it is closed, so no instance of
// it may outlive it: pinned modules (with calls under way) stay, and the
// bound is met again when their calls end.
func (r *Runtime) evictModules() {
	for e := r.mlru.Front(); e != nil && len(r.modules) > r.cfg.MaxModules; {
		m := e.Value.(*Module)
		e = e.Next()
		if m.pins > 0 {
			continue
		}
		for key, pool := range r.idle {
			if key.sha != m.SHA256 {
				continue
			}
			for _, inst := range pool {
				r.lru.Remove(inst.elem)
				r.idleBytes -= inst.size
				inst.mod.Close(context.Background())
			}
			delete(r.idle, key)
		}
		r.mlru.Remove(m.elem)
		delete(r.modules, m.SHA256)
		m.evicted = true
		m.cm.Close(context.Background())
	}
}
