package dedup_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"archtics/simulator"
	"archtics/stages/dedup"
	"archtics/stages/dedup/evaluate"
)

// fitModel fits a model over the input's accounts.
func fitModel(t testing.TB, in evaluate.Input) *dedup.Model {
	t.Helper()
	f := dedup.NewModelFitter()
	for i := range in.Accounts {
		f.Add(&in.Accounts[i])
	}
	m, err := f.Fit()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestQualityProbabilistic measures the probabilistic rule set against
// who is who: on the small and default simulator worlds precision at
// least 0.99 and recall over the linkable pairs at least 0.97; on the
// registry population F1 at least 0.9.
func TestQualityProbabilistic(t *testing.T) {
	for _, c := range []struct {
		name                      string
		in                        func(t *testing.T) evaluate.Input
		minPrecision, minLinkable float64
		minF1                     float64
	}{
		{"small", func(t *testing.T) evaluate.Input { return worldInput(smallWorld(t)) }, 0.99, 0.97, 0},
		{"default", func(t *testing.T) evaluate.Input {
			w, err := simulator.NewWorldLazy(simulator.DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			return worldInput(w)
		}, 0.99, 0.97, 0},
		{"registry", func(*testing.T) evaluate.Input { return evaluate.Registry(evaluate.DefaultRegistry()) }, 0, 0, 0.9},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := c.in(t)
			m := fitModel(t, in)
			t.Logf("prior %.2f threshold %.2f; session pairs: birth %d, name %d", m.Prior, m.Threshold, m.SessionBirthPairs, m.SessionNamePairs)
			for _, f := range m.Fields {
				t.Logf("%-12s m %.4f u %.4f (TF %d values of %d records)", f.Name, f.M[1:], f.U[1:], len(f.TF), f.Records)
			}
			e, err := evaluate.Run(in, dedup.Config{Rules: dedup.RulesProbabilistic, Model: m})
			if err != nil {
				t.Fatal(err)
			}
			q := evaluate.Measure(in, e.State())
			logQuality(t, c.name+", probabilistic rules", q)
			f1 := 0.0
			if q.Precision+q.Recall > 0 {
				f1 = 2 * q.Precision * q.Recall / (q.Precision + q.Recall)
			}
			t.Logf("F1 %.4f", f1)
			if q.Precision < c.minPrecision {
				t.Errorf("precision %.4f, want at least %.2f", q.Precision, c.minPrecision)
			}
			if q.RecallLinkable < c.minLinkable {
				t.Errorf("recall over linkable pairs %.4f, want at least %.2f", q.RecallLinkable, c.minLinkable)
			}
			if f1 < c.minF1 {
				t.Errorf("F1 %.4f, want at least %.2f", f1, c.minF1)
			}
			if q.TruePairs == 0 {
				t.Error("no true pairs: the population has no duplicates to find")
			}
		})
	}
}

