package auth

import (
	"sync"
	"time"

	"github.com/agentbot/gateway/core/store"
)

// keyCacheMax bounds the cache; when full it is emptied rather than grown, which
// costs one database lookup per active key and keeps the code obvious.
const keyCacheMax = 10000

// keyCache maps API key digests to their owners for a short time.
type keyCache struct {
	mu sync.RWMutex
	m  map[string]keyEntry
}

type keyEntry struct {
	owner   *store.KeyOwner
	expires time.Time
}

func (c *keyCache) get(digest []byte, now time.Time) (*store.KeyOwner, bool) {
	c.mu.RLock()
	e, ok := c.m[string(digest)]
	c.mu.RUnlock()
	if !ok || !now.Before(e.expires) {
		return nil, false
	}
	return e.owner, true
}

func (c *keyCache) put(digest []byte, o *store.KeyOwner, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= keyCacheMax {
		c.m = make(map[string]keyEntry)
	}
	c.m[string(digest)] = keyEntry{owner: o, expires: expires}
}

// forget drops the entries of the owners match selects.
func (c *keyCache) forget(match func(*store.KeyOwner) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for d, e := range c.m {
		if match(e.owner) {
			delete(c.m, d)
		}
	}
}

// userCache maps user ids to their authentication state for a short time, so
// that checking a JWT's credential generation costs no database round trip
// on the hot path. Bounded like keyCache.
type userCache struct {
	mu sync.RWMutex
	m  map[string]userEntry
}

type userEntry struct {
	st      *store.AuthState
	expires time.Time
}

func (c *userCache) get(userID string, now time.Time) (*store.AuthState, bool) {
	c.mu.RLock()
	e, ok := c.m[userID]
	c.mu.RUnlock()
	if !ok || !now.Before(e.expires) {
		return nil, false
	}
	return e.st, true
}

func (c *userCache) put(userID string, st *store.AuthState, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= keyCacheMax {
		c.m = make(map[string]userEntry)
	}
	c.m[userID] = userEntry{st: st, expires: expires}
}

func (c *userCache) forget(userID string) {
	c.mu.Lock()
	delete(c.m, userID)
	c.mu.Unlock()
}
