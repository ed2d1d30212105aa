package realtime

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"archtics/ats"
	"archtics/internal/benchproc"
	"archtics/pipeline"
	"archtics/pipeline/txlog"
	"archtics/simulator"
	"archtics/storage/storagetest"
)

// BenchmarkTick times one tick that pulls, filters, enriches and commits
// every scan of the doubleheader's day at once (a first tick at 23:59,
// when every window has opened and the seed's query still lists the
// day's events: the largest tick the day can make), for both
// teams, against the simulator on loopback and a local warehouse. The
// sizes are the simulator's presets (tickets per event set the crowd).
// The 10,000 / 100,000 / 1,000,000-scan ticks are BenchmarkTickScans.
func BenchmarkTick(b *testing.B) {
	for _, bc := range []struct {
		name    string
		tickets int
	}{{"small", 0}, {"tickets-2000", 2000}} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := simulator.SmallConfig()
			if bc.tickets > 0 {
				cfg.TicketsPerEvent = bc.tickets
			}
			g := newGameDay(b, cfg, "")
			loc := g.world.Location()
			cut := g.world.Cutoff().In(loc)
			at := time.Date(cut.Year(), cut.Month(), cut.Day()+3, 23, 59, 0, 0, loc)
			var scans int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				g.w.Now = nil
				b.StartTimer()
				for _, team := range g.world.Teams() {
					rep := g.tick(b, team, at.Add(time.Duration(i)*time.Second), TickOptions{})
					scans += rep.Pulled
				}
			}
			b.ReportMetric(float64(scans)/float64(b.N), "scans/op")
			b.ReportMetric(float64(scans)/b.Elapsed().Seconds(), "scans/s")
		})
	}
}

