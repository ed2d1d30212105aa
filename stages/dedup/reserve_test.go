package dedup_test

import (
	"reflect"
	"testing"

	"archtics/simulator"
	"archtics/stages/dedup"
	"archtics/stages/dedup/evaluate"
)

// TestReserveChangesNoResult: an engine given room for the accounts
// before the run (Reserve, after half of them too) ends in the same state
// as one that grew as it went.
func TestReserveChangesNoResult(t *testing.T) {
	w, err := simulator.NewWorldLazy(simulator.SmallConfig())
	if err != nil {
		t.Fatal(err)
	}
	in := worldInput(w)
	grown, err := evaluate.Run(in, dedup.Config{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := dedup.New(dedup.Config{Now: evaluate.Fixed}, in.CRM)
	if err != nil {
		t.Fatal(err)
	}
	e.Reserve(len(in.Accounts))
	for i := range in.Accounts {
		if i == len(in.Accounts)/2 {
			e.Reserve(len(in.Accounts) - i)
		}
		if _, err := e.Add(&in.Accounts[i]); err != nil {
			t.Fatal(err)
		}
	}
	if a, b := grown.State(), e.State(); !reflect.DeepEqual(a, b) {
		t.Errorf("states differ: %d/%d contacts, %d/%d accounts, %d/%d mappings", len(a.Contacts), len(b.Contacts),
			len(a.Accounts), len(b.Accounts), len(a.Mapping), len(b.Mapping))
	}
}
