package dedup_test

import (
	"reflect"
	"testing"

	"archtics/simulator"
	"archtics/stages/dedup"
	"archtics/stages/dedup/evaluate"
)

// TestChangesCoverEveryDifference builds an engine over the state a first
// run over half a small world's accounts left, tracks its changes, and
// then does what a later run does: adds the other half, adds accounts of
// the first half again with changed names and emails (primaries that
// overwrite their contact, secondaries matched again), follows merges
// (primaries among them, so another account is promoted) and sets a
// primary by hand. Every contact, CRM account and mapping of the end
// state that is new or differs from the state the engine was built with
// must be in Changes, and ContactAt, AccountAt, MappingAt must be what
// State holds.
func TestChangesCoverEveryDifference(t *testing.T) {
	w, err := simulator.NewWorldLazy(simulator.SmallConfig())
	if err != nil {
		t.Fatal(err)
	}
	in := worldInput(w)
	half := len(in.Accounts) / 2
	first, err := evaluate.Run(evaluate.Input{Accounts: in.Accounts[:half], CRM: in.CRM}, dedup.Config{})
	if err != nil {
		t.Fatal(err)
	}
	before := first.State()

	e, err := dedup.New(dedup.Config{Now: evaluate.Fixed}, before)
	if err != nil {
		t.Fatal(err)
	}
	e.TrackChanges()
	for i := half; i < len(in.Accounts); i++ {
		if _, err := e.Add(&in.Accounts[i]); err != nil {
			t.Fatal(err)
		}
	}
	var primaries, secondaries []dedup.AccountRef
	for _, m := range before.Mapping {
		if m.Role == dedup.Primary {
			primaries = append(primaries, m.Account)
		} else {
			secondaries = append(secondaries, m.Account)
		}
	}
	if len(primaries) < 20 || len(secondaries) < 20 {
		t.Fatalf("the first half left %d primaries and %d secondaries: too few to test with", len(primaries), len(secondaries))
	}
	byRef := map[dedup.AccountRef]dedup.Account{}
	for _, a := range in.Accounts[:half] {
		byRef[a.AccountRef] = a
	}
	// Changed accounts: a primary's new email overwrites its contact; a
	// secondary with another person's names no longer matches.
	for i := 0; i < 10; i++ {
		a := byRef[primaries[i]]
		a.Email = "changed." + a.Email
		if _, err := e.Add(&a); err != nil {
			t.Fatal(err)
		}
		s := byRef[secondaries[i]]
		s.First, s.Last, s.Email, s.PhoneDay = "Zebediah", "Quux", "", ""
		if _, err := e.Add(&s); err != nil {
			t.Fatal(err)
		}
	}
	// Merges: primaries follow other primaries (their contacts promote
	// their next account, if any), secondaries follow primaries.
	for i := 10; i < 15; i++ {
		if _, err := e.Follow(primaries[i], primaries[i+10]); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Follow(secondaries[i], primaries[i+10]); err != nil {
			t.Fatal(err)
		}
	}
	// set-primary: a secondary of an untouched contact becomes its primary.
	for _, s := range secondaries[15:] {
		m, _ := e.Lookup(s)
		if m.Role != dedup.Secondary || m.Rule == dedup.RuleMerged {
			continue
		}
		if _, err := e.SetPrimary(m.ContactID, s); err != nil {
			t.Fatal(err)
		}
		break
	}

	// Deletions: a primary and a secondary leave their contacts.
	removed := map[dedup.AccountRef]bool{}
	for _, r := range []dedup.AccountRef{primaries[16], secondaries[17]} {
		if _, err := e.Remove(r); err != nil {
			t.Fatal(err)
		}
		removed[r] = true
	}

	after := e.State()
	chg := e.Changes()
	if int(chg.NewContacts) != len(before.Contacts) || int(chg.NewAccounts) != len(before.Accounts) || int(chg.NewMappings) != len(before.Mapping) {
		t.Fatalf("Changes counts the state as %d contacts, %d accounts, %d mappings; it had %d, %d, %d", chg.NewContacts, chg.NewAccounts,
			chg.NewMappings, len(before.Contacts), len(before.Accounts), len(before.Mapping))
	}

	listed := map[string]bool{}
	for _, i := range chg.Contacts {
		listed[e.ContactAt(i).ID] = true
	}
	// State lists contacts in the engine's order: index i is ContactAt(i).
	if len(after.Contacts) != int(e.NumContacts()) {
		t.Fatalf("State has %d contacts, NumContacts %d", len(after.Contacts), e.NumContacts())
	}
	changedOld := 0
	for i, c := range after.Contacts {
		if got := e.ContactAt(int32(i)); !reflect.DeepEqual(got, c) || e.ContactID(int32(i)) != c.ID {
			t.Fatalf("ContactAt(%d) = %+v, State has %+v", i, got, c)
		}
		if i >= len(before.Contacts) {
			if !listed[c.ID] {
				t.Errorf("contact %s was created but is not in Changes", c.ID)
			}
			continue
		}
		if !reflect.DeepEqual(c, before.Contacts[i]) {
			changedOld++
			if !listed[c.ID] {
				t.Errorf("contact %s changed (%+v -> %+v) but is not in Changes", c.ID, before.Contacts[i], c)
			}
		}
	}
	if changedOld == 0 {
		t.Fatal("no contact of the state changed: the test exercises nothing")
	}

	if len(chg.Accounts) != len(after.Accounts)-len(before.Accounts) {
		t.Errorf("Changes lists %d CRM accounts, %d were created", len(chg.Accounts), len(after.Accounts)-len(before.Accounts))
	}
	for _, i := range chg.Accounts {
		if a := e.AccountAt(i); a != after.Accounts[i] {
			t.Errorf("AccountAt(%d) = %+v, State has %+v", i, a, after.Accounts[i])
		}
		if j, ok := e.AccountIndex(after.Accounts[i].ID); !ok || j != i {
			t.Errorf("AccountIndex(%s) = %d, %v; want %d", after.Accounts[i].ID, j, ok, i)
		}
	}

	listedMap := map[dedup.AccountRef]bool{}
	for _, i := range chg.Mappings {
		m := e.MappingAt(i)
		listedMap[m.Account] = true
		if e.MappingAccount(i) != m.Account || e.ContactID(e.MappingContact(i)) != m.ContactID {
			t.Errorf("mapping %d: MappingAccount/MappingContact disagree with MappingAt %+v", i, m)
		}
		if m.Role == dedup.Deleted {
			if !removed[m.Account] {
				t.Errorf("mapping %d of %v is deleted but was not removed", i, m.Account)
			}
			continue
		}
		if mi, ok := e.MappingIndex(m.Account); !ok || mi != i {
			t.Errorf("MappingIndex(%v) = %d, %v; want %d", m.Account, mi, ok, i)
		}
	}
	for r := range removed {
		if !listedMap[r] {
			t.Errorf("the removed mapping of %v is not in Changes", r)
		}
	}
	old := map[dedup.AccountRef]dedup.Mapping{}
	for _, m := range before.Mapping {
		old[m.Account] = m
	}
	changedMaps := 0
	for _, m := range after.Mapping {
		if p, ok := old[m.Account]; ok && p == m {
			continue
		}
		if _, ok := old[m.Account]; ok {
			changedMaps++
		}
		if !listedMap[m.Account] {
			t.Errorf("mapping of %s:%d is new or changed but is not in Changes", m.Account.Team, m.Account.AcctID)
		}
	}
	if changedMaps == 0 {
		t.Fatal("no mapping of the state changed: the test exercises nothing")
	}
	t.Logf("state %d contacts, %d mappings; changes: %d contacts (%d of the state), %d accounts, %d mappings (%d of the state)",
		len(before.Contacts), len(before.Mapping), len(chg.Contacts), changedOld, len(chg.Accounts), len(chg.Mappings), changedMaps)
}

// TestChangesWithoutTracking: an engine that never tracked reports all it
// holds as new.
func TestChangesWithoutTracking(t *testing.T) {
	e, err := dedup.New(dedup.Config{Now: evaluate.Fixed}, dedup.State{
		Contacts: []dedup.Contact{{ID: "C1", First: "Ann", Last: "Lee", Source: "crm"}},
		Accounts: []dedup.CRMAccount{{ID: "A1", Name: "Lee Household", Type: "Household", Source: "crm"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	chg := e.Changes()
	if !reflect.DeepEqual(chg.Contacts, []int32{0}) || !reflect.DeepEqual(chg.Accounts, []int32{0}) || len(chg.Mappings) != 0 {
		t.Errorf("Changes without TrackChanges = %+v, want everything held", chg)
	}
}