// BenchmarkTickScans times one tick end to end at the sizes:
// 10,000, 100,000 and 1,000,000 feed rows pulled in one tick, then
// filtered, enriched from the clone (the holder join, the names) and
// committed, against the simulator's feed on loopback and, when
// AWS_ENDPOINT_URL is set (make bench), a warehouse on the S3 endpoint
// (else a local folder). The world is the league preset cut to one team
// whose league night (Config.LeagueNight events at 19:00 the day after the
// cutoff, the crowd pouring in) is as large as the size asks; the tick is
// the stream's first, at 23:59 that night, so it pulls every row the feed
// delivered for the night's events by then in one tick. The feed is
// `archtics simulate serve` in its own process, as in production, so
// cpu-s/op is the tick's CPU alone and sim-cpu-s/op the feed server's.
// Building the world, its dump and the clone is not timed; each iteration
// gets a fresh warehouse (use -benchtime 1x).
func BenchmarkTickScans(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "archtics")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/archtics").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	for _, bc := range []struct {
		name           string
		night, tickets int // league-night events, seat blocks each (about 2.9 feed rows per block)
	}{{"10k", 1, 3_500}, {"100k", 3, 11_500}, {"1M", 25, 14_000}} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := simulator.LeagueConfig()
			cfg.Teams = cfg.Teams[:1]
			cfg.LeagueNight = bc.night
			cfg.TicketsPerEvent = bc.tickets
			team := cfg.Teams[0].Name
			world, err := simulator.NewWorldLazy(cfg) // events and selection only: the feed is the other process's
			if err != nil {
				b.Fatal(err)
			}
			loc := world.Location()
			cut := world.Cutoff().In(loc)
			at := time.Date(cut.Year(), cut.Month(), cut.Day()+1, 23, 59, 0, 0, loc)
			feed := benchproc.StartSimulator(b, bin, "bench", "--scale", "league", "--teams", team+":hockey", "--league-night", strconv.Itoa(bc.night),
				"--tickets-per-event", strconv.Itoa(bc.tickets), "--clock-speed", "0", "--clock-start", at.Format(time.RFC3339))
			var scans, kept int64
			var elapsed, cpu, simCPU, write, rawWrite time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				location := ""
				if storagetest.HaveS3() {
					location = storagetest.S3Location(b, fmt.Sprintf("tickbench-%s-%d", bc.name, i))
				}
				g := newClone(b, cfg, location)
				g.world = world
				events := g.selected(team, at)
				runtime.GC()
				restoreGC := GCForTicks() // as the realtime commands set it
				b.StartTimer()
				start, cpu0, sim0 := time.Now(), benchproc.SelfCPU(), feed.CPU()
				rep, err := Tick(context.Background(), g.w, ats.New(feed.URL, "bench"), team, at, events, TickOptions{Logger: quietLogger, CacheDir: g.cache})
				if err != nil {
					b.Fatal(err)
				}
				elapsed += time.Since(start)
				cpu += benchproc.SelfCPU() - cpu0
				simCPU += feed.CPU() - sim0
				b.StopTimer()
				restoreGC()
				b.StartTimer()
				scans += rep.Pulled
				kept += rep.Kept
				write += rep.Took["write"]
				b.StopTimer()
				rawWrite += rawWriterTime(b, g.w, rep.Commit)
				b.StartTimer()
				if i == 0 {
					b.Logf("%s: %d events, %d feed rows pulled, %d kept, holders %v, took %v", bc.name, len(rep.Events), rep.Pulled, rep.Kept, rep.Holders, rep.Took)
				}
			}
			b.ReportMetric(float64(scans)/float64(b.N), "scans/op")
			b.ReportMetric(float64(kept)/float64(b.N), "kept/op")
			b.ReportMetric(float64(scans)/elapsed.Seconds(), "scans/s")
			// The CPU this process spent in the tick, which the machine's
			// other load does not inflate the way it does the wall clock,
			// and the feed server's (its own process).
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
			b.ReportMetric(simCPU.Seconds()/float64(b.N), "sim-cpu-s/op")
			b.ReportMetric(float64(benchproc.PeakRSS("self")>>20), "peak-rss-MiB") // the process's, setup included
			// The tick's time in its table writers, closing them and
			// committing, and the baseline: arrow-go's Parquet writer
			// alone writing the same rows (read back from the committed
			// files) with the same codec, to nowhere.
			b.ReportMetric(write.Seconds()/float64(b.N), "write-archtics-s")
			b.ReportMetric(rawWrite.Seconds()/float64(b.N), "write-pqarrow-s")
		})
	}
}

// rawWriterTime reads back the files commit added and times arrow-go's
// Parquet writer alone writing their rows again (zstd level 1, the
// library's default dictionary settings, to nowhere): the baseline of
// the tick's encoding.
func rawWriterTime(b *testing.B, w *pipeline.Warehouse, commit *txlog.Commit) time.Duration {
	b.Helper()
	ctx := context.Background()
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithCompressionLevel(1),
		parquet.WithMaxRowGroupLength(128*1024), parquet.WithStats(true))
	var took time.Duration
	for _, e := range commit.Adds {
		data := storagetest.ReadObject(b, w.Store, e.Key)
		pf, err := file.NewParquetReader(bytes.NewReader(data))
		if err != nil {
			b.Fatalf("%s: %v", e.Key, err)
		}
		fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		if err != nil {
			b.Fatalf("%s: %v", e.Key, err)
		}
		tbl, err := fr.ReadTable(ctx)
		pf.Close()
		if err != nil {
			b.Fatalf("%s: %v", e.Key, err)
		}
		start := time.Now()
		fw, err := pqarrow.NewFileWriter(tbl.Schema(), io.Discard, props, pqarrow.DefaultWriterProps())
		if err == nil {
			err = fw.WriteTable(tbl, 128*1024)
			if cerr := fw.Close(); err == nil {
				err = cerr
			}
		}
		took += time.Since(start)
		tbl.Release()
		if err != nil {
			b.Fatalf("raw writer, %s: %v", e.Key, err)
		}
	}
	return took
}
