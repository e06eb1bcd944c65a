package memtest

import (
	"runtime"
	"testing"
)

var sink []byte

func TestPeakGrowthSeesAnAllocation(t *testing.T) {
	const size = 96 << 20
	grew, how := PeakGrowth(func() {
		sink = make([]byte, size)
		for i := 0; i < len(sink); i += 4096 {
			sink[i] = 1
		}
		sink = nil
		runtime.GC()
	})
	t.Logf("96 MiB touched and freed: peak growth %d MiB (%s)", grew>>20, how)
	if grew < size*3/4 {
		t.Errorf("PeakGrowth = %d MiB after touching 96 MiB; want at least 72", grew>>20)
	}
	if idle, _ := PeakGrowth(func() {}); idle > 16<<20 {
		t.Errorf("PeakGrowth(nothing) = %d MiB; want about 0", idle>>20)
	}
}
