package simulator

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"archtics/schemas"
)

// DUMP_FORMAT
//
// A dump is what Ticketmaster's developer hands over for the initial load:
//
//	manifest.json                                  written last: a dump without it is incomplete
//	<team>/<table>/<table>_part-00000.txt.gz       table: event, cust, ticket, tex, attendance
//	groundtruth/duplicate_clusters.csv             the truth (not part of a real dump)
//	groundtruth/merges.csv
//	groundtruth/deletions.csv                      keys that vanish without a change record (deletes.go)
//	groundtruth/shared_emails.csv                  emails several people hold on purpose (people.go)
//	groundtruth/households.csv                     household_ids several accounts share
//	groundtruth/company_spellings.csv              every way a company's name is typed (companies.go)
//	groundtruth/crm_contacts.csv                   per CRM contact: who, and the expected initial load (crm_truth.go)
//	groundtruth/crm_pairs.csv                      per contact and account it could match: field agreement, rules
//	crm/contacts.csv, crm/accounts.csv             the client's CRM before the load
//
// Each part is gzip text, one header line naming the columns of the
// schemas table in order, then one line per row, fields separated by '|'.
// A backslash escapes '|', itself and line breaks (\|, \\, \n, \r), so a
// record is always one physical line. An empty field is NULL. Integers are
// decimal; money "123.50"; dates YYYY-MM-DD; timestamps
// "YYYY-MM-DD HH:MM:SS" in the client's local time (manifest "timezone").
//
// Content: per key, the newest version committed strictly before the
// cutoff (Committed < Cutoff; a version updated before the cutoff but
// committed after it is NOT in the dump, its previous version is), present
// keys only (customer rows of accounts merged away before the cutoff are
// absent, and references to them already point at the winner). Values
// carry the source's own dirt (trailing spaces, mixed-case emails, empty
// strings, a '|' or a line break inside a value) but every line is well
// formed, unless Config.DirtyLines injects malformed lines, which the
// manifest lists under injected_faults.
//
// Parts split on entity ranges (accounts, ticket rows) so each is generated
// independently, in parallel; a part holds about PartRows rows or fewer
// (rows committed after the cutoff leave holes). The bytes depend only on
// the Config, never on the worker count.

// Dest is where a dump is written: a local folder (DirDest) or anything
// that can take a named stream, such as an object store. Close must make
// the object visible; the manifest is created last.
type Dest interface {
	Create(name string) (io.WriteCloser, error)
}

// DirDest writes under a local folder. Each file is written to a
// temporary name and renamed on Close, so a file is either whole or absent.
type DirDest string

// Create creates name (slash-separated) under the folder.
func (d DirDest) Create(name string) (io.WriteCloser, error) {
	p := filepath.Join(string(d), filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, fmt.Errorf("dump: create folder for %s: %w", name, err)
	}
	f, err := os.Create(p + ".tmp")
	if err != nil {
		return nil, fmt.Errorf("dump: %w", err)
	}
	return &dirFile{f: f, final: p}, nil
}

type dirFile struct {
	f     *os.File
	final string
}

func (d *dirFile) Write(p []byte) (int, error) { return d.f.Write(p) }

func (d *dirFile) Close() error {
	if err := d.f.Close(); err != nil {
		return fmt.Errorf("dump: close %s: %w", d.final, err)
	}
	if err := os.Rename(d.f.Name(), d.final); err != nil {
		return fmt.Errorf("dump: %w", err)
	}
	return nil
}

// ManifestName is the manifest's name at the root of a dump.
const ManifestName = "manifest.json"

// Manifest describes a dump. Its client, cutoff, format and files fields
// are what clone.OpenDump reads.
type Manifest struct {
	Client         string          `json:"client"`
	Cutoff         time.Time       `json:"cutoff"`       // RFC 3339 with the client's offset
	CutoffLocal    string          `json:"cutoff_local"` // the cutoff as the row timestamps spell it
	TimeZone       string          `json:"timezone"`     // IANA zone of every timestamp in the files
	Format         string          `json:"format"`
	Generator      ManifestGen     `json:"generator"`
	Files          []ManifestFile  `json:"files"`
	Extras         []ManifestFile  `json:"extras"`
	InjectedFaults []InjectedFault `json:"injected_faults,omitempty"`
}

