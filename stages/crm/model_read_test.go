package crm

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"testing"

	"archtics/stages/dedup"
)

// TestReadModel: a committed model is read back as it was fitted; one
// this release cannot match with (not JSON, another model version, a
// probability out of range) is an error that says how to repair it
// (--refit-model); a settings version without a model is none.
func TestReadModel(t *testing.T) {
	ctx := context.Background()
	f := dedup.NewModelFitter()
	for i, name := range []string{"Ann Lee", "Ann Lee", "Bob Ray", "Cy Fox", "Di Oz", "Ed Wu"} {
		first, last, _ := strings.Cut(name, " ")
		f.Add(&dedup.Account{AccountRef: dedup.AccountRef{Team: "nhl", AcctID: int32(i + 1)}, First: first, Last: last,
			Email: strings.ToLower(first) + "@example.com", BirthDate: "1980-01-0" + string(rune('1'+i%3))})
	}
	good, err := f.Fit()
	if err != nil {
		t.Fatal(err)
	}
	text := func(m *dedup.Model) string {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	otherVersion := *good
	otherVersion.Version = 99
	badField := *good
	badField.Fields[0].M[1] = 7
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE SCHEMA crm; CREATE TABLE crm.match_model (version BIGINT, model VARCHAR)`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, model string
		ok          bool
	}{
		{"as fitted", text(good), true},
		{"not JSON", `{"Version": 1, "Fields": [`, false},
		{"another model version", text(&otherVersion), false},
		{"a probability above one", text(&badField), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := db.ExecContext(ctx, `DELETE FROM crm.match_model; INSERT INTO crm.match_model VALUES (3, ?)`, tc.model); err != nil {
				t.Fatal(err)
			}
			m, err := readModel(ctx, db, 3)
			switch {
			case tc.ok && (err != nil || m == nil || text(m) != tc.model):
				t.Fatalf("model %v, err %v; want it as fitted", m != nil, err)
			case !tc.ok && (err == nil || !strings.Contains(err.Error(), "--refit-model")):
				t.Fatalf("err %v, want one that says to run --refit-model", err)
			}
		})
	}
	if m, err := readModel(ctx, db, 4); m != nil || err != nil {
		t.Fatalf("settings version 4 has no model: got %v, err %v", m != nil, err)
	}
}
