package simulator

import (
	"errors"
	"fmt"
	"os"
)

// Abort discards a file that will not be finished (the dump failed or was
// stopped): its temporary is closed and removed, and nothing appears at
// its name. Callers that clean up after a failed dump use it.
func (d *dirFile) Abort() error {
	cerr := d.f.Close()
	if err := os.Remove(d.f.Name()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("dump: abort %s: %w", d.final, err)
	}
	if cerr != nil && !errors.Is(cerr, os.ErrClosed) {
		return fmt.Errorf("dump: abort %s: %w", d.final, cerr)
	}
	return nil
}
