package skills

import (
	"container/list"
	"context"

	"github.com/tetratelabs/wazero/api"

	"github.com/agentbot/gateway/sdk/skill/abi"
)

// poolKey is whose warm instances of which module; user "" is never pooled.
type poolKey struct{ sha, user string }

type instance struct {
	key    poolKey
	mod    api.Module
	run    *abi.Runner // mod's entry point, looked up once
	elem   *list.Element
	size   int64 // memory when made idle
	fresh  bool  // closed after its call, never pooled
	stderr head
}

// takeIdle takes a warm instance of the user's pool, or returns nil.
func (r *Runtime) takeIdle(key poolKey) *instance {
	if key.user == "" || r.cfg.Fresh {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	pool := r.idle[key]
	if r.closed || len(pool) == 0 {
		return nil
	}
	inst := pool[len(pool)-1]
	r.dropIdle(inst)
	return inst
}

// release returns an instance to its user's pool, or closes it: in fresh
// mode, for a fresh call, without a user, past PoolPerUser or MaxWarmBytes. Then the least
// recently used instances go until the pool fits MaxIdle and MaxIdleBytes.
func (r *Runtime) release(inst *instance) {
	var size int64
	if mem := inst.mod.Memory(); mem != nil {
		size = int64(mem.Size())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.cfg.Fresh || inst.fresh || inst.key.user == "" || len(r.idle[inst.key]) >= r.cfg.PoolPerUser ||
		size > int64(r.cfg.MaxWarmBytes) || size > r.cfg.MaxIdleBytes {
		inst.mod.Close(context.Background())
		return
	}
	inst.size = size
	r.idle[inst.key] = append(r.idle[inst.key], inst)
	inst.elem = r.lru.PushBack(inst)
	r.idleBytes += size
	for r.lru.Len() > r.cfg.MaxIdle || r.idleBytes > r.cfg.MaxIdleBytes {
		old := r.lru.Front().Value.(*instance)
		r.dropIdle(old)
		old.mod.Close(context.Background())
	}
}

// dropIdle removes an idle instance from the pool (r.mu held).
func (r *Runtime) dropIdle(inst *instance) {
	r.lru.Remove(inst.elem)
	inst.elem = nil
	r.idleBytes -= inst.size
	pool := r.idle[inst.key]
	for i, p := range pool {
		if p == inst {
			pool = append(pool[:i], pool[i+1:]...)
			break
		}
	}
	if len(pool) == 0 {
		delete(r.idle, inst.key)
	} else {
		r.idle[inst.key] = pool
	}
}

// Idle reports how many warm instances are kept.
func (r *Runtime) Idle() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lru.Len()
}

// IdleBytes reports the memory of the warm instances kept.
func (r *Runtime) IdleBytes() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.idleBytes
}

// head keeps the first KiB an instance wrote to its standard error during a
// call, which nobody else sees, to tell why it crashed (Go's runtime writes
// "fatal error: …" first, then every goroutine's stack).
type head struct{ b []byte }

const headMax = 1 << 10

func (h *head) Write(p []byte) (int, error) {
	if room := headMax - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(len(p), room)]...)
	}
	return len(p), nil
}

func (h *head) String() string { return string(h.b) }

func (h *head) Reset() { h.b = h.b[:0] }