// TestModelFit checks the fit and the model as the stage uses them: the
// same accounts in another order give the same model, the model survives
// JSON exactly (an engine over the decoded model decides the same), and
// every mapping the model made carries its weights, whose parts add up
// to the total (the prior plus the seven fields) at or above the
// threshold.
func TestModelFit(t *testing.T) {
	in := worldInput(smallWorld(t))
	m := fitModel(t, in)
	t.Run("order", func(t *testing.T) {
		shuffled := append([]dedup.Account(nil), in.Accounts...)
		rand.New(rand.NewPCG(3, 4)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		m2 := fitModel(t, evaluate.Input{Accounts: shuffled})
		if !reflect.DeepEqual(m, m2) {
			t.Error("the same accounts in another order gave another model")
		}
	})
	t.Run("json", func(t *testing.T) {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var back dedup.Model
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(m, &back) {
			t.Fatal("the model read back from JSON differs from the one written")
		}
		e1, err := evaluate.Run(in, dedup.Config{Rules: dedup.RulesProbabilistic, Model: m})
		if err != nil {
			t.Fatal(err)
		}
		e2, err := evaluate.Run(in, dedup.Config{Rules: dedup.RulesProbabilistic, Model: &back})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(e1.State(), e2.State()) {
			t.Error("the model read back from JSON decided otherwise")
		}
	})
	t.Run("weights", func(t *testing.T) {
		e, err := evaluate.Run(in, dedup.Config{Rules: dedup.RulesProbabilistic, Model: m})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, mp := range e.State().Mapping {
			w := mp.Weights
			if mp.Rule != dedup.RuleProbabilistic {
				if w.Valid {
					t.Errorf("%v: rule %s with weights %+v", mp.Account, mp.Rule, w)
				}
				continue
			}
			n++
			sum := m.Prior + w.First + w.Last + w.Birth + w.Address + w.Postal + w.Email + w.Phone
			if !w.Valid || math.Abs(sum-w.Total) > 1e-9 || w.Total < m.Threshold {
				t.Errorf("%v: weights %+v: prior and fields sum to %v, want the total, at least the threshold %v", mp.Account, w, sum, m.Threshold)
			}
		}
		if n == 0 {
			t.Error("the model matched no account")
		}
	})
	t.Run("feed", func(t *testing.T) {
		// Feed with the fields normalised ahead decides as Add does.
		cfg := dedup.Config{Rules: dedup.RulesProbabilistic, Model: m, Now: evaluate.Fixed}
		e1, err := evaluate.Run(in, cfg)
		if err != nil {
			t.Fatal(err)
		}
		e2, err := dedup.New(cfg, in.CRM)
		if err != nil {
			t.Fatal(err)
		}
		for i := range in.Accounts {
			n := e2.Normalize(&in.Accounts[i])
			if err := e2.Feed(&in.Accounts[i], &n); err != nil {
				t.Fatal(err)
			}
		}
		if !reflect.DeepEqual(e1.State(), e2.State()) {
			t.Error("Feed decided otherwise than Add")
		}
	})
	t.Run("again", func(t *testing.T) {
		// Adding every account again changes nothing: mappings stay,
		// with their weights.
		e, err := evaluate.Run(in, dedup.Config{Rules: dedup.RulesProbabilistic, Model: m})
		if err != nil {
			t.Fatal(err)
		}
		before := e.State()
		for i := range in.Accounts {
			res, err := e.Add(&in.Accounts[i])
			if err != nil {
				t.Fatal(err)
			}
			if res.Changed || len(res.Contacts) > 0 {
				t.Errorf("%v added again: changed %v, %d contact changes", in.Accounts[i].AccountRef, res.Changed, len(res.Contacts))
			}
		}
		if !reflect.DeepEqual(before, e.State()) {
			t.Error("adding the accounts again changed the state")
		}
	})
}

// TestProbabilisticConfig: the rule set's name parses, and an engine
// without a model (or with a broken one) is refused with what to do.
func TestProbabilisticConfig(t *testing.T) {
	if r, err := dedup.ParseRules("probabilistic"); err != nil || r != dedup.RulesProbabilistic {
		t.Errorf("ParseRules(probabilistic) = %q, %v", r, err)
	}
	broken := &dedup.Model{Version: 1}
	for _, c := range []struct {
		name  string
		model *dedup.Model
		want  string
	}{{"none", nil, "NewModelFitter"}, {"broken", broken, "fit it again"}} {
		t.Run(c.name, func(t *testing.T) {
			_, err := dedup.New(dedup.Config{Rules: dedup.RulesProbabilistic, Model: c.model}, dedup.State{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("New: %v, want an error saying %q", err, c.want)
			}
		})
	}
}

// TestProbabilisticHostile: values nobody types (huge, not UTF-8, empty)
// neither break the fit nor the engine.
func TestProbabilisticHostile(t *testing.T) {
	huge := strings.Repeat("x\xff\xfe", 1<<16)
	var accounts []dedup.Account
	for i, v := range []string{"", huge, "\xff\xfe\xfd", "\x00", "0000-00-00", "9999-99-99", strings.Repeat("9", 40), " "} {
		for k := range 3 {
			accounts = append(accounts, dedup.Account{AccountRef: dedup.AccountRef{Team: "t", AcctID: int32(i*3 + k + 1)},
				First: v, Last: v, Email: v, Street1: v, Street2: v, City: v, Zip: v, PhoneDay: v, PhoneCell: v, PhoneEve: v, BirthDate: v, Company: v})
		}
	}
	in := evaluate.Input{Accounts: accounts}
	m := fitModel(t, in)
	for _, mdl := range []*dedup.Model{m, fitModel(t, evaluate.Input{})} {
		e, err := evaluate.Run(in, dedup.Config{Rules: dedup.RulesProbabilistic, Model: mdl})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(e.State().Mapping); got != len(accounts) {
			t.Errorf("%d mappings for %d accounts", got, len(accounts))
		}
	}
}
