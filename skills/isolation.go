package skills

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/agentbot/gateway/sdk/skill/abi"
)

// How a skill's calls are isolated (Manifest.Isolation).
const (
	// IsolationFresh: every call gets a new instance, closed after it, so
	// nothing a call leaves in guest memory reaches the next call.
	IsolationFresh = "fresh"
	// IsolationPooled: warm instances are reused for the same user's calls
	// (never across users; see Runtime).
	IsolationPooled = "pooled"
)

// DefaultFreshMaxStart is Config.FreshMaxStart's default. Measured on the
// platform's 2-core machine: instantiating the AssemblyScript hello skill
// (32 KB) takes ≈ 50 µs (≈ 190 µs under the race detector), so that a fresh
// call of it costs less than a warm call of the Go hello skill (≈ 60 µs
// against ≈ 120–160 µs at p50, BenchmarkSkillGuests); the Go hello skill
// (3.4 MB) takes ≈ 5 ms. A module's size does not tell its start: an
// AssemblyScript module of 190 KB with 3,000 functions took 0.7 ms at p50
// (1.2 ms on average), one of 430 KB, mostly data, 0.2 ms (0.5 ms).
const DefaultFreshMaxStart = time.Millisecond

// Measuring a module's start: up to startTries instantiations, each cut off
// at startCutoff × FreshMaxStart, so that one descheduled try does not decide
// and a slow start costs the publisher's request about startTries ×
// startCutoff × FreshMaxStart (20 ms by default; 25–35 ms measured for the Go
// hello skill, whose compile at publish takes 1.4 s).
const (
	startTries  = 5
	startCutoff = 4
)

// Isolation decides how to run a module whose manifest does not say:
// IsolationFresh when instantiating it (its _initialize included) takes at
// most Config.FreshMaxStart in the best of a few tries, IsolationPooled
// otherwise, or when it fails to instantiate (its calls will fail alike). It
// takes a cold-start slot while it measures, as a call's cold start would.
func (r *Runtime) Isolation(ctx context.Context, m *Module) string {
	if r.cfg.FreshMaxStart <= 0 {
		return IsolationPooled
	}
	if err := r.pin(m); err != nil {
		return IsolationPooled
	}
	defer r.unpin(m)
	select {
	case r.starting <- struct{}{}:
	case <-ctx.Done():
		return IsolationPooled
	}
	defer func() { <-r.starting }()
	for range startTries {
		d, err := r.timeStart(ctx, m)
		switch {
		case err != nil && ctx.Err() != nil:
			return IsolationPooled
		case err == nil && d <= r.cfg.FreshMaxStart:
			return IsolationFresh
		case err != nil && !isCutOff(err):
			return IsolationPooled // it traps while starting: no measure to take
		}
	}
	return IsolationPooled
}

// errCutOff is a measured start that ran past its cut-off.
var errCutOff = errors.New("start cut off")

func isCutOff(err error) bool { return err == errCutOff }

// timeStart instantiates m once, timing it, and closes the instance.
func (r *Runtime) timeStart(ctx context.Context, m *Module) (time.Duration, error) {
	ictx, cancel := context.WithTimeout(ctx, startCutoff*r.cfg.FreshMaxStart)
	defer cancel()
	t0 := time.Now()
	mod, err := r.instantiate(ictx, m, abi.ModuleConfig(""))
	d := time.Since(t0)
	if err != nil {
		if ictx.Err() != nil && ctx.Err() == nil {
			return d, errCutOff
		}
		return d, err
	}
	mod.Close(context.Background())
	return d, nil
}

// isolation is how the calls of a skill with manifest m run: fresh when the
// operator asks it for every skill (Config.Fresh) or the manifest says so.
// Calls without a user are fresh whatever this says.
func (r *Runtime) isolation(m *Manifest) string {
	if r.cfg.Fresh || m.Isolation == IsolationFresh {
		return IsolationFresh
	}
	return IsolationPooled
}

// WithIsolation returns the manifest raw with its "isolation" set to iso: the
// decision publishing records in the stored manifest, so that every node runs
// the version alike and the listing shows it without the module.
func WithIsolation(raw []byte, iso string) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	v, err := json.Marshal(iso)
	if err != nil {
		return nil, err
	}
	fields["isolation"] = v
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep the author's text as it was
	if err := enc.Encode(fields); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
