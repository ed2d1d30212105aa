package schemas

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefinitionsValidate(t *testing.T) {
	for _, tbl := range All {
		t.Run(tbl.FullName(), func(t *testing.T) {
			if err := tbl.Validate(); err != nil {
				t.Fatal(err)
			}
			// Every column is in the file; the partition columns last,
			// so the others keep their relative positions.
			fs := tbl.FileSchema()
			if fs.NumFields() != len(tbl.Columns) {
				t.Fatalf("file schema has %d fields, want %d", fs.NumFields(), len(tbl.Columns))
			}
			var want []string
			for _, c := range tbl.Columns {
				if !tbl.IsPartition(c.Name) {
					want = append(want, c.Name)
				}
			}
			want = append(want, tbl.PartitionBy...)
			for i, name := range want {
				if got := fs.Field(i).Name; got != name {
					t.Fatalf("file column %d is %s, want %s", i+1, got, name)
				}
			}
		})
	}
}

// The seed's archtics_rtx.attendance lists eleven varchar(50) columns in a
// fixed ordinal order: the view of that name, and each team's
// archtics_<team>_rtx.attendance, must have exactly those, as DuckDB
// describes them once created over the stored table's DDL (so an edit of
// the view's SQL that adds, drops or reorders a column fails here, not
// only one of the Go definition); the stored archtics_rtx.attendance_raw
// starts with them.
func TestRTXAttendanceMatchesSeed(t *testing.T) {
	seed := []string{"result_code", "gate", "scan_type", "row_name", "archtics_event_name",
		"action_time", "seat_num", "section_name", "channel_ind", "attendance_seq_id", "event_name"}
	for i, name := range seed {
		c := RTXAttendanceRaw.Columns[i]
		if c.Name != name || c.Type != String || c.Width != 50 {
			t.Errorf("attendance_raw ordinal %d: got %s %s(%d), want %s varchar(50)", i+1, c.Name, c.Type, c.Width, name)
		}
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, tbl := range []*Table{RTXAttendanceRaw, RTXAttendance, TeamRTXAttendance("nhl")} {
		for _, stmt := range []string{"CREATE SCHEMA IF NOT EXISTS " + QuoteIdent(tbl.SQLSchema()), tbl.ViewDDL(nil)} {
			if _, err := conn.ExecContext(ctx, stmt); err != nil {
				t.Fatalf("%s: %v\n%s", tbl.FullName(), err, stmt)
			}
		}
	}
	for _, view := range []string{"archtics_rtx.attendance", "archtics_nhl_rtx.attendance"} {
		t.Run(view, func(t *testing.T) {
			rows, err := conn.QueryContext(ctx, "DESCRIBE "+view)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			cols, err := rows.Columns()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				got = append(got, fmt.Sprintf("%v %v", vals[0], vals[1])) // column_name column_type
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, name := range seed {
				want = append(want, name+" VARCHAR") // varchar(50): DuckDB keeps no width
			}
			if strings.Join(got, ", ") != strings.Join(want, ", ") {
				t.Errorf("DESCRIBE %s:\n got  %s\n want %s", view, strings.Join(got, ", "), strings.Join(want, ", "))
			}
		})
	}
	for _, tbl := range []*Table{RTXAttendance, TeamRTXAttendance("nhl")} {
		if len(tbl.Columns) != len(seed) {
			t.Errorf("%s declares %d columns, the seed %d", tbl.FullName(), len(tbl.Columns), len(seed))
		}
		for i, c := range tbl.Columns {
			if i < len(seed) && (c.Name != seed[i] || c.Type != String || c.Width != 50) {
				t.Errorf("%s ordinal %d: got %s %s(%d), want %s varchar(50)", tbl.FullName(), i+1, c.Name, c.Type, c.Width, seed[i])
			}
		}
	}
}

func TestFingerprintChangesWithShape(t *testing.T) {
	a := *Event
	b := *Event
	b.Columns = append([]Column(nil), Event.Columns...)
	b.Columns[2].Type = Int64
	if a.Fingerprint() == b.Fingerprint() {
		t.Fatal("fingerprint did not change when a column type changed")
	}
	if a.Fingerprint() != Event.Fingerprint() {
		t.Fatal("fingerprint is not stable")
	}
}

func TestViewDDL(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		want  []string
	}{
		{"empty table", nil, []string{`CREATE OR REPLACE VIEW "archtics_rtx"."attendance_raw"`, "WHERE false", `CAST(NULL AS DATE) AS "event_date"`}},
		{"files", []string{"/c/x'y.parquet"}, []string{"read_parquet(['/c/x''y.parquet']", "hive_partitioning = true", "'event_date': DATE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ddl := RTXAttendanceRaw.ViewDDL(tt.files)
			for _, w := range tt.want {
				if !strings.Contains(ddl, w) {
					t.Errorf("DDL lacks %q:\n%s", w, ddl)
				}
			}
		})
	}
}

