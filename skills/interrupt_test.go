package skills

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/agentbot/gateway/skills/internal/testguests"
)

// A runaway guest is stopped at its deadline, wherever it loops, and its
// instance is never used again.
func TestDeadlineStopsRunawayGuests(t *testing.T) {
	const deadline = 200 * time.Millisecond
	// Well above the time the guest takes to reach its next loop head (well
	// under a microsecond): room for a loaded machine and the race detector.
	const margin = time.Second
	ctx := context.Background()
	r := newRuntime(t, Config{Timeout: deadline, InitTimeout: deadline})
	for _, tc := range []struct {
		name  string
		wasm  []byte
		input string
	}{
		{"a tight loop with no calls", testguests.Fixture(t, "loop"), ``},
		{"a Go loop", testguests.Wasm(t, "spin"), `{}`},
		{"a loop in a function called through call_indirect", testguests.Wasm(t, "spin"), `{"indirect":true}`},
		{"an _initialize that never ends", testguests.Wasm(t, "slowinit"), `{}`},
		{"a start section that never ends", startLoop(), ``},
	} {
		m, err := r.Compile(ctx, tc.wasm)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for range 2 { // the second call must not find the first's instance
			start := time.Now()
			_, _, err = r.Call(ctx, m, Request{UserID: "u", Input: []byte(tc.input)})
			if d := time.Since(start); !errors.Is(err, ErrTimeout) || d > deadline+margin {
				t.Errorf("%s: Call = %v after %v; want ErrTimeout after its %v deadline", tc.name, err, d, deadline)
			}
			if r.Idle() != 0 {
				t.Errorf("%s: %d warm instances after a timeout; want none", tc.name, r.Idle())
			}
		}
	}
}

// After a timed-out call, the user's next call gets a new instance: the
// interrupted one is never pooled.
func TestTimedOutInstanceIsNotReused(t *testing.T) {
	r := newRuntime(t, Config{})
	m := guest(t, r, "spin")
	ctx := context.Background()
	instanceCallsOf := func(input string) float64 {
		t.Helper()
		out, f, err := r.Call(ctx, m, Request{UserID: "u", Input: []byte(input)})
		if err != nil || f != nil {
			t.Fatalf("spin(%s) = %v, %v", input, f, err)
		}
		return decode(t, out)["instanceCalls"].(float64)
	}
	if n := instanceCallsOf(`{"n":10}`) + instanceCallsOf(`{"n":10}`); n != 3 {
		t.Fatalf("two short spins on the pooled instance counted %v calls; want 1 + 2", n)
	}
	if _, _, err := r.Call(ctx, m, Request{UserID: "u", Input: []byte(`{"indirect":true}`), Timeout: 100 * time.Millisecond}); !errors.Is(err, ErrTimeout) {
		t.Fatalf("endless spin = %v; want ErrTimeout", err)
	}
	if n := instanceCallsOf(`{"n":10}`); n != 1 {
		t.Errorf("the call after a timeout was the instance's call number %v; want 1 (a new instance)", n)
	}
}

// A looping guest lets the Go runtime in: a garbage collection, which stops
// the world, does not wait for it (a goroutine running wazero's compiled
// code cannot be preempted; the guest's calls out every interrupt.Budget
// iterations are where it can).
func TestLoopingGuestLetsTheGarbageCollectorIn(t *testing.T) {
	r := newRuntime(t, Config{Timeout: 3 * time.Second})
	m := guest(t, r, "spin")
	done := make(chan error, 1)
	go func() {
		_, _, err := r.Call(context.Background(), m, Request{UserID: "u", Input: []byte(`{"indirect":true}`)})
		done <- err
	}()
	eventually(t, "the guest runs", func() bool { return r.Running() == 1 })
	for range 5 {
		start := time.Now()
		runtime.GC()
		if d := time.Since(start); d > time.Second {
			t.Errorf("a garbage collection took %v while a guest looped; want it not held up", d)
		}
	}
	if err := <-done; !errors.Is(err, ErrTimeout) {
		t.Errorf("endless spin = %v; want ErrTimeout", err)
	}
}

// startLoop is a skill whose start section never ends (no toolchain of
// ours makes one, but a module may have one).
func startLoop() []byte {
	sec := func(id byte, payload ...byte) []byte {
		return append([]byte{id, byte(len(payload))}, payload...)
	}
	var wasm []byte
	for _, s := range [][]byte{
		{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00},
		sec(1, 2, 0x60, 0, 0, 0x60, 0, 1, 0x7f), // () -> (), () -> i32
		sec(3, 2, 0, 1),                         // the start function, agentbot_run
		sec(5, 1, 0, 1),                         // a memory of one page
		sec(7, append(append([]byte{2, 6}, "memory"...), append(append([]byte{2, 0, 12}, "agentbot_run"...), 0, 1)...)...),
		sec(8, 0),
		sec(10, 2, 7, 0, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b, 4, 0, 0x41, 0, 0x0b),
	} {
		wasm = append(wasm, s...)
	}
	return wasm
}

// withExport returns wasm with an export section appended that exports
// global 0 as name. The module is invalid (a second export section), which
// does not matter: Compile refuses a reserved name before wazero sees it.
func withExport(wasm []byte, name string) []byte {
	export := append(append([]byte{7, byte(len(name) + 4), 1, byte(len(name))}, name...), 3, 0)
	return append(append([]byte{}, wasm...), export...)
}
