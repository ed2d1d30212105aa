package crm

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"archtics/internal/benchproc"
	"archtics/pipeline"
	"archtics/pipeline/pipelinetest"
	"archtics/simulator"
	"archtics/stages/dedup"
)

// BenchmarkDedupStage is the first `archtics dedup` over the bench-scale
// warehouse (ARCHTICS_BENCH_WAREHOUSE, built by make bench-data: 962,391
// accounts with a primary name in two teams) against the bench world's
// CRM made 100,000 contacts large (simulator.Config.CRMContacts), the
// demo's excluded types (Broker, Internal Comp, Test) set, on a local
// folder. Untimed: the warehouse is copied (its immutable data files hard
// linked, its log copied, so the run's commit leaves the original as it
// was) and the CRM files written from the simulator. Timed: crm.Dedup
// alone, with the garbage collector set as the CLI sets it (GCForRun).
// Sub-benchmarks: kore (KORE's rules), evidence (the evidence rule set, a
// new CRM's default) and probabilistic (its model fitted in the run),
// first runs; kore-later, a later run over the first one's state that
// reads everything back; crm-duplicates, the report of likely pairs of
// contacts after a first run. Reported:
//   - cpu-s/op: this process's user and system CPU in the run (every
//     thread: DuckDB's and the garbage collector's included), which the
//     machine's other load does not inflate as it does the wall clock;
//   - peak-RSS-MB: the process's peak resident memory during the run
//     (VmHWM, reset before it through /proc/self/clear_refs), DuckDB's
//     memory included; peak-heap-MB: the Go heap's peak, sampled;
//   - accounts/s: accounts read from the clones per wall-clock second.
func BenchmarkDedupStage(b *testing.B) {
	src := os.Getenv("ARCHTICS_BENCH_WAREHOUSE")
	if src == "" {
		b.Skip("set ARCHTICS_BENCH_WAREHOUSE to a bench-scale warehouse (make bench-data builds ./bench-data/warehouse; make bench sets it)")
	}
	if _, err := os.Stat(filepath.Join(src, "_log")); err != nil {
		b.Skipf("ARCHTICS_BENCH_WAREHOUSE=%s is not a warehouse folder (no _log): run make bench-data", src)
	}
	crmDir := filepath.Join(b.TempDir(), "crm")
	cfg := simulator.BenchConfig()
	cfg.CRMContacts = 100_000
	loc, err := time.LoadLocation(cfg.TimeZone)
	if err != nil {
		b.Fatal(err)
	}
	if err := writeBenchCRM(cfg, crmDir); err != nil {
		b.Fatal(err)
	}
	logger := quietLogger
	if os.Getenv("ARCHTICS_BENCH_LOG") != "" { // the run's phases, timed
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	// KORE's rules, the evidence rule set (a new CRM's default), which
	// also keeps every account's identifiers, and the probabilistic rule
	// set, which first reads every account once more to fit its model.
	for _, rules := range []string{dedup.RulesKORE, dedup.RulesEvidence, dedup.RulesProbabilistic} {
		b.Run(rules, func(b *testing.B) { benchDedupStage(b, src, crmDir, loc, logger, rules, false) })
	}
	// A later run over the first one's state (untimed): a settings change
	// makes it read every account and the whole committed CRM back, as an
	// hourly run after a clone commit does; the accounts of the type no
	// longer excluded are fed.
	b.Run("kore-later", func(b *testing.B) { benchDedupStage(b, src, crmDir, loc, logger, dedup.RulesKORE, true) })
	// archtics dedup report --crm-duplicates over the evidence rules'
	// CRM (the first run untimed): the model fitted on every account,
	// then every contact weighed against those it shares a key with.
	b.Run("crm-duplicates", func(b *testing.B) { benchCRMDuplicates(b, src, crmDir, loc) })
}

func benchCRMDuplicates(b *testing.B, src, crmDir string, loc *time.Location) {
	ctx := context.Background()
	var rep *DuplicatesReport
	var cpu time.Duration
	var peakRSS int64
	for range b.N {
		b.StopTimer()
		w := benchWarehouse(b, src)
		restore := GCForRun()
		_, err := Dedup(ctx, w, Options{CRMDir: crmDir, CRMLocation: loc, SpoolDir: b.TempDir(), Logger: quietLogger,
			ExcludeAcctTypes: []string{"Broker", "Internal Comp", "Test"}, SetExclude: true})
		restore()
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		debug.FreeOSMemory()
		resetPeakRSS(b)
		cpu0 := benchproc.SelfCPU()
		b.StartTimer()
		rep, err = CRMDuplicates(ctx, w, "", nil)
		b.StopTimer()
		cpu += benchproc.SelfCPU() - cpu0
		peakRSS = max(peakRSS, benchproc.PeakRSS("self"))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(peakRSS)/(1<<20), "peak-RSS-MB")
	b.ReportMetric(float64(rep.Contacts), "contacts")
	b.ReportMetric(float64(len(rep.Pairs)), "pairs")
}

func benchDedupStage(b *testing.B, src, crmDir string, loc *time.Location, logger *slog.Logger, rules string, later bool) {
	ctx := context.Background()
	var rep *RunReport
	var cpu time.Duration
	var peakRSS int64
	var peakHeap atomic.Uint64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		w := benchWarehouse(b, src)
		first := Options{
			CRMDir: crmDir, CRMLocation: loc, SpoolDir: b.TempDir(), Logger: logger,
			ExcludeAcctTypes: []string{"Broker", "Internal Comp", "Test"}, SetExclude: true, Rules: rules, SetRules: true,
		}
		opts := first
		if later {
			restore := GCForRun()
			_, err := Dedup(ctx, w, first)
			restore()
			if err != nil {
				b.Fatal(err)
			}
			opts = Options{SpoolDir: b.TempDir(), Logger: logger, ExcludeAcctTypes: []string{"Broker", "Test"}, SetExclude: true}
		}
		runtime.GC()
		debug.FreeOSMemory()
		resetPeakRSS(b)
		stop := benchproc.SampleHeap(100*time.Millisecond, benchproc.HeapAlloc, &peakHeap)
		restore := GCForRun()
		cpu0 := benchproc.SelfCPU()
		b.StartTimer()
		var err error
		rep, err = Dedup(ctx, w, opts)
		b.StopTimer()
		cpu += benchproc.SelfCPU() - cpu0
		restore()
		stop()
		peakRSS = max(peakRSS, benchproc.PeakRSS("self"))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	var accounts int64
	for _, t := range rep.Teams {
		accounts += t.Accounts
	}
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(peakRSS)/(1<<20), "peak-RSS-MB")
	b.ReportMetric(float64(peakHeap.Load())/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(accounts)*float64(b.N)/b.Elapsed().Seconds(), "accounts/s")
	b.ReportMetric(float64(accounts), "accounts")
	b.ReportMetric(float64(rep.CRMContacts), "crm-contacts")
	b.ReportMetric(float64(rep.ContactsInserted), "contacts-inserted")
	b.ReportMetric(float64(rep.MappingRows), "mapping-rows")
	var fed int64
	for _, t := range rep.Teams {
		fed += t.Fed
	}
	b.ReportMetric(float64(fed), "accounts-fed")
}