// ManifestGen records how the dump was generated, to regenerate it.
type ManifestGen struct {
	Name            string `json:"name"`
	Seed            uint64 `json:"seed"`
	Accounts        int    `json:"accounts_per_team"`
	Seasons         int    `json:"seasons"`
	EventsPerSeason int    `json:"events_per_season"`
	TicketsPerEvent int    `json:"tickets_per_event"`
	DaysAfterCutoff int    `json:"days_after_cutoff"`
}

// ManifestFile is one file of the dump.
type ManifestFile struct {
	Team   string `json:"team,omitempty"`
	Table  string `json:"table,omitempty"`
	Path   string `json:"path"`
	Part   int    `json:"part"`
	Rows   int64  `json:"rows"` // data lines (header excluded, injected faults included)
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// InjectedFault is a malformed line put in on purpose (Config.DirtyLines).
type InjectedFault struct {
	Path   string `json:"path"`
	Line   int64  `json:"line"` // 1-based physical line, the header is line 1
	Reason string `json:"reason"`
}

const formatDescription = "gzip text, header line with column names, one record per line, fields separated by '|', " +
	"backslash escapes '|', '\\\\', newline (\\n) and carriage return (\\r); empty field = NULL; " +
	"timestamps 'YYYY-MM-DD HH:MM:SS' local time in the manifest's timezone; dates YYYY-MM-DD; money 123.50; " +
	"rows: the newest version of every row committed before the cutoff"

type dumpJob struct {
	tg     *teamGen
	table  *schemas.Table // Ticket jobs also write the Tex and Attendance parts
	part   int
	lo, hi int64
	out    []ManifestFile
	faults []InjectedFault
	dels   []Deletion // keys that vanish in the job's range, whenever (deletes.go)
}

// WriteDump writes the full dump of cfg to dst: every team's tables as of
// the cutoff, the ground truth and the CRM files, then manifest.json.
// progress, if not nil, is called (never concurrently) with "<team>/<table>"
// and the rows written so far for it.
func WriteDump(ctx context.Context, cfg Config, dst Dest, progress func(table string, rows int64)) (Manifest, error) {
	g, err := newGenerator(cfg)
	if err != nil {
		return Manifest{}, err
	}
	var jobs []*dumpJob
	for _, tg := range g.teams {
		jobs = append(jobs, &dumpJob{tg: tg, table: schemas.Event, hi: int64(len(tg.events))})
		per := int64(max(1, cfg.PartRows*2/3)) // ~1.5 name rows per account
		parts := (int64(tg.n) + per - 1) / per
		per = (int64(tg.n) + parts - 1) / parts // even parts, no runt at the end
		for p, lo := 0, int64(0); lo < int64(tg.n); p, lo = p+1, lo+per {
			jobs = append(jobs, &dumpJob{tg: tg, table: schemas.Cust, part: p, lo: lo, hi: min(lo+per, int64(tg.n))})
		}
		total := tg.ticketStart[len(tg.ticketStart)-1]
		per = int64(cfg.PartRows)
		for p, lo := 0, int64(0); lo < total || p == 0; p, lo = p+1, lo+per {
			jobs = append(jobs, &dumpJob{tg: tg, table: schemas.Ticket, part: p, lo: lo, hi: min(lo+per, total)})
		}
	}
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var (
		mu       sync.Mutex
		counts   = map[string]int64{}
		firstErr error
	)
	report := func(name string, n int64) {
		mu.Lock()
		defer mu.Unlock()
		counts[name] += n
		if progress != nil {
			progress(name, counts[name])
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type rendered struct {
		files []extraFile
		err   error
	}
	extrasDone := make(chan rendered, 1)
	go func() {
		files, err := renderExtras(g)
		extrasDone <- rendered{files, err}
	}()
	next := make(chan *dumpJob)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dw := newDumpWorker(g, dst, report)
			for j := range next {
				if err := dw.run(ctx, j); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
				}
			}
		}()
	}
	// Big jobs first keeps the workers busy to the end.
	order := append([]*dumpJob(nil), jobs...)
	sort.SliceStable(order, func(a, b int) bool { return order[a].hi-order[a].lo > order[b].hi-order[b].lo })
feed:
	for _, j := range order {
		select {
		case next <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return Manifest{}, firstErr
	}
	if err := ctx.Err(); err != nil {
		return Manifest{}, fmt.Errorf("dump: %w", err)
	}
	m := Manifest{
		Client:      cfg.Client,
		Cutoff:      cfg.Cutoff.In(g.loc),
		CutoffLocal: cfg.Cutoff.In(g.loc).Format(TimeLayout),
		TimeZone:    cfg.TimeZone,
		Format:      formatDescription,
		Generator: ManifestGen{Name: "archtics simulator", Seed: cfg.Seed, Accounts: cfg.Accounts, Seasons: cfg.Seasons,
			EventsPerSeason: cfg.EventsPerSeason, TicketsPerEvent: cfg.TicketsPerEvent, DaysAfterCutoff: cfg.DaysAfterCutoff},
	}
	// Manifest order: team, table (dump order), part.
	tableOrder := map[string]int{}
	for i, t := range schemas.SourceTables {
		tableOrder[t.Name] = i
	}
	var dels []Deletion
	for _, j := range jobs {
		m.Files = append(m.Files, j.out...)
		m.InjectedFaults = append(m.InjectedFaults, j.faults...)
		dels = append(dels, j.dels...)
	}
	g.sortDeletions(dels)
	teamOrder := map[string]int{}
	for i, tg := range g.teams {
		teamOrder[tg.name] = i
	}
	sort.SliceStable(m.Files, func(a, b int) bool {
		fa, fb := m.Files[a], m.Files[b]
		if fa.Team != fb.Team {
			return teamOrder[fa.Team] < teamOrder[fb.Team]
		}
		if fa.Table != fb.Table {
			return tableOrder[fa.Table] < tableOrder[fb.Table]
		}
		return fa.Part < fb.Part
	})
	ex := <-extrasDone
	if ex.err != nil {
		return Manifest{}, ex.err
	}
	extras, err := writeExtras(g, dst, ex.files, dels)
	if err != nil {
		return Manifest{}, err
	}
	m.Extras = extras
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Manifest{}, fmt.Errorf("dump: encode manifest: %w", err)
	}
	if _, err := writeFile(dst, ManifestName, func(w io.Writer) (int64, error) {
		_, err := w.Write(append(body, '\n'))
		return 0, err
	}); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// writeFile creates name in dst, lets fill write it, and returns the
// manifest entry (rows as fill counts them).
func writeFile(dst Dest, name string, fill func(io.Writer) (int64, error)) (ManifestFile, error) {
	wc, err := dst.Create(name)
	if err != nil {
		return ManifestFile{}, fmt.Errorf("dump: create %s: %w", name, err)
	}
	hw := NewHashWriter(wc)
	rows, err := fill(hw)
	if cerr := wc.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return ManifestFile{}, fmt.Errorf("dump: write %s: %w", name, err)
	}
	return ManifestFile{Path: name, Rows: rows, Bytes: hw.Len(), SHA256: hw.SHA256()}, nil
}

