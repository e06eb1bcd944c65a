// Package state is the shipped skills' view of the skill key-value store:
// JSON records under prefixed keys, counters for deterministic ids, and the
// caller-supplied clock. The platform scopes the store to the calling user,
// agent and skill, so nothing here knows who the user is.
package state

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/agentbot/gateway/sdk/skill"
	"github.com/agentbot/gateway/skills/shipped/internal/usdc"
)

// Store reads and writes JSON values in the call's KV.
type Store struct{ kv skill.KV }

// New returns the store of call c.
func New(c *skill.Call) Store { return Store{kv: c.KV()} }

// Get decodes the value of key into v and reports whether it existed.
func (s Store) Get(key string, v any) (bool, error) {
	b, ok, err := s.kv.Get(key)
	if err != nil || !ok {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("corrupt record %q: %v", key, err)
	}
	return true, nil
}

// Put stores the JSON encoding of v under key.
func (s Store) Put(key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.kv.Set(key, b)
}

// Delete removes key.
func (s Store) Delete(key string) error { return s.kv.Delete(key) }

// Keys lists the keys with prefix in ascending order.
func (s Store) Keys(prefix string) ([]string, error) { return s.kv.List(prefix) }

// All decodes every record under prefix, in key order.
func All[T any](s Store, prefix string) ([]T, error) {
	keys, err := s.Keys(prefix)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(keys))
	for _, k := range keys {
		var v T
		ok, err := s.Get(k, &v)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, v)
		}
	}
	return out, nil
}

// Find reads the record that a caller's id names, and returns it with its
// key. The id is trimmed; an empty one fails as the missing input field
// (400 MISSING_FIELD); key maps it to the record's key, or reports false for
// an id of another shape, which fails like an unknown one: 404 notFoundCode
// with notFoundMsg.
func Find[T any](s Store, id, field string, key func(id string) (string, bool), notFoundCode, notFoundMsg string) (*T, string, error) {
	id = strings.TrimSpace(id)
	if id == "" {
		return nil, "", usdc.Missing(field)
	}
	notFound := skill.Failf(notFoundCode, 404, "%s", notFoundMsg)
	k, ok := key(id)
	if !ok {
		return nil, "", notFound
	}
	var v T
	found, err := s.Get(k, &v)
	if err != nil {
		return nil, "", err
	}
	if !found {
		return nil, "", notFound
	}
	return &v, k, nil
}

// Load is Find for a sequential id "<idPrefix><n>" (see SeqID) of a record
// stored under SeqKey(keyPrefix, n).
func Load[T any](s Store, id, idPrefix, keyPrefix, field, notFoundCode, notFoundMsg string) (*T, string, error) {
	return Find[T](s, id, field, func(id string) (string, bool) {
		n, ok := SeqID(id, idPrefix)
		return SeqKey(keyPrefix, n), ok
	}, notFoundCode, notFoundMsg)
}

// Next returns the counter under key (first) and stores its successor:
// ids come from the store, never from randomness, which the sandbox lacks.
func (s Store) Next(key string, first int64) (int64, error) {
	b, ok, err := s.kv.Get(key)
	if err != nil {
		return 0, err
	}
	n := first
	if ok {
		if n, err = strconv.ParseInt(string(b), 10, 64); err != nil {
			return 0, fmt.Errorf("corrupt counter %q", key)
		}
	}
	if err := s.kv.Set(key, []byte(strconv.FormatInt(n+1, 10))); err != nil {
		return 0, err
	}
	return n, nil
}

// SetCounter sets the next value Next returns.
func (s Store) SetCounter(key string, next int64) error {
	return s.kv.Set(key, []byte(strconv.FormatInt(next, 10)))
}

// SeqKey is prefix + n zero-padded, so that keys list in creation order.
func SeqKey(prefix string, n int64) string { return fmt.Sprintf("%s%012d", prefix, n) }

// SeqID parses the number of an id "<idPrefix><n>" (n ≥ 1, no leading
// zeros), and reports false for anything else.
func SeqID(id, idPrefix string) (int64, bool) {
	rest, ok := strings.CutPrefix(id, idPrefix)
	if !ok || rest == "" || rest[0] == '0' || len(rest) > 12 {
		return 0, false
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || n < 1 {
		return 0, false
	}
	return n, true
}

// Now is the call's time. The sandbox's clock is fake (see the SDK), so the
// time is the caller's optional "now" field (RFC 3339), rendered in UTC; nil
// when absent, so that no made-up time is ever recorded.
func Now(now string) (*string, error) {
	if now == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, now)
	if err != nil {
		return nil, skill.Failf("INVALID_FIELD", 400, "now must be an RFC 3339 time like 2026-05-01T22:00:00Z")
	}
	s := t.UTC().Format(time.RFC3339Nano)
	return &s, nil
}
