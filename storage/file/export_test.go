package file

import (
	"testing"
	"time"
)

// SetGraveHold sets how long deleted objects stay in .graves for the rest
// of the test.
func SetGraveHold(t testing.TB, d time.Duration) {
	old := graveHold
	graveHold = d
	t.Cleanup(func() { graveHold = old })
}
