package heartbeat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"github.com/agentbot/gateway/core/store"
)

// Queues: the sweep has its own, so that long heartbeat turns never hold it up.
const (
	queueSweep = "heartbeat_sweep"
	queueBeat  = "heartbeat"
)

// Config configures a Scheduler. Store, Run and Deliver are required.
type Config struct {
	Store   *store.Store
	Run     Runner
	Deliver Deliverer
	// Sweep is how often the leader looks for due schedules [1m].
	Sweep time.Duration
	// SweepLimit bounds the schedules one sweep transaction claims; a sweep
	// that fills it goes on with another [500].
	SweepLimit int
	// Workers bounds the heartbeats this node runs at once [4].
	Workers int
	// DailyBudgetMicroUSD bounds what one agent's heartbeats may spend in
	// any 24 hours; a heartbeat over it is skipped. 0: no bound beyond each
	// run's own budget.
	DailyBudgetMicroUSD int64
	// JobTimeout bounds one heartbeat job [15m]; the turn has its own,
	// shorter deadline.
	JobTimeout time.Duration
	// PollInterval is how often this node looks for jobs when it is not
	// notified of them (always on SQLite) [1s].
	PollInterval time.Duration
	// ID names this node's queue client; River makes one up when empty.
	ID  string
	Log *slog.Logger
	// Now is the clock of sweeps and budgets [time.Now].
	Now func() time.Time
}

// Scheduler runs heartbeats on River. Create it with New, then Start; Stop
// it before the store closes.
type Scheduler struct {
	cfg Config
	eng engine
}

// engine is the queue behind the Scheduler: River on the store's backend.
type engine interface {
	start(ctx context.Context) error
	stop(ctx context.Context) error
	// insert enqueues due slots in a sweep's transaction.
	insert(ctx context.Context, tx any, due []store.DueHeartbeat) error
}

// New builds a Scheduler on cfg.Store's database. It runs nothing until Start.
func New(cfg Config) (*Scheduler, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("heartbeat: Config.Store is required")
	case cfg.Run == nil:
		return nil, errors.New("heartbeat: Config.Run is required")
	case cfg.Deliver == nil:
		return nil, errors.New("heartbeat: Config.Deliver is required")
	case cfg.Sweep < 0 || cfg.Workers < 0 || cfg.SweepLimit < 0 || cfg.DailyBudgetMicroUSD < 0:
		return nil, errors.New("heartbeat: negative Config value")
	}
	if cfg.Sweep == 0 {
		cfg.Sweep = time.Minute
	}
	if cfg.SweepLimit == 0 {
		cfg.SweepLimit = 500
	}
	if cfg.Workers == 0 {
		cfg.Workers = 4
	}
	if cfg.JobTimeout == 0 {
		cfg.JobTimeout = 15 * time.Minute
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Scheduler{cfg: cfg}
	pg, lite := cfg.Store.JobPools()
	var err error
	switch {
	case pg != nil:
		s.eng, err = newRiver(riverpgxv5.New(pg), s)
	case lite != nil:
		s.eng, err = newRiver(riversqlite.New(lite), s)
	default:
		err = fmt.Errorf("heartbeat: no job queue for the %s store", cfg.Store.Backend())
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Start starts working jobs; on the elected leader it also sweeps. Stopping
// is Stop's job alone: ctx only bounds the start.
func (s *Scheduler) Start(ctx context.Context) error { return s.eng.start(context.WithoutCancel(ctx)) }

// Stop stops fetching jobs and waits for running heartbeats until ctx ends,
// then cancels them and waits for them to record their outcome.
func (s *Scheduler) Stop(ctx context.Context) error { return s.eng.stop(ctx) }

// Sweep claims the schedules due now and enqueues their slots, as the
// periodic sweep does; it returns the slots enqueued. Safe to run on any
// node at any time: concurrent sweeps claim disjoint schedules.
func (s *Scheduler) Sweep(ctx context.Context) ([]store.DueHeartbeat, error) {
	var all []store.DueHeartbeat
	for range 20 { // a bound, so that one sweep job cannot run away
		due, err := s.cfg.Store.SweepHeartbeats(ctx, s.cfg.Now(), s.cfg.SweepLimit, s.eng.insert)
		all = append(all, due...)
		if err != nil || len(due) < s.cfg.SweepLimit {
			return all, err
		}
	}
	return all, nil
}

// riverEngine is River over one driver; TTx is the driver's transaction.
type riverEngine[TTx any] struct {
	client *river.Client[TTx]
	log    *slog.Logger
}

func newRiver[TTx any](driver riverdriver.Driver[TTx], s *Scheduler) (*riverEngine[TTx], error) {
	cfg := s.cfg
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &sweepWorker{s: s}); err != nil {
		return nil, err
	}
	if err := river.AddWorkerSafely(workers, &beatWorker{s: s}); err != nil {
		return nil, err
	}
	sweep := river.NewPeriodicJob(river.PeriodicInterval(cfg.Sweep), func() (river.JobArgs, *river.InsertOpts) {
		// At most one sweep waiting or running at a time, whichever node led
		// when it was enqueued: a slow sweep is not joined by a queue of
		// others.
		return sweepArgs{}, &river.InsertOpts{Queue: queueSweep, MaxAttempts: 1, UniqueOpts: river.UniqueOpts{
			ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
				rivertype.JobStateRetryable, rivertype.JobStateScheduled}}}
	}, &river.PeriodicJobOpts{ID: "heartbeat-sweep", RunOnStart: true})
	client, err := river.NewClient(driver, &river.Config{
		ID:     cfg.ID,
		Logger: cfg.Log.With("component", "heartbeat"),
		Queues: map[string]river.QueueConfig{
			queueSweep: {MaxWorkers: 1},
			queueBeat:  {MaxWorkers: cfg.Workers},
		},
		Workers:           workers,
		PeriodicJobs:      []*river.PeriodicJob{sweep},
		JobTimeout:        cfg.JobTimeout,
		FetchPollInterval: cfg.PollInterval,
		FetchCooldown:     min(cfg.PollInterval, river.FetchCooldownDefault),
		// REINDEX needs the table's owner, and the queue serves as the
		// unprivileged role; operators reindex River's tables, if ever, as
		// the owner.
		ReindexerIndexNames: []string{},
	})
	if err != nil {
		return nil, fmt.Errorf("heartbeat: %w", err)
	}
	return &riverEngine[TTx]{client: client, log: cfg.Log}, nil
}

func (e *riverEngine[TTx]) start(ctx context.Context) error {
	if err := e.client.Start(ctx); err != nil {
		return fmt.Errorf("heartbeat: start River: %w", err)
	}
	return nil
}

func (e *riverEngine[TTx]) stop(ctx context.Context) error {
	err := e.client.Stop(ctx)
	if err == nil || ctx.Err() == nil {
		return err
	}
	// Out of time: cancel the turns still running; each records its outcome
	// on a context of its own, so this is short.
	hard, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return e.client.StopAndCancel(hard)
}

func (e *riverEngine[TTx]) insert(ctx context.Context, tx any, due []store.DueHeartbeat) error {
	t, ok := tx.(TTx)
	if !ok {
		return fmt.Errorf("heartbeat: the store handed a %T transaction to the queue", tx)
	}
	params := make([]river.InsertManyParams, len(due))
	for i, d := range due {
		params[i] = river.InsertManyParams{Args: beatArgs{AgentID: d.AgentID, UserID: d.UserID, Slot: d.Slot.Unix(), Missed: d.Missed}}
	}
	_, err := e.client.InsertManyTx(ctx, t, params)
	return err
}
