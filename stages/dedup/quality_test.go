package dedup_test

import (
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"

	"archtics/simulator"
	"archtics/stages/dedup"
	"archtics/stages/dedup/evaluate"
)

func smallWorld(t testing.TB) *simulator.World {
	t.Helper()
	w, err := simulator.NewWorldLazy(simulator.SmallConfig())
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestAgainstCRMTruth runs the engine over a small world's dump and CRM
// and checks every pre-existing contact against the CRM truth: primary,
// secondaries and every field after the load, the seed's Tremblay and
// Gagnon stories among them.
func TestAgainstCRMTruth(t *testing.T) {
	w := smallWorld(t)
	in := worldInput(w)
	e, err := evaluate.Run(in, dedup.Config{})
	if err != nil {
		t.Fatal(err)
	}
	st := e.State()
	diffs := truthDiff(w, st)
	for i, d := range diffs {
		if i == 40 {
			t.Errorf("... and %d more", len(diffs)-40)
			break
		}
		t.Error(d)
	}
	// The seed's stories, explicitly: Tremblay's outdated account came
	// first and took his contact to TryNowDo Ltd; Gagnon's current one
	// came first and kept hers at Sporting Service Solutions Inc.
	truth, _ := w.CRMTruth()
	company := map[string]string{}
	for _, a := range st.Accounts {
		company[a.ID] = a.Name
	}
	stories := map[string]int{"tremblay_outdated_first": 1, "gagnon_current_first": 0}
	seen := 0
	for _, tc := range truth {
		want, ok := stories[tc.Story]
		if !ok {
			continue
		}
		seen++
		for _, c := range st.Contacts {
			if c.ID == tc.ContactID {
				if got := simulator.CompanyOf(company[c.AccountID]); got != want || c.Primary == nil || len(tc.Secondary) != 1 {
					t.Errorf("%s (%s): company %d (%q), primary %v, want company %d and one secondary", c.ID, tc.Story, got, company[c.AccountID], c.Primary, want)
				}
			}
		}
	}
	if seen != 2 {
		t.Errorf("the world has %d of the seed's two stories", seen)
	}
	q := evaluate.Measure(in, st)
	logQuality(t, "KORE's rules", q)
	// Under KORE's rule 1 every false join is an email two people share.
	for cause, n := range q.FalseByCause {
		if cause != evaluate.CauseSharedEmail {
			t.Errorf("%d false pairs by %q: only shared emails should join two people", n, cause)
		}
	}
}

// TestQualityNarrowEmail measures the optional narrowing of rule 1
// (EmailNeedsFirstName), which keeps shared emails from joining people.
func TestQualityNarrowEmail(t *testing.T) {
	in := worldInput(smallWorld(t))
	e, err := evaluate.Run(in, dedup.Config{EmailNeedsFirstName: true})
	if err != nil {
		t.Fatal(err)
	}
	q := evaluate.Measure(in, e.State())
	logQuality(t, "rule 1 narrowed", q)
	if q.Precision < 0.99 {
		t.Errorf("precision %.4f with rule 1 narrowed, want at least 0.99", q.Precision)
	}
}

// TestQualityEvidence measures the evidence rules (dedup.RulesEvidence)
// against who is who, on the small and the default worlds: precision at
// least 0.99 over every pair, recall at least 0.95 over the pairs the
// data can link (two accounts connected by an email, a phone, a birth
// date or an address they share). The pairs that share nothing but a name
// are reported, not matched: on the default world a join on the name
// alone would add 4,019 pairs of different people (NamesakePairs) to find
// 308.
func TestQualityEvidence(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  simulator.Config
	}{{"small", simulator.SmallConfig()}, {"default", simulator.DefaultConfig()}} {
		t.Run(c.name, func(t *testing.T) {
			w, err := simulator.NewWorldLazy(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			in := worldInput(w)
			e, err := evaluate.Run(in, dedup.Config{Rules: dedup.RulesEvidence})
			if err != nil {
				t.Fatal(err)
			}
			q := evaluate.Measure(in, e.State())
			logQuality(t, c.name+" world, evidence rules", q)
			if q.Precision < 0.99 {
				t.Errorf("%s world: precision %.4f, want at least 0.99", c.name, q.Precision)
			}
			if q.RecallLinkable < 0.95 {
				t.Errorf("%s world: recall over linkable pairs %.4f, want at least 0.95", c.name, q.RecallLinkable)
			}
			if q.LinkablePairs == 0 || q.LinkablePairs >= q.TruePairs {
				t.Errorf("%s world: %d true pairs, %d linkable: the simulator makes pairs that share nothing but a name, and many more that share more",
					c.name, q.TruePairs, q.LinkablePairs)
			}
		})
	}
}

// TestDeterministic: the same accounts in another input order, sorted by
// FoundFirst, give the same state.
func TestDeterministic(t *testing.T) {
	in := worldInput(smallWorld(t))
	e1, err := evaluate.Run(in, dedup.Config{})
	if err != nil {
		t.Fatal(err)
	}
	shuffled := in
	shuffled.Accounts = append([]dedup.Account(nil), in.Accounts...)
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(shuffled.Accounts), func(i, j int) {
		shuffled.Accounts[i], shuffled.Accounts[j] = shuffled.Accounts[j], shuffled.Accounts[i]
	})
	evaluate.SortFoundFirst(shuffled.Accounts)
	e2, err := evaluate.Run(shuffled, dedup.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(e1.State(), e2.State()) {
		t.Error("a shuffled input, sorted again, gave another state")
	}
}

func logQuality(t *testing.T, what string, q evaluate.Quality) {
	t.Logf("%s: accounts %d (excluded %d), contacts %d (created %d)", what, q.Accounts, q.Excluded, q.Contacts, q.Created)
	t.Logf("pairs: true %d, predicted %d, TP %d, FP %d, FN %d; precision %.4f recall %.4f", q.TruePairs, q.PredictedPairs,
		q.TruePositives, q.FalsePositives, q.FalseNegatives, q.Precision, q.Recall)
	t.Logf("linkable pairs %d, found %d: recall %.4f; namesake pairs (different people, same name) %d", q.LinkablePairs, q.LinkableFound,
		q.RecallLinkable, q.NamesakePairs)
	for _, m := range []map[string]int64{q.MissesByCause, q.FalseByCause} {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		sort.Slice(ks, func(a, b int) bool { return m[ks[a]] > m[ks[b]] })
		for _, k := range ks {
			t.Logf("  %6d  %s", m[k], k)
		}
	}
}
