package skills

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/sdk/provider"
)

// Tools returns what an agent needs to offer a skill version to a model as
// tools and to check the model's arguments (ToolSet.Validate). Versions are
// immutable, so a pinned version's tools never change; they are cached, a
// bounded number of versions per node. An absent skill or version is an
// error wrapping store.ErrNotFound.
func (s *Service) Tools(ctx context.Context, name, version string) (*ToolSet, error) {
	p, err := s.version(ctx, name, version)
	if err != nil {
		return nil, err
	}
	return p.tools, nil
}

// InvokeVersion runs a skill call (id "skill:<name>") on the given version,
// under that version's module and manifest (capabilities, limits, config),
// whatever the latest is. It does not check the input against the version's
// schemas: an agent calls ToolSet.Validate first. An absent version answers
// 404 UNKNOWN_PLUGIN.
func (s *Service) InvokeVersion(ctx context.Context, req *provider.InvokeRequest, version string) (*provider.InvokeResponse, error) {
	name := strings.TrimPrefix(req.Capability, IDPrefix)
	p, err := s.version(ctx, name, version)
	if errors.Is(err, store.ErrNotFound) {
		return &provider.InvokeResponse{Error: provider.Errorf(404, "UNKNOWN_PLUGIN", "No version %q of a skill named %q", version, name)}, nil
	}
	if err != nil {
		return nil, err
	}
	return s.run(ctx, req, name, p.sk, p.man)
}

// pinned is one version of a skill, ready to call and to offer as tools.
type pinned struct {
	sk    *store.Skill
	man   *Manifest
	tools *ToolSet
}

func (s *Service) version(ctx context.Context, name, version string) (*pinned, error) {
	key := [2]string{name, version}
	if p := s.versions.get(key); p != nil {
		return p, nil
	}
	sk, err := s.Store.SkillVersion(ctx, name, version)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("skills: no version %q of a skill named %q: %w", version, name, err)
	}
	if err != nil {
		return nil, err
	}
	man, err := ParseManifest(sk.Manifest)
	if err != nil {
		return nil, fmt.Errorf("skills: the stored manifest of %s@%s: %w", name, version, err)
	}
	ts := man.Tools()
	ts.Version, ts.PriceMicroUSD = sk.Version, sk.PriceMicroUSD // the store's record is the one billed
	p := &pinned{sk: sk, man: man, tools: ts}
	s.versions.put(key, p)
	return p, nil
}

// versionCacheSize bounds the versions a node keeps parsed and compiled.
const versionCacheSize = 512

// versionCache is a least-recently-used cache of pinned versions; the zero
// value is ready (size versionCacheSize).
type versionCache struct {
	mu    sync.Mutex
	size  int
	order *list.List // of *versionEntry, most recently used first
	index map[[2]string]*list.Element
}

type versionEntry struct {
	key [2]string
	p   *pinned
}

func (c *versionCache) get(key [2]string) *pinned {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.index[key]
	if !ok {
		return nil
	}
	c.order.MoveToFront(e)
	return e.Value.(*versionEntry).p
}

func (c *versionCache) put(key [2]string, p *pinned) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.index == nil {
		c.index, c.order = map[[2]string]*list.Element{}, list.New()
	}
	if c.size <= 0 {
		c.size = versionCacheSize
	}
	if e, ok := c.index[key]; ok {
		c.order.MoveToFront(e)
		return
	}
	c.index[key] = c.order.PushFront(&versionEntry{key: key, p: p})
	for c.order.Len() > c.size {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.index, last.Value.(*versionEntry).key)
	}
}

func (c *versionCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.index)
}
