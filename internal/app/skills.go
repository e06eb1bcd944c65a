package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/tetratelabs/wazero"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/config"
	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/gateway"
	"github.com/agentbot/gateway/sdk/provider"
	"github.com/agentbot/gateway/sdk/skill/abi"
	"github.com/agentbot/gateway/skills"
)

// skillDispatcher adapts the skills service to the gateway's Dispatcher.
type skillDispatcher struct{ s *skills.Service }

func (d skillDispatcher) Target(ctx context.Context, id string) (gateway.Target, bool, error) {
	price, ok, err := d.s.Lookup(ctx, id)
	return gateway.Target{ID: id, PriceMicroUSD: price}, ok, err
}

func (d skillDispatcher) Targets(ctx context.Context) ([]gateway.Target, error) {
	all, err := d.s.Store.Skills(ctx, store.SkillFilter{})
	if err != nil {
		return nil, err
	}
	out := make([]gateway.Target, len(all))
	for i, sk := range all {
		out[i] = gateway.Target{ID: skills.IDPrefix + sk.Name, PriceMicroUSD: sk.PriceMicroUSD}
	}
	return out, nil
}

func (d skillDispatcher) Invoke(ctx context.Context, req *provider.InvokeRequest) (*provider.InvokeResponse, error) {
	return d.s.Invoke(ctx, req)
}

func (d skillDispatcher) InvokeStream(ctx context.Context, req *provider.InvokeRequest, fn func(*provider.Chunk) error) error {
	return d.s.InvokeStream(ctx, req, fn)
}

// newSkills starts the skills runtime and registers the shipped skills.
func newSkills(ctx context.Context, cfg *config.Config, st *store.Store, log *slog.Logger, o options) (*skills.Service, error) {
	sc := cfg.Skills
	rcfg := skills.Config{MemoryPages: uint32(sc.MemoryMB * 16), Timeout: sc.Timeout, Fresh: sc.Fresh, Log: log,
		Limits:       abi.Limits{MaxOutput: sc.MaxOutputBytes, MaxHostCalls: sc.MaxHostCalls},
		MaxIdleBytes: int64(sc.WarmMB) << 20, MaxModules: sc.CacheModules}
	if o.skillCache != nil {
		rcfg.Shared = o.skillCache
	} else if sc.CacheDiskMB > 0 {
		rcfg.CacheDir, rcfg.CacheMaxBytes = filepath.Join(cfg.DataDir, "wasm-cache"), int64(sc.CacheDiskMB)<<20
	}
	rt, err := skills.New(ctx, rcfg)
	if err != nil {
		return nil, err
	}
	svc := &skills.Service{Store: st, Runtime: rt, Log: log,
		Fetch: skills.FetchPolicy{AllowHosts: sc.HTTPHosts, AllowPrivate: sc.HTTPAllowPrivate},
		Quota: skills.Quota{PublishPerDay: sc.PublishPerDay, StorageBytes: int64(sc.StorageMB) << 20,
			KVKeys: sc.KVKeys, KVBytes: int64(sc.KVMB) << 20}}
	if err := registerShipped(ctx, svc, cfg.Skills.Dir, log); err != nil {
		rt.Close(ctx)
		return nil, err
	}
	return svc, nil
}

// registerShipped publishes the skills `make build` put in dir (name.wasm with
// its name.json manifest) as the platform's, and reserves their names so that
// no account can take one. The published version carries the module's digest
// as build metadata, so a rebuilt skill is a new immutable version and an
// unchanged one is a no-op.
func registerShipped(ctx context.Context, svc *skills.Service, dir string, log *slog.Logger) error {
	wasms, _ := filepath.Glob(filepath.Join(dir, "*.wasm"))
	if len(wasms) == 0 {
		log.Warn("no shipped skills found; run `make build`", "dir", dir)
		return nil
	}
	for _, path := range wasms {
		wasm, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		raw, err := os.ReadFile(strings.TrimSuffix(path, ".wasm") + ".json")
		if err != nil {
			return fmt.Errorf("shipped skill %s: manifest: %w", path, err)
		}
		sum := sha256.Sum256(wasm)
		sha := hex.EncodeToString(sum[:])
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			return fmt.Errorf("shipped skill %s: manifest: %w", path, err)
		}
		base, _, _ := strings.Cut(fmt.Sprint(m["version"]), "+")
		m["version"] = base + "+" + sha[:12]
		raw, _ = json.Marshal(m)
		man, err := skills.ParseManifest(raw)
		if err != nil {
			return fmt.Errorf("shipped skill %s: %w", path, err)
		}
		svc.Reserve(man.Name)
		if _, err := svc.Runtime.Compile(ctx, wasm); err != nil {
			return fmt.Errorf("shipped skill %s: %w", path, err)
		}
		_, err = svc.Store.PublishSkill(ctx, "", "Agentbot", store.SkillRelease{Name: man.Name, Version: man.Version,
			Description: man.Description, Category: man.Category, Icon: man.Icon, Manifest: raw,
			PriceMicroUSD: man.PriceMicroUSD(), SHA256: sha, WASM: wasm, Featured: true, RatingX100: 500})
		if errors.Is(err, store.ErrNotOwner) {
			log.Error("a shipped skill's name is taken by a user's skill; not registered", "skill", man.Name)
			continue
		}
		if err != nil {
			return fmt.Errorf("shipped skill %s: %w", man.Name, err)
		}
		log.Info("skill registered", "skill", man.Name, "version", man.Version)
	}
	return nil
}

// skillRoutes are the marketplace's routes and running a skill, which goes
// through the gateway's payment step.
func skillRoutes(g *gateway.Gateway, svc *skills.Service) []route.Route {
	return append(svc.Routes(), route.Route{Method: http.MethodPost, Path: "/api/skills/:name",
		Handler: g.Direct(skills.IDPrefix), Access: route.Public, Accepts: route.Payment, Relays: true,
		Query:   []route.Param{{Name: "X-Payment-Method", Header: true, Doc: "stripe, mpp or x402: how to pay when more than one way would"}},
		Request: skillCall{Action: "simulate"},
		Errors: []api.Code{api.CodeInvalidPluginID, api.CodeInvalidFieldType, api.CodeUnknownPlugin, api.CodeInvalidPaymentMethod,
			api.CodePaymentMethodUnavailable, api.CodeSkillCrashed, api.CodeSkillTimeout, api.CodeSkillBadOutput, api.CodeSkillFailed,
			api.CodeSkillOutputTooLarge, api.CodeSkillHostCallLimit},
		Summary: "`{action, …}` runs the skill, answered with its own output; priced skills are paid like gateway calls"})
}

// skillCall documents a skill's input: the action and its members.
type skillCall struct {
	Action string `json:"action" required:"true" doc:"the skill's action; the other members are its input"`
}

// Option changes how Mount assembles the application.
type Option func(*options)

type options struct {
	skillCache wazero.CompilationCache
}

// SharedSkillCache makes the skills runtime keep compiled code in c, shared
// with every runtime given c, instead of its on-disk cache
// (skills.Config.Shared): for tests that mount the application many times
// with the same skills, where each compile would otherwise start over.
func SharedSkillCache(c wazero.CompilationCache) Option {
	return func(o *options) { o.skillCache = c }
}
