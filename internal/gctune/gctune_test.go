package gctune

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
)

// TestMakeHeadroom: a soft limit under the live heap is raised above it;
// with GOMEMLIMIT set, or no limit, nothing changes.
func TestMakeHeadroom(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	live := make([][]byte, 64)
	for i := range live {
		live[i] = make([]byte, 1<<20) // 64 MiB live
	}
	restore := Set(100, 32<<20)
	MakeHeadroom(1.5)
	got := debug.SetMemoryLimit(-1)
	restore()
	if got < 96<<20 {
		t.Errorf("limit %d MiB with 64 MiB live and a factor 1.5: want at least 96 MiB", got>>20)
	}
	runtime.KeepAlive(live)

	debug.SetMemoryLimit(math.MaxInt64)
	MakeHeadroom(1.5)
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("no limit became %d", got)
	}
	t.Setenv("GOMEMLIMIT", "32MiB")
	debug.SetMemoryLimit(32 << 20)
	MakeHeadroom(1.5)
	if got := debug.SetMemoryLimit(-1); got != 32<<20 {
		t.Errorf("GOMEMLIMIT's limit became %d", got)
	}
	runtime.KeepAlive(live)
}