// extraFile is one ground-truth or CRM file, rendered in memory.
type extraFile struct {
	name string
	body []byte
	rows int64
}

// renderExtras renders the ground truth and the CRM files, all but
// deletions.csv (whose rows the dump jobs collect). It runs beside the
// dump jobs: at a million accounts the CRM truth takes seconds.
func renderExtras(g *generator) ([]extraFile, error) {
	var out []extraFile
	render := func(name string, fill func(io.Writer) (int64, error)) error {
		var b bytes.Buffer
		n, err := fill(&b)
		if err != nil {
			return fmt.Errorf("dump: render %s: %w", name, err)
		}
		out = append(out, extraFile{name: name, body: b.Bytes(), rows: n})
		return nil
	}
	for _, x := range []struct {
		name string
		fill func(io.Writer) (int64, error)
	}{
		{"groundtruth/duplicate_clusters.csv", g.writeClusters},
		{"groundtruth/merges.csv", g.writeMerges},
		{"groundtruth/shared_emails.csv", g.writeSharedEmails},
		{"groundtruth/households.csv", g.writeHouseholds},
		{"groundtruth/company_spellings.csv", writeCompanySpellings},
	} {
		if err := render(x.name, x.fill); err != nil {
			return nil, err
		}
	}
	var contacts, accounts, truth, pairs bytes.Buffer
	nc, na, err := g.writeCRM(&contacts, &accounts)
	if err != nil {
		return nil, err
	}
	nt, np, err := g.writeCRMTruth(&truth, &pairs)
	if err != nil {
		return nil, err
	}
	return append(out,
		extraFile{"groundtruth/crm_contacts.csv", truth.Bytes(), nt},
		extraFile{"groundtruth/crm_pairs.csv", pairs.Bytes(), np},
		extraFile{"crm/contacts.csv", contacts.Bytes(), nc},
		extraFile{"crm/accounts.csv", accounts.Bytes(), na}), nil
}

