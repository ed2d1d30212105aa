package crm

import (
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"archtics/internal/hostile"
)

// TestHostileCRM reads every damaged CRM case of testdata/hostile/crm and
// checks what the case says: a failure saying why, or a load with the
// documented rejects and repairs and no text that is not UTF-8.
func TestHostileCRM(t *testing.T) {
	for _, c := range hostile.CRMCases {
		t.Run(c.Name, func(t *testing.T) {
			dir := filepath.Join("..", "..", "testdata", "hostile", "crm", c.Name)
			got, err := readCRMDir(context.Background(), dir, time.UTC, 100)
			if c.Fail != "" {
				if err == nil || !strings.Contains(err.Error(), c.Fail) {
					t.Fatalf("err = %v, want one saying %q", err, c.Fail)
				}
				if !utf8.ValidString(err.Error()) {
					t.Fatalf("the error is not UTF-8: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Rejects) != c.Rejected || len(got.Repairs) != c.Repaired {
				t.Fatalf("%d rejects, %d repairs; want %d and %d (rejects %v)", len(got.Rejects), len(got.Repairs), c.Rejected, c.Repaired, got.Rejects)
			}
			if got.RowsIn != int64(len(got.Contacts)+len(got.Accounts)+len(got.Rejects)) {
				t.Fatalf("rows in %d != %d contacts + %d accounts + %d rejected", got.RowsIn, len(got.Contacts), len(got.Accounts), len(got.Rejects))
			}
			var texts []string
			for _, r := range append(got.Rejects, got.Repairs...) {
				texts = append(texts, r.Raw, r.Reason, r.Field)
			}
			texts = append(texts, stringFields(got.Contacts)...)
			texts = append(texts, stringFields(got.Accounts)...)
			for _, s := range texts {
				if !utf8.ValidString(s) {
					t.Errorf("%q is not UTF-8", s)
				}
			}
		})
	}
}

// stringFields lists the string fields of a slice of structs.
func stringFields(v any) []string {
	var out []string
	s := reflect.ValueOf(v)
	for i := 0; i < s.Len(); i++ {
		e := s.Index(i)
		for j := 0; j < e.NumField(); j++ {
			if f := e.Field(j); f.Kind() == reflect.String {
				out = append(out, f.String())
			}
		}
	}
	return out
}

// TestDedupCountsCRMRepairs: a first run over CRM files with a Latin-1
// field loads it read as Windows-1252 and says so: the report lists
// where, and the commit's summary counts it.
func TestDedupCountsCRMRepairs(t *testing.T) {
	ctx := context.Background()
	w := openWarehouse(t, t.TempDir())
	smallClone(t, w)
	contacts := append([]string(nil), smallCRM.contacts...)
	contacts[1] = strings.Replace(contacts[1], "Nobody", "N\xf6body", 1)
	rep, err := Dedup(ctx, w, Options{CRMDir: writeCRM(t, contacts, smallCRM.accounts), Actor: "ops", Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Repaired != 1 || len(rep.Repairs) != 1 || rep.Repairs[0].Field != "last_name" {
		t.Fatalf("repaired %d %v, want the one last_name", rep.Repaired, rep.Repairs)
	}
	if got := rep.Commit.Summary["repaired"]; got != 1 {
		t.Fatalf("the commit's summary counts %d repaired fields, want 1", got)
	}
	if got := query(t, w, "SELECT last_name FROM crm.contact WHERE contact_id = 'C2'"); !slices.Equal(got, []string{"Nöbody"}) {
		t.Fatalf("C2's last name %v, want it read as Windows-1252", got)
	}
}
