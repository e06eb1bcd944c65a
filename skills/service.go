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
	// Quota bounds what one account may publish and keep in skills'
	// key-value stores (zero fields: the defaults).
	Quota Quota
	// Agents says whether a user owns an agent, for the key-value scope a
	// call names with "agentId". nil: there are no agents, so a call naming
	// one is refused.
	Agents AgentOwner
	// Started, if set, is told of every instance a call of a skill started
	// (a cold start, initialisation included) and how long it took: the
	// instantiation metrics.
	Started func(skill string, took time.Duration)

	mu       sync.Mutex
	entries  map[string]cachedSkill
	reserved map[string]bool
	// refused holds, per account, when this node last refused its modules
	// after compiling them (see refusedRecently).
	refused map[string][]time.Time
	// fetch is Fetch with the one transport every skill's requests share.
	fetchOnce sync.Once
	fetch     FetchPolicy
	// versions holds the versions Tools and InvokeVersion were asked for,
	// parsed and compiled (versions are immutable, so never stale).
	versions versionCache
}

// Quota bounds one account's use of the marketplace.
type Quota struct {
	// PublishPerDay bounds the versions published in any 24 hours, and
	// separately, per node, the modules refused after compiling [20].
	PublishPerDay int
	StorageBytes  int64 // bytes of the distinct modules behind the account's versions [256 MiB]
	KVKeys        int   // keys per user and skill, all agents together [1000]
	KVBytes       int64 // bytes of keys and values per user and skill [10 MiB]
}

// Default quotas.
const (
	DefaultPublishPerDay = 20
	DefaultStorageBytes  = 256 << 20
)

func (q Quota) withDefaults() Quota {
	if q.PublishPerDay <= 0 {
		q.PublishPerDay = DefaultPublishPerDay
	}
	if q.StorageBytes <= 0 {
		q.StorageBytes = DefaultStorageBytes
	}
	if q.KVKeys <= 0 {
		q.KVKeys = store.DefaultSkillKVKeys
	}
	if q.KVBytes <= 0 {
		q.KVBytes = store.DefaultSkillKVBytes
	}
	return q
}

// refusedRecently reports whether an account had PublishPerDay modules
// refused after compiling in the last 24 hours on this node, and when the
// oldest of them leaves the window. A refused module makes no version, so the
// store's quota does not count it, yet it cost a compile (CPU, on this node):
// without this, one account could keep the compiler busy for everyone.
func (s *Service) refusedRecently(userID string, now time.Time) (bool, time.Duration) {
	limit := s.Quota.withDefaults().PublishPerDay
	s.mu.Lock()
	defer s.mu.Unlock()
	recent := s.refused[userID][:0]
	for _, at := range s.refused[userID] {
		if now.Sub(at) < 24*time.Hour {
			recent = append(recent, at)
		}
	}
	if len(recent) == 0 {
		delete(s.refused, userID)
		return false, 0
	}
	s.refused[userID] = recent
	return len(recent) >= limit, 24*time.Hour - now.Sub(recent[0])
}

// noteRefused records a module refused after compiling.
func (s *Service) noteRefused(userID string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refused == nil {
		s.refused = map[string][]time.Time{}
	}
	s.refused[userID] = append(s.refused[userID], now)
}

// AgentOwner tells whether userID owns the agent agentID.
type AgentOwner interface {
	OwnsAgent(ctx context.Context, userID, agentID string) (bool, error)
}

// Reserve keeps names for the platform: no account may publish a skill by
// one of them. The app reserves the shipped skills' names at start.
func (s *Service) Reserve(names ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reserved == nil {
		s.reserved = map[string]bool{}
	}
	for _, n := range names {
		s.reserved[n] = true
	}
}

