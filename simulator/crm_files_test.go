package simulator

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteCRMDirIsTheDumps: the CRM files WriteCRMDir writes are the
// golden dump's crm/, byte for byte, and a CRM of another size
// (Config.CRMContacts) has that many contacts.
func TestWriteCRMDirIsTheDumps(t *testing.T) {
	w, err := NewWorldLazy(TinyConfig())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	nc, na, err := w.WriteCRMDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if nc == 0 || na == 0 {
		t.Fatalf("wrote %d contacts, %d accounts", nc, na)
	}
	for _, f := range []string{"contacts.csv", "accounts.csv"} {
		want, err := os.ReadFile(filepath.Join(goldenDir, "crm", f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want, got) {
			t.Errorf("crm/%s differs from the golden dump's%s", f, firstDiff(want, got, false))
		}
	}

	cfg := TinyConfig()
	cfg.CRMContacts = 300
	big, err := NewWorldLazy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if nc, _, err := big.WriteCRMDir(t.TempDir()); err != nil || nc != 300 {
		t.Errorf("CRMContacts 300: wrote %d contacts (%v)", nc, err)
	}
}
