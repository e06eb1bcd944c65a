package loop

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// The calls of one message run Concurrency at a time, and their results are
// stored and emitted in call order although later calls finish first.
func TestParallelCalls(t *testing.T) {
	const n, limit = 8, 3
	started := make(chan int, n)
	gates := make([]chan struct{}, n)
	for i := range gates {
		gates[i] = make(chan struct{})
	}
	var inFlight, most atomic.Int32
	wait := func(_ context.Context, args string) (string, bool, int64, error) {
		var a struct{ I int }
		if err := json.Unmarshal([]byte(args), &a); err != nil {
			return err.Error(), true, 0, nil
		}
		cur := inFlight.Add(1)
		for m := most.Load(); cur > m && !most.CompareAndSwap(m, cur); m = most.Load() {
		}
		started <- a.I
		<-gates[a.I]
		inFlight.Add(-1)
		return fmt.Sprintf("r%d", a.I), false, 0, nil
	}
	// The driver waits until the cap is reached, then lets the highest running
	// call finish: calls finish in the order 2, 3, …, 7, 1, 0.
	var order []int
	driverDone := make(chan struct{})
	go func() {
		defer close(driverDone)
		running := map[int]bool{}
		for finished := 0; finished < n; finished++ {
			for len(running) < min(limit, n-finished) {
				select {
				case i := <-started:
					running[i] = true
				case <-time.After(10 * time.Second):
					t.Errorf("only %v in flight; want %d", running, min(limit, n-finished))
					for _, g := range gates[finished:] {
						close(g)
					}
					return
				}
			}
			hi := -1
			for i := range running {
				hi = max(hi, i)
			}
			delete(running, hi)
			order = append(order, hi)
			close(gates[hi])
		}
	}()
	var calls []string
	var want []string
	for i := range n {
		calls = append(calls, "wait", fmt.Sprintf(`{"I":%d}`, i))
		want = append(want, fmt.Sprintf("r%d", i))
	}
	runCase{
		limits: Limits{Concurrency: limit},
		setup: func(e *env) {
			e.model = &fakeModel{answer: script(callsTool(calls...))}
			e.tools = tools(map[string]fakeTool{"wait": {fn: wait}})
		},
		status: StatusOK, reply: "done", roundTrips: 2, toolCalls: n, results: want,
	}.run(t)
	<-driverDone
	if m := most.Load(); m != limit {
		t.Errorf("at most %d calls in flight; want %d", m, limit)
	}
	if fmt.Sprint(order) != "[2 3 4 5 6 7 1 0]" {
		t.Errorf("calls finished in the order %v; want later calls first", order)
	}
}