func TestLookup(t *testing.T) {
	for _, name := range []string{"archtics.cust", "cust"} {
		if tbl, ok := Lookup(name); !ok || tbl != Cust {
			t.Errorf("Lookup(%q) = %v, %v", name, tbl, ok)
		}
	}
	if _, ok := Lookup("nope"); ok {
		t.Error("Lookup(nope) found a table")
	}
}

// TestArchticsFieldNames: the source tables carry the field names Archtics
// exports (as gathered in the reference notes), so a stage written against
// this warehouse reads real Archtics data without renaming.
func TestArchticsFieldNames(t *testing.T) {
	for _, tc := range []struct {
		table  *Table
		fields string
	}{
		{Event, "event_id event_name event_date event_time event_day team plan_abv plan_type enabled total_events season_name " +
			"season_id event_name_long tm_event_name game_number event_type arena_name major_category minor_category add_date upd_date"},
		{Cust, "acct_id cust_name_id primary_code rec_status acct_type_desc company_name name_first name_mi name_last " +
			"street_addr_1 street_addr_2 city state zip phone_day phone_eve phone_cell email_addr birth_date since_date household_id add_date upd_date"},
		{Ticket, "event_id event_name section_id section_name row_id row_name seat_num last_seat num_seats acct_id ticket_status " +
			"price_code purchase_price order_num ticket_seq_id add_datetime upd_datetime"},
		{Tex, "event_id section_name row_name seat_num last_seat num_seats owner_acct_id acct_id activity activity_name " +
			"te_purchase_price forward_to_email_addr upd_datetime"},
		{Scan, "event_id event_name event_date section_name row_name seat_num acct_id scan_type result_code action_time gate " +
			"channel_ind access_type mobile seq_num upd_datetime"},
	} {
		t.Run(tc.table.FullName(), func(t *testing.T) {
			for _, f := range strings.Fields(tc.fields) {
				if tc.table.ColumnIndex(f) < 0 {
					t.Errorf("%s has no column %s", tc.table.FullName(), f)
				}
			}
		})
	}
}

// The seed's archtics.attendance_realtime_v: twelve columns, these names,
// this order, these types; each documented.
func TestAttendanceRealtimeVMatchesSeed(t *testing.T) {
	seed := []struct {
		name  string
		typ   Type
		width int
	}{
		{"archtics_event_name", String, 50}, {"section_name", String, 50}, {"row_name", String, 50},
		{"gate", String, 50}, {"scan_type", String, 50}, {"seat_num", Int32, 0}, {"acct_id", Int32, 0},
		{"event_time", Timestamp, 0}, {"ticket_scan_time", Timestamp, 0}, {"name_first", String, 100},
		{"name_last", String, 250}, {"email_addr", String, 100},
	}
	if len(AttendanceRealtimeV.Columns) != len(seed) {
		t.Fatalf("%d columns, the seed has %d", len(AttendanceRealtimeV.Columns), len(seed))
	}
	for i, s := range seed {
		c := AttendanceRealtimeV.Columns[i]
		if c.Name != s.name || c.Type != s.typ || c.Width != s.width || c.Doc == "" {
			t.Errorf("ordinal %d: got %s %s(%d) %q, want %s %s(%d) with a derivation", i+1, c.Name, c.Type, c.Width, c.Doc, s.name, s.typ, s.width)
		}
	}
	for _, c := range RTXAttendanceRaw.Columns {
		if c.Doc == "" && c.Name != "team" {
			t.Errorf("archtics_rtx.attendance_raw.%s: no derivation documented", c.Name)
		}
	}
	if err := AttendanceRealtimeV.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestOwners: every committed table has an owner template whose
// placeholders are partition columns, and the template maps partitions to
// the streams the README's protocol names.
func TestOwners(t *testing.T) {
	for _, tc := range []struct {
		table     *Table
		partition map[string]string
		want      string
	}{
		{Event, map[string]string{"team": "nhl"}, "nhl/clone"},
		{Cust, map[string]string{"team": "arena"}, "arena/clone"},
		{Ticket, map[string]string{"team": "nhl"}, "nhl/clone"},
		{Tex, map[string]string{"team": "nhl"}, "nhl/clone"},
		{RTXAttendanceRaw, map[string]string{"team": "nhl", "event_date": "2026-11-21"}, "nhl/realtime"},
		{Scan, map[string]string{"team": "nhl", "event_date": "2026-11-21"}, "nhl/realtime"},
		{Rejects, map[string]string{"team": "nhl", "origin": "realtime"}, "nhl/realtime"},
	} {
		t.Run(tc.table.FullName(), func(t *testing.T) {
			got, err := tc.table.OwnerStream(tc.partition)
			if err != nil || got != tc.want {
				t.Errorf("%s %v: owner %q, %v; want %s", tc.table.FullName(), tc.partition, got, err, tc.want)
			}
			if !tc.table.OwnedBy(tc.want) || tc.table.OwnedBy("crm") {
				t.Errorf("%s: OwnedBy disagrees with OwnerStream", tc.table.FullName())
			}
		})
	}
	for _, bad := range []map[string]string{{"team": ""}, {"team": "a/b"}} {
		if _, err := Cust.OwnerStream(bad); err == nil {
			t.Errorf("partition %v names an owner", bad)
		}
	}
	for _, tc := range []struct{ owner, want string }{
		{"{event_date}/x", "not a partition column"},
		{"a//b", "empty segment"},
		{"x{team}", "whole segment"},
	} {
		t.Run(tc.owner, func(t *testing.T) {
			tb := *Cust
			tb.Owner = tc.owner
			if err := tb.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("owner %q: %v, want %q", tc.owner, err, tc.want)
			}
		})
	}
	for _, tb := range All {
		if tb.Owner == "" && tb.ViewSQL == "" {
			t.Errorf("%s has no owner: no stream could commit it", tb.FullName())
		}
	}
}

