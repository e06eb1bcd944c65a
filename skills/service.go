package skills

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/sdk/provider"
	"github.com/agentbot/gateway/sdk/skill/abi"
)

// IDPrefix starts the gateway ids of skills: "skill:<name>".
const IDPrefix = "skill:"

// Service is the marketplace and the dispatcher of skill calls.
type Service struct {
	Store   *store.Store
	Runtime *Runtime
	Fetch   FetchPolicy
	Log     *slog.Logger
	// CatalogueTTL is how long a node reuses a skill's catalogue entry [2s].
	CatalogueTTL time.Duration

	mu      sync.Mutex
	entries map[string]cachedSkill
}

type cachedSkill struct {
	sk       *store.Skill
	manifest *Manifest
	expires  time.Time
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// skill returns a skill's latest version and its manifest.
func (s *Service) skill(ctx context.Context, name string) (*store.Skill, *Manifest, error) {
	now := time.Now()
	s.mu.Lock()
	e, ok := s.entries[name]
	s.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.sk, e.manifest, nil
	}
	sk, err := s.Store.Skill(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	m, err := ParseManifest(sk.Manifest)
	if err != nil {
		return nil, nil, err
	}
	ttl := s.CatalogueTTL
	if ttl == 0 {
		ttl = 2 * time.Second
	}
	s.mu.Lock()
	if s.entries == nil || len(s.entries) > 10000 {
		s.entries = map[string]cachedSkill{}
	}
	s.entries[name] = cachedSkill{sk: sk, manifest: m, expires: now.Add(ttl)}
	s.mu.Unlock()
	return sk, m, nil
}

func (s *Service) forget(name string) {
	s.mu.Lock()
	delete(s.entries, name)
	s.mu.Unlock()
}

// Lookup resolves a gateway id "skill:<name>" to the skill's price.
func (s *Service) Lookup(ctx context.Context, id string) (priceMicroUSD int64, ok bool) {
	name, found := strings.CutPrefix(id, IDPrefix)
	if !found {
		return 0, false
	}
	sk, _, err := s.skill(ctx, name)
	if err != nil {
		return 0, false
	}
	return sk.PriceMicroUSD, true
}

// module returns the compiled module of a skill version.
func (s *Service) module(ctx context.Context, sha string) (*Module, error) {
	s.Runtime.mu.Lock()
	m, ok := s.Runtime.modules[sha]
	s.Runtime.mu.Unlock()
	if ok {
		return m, nil
	}
	wasm, err := s.Store.SkillModule(ctx, sha)
	if err != nil {
		return nil, err
	}
	return s.Runtime.Compile(ctx, wasm)
}

// Invoke runs a skill call for the gateway (id "skill:<name>").
func (s *Service) Invoke(ctx context.Context, req *provider.InvokeRequest) (*provider.InvokeResponse, error) {
	name := strings.TrimPrefix(req.Capability, IDPrefix)
	sk, man, err := s.skill(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return &provider.InvokeResponse{Error: provider.Errorf(404, "UNKNOWN_PLUGIN", "No skill named %q", name)}, nil
	}
	if err != nil {
		return nil, err
	}
	mod, err := s.module(ctx, sk.SHA256)
	if err != nil {
		return nil, err
	}
	var scope struct {
		AgentID string `json:"agentId"`
	}
	_ = json.Unmarshal(req.Input, &scope)
	if scope.AgentID == "" {
		scope.AgentID = "default"
	}
	caps := abi.Capabilities{Config: man.Config}
	if man.Has("kv") && req.Caller.UserID != "" {
		caps.KV = storeKV{st: s.Store, scope: store.SkillScope{UserID: req.Caller.UserID, AgentID: scope.AgentID, Skill: name}}
	}
	if man.Has("http") {
		caps.Fetch = s.Fetch.Fetcher(man.HTTP.Hosts)
	}
	if man.Has("log") {
		log := s.log().With("skill", name, "request_id", req.Caller.RequestID)
		caps.Log = func(level int, msg string) {
			log.Log(ctx, slog.Level((level-1)*4), msg)
		}
	}
	l := man.Limits
	out, failure, err := s.Runtime.Call(ctx, mod, Request{UserID: req.Caller.UserID, Input: req.Input, Caps: caps,
		Limits:  abi.Limits{MaxOutput: l.MaxOutputBytes, MaxHostCalls: l.MaxHostCalls},
		Timeout: time.Duration(l.TimeoutMS) * time.Millisecond})
	switch {
	case errors.Is(err, ErrTimeout):
		return &provider.InvokeResponse{Error: provider.Errorf(504, "SKILL_TIMEOUT", "The skill did not finish in time")}, nil
	case errors.Is(err, ErrCrashed):
		return &provider.InvokeResponse{Error: provider.Errorf(502, "SKILL_CRASHED", "The skill crashed: %s",
			strings.TrimPrefix(err.Error(), ErrCrashed.Error()+": "))}, nil
	case err != nil:
		return nil, err
	case failure != nil:
		status := failure.Status
		if failure.Code == abi.CodeOutputTooLarge || failure.Code == abi.CodeHostCallLimit {
			status = 502 // the skill misbehaved; the platform did not fail
		}
		return &provider.InvokeResponse{Error: &provider.Error{Status: status, Code: failure.Code, Message: failure.Message}}, nil
	}
	if len(out) == 0 {
		out = []byte("null")
	}
	if !json.Valid(out) {
		return &provider.InvokeResponse{Error: provider.Errorf(502, "SKILL_BAD_OUTPUT", "The skill's output is not JSON")}, nil
	}
	return &provider.InvokeResponse{Output: out}, nil
}

// InvokeStream: skills do not stream; the gateway never calls it.
func (s *Service) InvokeStream(ctx context.Context, req *provider.InvokeRequest, fn func(*provider.Chunk) error) error {
	resp, err := s.Invoke(ctx, req)
	if err != nil {
		return err
	}
	return fn(&provider.Chunk{Data: resp.Output, Error: resp.Error})
}

// storeKV is a skill's key-value store, scoped to (user, agent, skill).
type storeKV struct {
	st    *store.Store
	scope store.SkillScope
}

func (k storeKV) Get(ctx context.Context, key string) ([]byte, bool, error) {
	v, err := k.st.SkillKVGet(ctx, k.scope, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	return v, err == nil, err
}

func (k storeKV) Set(ctx context.Context, key string, v []byte) error {
	return k.st.SkillKVSet(ctx, k.scope, key, v)
}

func (k storeKV) Delete(ctx context.Context, key string) error {
	return k.st.SkillKVDelete(ctx, k.scope, key)
}

func (k storeKV) List(ctx context.Context, prefix string) ([]string, error) {
	return k.st.SkillKVList(ctx, k.scope, prefix)
}
