package skill

import (
	"encoding/json"
	"fmt"
)

// KV is the call's key-value store, scoped by the platform to the calling user,
// agent and skill: two users of a skill never see each other's keys. Keys are
// 1–512 bytes; values are limited by the platform (100 KiB by default), and so
// is each user's store for the skill, all agents together (1000 keys and
// 10 MiB by default; Set returns ErrKVQuota past it).
type KV struct{}

// Get returns the value of key and whether it exists.
func (KV) Get(key string) ([]byte, bool, error) {
	n := hostKVGet(stringPtr(key), uint32(len(key)))
	switch {
	case n >= 0:
		return readResult(n), true, nil
	case n == ErrnoNotFound:
		return nil, false, nil
	default:
		return nil, false, errnoError(n)
	}
}

// Set stores value under key.
func (KV) Set(key string, value []byte) error {
	if n := hostKVSet(stringPtr(key), uint32(len(key)), bytesPtr(value), uint32(len(value))); n != 0 {
		return errnoError(int64(n))
	}
	return nil
}

// Delete removes key; deleting a missing key is not an error.
func (KV) Delete(key string) error {
	if n := hostKVDelete(stringPtr(key), uint32(len(key))); n != 0 {
		return errnoError(int64(n))
	}
	return nil
}

// List returns the keys that start with prefix, in ascending order.
func (KV) List(prefix string) ([]string, error) {
	n := hostKVList(stringPtr(prefix), uint32(len(prefix)))
	if n < 0 {
		return nil, errnoError(n)
	}
	var keys []string
	if err := json.Unmarshal(readResult(n), &keys); err != nil {
		return nil, fmt.Errorf("skill: kv list: %w", err)
	}
	return keys, nil
}
