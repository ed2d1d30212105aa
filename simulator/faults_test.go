package simulator_test

import (
	"reflect"
	"testing"

	"archtics/simulator"
)

func TestParseFaultKinds(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []simulator.FaultKind
		err  bool
	}{
		{"429,5xx,slow,drop", simulator.AllFaultKinds, false},
		{"drop, 429 ,429", []simulator.FaultKind{simulator.Fault429, simulator.FaultDrop}, false},
		{"5XX", []simulator.FaultKind{simulator.Fault500, simulator.Fault502, simulator.Fault503}, false},
		{"", nil, false},
		{"404", nil, true},
		{"timeout", nil, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := simulator.ParseFaultKinds(tc.in)
			if (err != nil) != tc.err || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseFaultKinds(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

func TestFaultsDeterministic(t *testing.T) {
	draw := func(cfg simulator.FaultConfig, n int) []simulator.Fault {
		f, err := simulator.NewFaults(cfg)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]simulator.Fault, n)
		for i := range out {
			out[i] = f.Next()
		}
		return out
	}
	cfg := simulator.FaultConfig{Rate: 0.3, Seed: 7}
	a, b := draw(cfg, 10000), draw(cfg, 10000)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different faults")
	}
	cfg.Seed = 8
	if reflect.DeepEqual(a, draw(cfg, 10000)) {
		t.Fatal("another seed, same faults")
	}
	kinds := map[simulator.FaultKind]int{}
	for _, f := range a {
		kinds[f.Kind]++
	}
	faulted := len(a) - kinds[simulator.FaultNone]
	if faulted < 2700 || faulted > 3300 {
		t.Fatalf("%d of 10000 calls faulted at rate 0.3", faulted)
	}
	for _, k := range simulator.AllFaultKinds {
		if kinds[k] < faulted/len(simulator.AllFaultKinds)/2 {
			t.Errorf("kind %s drawn %d times of %d faults", k, kinds[k], faulted)
		}
	}
	if none := draw(simulator.FaultConfig{Rate: 0}, 1000); kindsOf(none)[simulator.FaultNone] != 1000 {
		t.Fatal("rate 0 faulted")
	}
	if all := draw(simulator.FaultConfig{Rate: 1, Kinds: []simulator.FaultKind{simulator.Fault503}}, 100); kindsOf(all)[simulator.Fault503] != 100 {
		t.Fatal("rate 1 with one kind did not always fault with it")
	}
}

func kindsOf(fs []simulator.Fault) map[simulator.FaultKind]int {
	m := map[simulator.FaultKind]int{}
	for _, f := range fs {
		m[f.Kind]++
	}
	return m
}

func TestFaultsConfigure(t *testing.T) {
	f, err := simulator.NewFaults(simulator.FaultConfig{Rate: 0.5, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	first := []simulator.Fault{f.Next(), f.Next(), f.Next()}
	if err := f.Configure(simulator.FaultConfig{Rate: 0.5, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	again := []simulator.Fault{f.Next(), f.Next(), f.Next()}
	if !reflect.DeepEqual(first, again) {
		t.Fatal("reconfiguring did not restart the sequence")
	}
	var total int64
	for _, fs := range append(first, again...) {
		if fs.Kind != simulator.FaultNone {
			total++
		}
	}
	if f.Total() != total {
		t.Fatalf("counted %d faults, drew %d", f.Total(), total)
	}
	for _, bad := range []simulator.FaultConfig{{Rate: -0.1}, {Rate: 1.5}, {Rate: 0.1, Kinds: []simulator.FaultKind{"teapot"}}, {SlowDelay: -1}} {
		if err := f.Configure(bad); err == nil {
			t.Errorf("config %+v accepted", bad)
		}
	}
}
