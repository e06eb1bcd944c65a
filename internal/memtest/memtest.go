// Package memtest measures how far a process's memory rises while a function
// runs, for tests that bound it (a skill writing 64 GB must not make the
// server buffer it).
package memtest

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"time"
)

// PeakGrowth runs fn and returns how far the process's resident memory rose
// above its level at the start, at its peak, and how it was measured. On
// Linux it resets the kernel's high-water mark (VmHWM, through
// /proc/self/clear_refs) and reads it after fn; in any case it also samples
// the resident size every millisecond. The larger growth wins.
func PeakGrowth(fn func()) (growth uint64, how string) {
	runtime.GC()
	hwm := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	start, how := resident()
	peak := start
	var mu sync.Mutex
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if n, _ := resident(); n > 0 {
					mu.Lock()
					peak = max(peak, n)
					mu.Unlock()
				}
			}
		}
	}()
	fn()
	close(done)
	wg.Wait()
	if hwm {
		if n := status("VmHWM:"); n > 0 {
			peak = max(peak, n)
			how = "VmHWM after resetting it, and VmRSS sampled every ms"
		}
	}
	if peak < start {
		return 0, how
	}
	return peak - start, how
}

// resident is the process's resident memory: VmRSS, or where there is no
// /proc, Go's own view of the memory it has mapped and not released.
func resident() (uint64, string) {
	if n := status("VmRSS:"); n > 0 {
		return n, "VmRSS sampled every ms"
	}
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() - s[1].Value.Uint64(), "Go's mapped memory sampled every ms"
}

// status reads a "Name: n kB" line of /proc/self/status in bytes (0 if none).
func status(name string) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte(name)) {
			continue
		}
		f := bytes.Fields(line[len(name):])
		if len(f) == 0 {
			return 0
		}
		n, err := strconv.ParseUint(string(f[0]), 10, 64)
		if err != nil {
			return 0
		}
		return n << 10
	}
	return 0
}