// benchWarehouse is a copy of the warehouse src (copyWarehouse), open.
func benchWarehouse(b *testing.B, src string) *pipeline.Warehouse {
	dir := filepath.Join(b.TempDir(), "warehouse")
	if err := copyWarehouse(src, dir); err != nil {
		b.Fatal(err)
	}
	w, err := pipelinetest.Open(context.Background(), dir, quietLogger)
	if err != nil {
		b.Fatal(err)
	}
	return w
}

// writeBenchCRM writes the CRM files of cfg's world into dir. The world is
// dropped afterwards, so that its memory is not the run's.
func writeBenchCRM(cfg simulator.Config, dir string) error {
	w, err := simulator.NewWorldLazy(cfg)
	if err != nil {
		return err
	}
	if _, _, err := w.WriteCRMDir(dir); err != nil {
		return err
	}
	return nil
}

// copyWarehouse makes dst a warehouse folder with src's commits: the data
// files hard linked (immutable: a commit only adds files), the log (_log,
// where a commit writes its entry and moves its stream's head) copied.
// A crm stream src may hold is left out, so the run is a first run.
func copyWarehouse(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if parts[0] == Stream || len(parts) >= 2 && parts[0] == "_log" && (parts[1] == Stream || parts[1] == "_streams" && len(parts) == 3 && parts[2] == Stream) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		out := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(out, 0o755)
		case parts[0] == "_log":
			return copyFile(p, out)
		default:
			if err := os.Link(p, out); err != nil {
				return copyFile(p, out) // another file system: copy
			}
			return nil
		}
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}

// resetPeakRSS resets the process's VmHWM to its present resident set
// (Linux: "5" to /proc/self/clear_refs), so that the peak read after the
// run is the run's and not the setup's.
func resetPeakRSS(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("peak RSS not reset (%v): peak-RSS-MB includes the setup", err)
	}
}
