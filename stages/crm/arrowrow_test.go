package crm

import (
	"context"
	"strings"
	"testing"
	"time"

	"archtics/pipeline"
	"archtics/pipeline/pipelinetest"
	"archtics/schemas"
	"archtics/stages/dedup"
)

// TestRowWriterChecksValues: the typed rows are checked as text rows are
// (a required column empty, a string wider than its column), and a value
// of the wrong type or a row of the wrong length is named, never written.
func TestRowWriterChecksValues(t *testing.T) {
	ctx := context.Background()
	w, err := pipelinetest.Open(ctx, t.TempDir(), quietLogger)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		abort bool // the table writer fails (is aborted) first
		row   func(w *rowWriter) error
		want  string // "" for no error
	}{
		{"good", false, func(w *rowWriter) error {
			return appendAccount(w, 1, &dedup.CRMAccount{ID: "A1", Name: "Lee Household", Type: "Household", Source: SourceCRM, Created: at})
		}, ""},
		{"NULLs where allowed", false, func(w *rowWriter) error {
			return appendAccount(w, 1, &dedup.CRMAccount{ID: "A1", Source: SourceCRM})
		}, ""},
		{"required empty", false, func(w *rowWriter) error {
			return appendAccount(w, 1, &dedup.CRMAccount{Name: "x", Source: SourceCRM})
		}, "crm.account row 1 column account_id: required field is empty"},
		{"too wide", false, func(w *rowWriter) error {
			return appendAccount(w, 1, &dedup.CRMAccount{ID: "A1", Type: strings.Repeat("x", 21), Source: SourceCRM})
		}, "column type: \"xxxxxxxxxxxxxxxxxxxxx\" is 21 bytes, longer than varchar(20)"},
		{"wrong type", false, func(w *rowWriter) error {
			w.int64(1)
			w.str("A1")
			return w.end()
		}, "crm.account row 1 column account_id: the column is"},
		{"too few values", false, func(w *rowWriter) error {
			w.str("A1")
			return w.end()
		}, "crm.account row 1: 1 values for the table's 8 columns"},
		{"table writer fails: its error, not the rows'", true, func(w *rowWriter) error {
			return appendAccount(w, 1, &dedup.CRMAccount{ID: "A1", Source: SourceCRM})
		}, "table writer aborted"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tw, err := pipeline.NewTableWriter(w, schemas.CRMAccountTable, "test")
			if err != nil {
				t.Fatal(err)
			}
			defer tw.Abort()
			rw := newRowWriter(ctx, tw)
			if c.abort {
				tw.Abort()
			}
			err = rw.finish(c.row(rw))
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("error %v, want none", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("error %v, want one containing %q", err, c.want)
			case c.want == "" && tw.Rows() != 1:
				t.Fatalf("%d rows written, want 1", tw.Rows())
			}
		})
	}
}
