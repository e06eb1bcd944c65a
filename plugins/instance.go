package plugins

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/agentbot/gateway/sdk/provider"
)

// instance is one supervised plugin.
type instance struct {
	host          *Host
	spec          Spec
	sum           []byte
	log           *slog.Logger
	timeout       time.Duration
	streamTimeout time.Duration
	kick          chan struct{} // a call saw a transport failure: check the process now
	ready         chan struct{} // closed after the first start attempt
	readyOnce     sync.Once

	mu        sync.RWMutex
	proc      *provider.Process
	up        bool
	refused   error // permanent: checksum mismatch
	lastErr   error
	restarts  int
	failures  int       // consecutive transport failures
	openUntil time.Time // breaker open until then
	trial     bool      // a half-open trial call is in flight
}

func (i *instance) markReady() { i.readyOnce.Do(func() { close(i.ready) }) }

// supervise keeps the plugin running until ctx ends.
func (i *instance) supervise(ctx context.Context) {
	o := i.host.opts
	backoff := o.BackoffMin
	defer i.markReady()
	for ctx.Err() == nil {
		started := time.Now()
		proc, err := i.start(ctx)
		if err != nil {
			i.setDown(err)
			if errors.Is(err, provider.ErrChecksum) {
				i.log.Error("plugin refused: its binary does not match the configured SHA-256; it will not be started",
					"path", i.spec.Path, "err", err)
				i.mu.Lock()
				i.refused = err
				i.mu.Unlock()
				return
			}
			i.log.Error("plugin failed to start", "err", err, "retry_in", backoff)
			i.markReady()
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(backoff*2, o.BackoffMax)
			continue
		}
		i.mu.Lock()
		i.proc, i.up, i.lastErr, i.failures, i.openUntil = proc, true, nil, 0, time.Time{}
		i.mu.Unlock()
		i.markReady()
		i.log.Info("plugin up", "pid", proc.Pid())
		reason := i.watch(ctx, proc)
		i.setDown(reason)
		proc.Kill()
		if ctx.Err() != nil {
			return
		}
		i.mu.Lock()
		i.restarts++
		i.mu.Unlock()
		if ranFor := time.Since(started); ranFor > time.Second {
			// It was serving: restart at once. Only a process that dies
			// within a second of starting (a crash loop) is backed off.
			if ranFor > time.Minute {
				backoff = o.BackoffMin
			}
			i.log.Warn("plugin down; restarting now", "reason", reason)
			continue
		}
		i.log.Warn("plugin down; restarting", "reason", reason, "retry_in", backoff)
		if !sleep(ctx, backoff) {
			return
		}
		backoff = min(backoff*2, o.BackoffMax)
	}
}

func (i *instance) start(ctx context.Context) (*provider.Process, error) {
	proc, err := provider.Start(ctx, provider.StartOptions{Path: i.spec.Path, SHA256: i.sum, Log: i.log})
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	m, err := proc.Client().Metadata(cctx)
	if err != nil {
		proc.Kill()
		return nil, err
	}
	if m.ProtocolVersion != provider.ProtocolVersion {
		proc.Kill()
		return nil, errors.New("plugin speaks another protocol version")
	}
	if len(i.spec.Config) > 0 {
		resp, err := proc.Client().Configure(cctx, &provider.ConfigureRequest{Config: i.spec.Config})
		if err != nil {
			proc.Kill()
			return nil, err
		}
		if resp.Error != nil {
			proc.Kill()
			return nil, resp.Error
		}
	}
	i.host.register(i, m)
	return proc, nil
}

// watch returns when the process exits, fails a health check, or ctx ends.
func (i *instance) watch(ctx context.Context, proc *provider.Process) error {
	o := i.host.opts
	poll := time.NewTicker(o.ExitPoll)
	defer poll.Stop()
	health := time.NewTicker(o.HealthInterval)
	defer health.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-poll.C:
			if proc.Exited() {
				return errors.New("process exited")
			}
		case <-i.kick:
			if proc.Exited() {
				return errors.New("process exited")
			}
		case <-health.C:
			hctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			_, err := proc.Client().Metadata(hctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				return errors.Join(errors.New("health check failed"), err)
			}
		}
	}
}

func (i *instance) setDown(err error) {
	i.mu.Lock()
	i.up, i.proc, i.lastErr = false, nil, err
	i.mu.Unlock()
}

// acquire returns the client to call, or ErrUnavailable when the plugin is
// down or its breaker is open. In half-open state one trial call passes.
func (i *instance) acquire() (*provider.Client, bool, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if !i.up || i.proc == nil {
		return nil, false, ErrUnavailable
	}
	trial := false
	if !i.openUntil.IsZero() {
		if time.Now().Before(i.openUntil) || i.trial {
			return nil, false, ErrUnavailable
		}
		i.trial, trial = true, true
	}
	return i.proc.Client(), trial, nil
}

// call runs fn with a deadline, feeding the breaker and the supervisor.
func (i *instance) call(ctx context.Context, timeout time.Duration, fn func(context.Context, *provider.Client) error) error {
	c, trial, err := i.acquire()
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err = fn(cctx, c)
	switch {
	case err == nil:
		i.record(true, trial)
		return nil
	case ctx.Err() != nil:
		// The caller went away; the plugin is not to blame.
		i.record(true, trial)
		return ctx.Err()
	case errors.Is(err, context.DeadlineExceeded):
		i.record(false, trial)
		return context.DeadlineExceeded
	case errors.Is(err, provider.ErrUnavailable), errors.Is(err, context.Canceled):
		// Canceled without the caller cancelling: the connection was torn down
		// under the call (the plugin died or is being replaced).
		i.record(false, trial)
		select {
		case i.kick <- struct{}{}:
		default:
		}
		return errors.Join(ErrUnavailable, err)
	}
	// Any other error came from fn's callback (e.g. the client hung up).
	i.record(true, trial)
	return err
}

func (i *instance) record(ok, trial bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if trial {
		i.trial = false
	}
	if ok {
		i.failures, i.openUntil = 0, time.Time{}
		return
	}
	i.failures++
	if i.failures >= i.host.opts.BreakerThreshold || trial {
		i.openUntil = time.Now().Add(i.host.opts.BreakerCooldown)
		i.log.Warn("circuit breaker open", "failures", i.failures, "cooldown", i.host.opts.BreakerCooldown)
	}
}

func (i *instance) status() Status {
	i.mu.RLock()
	defer i.mu.RUnlock()
	s := Status{Name: i.spec.Name, Up: i.up, Restarts: i.restarts, Breaker: "closed"}
	if i.proc != nil {
		s.Pid = i.proc.Pid()
	}
	if !i.openUntil.IsZero() {
		s.Breaker = "open"
		if !time.Now().Before(i.openUntil) {
			s.Breaker = "half-open"
		}
	}
	if i.refused != nil {
		s.Error = i.refused.Error()
	} else if i.lastErr != nil && !i.up {
		s.Error = i.lastErr.Error()
	}
	return s
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