// Reserved reports whether a name is kept for the platform: a reserved one,
// or "publish", which POST /api/skills/publish takes from the route of calls.
func (s *Service) Reserved(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return name == "publish" || s.reserved[name]
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
	m, err := parseManifest(sk.Manifest)
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
func (s *Service) Lookup(ctx context.Context, id string) (priceMicroUSD int64, ok bool, err error) {
	name, found := strings.CutPrefix(id, IDPrefix)
	if !found {
		return 0, false, nil
	}
	sk, _, err := s.skill(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return sk.PriceMicroUSD, true, nil
}

// module returns the compiled module of a skill version.
func (s *Service) module(ctx context.Context, sha string) (*Module, error) {
	if m := s.Runtime.Module(sha); m != nil {
		return m, nil
	}
	wasm, err := s.Store.SkillModule(ctx, sha)
	if err != nil {
		return nil, err
	}
	return s.Runtime.Compile(ctx, wasm)
}

// agentScope is the agent part of a call's key-value scope: "default" when
// the call names none, else an agent the caller owns.
func (s *Service) agentScope(ctx context.Context, userID, agentID string) (string, *provider.Error, error) {
	if agentID == "" {
		return "default", nil, nil
	}
	owns := false
	if s.Agents != nil && userID != "" {
		var err error
		if owns, err = s.Agents.OwnsAgent(ctx, userID, agentID); err != nil {
			return "", nil, err
		}
	}
	if !owns {
		return "", provider.Errorf(404, "AGENT_NOT_FOUND", "No agent %q of yours: agentId must name one of your agents, "+
			"or be left out for your own key-value scope", agentID), nil
	}
	return agentID, nil, nil
}

// fetcher is the http_fetch capability for a manifest's hosts, on the
// transport every skill shares.
func (s *Service) fetcher(hosts []string) abi.Fetcher {
	s.fetchOnce.Do(func() { s.fetch = s.Fetch.shared() })
	return s.fetch.Fetcher(hosts)
}

// Invoke runs a skill call for the gateway (id "skill:<name>") on the
// skill's latest version; InvokeVersion runs a pinned one.
func (s *Service) Invoke(ctx context.Context, req *provider.InvokeRequest) (*provider.InvokeResponse, error) {
	name := strings.TrimPrefix(req.Capability, IDPrefix)
	sk, man, err := s.skill(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return &provider.InvokeResponse{Error: provider.Errorf(404, "UNKNOWN_PLUGIN", "No skill named %q", name)}, nil
	}
	if err != nil {
		return nil, err
	}
	return s.run(ctx, req, name, sk, man)
}

// run calls one version of a skill (sk, with its manifest man).
func (s *Service) run(ctx context.Context, req *provider.InvokeRequest, name string, sk *store.Skill, man *Manifest) (*provider.InvokeResponse, error) {
	caps := abi.Capabilities{Config: man.Config}
	if man.Has("kv") {
		var scope struct {
			AgentID string `json:"agentId"`
		}
		_ = json.Unmarshal(req.Input, &scope)
		agent, refused, err := s.agentScope(ctx, req.Caller.UserID, scope.AgentID)
		switch {
		case err != nil:
			return nil, err
		case refused != nil:
			return &provider.InvokeResponse{Error: refused}, nil
		}
		if req.Caller.UserID != "" {
			q := s.Quota.withDefaults()
			caps.KV = storeKV{st: s.Store, scope: store.SkillScope{UserID: req.Caller.UserID, AgentID: agent, Skill: name},
				quota: store.SkillKVQuota{Keys: q.KVKeys, Bytes: q.KVBytes}}
		}
	}
	if man.Has("http") {
		caps.Fetch = s.fetcher(man.HTTP.Hosts)
	}
	if man.Has("log") {
		log := s.log().With("skill", name, "request_id", req.Caller.RequestID)
		caps.Log = func(level int, msg string) {
			log.Log(ctx, slog.Level((level-1)*4), msg)
		}
	}
	l := man.Limits
	var started func(time.Duration)
	if s.Started != nil {
		started = func(took time.Duration) { s.Started(name, took) }
	}
	call := Request{Started: started, UserID: req.Caller.UserID, Fresh: s.Runtime.isolation(man) == IsolationFresh, Input: req.Input, Caps: caps,
		Limits:  abi.Limits{MaxOutput: l.MaxOutputBytes, MaxHostCalls: l.MaxHostCalls},
		Timeout: time.Duration(l.TimeoutMS) * time.Millisecond}
	var (
		out     []byte
		failure *abi.Failure
		err     error
	)
	// A module may be evicted from memory between its lookup and its call;
	// then it is compiled again (from the disk cache, usually).
	for attempt := 0; ; attempt++ {
		mod, merr := s.module(ctx, sk.SHA256)
		if merr != nil {
			return nil, merr
		}
		out, failure, err = s.Runtime.Call(ctx, mod, call)
		if !errors.Is(err, ErrEvicted) || attempt == 2 {
			break
		}
	}
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
	quota store.SkillKVQuota
}

func (k storeKV) Get(ctx context.Context, key string) ([]byte, bool, error) {
	v, err := k.st.SkillKVGet(ctx, k.scope, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	return v, err == nil, err
}

func (k storeKV) Set(ctx context.Context, key string, v []byte) error {
	err := k.st.SkillKVSet(ctx, k.scope, key, v, k.quota)
	if errors.Is(err, store.ErrKVFull) {
		return abi.ErrQuota
	}
	return err
}

func (k storeKV) Delete(ctx context.Context, key string) error {
	return k.st.SkillKVDelete(ctx, k.scope, key)
}

func (k storeKV) List(ctx context.Context, prefix string) ([]string, error) {
	return k.st.SkillKVList(ctx, k.scope, prefix)
}
