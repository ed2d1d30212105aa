package truthfiles

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"archtics/schemas"
	"archtics/simulator"
)

// readBack reads a Parquet file with DuckDB, every value cast back to the
// dump's text form (NULL as ""), and checks the columns' names and types.
func readBack(t *testing.T, db *sql.DB, path string, tab *schemas.Table) []simulator.Row {
	t.Helper()
	src := "read_parquet(" + schemas.QuoteString(path) + ")"
	desc, err := db.Query("DESCRIBE SELECT * FROM " + src)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for desc.Next() {
		var name, typ string
		var null, key, def, extra sql.NullString
		if err := desc.Scan(&name, &typ, &null, &key, &def, &extra); err != nil {
			t.Fatal(err)
		}
		got = append(got, name+" "+typ)
	}
	desc.Close()
	var want []string
	var sel []string
	for _, c := range tab.Columns {
		want = append(want, c.Name+" "+c.Type.String())
		sel = append(sel, "coalesce(CAST("+schemas.QuoteIdent(c.Name)+" AS VARCHAR), '')")
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: columns %v, want the clone's %v", path, got, want)
	}
	rows, err := db.Query("SELECT " + strings.Join(sel, ", ") + " FROM " + src)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []simulator.Row
	for rows.Next() {
		vals := make([]string, len(tab.Columns))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, vals)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTruthFilesReadBack writes the small world's truth during a game,
// reads every file back with DuckDB and compares it, row for row, with
// what the World says: StateAt for the clone's tables, TrueAttendance for
// the realtime store, Merges and DuplicateClusters for the rest.
func TestTruthFilesReadBack(t *testing.T) {
	w, err := simulator.NewWorld(simulator.SmallConfig())
	if err != nil {
		t.Fatal(err)
	}
	var game simulator.EventStart
	for _, e := range w.SelectedEvents("nhl", w.Cutoff(), nil) {
		if e.Start.After(w.Cutoff()) {
			game = e
			break
		}
	}
	at := game.Start.Add(2 * time.Hour) // mid-game: the feed still filling
	dir := t.TempDir()
	m, err := Write(context.Background(), w, at, simulator.DirDest(dir))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	want := map[string][]simulator.Row{}
	for _, tab := range schemas.SourceTables {
		for _, team := range w.Teams() {
			want[tab.Schema+"/"+tab.Name+".parquet"] = append(want[tab.Schema+"/"+tab.Name+".parquet"], w.StateAt(team, tab, at)...)
		}
	}
	for _, team := range w.Teams() {
		want["archtics_rtx/attendance_raw.parquet"] = append(want["archtics_rtx/attendance_raw.parquet"], w.TrueAttendance(team, at, nil)...)
	}
	for _, mg := range w.Merges() {
		if !mg.At.After(at) {
			want["truth/merges.parquet"] = append(want["truth/merges.parquet"], simulator.Row{mg.Team, itoa(mg.Loser), itoa(mg.Winner),
				mg.At.In(w.Location()).Format(simulator.TimeLayout), mg.At.UTC().Format(simulator.TimeLayout), mg.Person,
				strconv.FormatBool(mg.At.Before(w.Cutoff()))})
		}
	}
	contacts, _ := w.CRMTruth()
	for _, c := range contacts {
		team, acct := "", ""
		if c.Primary != nil {
			team, acct = c.Primary.Team, itoa(c.Primary.AcctID)
		}
		var sec []string
		for _, s := range c.Secondary {
			sec = append(sec, s.Team+":"+itoa(s.AcctID))
		}
		companyID := ""
		if c.After.CompanyID >= 0 {
			companyID = strconv.Itoa(c.After.CompanyID)
		}
		a := c.After
		want["truth/crm_contacts.parquet"] = append(want["truth/crm_contacts.parquet"], simulator.Row{c.ContactID, c.Person, c.Story,
			c.SharedEmail, strconv.Itoa(c.PersonContacts), team, acct, strings.Join(sec, ";"), strconv.FormatBool(c.Overwritten),
			a.First, a.Last, a.Email, a.Phone, a.Company, companyID, a.Street, a.Street2, a.City, a.State, a.PostalCode})
	}

	byPath := map[string]simulator.TruthTable{}
	for _, tt := range w.TruthAt(at) {
		byPath[tt.Path] = tt
	}
	if len(m.Files) != len(byPath) {
		t.Fatalf("manifest lists %d files, the truth has %d tables", len(m.Files), len(byPath))
	}
	for _, f := range m.Files {
		t.Logf("%s: %d rows, %d bytes", f.Path, f.Rows, f.Bytes)
		tt := byPath[f.Path]
		got := readBack(t, db, filepath.Join(dir, f.Path), tt.Table)
		if int64(len(got)) != f.Rows {
			t.Errorf("%s: %d rows read, the manifest says %d", f.Path, len(got), f.Rows)
		}
		exp, ok := want[f.Path]
		if !ok {
			exp = tt.Rows // the clusters: checked below
		}
		if len(got) != len(exp) {
			t.Fatalf("%s: %d rows read back, want %d", f.Path, len(got), len(exp))
		}
		for i := range got {
			if !reflect.DeepEqual(got[i], exp[i]) {
				t.Fatalf("%s row %d:\n got  %q\n want %q", f.Path, i+1, got[i], exp[i])
			}
		}
		if len(got) == 0 {
			t.Errorf("%s: empty", f.Path)
		}
	}
	// The clusters: each person's accounts that exist at the instant, at
	// least two; every cluster of the World with two such accounts is there.
	clusters := map[string]int{}
	for _, r := range byPath["truth/duplicate_clusters.parquet"].Rows {
		clusters[r[0]]++
	}
	for _, c := range w.DuplicateClusters() {
		if n := clusters[c.Person]; n == 1 || n > len(c.Members) {
			t.Errorf("cluster %s: %d rows of %d members", c.Person, n, len(c.Members))
		}
	}
	// The realtime store mid-game: scans of the game, all inside its window.
	if n := len(want["archtics_rtx/attendance_raw.parquet"]); n == 0 {
		t.Error("no realtime scan in the truth mid-game")
	}
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	var back Manifest
	if err := json.Unmarshal(b, &back); err != nil || !back.At.Equal(at) || back.TimeZone != w.Config().TimeZone {
		t.Errorf("manifest: %v, at %v zone %q", err, back.At, back.TimeZone)
	}
}

func itoa(v int32) string { return strconv.Itoa(int(v)) }
