package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// profileEnv names a file to write a CPU profile of the whole command to
// (go tool pprof reads it): for finding where a slow run spends its time.
const profileEnv = "ARCHTICS_CPUPROFILE"

// startProfile starts the CPU profile profileEnv asks for and returns the
// function that ends it; a profile that cannot start is a warning, not a
// failure of the command.
func startProfile() (stop func()) {
	path := os.Getenv(profileEnv)
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "archtics: %s: %v (no profile written)\n", profileEnv, err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		fmt.Fprintf(os.Stderr, "archtics: %s: %v (no profile written)\n", profileEnv, err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
