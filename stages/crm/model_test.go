package crm

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"archtics/simulator"
	"archtics/stages/dedup"
)

// TestDedupProbabilistic: the run that sets the probabilistic rule set
// fits the model on the clones' accounts and commits it with the settings
// version; every mapping the model made shows its match weight (at least
// the model's threshold, and the sum of its fields' parts) and no other
// mapping shows one; later runs match with the committed model without
// fitting again; --refit-model fits a new one as a new settings version
// and leaves every mapping where it was; a refit under another rule set is
// refused; and the CRM is measured against who is who in the simulator.
func TestDedupProbabilistic(t *testing.T) {
	ctx := context.Background()
	cfg := simulator.SmallConfig()
	cfg.DaysAfterCutoff = 3
	sim := newSimClient(t, cfg)
	w := openWarehouse(t, t.TempDir())
	sim.load(t, w)

	first, err := Dedup(ctx, w, Options{CRMDir: sim.crm, CRMLocation: sim.world.Location(), ExcludeAcctTypes: simulator.CRMExcludedAcctTypes,
		SetExclude: true, Rules: dedup.RulesProbabilistic, SetRules: true, Actor: "ops", Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	var fed int64
	for _, tc := range first.Teams {
		fed += tc.Fed
	}
	if first.Rules != dedup.RulesProbabilistic || first.Settings != 1 || first.ModelVersion != 1 || !first.ModelFitted {
		t.Fatalf("first run: rule set %q, settings %d, model of version %d, fitted %v", first.Rules, first.Settings, first.ModelVersion, first.ModelFitted)
	}
	model := query(t, w, "SELECT version, accounts, threshold, seq FROM crm.match_model")
	if len(model) != 1 || !strings.HasPrefix(model[0], "1 "+strconv.FormatInt(fed, 10)+" ") {
		t.Fatalf("crm.match_model %v, want version 1 fitted on the %d accounts fed", model, fed)
	}
	threshold, _ := strconv.ParseFloat(strings.Fields(model[0])[2], 64)
	if got := query(t, w, "SELECT json_valid(model) FROM crm.match_model"); !slices.Equal(got, []string{"true"}) {
		t.Fatalf("the committed model is not JSON: %v", got)
	}
	checkWeights := func(when string) {
		t.Helper()
		n := query(t, w, "SELECT count(*) FILTER (WHERE rule = 'probabilistic'), count(match_weight) FILTER (WHERE rule <> 'probabilistic') FROM crm.archtics_mapping")
		if f := strings.Fields(n[0]); f[0] == "0" || f[1] != "0" {
			t.Fatalf("%s: %s mappings by the model, %s other mappings with a match weight; want some and none", when, f[0], f[1])
		}
		bad := query(t, w, `SELECT team, acct_id, match_weight FROM crm.archtics_mapping WHERE rule = 'probabilistic' AND (match_weight IS NULL OR match_weight < `+
			strconv.FormatFloat(threshold, 'g', -1, 64)+` OR abs(match_weight - (weight_first_name + weight_last_name + weight_birth_date + weight_address + weight_postal_code + weight_email + weight_phone) - `+
			`(SELECT json_extract(model, '$.Prior')::DOUBLE FROM crm.match_model ORDER BY version DESC LIMIT 1)) > 1e-6 * greatest(1, abs(match_weight)))`)
		if len(bad) > 0 {
			t.Fatalf("%s: mappings by the model whose weight is missing, below the threshold %g or not the sum of its fields' parts: %v", when, threshold, bad[:min(5, len(bad))])
		}
	}
	checkWeights("first run")

	// Later runs match with the committed model.
	for _, step := range []time.Duration{26 * time.Hour, 30 * time.Hour} {
		sim.clock.Set(sim.clock.Now().Add(step))
		sim.incremental(t, w)
		rep, err := Dedup(ctx, w, Options{Logger: quietLogger})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Unchanged || rep.ModelFitted || rep.ModelVersion != 1 || rep.Settings != 1 {
			t.Fatalf("later run: unchanged %v, fitted %v, model of version %d, settings %d; want the committed model of version 1", rep.Unchanged, rep.ModelFitted, rep.ModelVersion, rep.Settings)
		}
	}
	checkWeights("later runs")

	// A refit is a new settings version and moves no mapping.
	before := mappingPartition(t, w)
	refit, err := Dedup(ctx, w, Options{RefitModel: true, Actor: "ann", Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	if refit.Settings != 2 || refit.ModelVersion != 2 || !refit.ModelFitted || refit.MappingRows != 0 {
		t.Fatalf("refit: settings %d, model of version %d, fitted %v, %d mapping rows; want version 2, fitted, none", refit.Settings, refit.ModelVersion, refit.ModelFitted, refit.MappingRows)
	}
	if got := query(t, w, "SELECT version FROM crm.match_model ORDER BY version"); !slices.Equal(got, []string{"1", "2"}) {
		t.Fatalf("crm.match_model versions %v, want 1 and 2", got)
	}
	if got := query(t, w, "SELECT setting, value, set_by FROM crm.dedup_settings WHERE version = 2 ORDER BY setting"); len(got) != 2 || got[1] != "rules probabilistic ann" {
		t.Fatalf("settings version 2: %v", got)
	}
	if after := mappingPartition(t, w); !slices.Equal(before, after) {
		t.Fatal("a refit moved mapped accounts")
	}

	// Under another rule set there is no model to refit.
	if _, err := Dedup(ctx, w, Options{Rules: dedup.RulesEvidence, SetRules: true, Logger: quietLogger}); err != nil {
		t.Fatal(err)
	}
	head, _ := w.Stream(ctx, Stream)
	if _, err := Dedup(ctx, w, Options{RefitModel: true, Logger: quietLogger}); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "probabilistic") {
		t.Fatalf("refit under the evidence rules: err %v, want a refusal naming the probabilistic rule set", err)
	}
	if after, _ := w.Stream(ctx, Stream); after.Seq != head.Seq {
		t.Fatal("a refused refit committed")
	}

	q, err := Evaluate(ctx, w, sim.truth, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("against who is who: true pairs %d, TP %d, FP %d: precision %.4f recall %.4f", q.TruePairs, q.TruePositives, q.FalsePositives, q.Precision, q.Recall)
	if q.Precision < 0.99 {
		t.Errorf("precision %.4f against the simulator's people, want at least 0.99", q.Precision)
	}
}
