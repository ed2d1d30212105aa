// Package truthfiles writes the simulator's truth at an instant as
// Parquet files with the clone's column names and types, so anyone can
// check a warehouse against it with plain SQL (archtics simulate truth):
//
//	archtics/event.parquet           archtics.event as it stands (every team; team is a column)
//	archtics/cust.parquet            archtics.cust
//	archtics/ticket.parquet          archtics.ticket
//	archtics/tex.parquet             archtics.tex
//	archtics_rtx/attendance_raw.parquet  what a realtime store holds: the accepted scans
//	                                 (archtics_rtx.attendance_raw's columns) the feed had delivered, window and filter applied,
//	                                 of the events the default criteria select
//	truth/duplicate_clusters.parquet people with several accounts at the instant
//	truth/merges.parquet             the merges done by the instant
//	truth/crm_contacts.parquet       per pre-existing CRM contact: who, and the expected initial load
//	truth.json                       written last: the instant, the generator, every file's rows
//
// Timestamps are the client's local wall clock (TIMESTAMP without zone),
// as in the clone; truth.json gives the zone.
package truthfiles

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"archtics/internal/rowbuild"
	"archtics/simulator"
)

// ManifestName is the truth's manifest, written last.
const ManifestName = "truth.json"

// Manifest describes a truth folder.
type Manifest struct {
	At        time.Time `json:"at"`       // RFC 3339 with the client's offset
	AtLocal   string    `json:"at_local"` // the instant as the tables' timestamps spell it
	TimeZone  string    `json:"timezone"`
	Client    string    `json:"client"`
	Seed      uint64    `json:"seed"`
	Teams     []string  `json:"teams"`
	Criteria  string    `json:"realtime_criteria"`
	Window    string    `json:"realtime_window"`
	Files     []File    `json:"files"`
	Generator string    `json:"generator"`
}

// File is one table's file.
type File struct {
	Path    string   `json:"path"`
	Table   string   `json:"table"` // schema.table
	Rows    int64    `json:"rows"`
	Bytes   int64    `json:"bytes"`
	SHA256  string   `json:"sha256"`
	Columns []string `json:"columns"`
}

// batchRows is how many rows are converted before a write: big enough for
// good row groups, small enough to keep memory flat.
const batchRows = 64 * 1024

// Write writes w's truth at instant at to dst, then the manifest.
func Write(ctx context.Context, w *simulator.World, at time.Time, dst simulator.Dest) (Manifest, error) {
	cfg := w.Config()
	m := Manifest{
		At: at.In(w.Location()), AtLocal: at.In(w.Location()).Format(simulator.TimeLayout), TimeZone: cfg.TimeZone,
		Client: cfg.Client, Seed: cfg.Seed, Teams: w.Teams(),
		Criteria:  "total_events = 1 AND major_category IN ('SPORTS','CONCERTS')",
		Window:    "scans with result_code '0' and scan_type 'S', once per seq_num, from 5 h before the event's start to 6 h after it (both included), delivered by the instant, of events started less than 7 days before it",
		Generator: "archtics simulator",
	}
	for _, tt := range w.TruthAt(at) {
		if err := ctx.Err(); err != nil {
			return m, fmt.Errorf("truth files: %w", err)
		}
		f, err := writeTable(dst, tt)
		if err != nil {
			return m, err
		}
		m.Files = append(m.Files, f)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, fmt.Errorf("truth files: manifest: %w", err)
	}
	out, err := dst.Create(ManifestName)
	if err != nil {
		return m, fmt.Errorf("truth files: %w", err)
	}
	if _, err := out.Write(append(b, '\n')); err != nil {
		return m, fmt.Errorf("truth files: write %s: %w", ManifestName, err)
	}
	if err := out.Close(); err != nil {
		return m, fmt.Errorf("truth files: %w", err)
	}
	return m, nil
}

func writeTable(dst simulator.Dest, tt simulator.TruthTable) (File, error) {
	t := tt.Table
	f := File{Path: tt.Path, Table: t.FullName(), Rows: int64(len(tt.Rows))}
	for _, c := range t.Columns {
		f.Columns = append(f.Columns, c.Name)
	}
	if err := t.Validate(); err != nil {
		return f, fmt.Errorf("truth files: %s: %w", tt.Path, err)
	}
	out, err := dst.Create(tt.Path)
	if err != nil {
		return f, fmt.Errorf("truth files: %w", err)
	}
	// On a failure the file is left unclosed: Close is what publishes it
	// (a folder's rename, an object store's put), and a half file must not
	// appear. A folder without truth.json is incomplete anyway.
	cw := simulator.NewHashWriter(out) // hides Close from the Parquet writer: the file is made visible only once whole
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithCreatedBy("archtics simulator truth"), parquet.WithMaxRowGroupLength(batchRows))
	fw, err := pqarrow.NewFileWriter(t.ArrowSchema(), cw, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return f, fmt.Errorf("truth files: %s: %w", tt.Path, err)
	}
	rb := rowbuild.New(memory.DefaultAllocator, t)
	defer rb.Release()
	flush := func() error {
		rec := rb.NewRecord()
		defer rec.Release()
		if rec.NumRows() == 0 {
			return nil
		}
		return fw.Write(rec)
	}
	for i, r := range tt.Rows {
		if err := rb.Append(r); err != nil {
			return f, fmt.Errorf("truth files: %s row %d: %w", tt.Path, i+1, err)
		}
		if rb.Len() == batchRows {
			if err := flush(); err != nil {
				return f, fmt.Errorf("truth files: write %s: %w", tt.Path, err)
			}
		}
	}
	if err := flush(); err != nil {
		return f, fmt.Errorf("truth files: write %s: %w", tt.Path, err)
	}
	if err := fw.Close(); err != nil {
		return f, fmt.Errorf("truth files: finish %s: %w", tt.Path, err)
	}
	if err := out.Close(); err != nil {
		return f, fmt.Errorf("truth files: %w", err)
	}
	f.Bytes, f.SHA256 = cw.Len(), cw.SHA256()
	return f, nil
}
