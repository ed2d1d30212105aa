// Package benchproc holds what the benchmarks measure processes with: the
// CPU time and peak memory of this process or another (Linux /proc), and
// the simulator started as its own process, `archtics simulate serve`, so
// a benchmark's figures are not the simulator's.
package benchproc

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SelfCPU is the user and system CPU time this process has used.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// PeakRSS reads VmHWM, the peak resident set, of /proc/<pid>/status in
// bytes ("self" for this process); 0 when unreadable.
func PeakRSS(pid string) int64 {
	data, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			if kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64); err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// CPU is process pid's user and system CPU time so far
// (/proc/<pid>/stat); 0 when unreadable.
func CPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// After the command name in parentheses: state is field 3, utime 14, stime 15.
	i := strings.LastIndexByte(string(data), ')')
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // clock ticks: USER_HZ is 100 on Linux
}

// Simulator is `archtics simulate serve` in its own process.
type Simulator struct {
	Cmd *exec.Cmd
	URL string // the base URL (without /ats)
}

// StartSimulator starts bin's `simulate serve` with args on a free
// loopback port, accepting token; it is stopped when the benchmark ends.
func StartSimulator(tb testing.TB, bin, token string, args ...string) *Simulator {
	tb.Helper()
	cmd := exec.Command(bin, append([]string{"--log-level", "error", "simulate", "serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "ARCHTICS_SIM_TOKEN="+token)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "url:"); ok {
			go io.Copy(io.Discard, stderr)
			return &Simulator{Cmd: cmd, URL: strings.TrimSuffix(strings.TrimSpace(u), "/ats")}
		}
	}
	tb.Fatalf("simulate serve printed no url (%v)", sc.Err())
	return nil
}

// CPU is the simulator's CPU time so far.
func (s *Simulator) CPU() time.Duration { return CPU(s.Cmd.Process.Pid) }

// PeakRSS is the simulator's peak resident memory so far.
func (s *Simulator) PeakRSS() int64 { return PeakRSS(strconv.Itoa(s.Cmd.Process.Pid)) }
