package crm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"archtics/simulator"
	"archtics/stages/dedup"
	"archtics/stages/dedup/evaluate"
)

// TestEvaluateAgainstEngine: the first dedup run over a simulated dump,
// measured through the warehouse against the dump's
// groundtruth/duplicate_clusters.csv, gives the pairs the engine's own
// evaluation gives from the world's people (evaluate.Measure over
// the dump's accounts and who each is), under both rule sets.
func TestEvaluateAgainstEngine(t *testing.T) {
	ctx := context.Background()
	cfg := simulator.SmallConfig()
	sim := newSimClient(t, cfg)
	in := worldInput(sim.world)
	for _, rules := range []string{dedup.RulesKORE, dedup.RulesEvidence} {
		t.Run(rules, func(t *testing.T) {
			w := openWarehouse(t, t.TempDir())
			sim.load(t, w)
			if _, err := Dedup(ctx, w, Options{CRMDir: sim.crm, CRMLocation: sim.world.Location(), Logger: quietLogger,
				ExcludeAcctTypes: simulator.CRMExcludedAcctTypes, SetExclude: true, Rules: rules, SetRules: true}); err != nil {
				t.Fatal(err)
			}
			got, err := Evaluate(ctx, w, sim.truth, "")
			if err != nil {
				t.Fatal(err)
			}
			e, err := evaluate.Run(in, dedup.Config{Rules: rules})
			if err != nil {
				t.Fatal(err)
			}
			want := evaluate.Measure(in, e.State())
			t.Logf("%s: %d accounts, pairs true %d predicted %d, TP %d FP %d FN %d, precision %.4f recall %.4f, false by rule %v",
				rules, got.Accounts, got.TruePairs, got.PredictedPairs, got.TruePositives, got.FalsePositives, got.FalseNegatives,
				got.Precision, got.Recall, got.FalseByRule)
			if got.Accounts != int64(want.Accounts) || got.TruePairs != want.TruePairs || got.PredictedPairs != want.PredictedPairs ||
				got.TruePositives != want.TruePositives {
				t.Errorf("through the warehouse: accounts %d, true %d, predicted %d, TP %d; the engine's evaluation: %d, %d, %d, %d",
					got.Accounts, got.TruePairs, got.PredictedPairs, got.TruePositives,
					want.Accounts, want.TruePairs, want.PredictedPairs, want.TruePositives)
			}
			var byRule int64
			for _, n := range got.FalseByRule {
				byRule += n
			}
			if byRule != got.FalsePositives {
				t.Errorf("false pairs by rule add up to %d, false positives %d", byRule, got.FalsePositives)
			}
			if got.TruePairs == 0 || got.TruthAccounts == 0 {
				t.Errorf("the truth names no duplicates: %+v", got)
			}
		})
	}
}

// worldInput is a simulated world's deduplication input: the dump's
// primary names, each with the person it is, and the pre-existing CRM.
// stages/dedup's tests hold the same conversion: neither package evaluate
// nor the engine imports the simulator, and test files cannot be shared.
func worldInput(w *simulator.World) evaluate.Input {
	dump := w.DumpPrimaryNames()
	accounts := make([]evaluate.Account, len(dump))
	for i := range dump {
		d := &dump[i]
		accounts[i] = evaluate.Account{Person: d.Person, Excluded: d.Excluded, Account: dedup.Account{
			AccountRef: dedup.AccountRef{Team: d.Team, AcctID: d.AcctID}, AddDate: d.AddDate, AcctType: d.AcctType,
			First: d.First, Last: d.Last, Email: d.Email, Company: d.Company, Street1: d.Street1, Street2: d.Street2,
			City: d.City, State: d.State, Zip: d.Zip, PhoneDay: d.PhoneDay, PhoneCell: d.PhoneCell, PhoneEve: d.PhoneEve,
			BirthDate: d.BirthDate, HouseholdID: d.HouseholdID}}
	}
	cs, as := w.CRM()
	var crm dedup.State
	for _, c := range cs {
		crm.Contacts = append(crm.Contacts, dedup.Contact{ID: c.ID, First: c.First, Last: c.Last, Email: c.Email, Phone: c.Phone,
			AccountID: c.AccountID, Street: c.Street, City: c.City, State: c.State, PostalCode: c.Zip, Created: c.Created,
			Updated: c.Updated, Source: "crm"})
	}
	for _, a := range as {
		crm.Accounts = append(crm.Accounts, dedup.CRMAccount{ID: a.ID, Name: a.Name, Type: a.Type, City: a.City, State: a.State,
			Created: a.Created, Source: "crm"})
	}
	return evaluate.NewInput(accounts, crm)
}

func TestEvaluateRejectsBadTruth(t *testing.T) {
	ctx := context.Background()
	cfg := simulator.SmallConfig()
	sim := newSimClient(t, cfg)
	w := openWarehouse(t, t.TempDir())
	sim.load(t, w)
	if _, err := Evaluate(ctx, w, sim.truth, ""); !errors.Is(err, ErrNoDedup) {
		t.Fatalf("before any dedup run: %v, want ErrNoDedup", err)
	}
	if _, err := Dedup(ctx, w, Options{CRMDir: sim.crm, CRMLocation: sim.world.Location(), Logger: quietLogger}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, c := range []struct{ name, body, want string }{
		{"no-person", "team,acct_id\nnhl,1\n", "header naming person_id"},
		{"bad-acct", "person_id,team,acct_id\np1,nhl,100001\np1,nhl,abc\n", "line 3 field acct_id: \"abc\""},
		{"no-team", "person_id,team,acct_id\np1,,100001\n", "line 2 field team"},
		{"two-people", "person_id,team,acct_id\np1,nhl,100001\np2,nhl,100001\n", "account nhl:100001 belongs to two people"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name+".csv")
			if err := os.WriteFile(path, []byte(c.body), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Evaluate(ctx, w, path, "")
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("%s: %v, want an error naming the file and %q", c.name, err, c.want)
			}
		})
	}
	if _, err := Evaluate(ctx, w, filepath.Join(dir, "missing.csv"), ""); err == nil {
		t.Error("a missing truth file: no error")
	}
}
