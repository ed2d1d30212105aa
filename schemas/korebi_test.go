package schemas

import "testing"

// TestSampleTablesMatchSeed: the sample tables carry the seed's data
// dictionary: names, order, types and widths.
func TestSampleTablesMatchSeed(t *testing.T) {
	type seedCol struct {
		name  string
		typ   Type
		width int
	}
	v50 := func(n string) seedCol { return seedCol{n, String, 50} }
	for _, tc := range []struct {
		tbl  *Table
		want []seedCol
	}{
		{RealtimeAttendanceSample, []seedCol{v50("result_code"), v50("gate"), v50("scan_type"), v50("row_name"),
			v50("archtics_event_name"), v50("action_time"), v50("seat_num"), v50("section_name"), v50("channel_ind"), v50("attendance_seq_id")}},
		{RealtimeAttendanceReportSample, []seedCol{v50("archtics_event_name"), v50("section_name"), v50("row_name"),
			{"seat_num", Int32, 0}, {"acct_id", Int32, 0}, {"event_time", Timestamp, 0}, {"ticket_scan_time", Timestamp, 0},
			{"name_first", String, 100}, {"name_last", String, 100}, {"email_addr", String, 300}}},
	} {
		t.Run(tc.tbl.Name, func(t *testing.T) {
			if len(tc.tbl.Columns) != len(tc.want) {
				t.Fatalf("%s has %d columns, the seed %d", tc.tbl.SQLName(), len(tc.tbl.Columns), len(tc.want))
			}
			for i, w := range tc.want {
				if c := tc.tbl.Columns[i]; c.Name != w.name || c.Type != w.typ || c.Width != w.width {
					t.Errorf("%s ordinal %d: %s %s(%d), want %s %s(%d)", tc.tbl.SQLName(), i+1, c.Name, c.Type, c.Width, w.name, w.typ, w.width)
				}
			}
		})
	}
}

// TestBIRuleSettings: the settings history is committed on the team's
// settings stream (never the realtime one), and korebi.birulesettings is
// a view over it; all of them are known tables.
func TestBIRuleSettings(t *testing.T) {
	s, err := BIRuleSettingsHistory.OwnerStream(map[string]string{"team": "nhl"})
	if err != nil || s != "nhl/settings" {
		t.Fatalf("owner stream %q, %v; want nhl/settings", s, err)
	}
	if !BIRuleSettingsHistory.OwnedBy("nhl/settings") || BIRuleSettingsHistory.OwnedBy("nhl/realtime") || RTXAttendanceRaw.OwnedBy("nhl/settings") {
		t.Fatal("settings and realtime streams must own disjoint tables")
	}
	if BIRuleSettings.ViewSQL == "" || len(BIRuleSettings.DependsOn) != 1 || BIRuleSettings.DependsOn[0] != BIRuleSettingsHistory.SQLName() {
		t.Fatalf("korebi.birulesettings must be a view over %s", BIRuleSettingsHistory.SQLName())
	}
	for _, name := range []string{"korebi.birulesettings", "korebi.birulesettings_history", "korebi.realtime_attendance_sample", "korebi.realtime_attendance_report_sample"} {
		if _, ok := Lookup(name); !ok {
			t.Errorf("%s is not in All", name)
		}
	}
}
