package agents

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/store"
)

// Memory bounds of one write.
const (
	MaxMemoryValueBytes = 100_000 // a value's JSON text
	MaxMemoryKeysWrite  = 50
	maxMemoryKeyChars   = 256
)

// checkMemory validates one write: every key and value, before anything is
// stored. Values are kept as their compact JSON text.
func checkMemory(values map[string]json.RawMessage) (map[string]string, error) {
	if len(values) == 0 {
		return nil, api.Validation("Memory data required: give key and memory, or memory as an object of keys")
	}
	if len(values) > MaxMemoryKeysWrite {
		return nil, api.Validation(fmt.Sprintf("Too many keys: %d in one write (at most %d)", len(values), MaxMemoryKeysWrite)).
			With("limit", MaxMemoryKeysWrite)
	}
	out := make(map[string]string, len(values))
	for k, v := range values {
		if err := checkKey(k); err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if len(bytes.TrimSpace(v)) == 0 {
			return nil, api.Validation(fmt.Sprintf("memory[%q] has no value", k))
		}
		if err := json.Compact(&buf, v); err != nil {
			return nil, api.Validation(fmt.Sprintf("memory[%q] is not JSON", k))
		}
		if buf.Len() > MaxMemoryValueBytes {
			return nil, api.Validation(fmt.Sprintf("memory[%q] is %d bytes; a value may be at most %d bytes", k, buf.Len(), MaxMemoryValueBytes)).
				With("key", k).With("limit", MaxMemoryValueBytes)
		}
		out[k] = buf.String()
	}
	return out, nil
}

func checkKey(k string) error {
	if k == "" || utf8.RuneCountInString(k) > maxMemoryKeyChars || !utf8.ValidString(k) ||
		strings.ContainsFunc(k, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return api.Validation(fmt.Sprintf("memory key %q must be 1 to %d printable characters", k, maxMemoryKeyChars))
	}
	return nil
}

func memoryErr(err error) error {
	var full *store.MemoryFullError
	if errors.As(err, &full) {
		e := api.Errorf(http.StatusRequestEntityTooLarge, api.CodeMemoryFull,
			"The agent's memory would hold %d keys and %d bytes; it may hold %d keys and %d bytes. Remove keys or reset the memory",
			full.Keys, full.Bytes, full.MaxKeys, full.MaxBytes)
		return e.With("maxKeys", full.MaxKeys).With("maxBytes", full.MaxBytes)
	}
	return agentErr(err)
}

func (s *Service) getMemory(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	p := principal(r)
	agentID := r.URL.Query().Get("agentId")
	all := agentID == "" || agentID == "all"
	if all {
		agentID = ""
	}
	entries, err := s.Store.Memory(r.Context(), p.UserID, agentID)
	if err != nil {
		return agentErr(err)
	}
	var last *time.Time
	flat := map[string]json.RawMessage{}
	byAgent := map[string]map[string]json.RawMessage{}
	for _, e := range entries {
		if last == nil || e.UpdatedAt.After(*last) {
			t := e.UpdatedAt
			last = &t
		}
		if all {
			if byAgent[e.AgentID] == nil {
				byAgent[e.AgentID] = map[string]json.RawMessage{}
			}
			byAgent[e.AgentID][e.Key] = json.RawMessage(e.Value)
		} else {
			flat[e.Key] = json.RawMessage(e.Value)
		}
	}
	resp := map[string]any{"count": len(entries), "lastUpdated": last}
	if all {
		resp["memory"], resp["agentId"] = byAgent, "all"
	} else {
		resp["memory"], resp["agentId"] = flat, agentID
	}
	api.OK(w, resp)
	return nil
}

func (s *Service) postMemory(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	p := principal(r)
	var in struct {
		AgentID string          `json:"agentId"`
		Key     *string         `json:"key"`
		Memory  json.RawMessage `json:"memory"`
	}
	if err := api.Decode(r, &in); err != nil {
		return err
	}
	if in.AgentID == "" {
		return api.Validation("agentId required")
	}
	var values map[string]json.RawMessage
	if in.Key != nil {
		values = map[string]json.RawMessage{*in.Key: in.Memory}
	} else if err := json.Unmarshal(in.Memory, &values); err != nil || values == nil {
		return api.Validation("Memory data required: memory must be an object of keys (or give key)")
	}
	checked, err := checkMemory(values)
	if err != nil {
		return err
	}
	if _, err := s.agent(r.Context(), p.UserID, in.AgentID); err != nil {
		return err
	}
	if err := s.Store.SetMemory(r.Context(), p.UserID, in.AgentID, checked, s.memoryQuota()); err != nil {
		return memoryErr(err)
	}
	if in.Key != nil {
		api.OK(w, map[string]any{"success": true, "agentId": in.AgentID, "key": *in.Key, "saved": true})
		return nil
	}
	api.OK(w, map[string]any{"success": true, "agentId": in.AgentID, "keysUpdated": len(checked), "saved": true})
	return nil
}