// TestFilesWithAndWithoutPartitionColumns: files hold the partition
// columns last, files written before they did lack them, and a table's
// read (ReadParquetSQL, DuckDB's Hive reading) gives every row its path's
// values either way, whatever a file says (the path is what the commit
// recorded).
func TestFilesWithAndWithoutPartitionColumns(t *testing.T) {
	tbl := RTXAttendanceRaw
	dir := t.TempDir()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	row := func(withPartition bool, team, day string) string {
		var cols []string
		for _, i := range tbl.FileColumnOrder() {
			c := tbl.Columns[i]
			if tbl.IsPartition(c.Name) && !withPartition {
				continue
			}
			v := fmt.Sprintf("CAST(NULL AS %s)", c.Type)
			switch c.Name {
			case "team":
				v = QuoteString(team)
			case "event_date":
				v = "DATE " + QuoteString(day)
			case "attendance_seq_id":
				v = QuoteString(team + "-" + day)
			}
			cols = append(cols, v+" AS "+QuoteIdent(c.Name))
		}
		return "SELECT " + strings.Join(cols, ", ")
	}
	cases := []struct {
		name, team, day string
		with            bool
		fileTeam        string // the team value inside the file
	}{
		{"with the columns", "nhl", "2026-11-26", true, "nhl"},
		{"without them", "nba", "2026-11-27", false, ""},
		{"a file that disagrees with its path", "mlb", "2026-11-28", true, "nfl"},
	}
	var files []string
	for i, c := range cases {
		p := fmt.Sprintf("%s/team=%s/event_date=%s/part-%d.parquet", dir, c.team, c.day, i)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		fileTeam := c.team
		if c.fileTeam != "" {
			fileTeam = c.fileTeam
		}
		q := row(c.with, fileTeam, c.day)
		if _, err := db.Exec(fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet)", q, QuoteString(p))); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	for _, order := range [][]int{{0, 1, 2}, {1, 0, 2}, {2, 1, 0}} {
		var list []string
		for _, i := range order {
			list = append(list, files[i])
		}
		got := map[string]string{}
		rows, err := db.Query("SELECT team, CAST(event_date AS VARCHAR) FROM (" + tbl.ReadParquetSQL(list) + ")")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var team, day string
			if err := rows.Scan(&team, &day); err != nil {
				t.Fatal(err)
			}
			got[team] = day
		}
		rows.Close()
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if got[c.team] != c.day || len(got) != len(cases) {
					t.Errorf("files in order %v: read %v, want team %s on %s from the path", order, got, c.team, c.day)
				}
			})
		}
	}
}