// writeExtras writes the rendered extras and deletions.csv.
func writeExtras(g *generator, dst Dest, files []extraFile, dels []Deletion) ([]ManifestFile, error) {
	var b bytes.Buffer
	n, err := g.writeDeletions(&b, dels)
	if err != nil {
		return nil, fmt.Errorf("dump: render groundtruth/deletions.csv: %w", err)
	}
	files = append(files[:2:2], append([]extraFile{{"groundtruth/deletions.csv", b.Bytes(), n}}, files[2:]...)...)
	var out []ManifestFile
	for _, x := range files {
		f, err := writeFile(dst, x.name, func(w io.Writer) (int64, error) {
			_, err := w.Write(x.body)
			return x.rows, err
		})
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// HashWriter passes writes to w and keeps the SHA-256 and length of what
// went through: what a manifest lists of each file.
type HashWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

// NewHashWriter hashes what is written to w.
func NewHashWriter(w io.Writer) *HashWriter { return &HashWriter{w: w, h: sha256.New()} }

func (h *HashWriter) Write(p []byte) (int, error) {
	n, err := h.w.Write(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	return n, err
}

// Len is the number of bytes written.
func (h *HashWriter) Len() int64 { return h.n }

// SHA256 is the hex SHA-256 of the bytes written.
func (h *HashWriter) SHA256() string { return hex.EncodeToString(h.h.Sum(nil)) }

// --- Workers ------------------------------------------------------------------

type dumpWorker struct {
	g      *generator
	dst    Dest
	report func(string, int64)
	zw     *gzip.Writer
	et     eventTickets
	cust   []custVersion
	ts     *tsFmt
	rs     rowSink
}

func newDumpWorker(g *generator, dst Dest, report func(string, int64)) *dumpWorker {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	ts := newTSFmt(g.loc)
	return &dumpWorker{g: g, dst: dst, report: report, zw: zw, ts: ts, rs: rowSink{clock: ts, buf: make([]byte, 0, 32)}}
}

// partFile is one part being written.
type partFile struct {
	dw     *dumpWorker
	team   string
	table  *schemas.Table
	part   int
	path   string
	wc     io.WriteCloser
	hw     *HashWriter
	zw     *gzip.Writer
	sink   textSink
	rows   int64
	unrep  int64 // rows not reported yet
	faults []InjectedFault
}

func (dw *dumpWorker) open(team string, t *schemas.Table, part int) (*partFile, error) {
	path := fmt.Sprintf("%s/%s/%s_part-%05d.txt.gz", team, t.Name, t.Name, part)
	wc, err := dw.dst.Create(path)
	if err != nil {
		return nil, fmt.Errorf("dump: create %s: %w", path, err)
	}
	hw := NewHashWriter(wc)
	var zw *gzip.Writer
	if dw.zw != nil {
		zw, dw.zw = dw.zw, nil
		zw.Reset(hw)
	} else {
		zw, _ = gzip.NewWriterLevel(hw, gzip.BestSpeed)
	}
	pf := &partFile{dw: dw, team: team, table: t, part: part, path: path, wc: wc, hw: hw, zw: zw}
	pf.sink = textSink{b: make([]byte, 0, 1<<20), clock: dw.ts}
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	pf.sink.b = append(pf.sink.b, strings.Join(names, "|")...)
	pf.sink.b = append(pf.sink.b, '\n')
	return pf, nil
}

// endRow finishes the row just emitted into the sink.
func (pf *partFile) endRow() error {
	pf.sink.endLine()
	pf.rows++
	pf.unrep++
	if len(pf.sink.b) >= 512<<10 {
		return pf.flush()
	}
	return nil
}

func (pf *partFile) flush() error {
	if _, err := pf.zw.Write(pf.sink.b); err != nil {
		return fmt.Errorf("dump: write %s: %w", pf.path, err)
	}
	pf.sink.b = pf.sink.b[:0]
	if pf.unrep >= 1<<16 {
		pf.dw.report(pf.team+"/"+pf.table.Name, pf.unrep)
		pf.unrep = 0
	}
	return nil
}

func (pf *partFile) close() (ManifestFile, error) {
	err := pf.flush()
	if err == nil {
		err = pf.zw.Close()
	}
	if cerr := pf.wc.Close(); err == nil && cerr != nil {
		err = cerr
	}
	pf.dw.zw = pf.zw
	if err != nil {
		return ManifestFile{}, fmt.Errorf("dump: %s: %w", pf.path, err)
	}
	if pf.unrep > 0 {
		pf.dw.report(pf.team+"/"+pf.table.Name, pf.unrep)
	}
	return ManifestFile{Team: pf.team, Table: pf.table.Name, Path: pf.path, Part: pf.part, Rows: pf.rows,
		Bytes: pf.hw.Len(), SHA256: pf.hw.SHA256()}, nil
}

// injectFaults appends malformed copies of row (opt-in DirtyLines): a
// line with a field missing, a bad timestamp, a non-numeric id.
func (pf *partFile) injectFaults(row Row) error {
	t := pf.table
	updCol := t.ColumnIndex(t.UpdatedAt)
	idCol := t.ColumnIndex(t.Key[1])
	for k, reason := range []string{"wrong field count", "bad timestamp in " + t.UpdatedAt, "non-numeric " + t.Key[1]} {
		bad := append(Row(nil), row...)
		switch k {
		case 0:
			bad = bad[:len(bad)-1]
		case 1:
			bad[updCol] = "2026-13-45 25:61:00"
		case 2:
			bad[idCol] = bad[idCol][:1] + "A" + bad[idCol][1:]
		}
		for _, f := range bad {
			pf.sink.str(f)
		}
		if err := pf.endRow(); err != nil {
			return err
		}
		pf.faults = append(pf.faults, InjectedFault{Path: pf.path, Line: pf.rows + 1, Reason: reason})
	}
	return nil
}

func (dw *dumpWorker) run(ctx context.Context, j *dumpJob) error {
	tg := j.tg
	asOf := dw.g.dumpAsOf
	open := func(t *schemas.Table) (*partFile, error) { return dw.open(tg.name, t, j.part) }
	finish := func(pfs ...*partFile) error {
		for _, pf := range pfs {
			f, err := pf.close()
			if err != nil {
				return err
			}
			j.out = append(j.out, f)
			j.faults = append(j.faults, pf.faults...)
		}
		return nil
	}
	dirty := dw.g.cfg.DirtyLines && j.part == 0
	switch j.table {
	case schemas.Event:
		pf, err := open(schemas.Event)
		if err != nil {
			return err
		}
		for i := range tg.events {
			e := &tg.events[i]
			if gone := tg.eventGone[i]; gone != 0 {
				j.dels = append(j.dels, Deletion{Team: tg.name, Table: schemas.Event.Name, Key: tg.name + "|" + strconv.Itoa(int(e.id)),
					At: time.Unix(gone, 0).UTC(), Reason: "event_removed"})
				if gone <= asOf {
					continue
				}
			}
			if v := e.versionAt(asOf); v >= 0 {
				tg.emitEvent(&pf.sink, e, v)
				if err := pf.endRow(); err != nil {
					return err
				}
			}
		}
		return finish(pf)
	case schemas.Cust:
		pf, err := open(schemas.Cust)
		if err != nil {
			return err
		}
		for i := int32(j.lo); i < int32(j.hi); i++ {
			if i%1024 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			dw.cust = tg.genAccount(i, dw.cust)
			for s := 0; s < len(dw.cust); {
				e := s
				for e < len(dw.cust) && dw.cust[e].row.k == dw.cust[s].row.k {
					e++
				}
				if gone := dw.cust[s].gone; gone != 0 {
					j.dels = append(j.dels, Deletion{Team: tg.name, Table: schemas.Cust.Name, Key: custKey(tg.name, i, dw.cust[s].row.custNameID()),
						At: time.Unix(gone, 0).UTC(), Reason: tg.custReason(i, gone)})
					if gone <= asOf {
						s = e
						continue
					}
				}
				v := -1
				for k := s; k < e; k++ {
					if dw.cust[k].com <= asOf {
						v = k
					}
				}
				if v >= 0 {
					tg.emitCust(&pf.sink, &dw.cust[v].row)
					if err := pf.endRow(); err != nil {
						return err
					}
					if dirty && pf.rows == 10 {
						tg.emitCust(&dw.rs, &dw.cust[v].row)
						if err := pf.injectFaults(dw.rs.take()); err != nil {
							return err
						}
					}
				}
				s = e
			}
		}
		return finish(pf)
	case schemas.Ticket:
		pt, err := open(schemas.Ticket)
		if err != nil {
			return err
		}
		px, err := open(schemas.Tex)
		if err != nil {
			return err
		}
		pa, err := open(schemas.Attendance)
		if err != nil {
			return err
		}
		te := sort.Search(len(tg.ticketStart), func(i int) bool { return tg.ticketStart[i] > j.lo }) - 1
		for ; te >= 0 && te < len(tg.ticketEvents) && tg.ticketStart[te] < j.hi; te++ {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			et := &dw.et
			tg.genTickets(te, et)
			for b := range et.blocks {
				row := et.first + int64(b)
				if row < j.lo || row >= j.hi {
					continue
				}
				t := &et.blocks[b]
				if t.gone != 0 {
					j.dels = append(j.dels, Deletion{Team: tg.name, Table: schemas.Ticket.Name, Key: ticketKey(tg.name, t.seq),
						At: time.Unix(t.gone, 0).UTC(), Reason: ticketReason(t)})
					if t.gone <= asOf {
						continue
					}
				}
				v := t.versionAt(asOf)
				if v < 0 {
					continue
				}
				buyer := tg.resolve(t.buyer, asOf)
				tg.emitTicket(&pt.sink, et, t, v, buyer)
				if err := pt.endRow(); err != nil {
					return err
				}
				if dirty && pt.rows == 10 {
					tg.emitTicket(&dw.rs, et, t, v, buyer)
					if err := pt.injectFaults(dw.rs.take()); err != nil {
						return err
					}
				}
			}
			for _, list := range [][]texEnt{et.tex, et.texCancelled} {
				for k := range list {
					x := &list[k]
					row := et.first + int64(x.block)
					if row < j.lo || row >= j.hi {
						continue
					}
					if x.gone != 0 {
						j.dels = append(j.dels, Deletion{Team: tg.name, Table: schemas.Tex.Name, Key: texKey(tg.name, x.id),
							At: time.Unix(x.gone, 0).UTC(), Reason: "posting_cancelled"})
					}
					if x.com > asOf || (x.gone != 0 && x.gone <= asOf) {
						continue
					}
					tg.emitTex(&px.sink, et, x, tg.resolve(x.owner, asOf), tg.resolve(x.acct, asOf))
					if err := px.endRow(); err != nil {
						return err
					}
				}
			}
			// An event's scans go with the part holding its first block.
			if et.first < j.lo || et.first >= j.hi {
				continue
			}
			ents, posts := tg.attendance(et, asOf)
			for k := range ents {
				x := &ents[k]
				if posts[x.gate] > asOf {
					continue
				}
				tg.emitAttendance(&pa.sink, et.ev, x, posts[x.gate], tg.resolve(x.acct, asOf))
				if err := pa.endRow(); err != nil {
					return err
				}
			}
		}
		return finish(pt, px, pa)
	}
	return errors.New("dump: unknown job " + j.table.Name + " part " + strconv.Itoa(j.part))
}
