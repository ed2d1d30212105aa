package crm

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"archtics/simulator"
	"archtics/stages/dedup"
)

// TestCRMDuplicates: after the first dedup run, the report lists pairs of
// CRM contacts the simulator knows are one person: pre-existing contacts
// of one person (the client's CRM held them twice), and contacts dedup
// made from accounts of one person that shared nothing the rules take.
// It is measured against who each contact is (a pre-existing contact's
// person, or its primary account's): the pairs it lists are one person at
// least 90 % of the time, it finds at least half of the pre-existing
// contacts held twice, and it merges nothing. Under both the evidence
// rules (a model fitted on the contacts) and the probabilistic rule set
// (the committed model).
func TestCRMDuplicates(t *testing.T) {
	ctx := context.Background()
	for _, rules := range []string{dedup.RulesEvidence, dedup.RulesProbabilistic} {
		t.Run(rules, func(t *testing.T) {
			sim := newSimClient(t, simulator.SmallConfig())
			w := openWarehouse(t, t.TempDir())
			sim.load(t, w)
			if _, err := Dedup(ctx, w, Options{CRMDir: sim.crm, CRMLocation: sim.world.Location(), ExcludeAcctTypes: simulator.CRMExcludedAcctTypes,
				SetExclude: true, Rules: rules, SetRules: true, Logger: quietLogger}); err != nil {
				t.Fatal(err)
			}
			head, _ := w.Stream(ctx, Stream)
			rep, err := CRMDuplicates(ctx, w, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			if after, _ := w.Stream(ctx, Stream); after.Seq != head.Seq {
				t.Fatal("the report committed")
			}
			if rep.Contacts == 0 || rep.Model == "" {
				t.Fatalf("report %+v", rep)
			}
			truth, _ := sim.world.CRMTruth()
			personOf := map[string]string{} // contact -> person
			twice := map[[2]string]bool{}   // pre-existing contacts of one person
			byPerson := map[string][]string{}
			for _, c := range truth {
				if c.Person != "" {
					personOf[c.ContactID] = c.Person
					byPerson[c.Person] = append(byPerson[c.Person], c.ContactID)
				}
			}
			for _, ids := range byPerson {
				for i := range ids {
					for j := i + 1; j < len(ids); j++ {
						twice[pairKey(ids[i], ids[j])] = true
					}
				}
			}
			for _, r := range query(t, w, "SELECT contact_id, primary_team, primary_acct_id FROM crm.contact WHERE source = 'archtics' AND primary_team IS NOT NULL") {
				f := strings.Fields(r)
				acct, err := strconv.ParseInt(f[2], 10, 32)
				if err != nil {
					t.Fatal(err)
				}
				personOf[f[0]] = sim.world.PersonOf(f[1], int32(acct))
			}
			var same, found int
			for _, p := range rep.Pairs {
				if p.MatchWeight < rep.MinWeight {
					t.Fatalf("pair %s %s at %.2f, below the least weight %.2f", p.A.ContactID, p.B.ContactID, p.MatchWeight, rep.MinWeight)
				}
				if pa := personOf[p.A.ContactID]; pa != "" && pa == personOf[p.B.ContactID] {
					same++
				}
				if twice[pairKey(p.A.ContactID, p.B.ContactID)] {
					found++
				}
			}
			precision := float64(same) / float64(max(len(rep.Pairs), 1))
			recall := float64(found) / float64(max(len(twice), 1))
			t.Logf("%d contacts, %s: %d pairs at %.2f or more, %d of one person (precision %.3f); pre-existing contacts held twice: %d pairs, %d listed (recall %.3f)",
				rep.Contacts, rep.Model, len(rep.Pairs), rep.MinWeight, same, precision, len(twice), found, recall)
			if len(twice) == 0 || len(rep.Pairs) == 0 {
				t.Fatal("the small world's CRM holds people twice: the report must list some pairs")
			}
			if precision < 0.9 {
				t.Errorf("precision %.3f, want at least 0.9", precision)
			}
			if recall < 0.5 {
				t.Errorf("recall over pre-existing contacts held twice %.3f, want at least 0.5", recall)
			}
		})
	}
}

func pairKey(a, b string) [2]string {
	if b < a {
		a, b = b, a
	}
	return [2]string{a, b}
}
