//go:build archtics_unchecked_criteria

package realtime

import "os"

// uncheckedCriteria: see unchecked_off.go. Never in a product build.
var uncheckedCriteria = os.Getenv("ARCHTICS_TEST_UNCHECKED_CRITERIA") == "1"
