package simulator

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// WriteCRMDir writes the pre-existing CRM the dump's crm/ holds
// (contacts.csv and accounts.csv, the same bytes) into dir, without the
// rest of the dump: for a benchmark that needs the CRM of a world whose
// warehouse is already built, or a CRM of another size
// (Config.CRMContacts). It returns the contacts and accounts written.
func (w *World) WriteCRMDir(dir string) (contacts, accounts int64, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, 0, fmt.Errorf("simulator: CRM folder: %w", err)
	}
	cf, err := os.Create(filepath.Join(dir, "contacts.csv"))
	if err != nil {
		return 0, 0, fmt.Errorf("simulator: %w", err)
	}
	defer cf.Close()
	af, err := os.Create(filepath.Join(dir, "accounts.csv"))
	if err != nil {
		return 0, 0, fmt.Errorf("simulator: %w", err)
	}
	defer af.Close()
	nc, na, err := w.WriteCRM(cf, af)
	if err != nil {
		return 0, 0, err
	}
	for _, f := range []*os.File{cf, af} {
		if err := f.Close(); err != nil {
			return 0, 0, fmt.Errorf("simulator: write %s: %w", f.Name(), err)
		}
	}
	return nc, na, nil
}

// WriteCRM writes the pre-existing CRM's contacts.csv and accounts.csv,
// as the dump's crm/ has them, to the two writers.
func (w *World) WriteCRM(contacts, accounts io.Writer) (nc, na int64, err error) {
	return w.g.writeCRM(contacts, accounts)
}
