package crm

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"archtics/pipeline"
	"archtics/simulator"
	"archtics/stages/clone"
	"archtics/stages/dedup"
)

// smallClone is two teams' accounts: two people with an account in each
// team (the same email), a broker, and a CRM that knows one of them.
func smallClone(t *testing.T, w *pipeline.Warehouse) {
	t.Helper()
	commitClone(t, w, "nhl", "dump-nhl", "2026-11-20T17:00:01Z", []custAccount{
		{Team: "nhl", AcctID: 1, Type: "Individual", First: "Ann", Last: "Lee", Email: "ann@example.com", AddDay: "2020-01-01"},
		{Team: "nhl", AcctID: 2, Type: "Individual", First: "Bob", Last: "Ray", Email: "bob@example.com", AddDay: "2021-01-01"},
		{Team: "nhl", AcctID: 3, Type: "Broker", First: "Tix", Last: "Broker", Email: "tix@example.com", AddDay: "2019-01-01"},
	})
	commitClone(t, w, "arena", "dump-arena", "2026-11-20T17:00:01Z", []custAccount{
		{Team: "arena", AcctID: 7, Type: "Individual", First: "Ann", Last: "Lee", Email: "ANN@example.com", AddDay: "2022-01-01"},
		{Team: "arena", AcctID: 8, Type: "Individual", First: "Bob", Last: "Ray", Email: "bob@example.com", AddDay: "2018-01-01"},
	})
}

var smallCRM = struct{ contacts, accounts []string }{
	contacts: []string{
		"C1,Robert,Ray,bob@example.com,555-0100,A1,1 Main St,Springfield,IL,62701,2020-05-01 09:00:00,2024-01-01 09:00:00",
		"C2,Zed,Nobody,zed@example.com,,A2,,,,,2020-05-01 09:00:00,2020-05-01 09:00:00",
	},
	accounts: []string{
		"A1,Ray Household,Household,Springfield,IL,2020-05-01 09:00:00",
		"A2,Acme Inc,Company,,,2020-05-01 09:00:00",
	},
}

// TestDedupFirstRunAndRerun: the first run loads the CRM, skips the
// excluded type, maps every other account (accounts in = mapped +
// excluded), gives each contact with accounts one primary, records the
// setting with who set it; a rerun over the same clone changes nothing.
// On a local folder, and on S3 when make test's endpoint is there.
func TestDedupFirstRunAndRerun(t *testing.T) {
	for _, loc := range testLocations(t) {
		t.Run(loc.name, func(t *testing.T) { testDedupFirstRunAndRerun(t, loc.url) })
	}
}

func testDedupFirstRunAndRerun(t *testing.T, url string) {
	ctx := context.Background()
	w := openWarehouse(t, url)
	smallClone(t, w)
	crmDir := writeCRM(t, smallCRM.contacts, smallCRM.accounts)
	opts := Options{CRMDir: crmDir, ExcludeAcctTypes: []string{"Broker"}, SetExclude: true, Actor: "ops", Logger: quietLogger}
	rep, err := Dedup(ctx, w, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.FirstRun || rep.Commit == nil || rep.CRMContacts != 2 || rep.CRMAccounts != 2 || rep.CRMRowsIn != 4 || rep.Rejected != 0 {
		t.Fatalf("first run report %+v", rep)
	}
	var accounts, excluded, fed int64
	for _, tc := range rep.Teams {
		if tc.Accounts != tc.Excluded+tc.MergedAway+tc.Fed+tc.Unchanged {
			t.Errorf("team %s: %d accounts, but %d excluded + %d merged + %d fed + %d unchanged", tc.Team, tc.Accounts, tc.Excluded, tc.MergedAway, tc.Fed, tc.Unchanged)
		}
		accounts, excluded, fed = accounts+tc.Accounts, excluded+tc.Excluded, fed+tc.Fed
	}
	if accounts != 5 || excluded != 1 || fed != 4 {
		t.Fatalf("accounts %d, excluded %d, fed %d; want 5, 1, 4", accounts, excluded, fed)
	}
	mapped := query(t, w, "SELECT team, acct_id FROM crm.archtics_mapping ORDER BY ALL")
	if want := []string{"arena 7", "arena 8", "nhl 1", "nhl 2"}; !slices.Equal(mapped, want) {
		t.Fatalf("mapped accounts %v, want %v: accounts in = mapped + excluded", mapped, want)
	}
	// Every engine matches Bob's accounts to C1 by the exact email, and
	// his arena account (added first) is its primary.
	if got := query(t, w, "SELECT team, acct_id, role, rule FROM crm.archtics_mapping WHERE contact_id = 'C1' ORDER BY ALL"); !slices.Equal(got,
		[]string{"arena 8 primary email", "nhl 2 secondary email"}) {
		t.Fatalf("C1's mapping %v", got)
	}
	if got := query(t, w, "SELECT contact_id FROM crm.contact_changes"); slices.Contains(got, "C2") {
		t.Fatal("C2, which no account matches, was pushed as a change")
	}
	if got := query(t, w, `SELECT contact_id, count(*) FILTER (WHERE role = 'primary') FROM crm.archtics_mapping GROUP BY contact_id HAVING count(*) FILTER (WHERE role = 'primary') <> 1`); len(got) > 0 {
		t.Fatalf("contacts without exactly one primary: %v", got)
	}
	if got := query(t, w, "SELECT count(*) FROM crm.contact c WHERE source = 'archtics' AND NOT EXISTS (SELECT 1 FROM crm.archtics_mapping m WHERE m.contact_id = c.contact_id AND m.rule = 'new')"); got[0] != "0" {
		t.Fatalf("%s created contacts have no account of rule new", got[0])
	}
	if got := query(t, w, "SELECT version, setting, value, set_by FROM crm.dedup_settings ORDER BY setting"); !slices.Equal(got,
		[]string{`1 exclude_acct_types ["Broker"] ops`, `1 rules evidence ops`}) {
		t.Fatalf("settings %v", got)
	}
	if got := query(t, w, "SELECT DISTINCT changed_by FROM crm.mapping_history"); !slices.Equal(got, []string{"ops"}) {
		t.Fatalf("mapping history by %v, want ops", got)
	}

	// Reruns: with the committed setting, and with the same flag.
	for i, o := range []Options{{Logger: quietLogger}, opts} {
		again, err := Dedup(ctx, w, o)
		if err != nil {
			t.Fatal(err)
		}
		head, _ := w.Stream(ctx, Stream)
		if !again.Unchanged || again.Commit != nil || head.Seq != rep.Commit.Seq {
			t.Fatalf("rerun %d: unchanged %v, crm head %d; want nothing committed after %d", i, again.Unchanged, head.Seq, rep.Commit.Seq)
		}
	}

	// A new setting is a new version, by its setter, and a commit.
	next, err := Dedup(ctx, w, Options{ExcludeAcctTypes: []string{"Broker", "Test"}, SetExclude: true, Actor: "ann", Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	if next.Unchanged || next.Settings != 2 {
		t.Fatalf("new setting: %+v", next)
	}
	if got := query(t, w, "SELECT version, value, set_by FROM crm.dedup_settings WHERE setting = 'exclude_acct_types' ORDER BY version"); !slices.Equal(got, []string{`1 ["Broker"] ops`, `2 ["Broker","Test"] ann`}) {
		t.Fatalf("settings %v", got)
	}
	// The rule set is a setting too: every version holds every setting.
	ev, err := Dedup(ctx, w, Options{Rules: dedup.RulesKORE, SetRules: true, Actor: "bo", Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Unchanged || ev.Settings != 3 || ev.Rules != dedup.RulesKORE || !slices.Equal(ev.Excluded, []string{"Broker", "Test"}) {
		t.Fatalf("new rule set: %+v", ev)
	}
	if got := query(t, w, "SELECT version, setting, value, set_by FROM crm.dedup_settings WHERE version = 3 ORDER BY setting"); !slices.Equal(got,
		[]string{`3 exclude_acct_types ["Broker","Test"] bo`, `3 rules kore bo`}) {
		t.Fatalf("settings version 3: %v", got)
	}
	if _, err := Dedup(ctx, w, Options{Rules: "fuzzy", SetRules: true, Logger: quietLogger}); err == nil {
		t.Fatal("an unknown rule set: no error")
	}
}

// TestDedupDefaultRules: a new CRM whose first run names no rule set is
// deduplicated with DefaultRules, recorded as settings version 1; a CRM
// made with KORE's rules keeps them through runs that name none; a CRM
// whose runs recorded no rule set at all (made before the rule set was a
// setting) is KORE's.
func TestDedupDefaultRules(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, first string // the first run's --rules ("": none)
		want        string
	}{
		{"new CRM, no --rules", "", DefaultRules},
		{"new CRM, --rules kore", dedup.RulesKORE, dedup.RulesKORE},
		{"new CRM, --rules evidence", dedup.RulesEvidence, dedup.RulesEvidence},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := openWarehouse(t, t.TempDir())
			smallClone(t, w)
			opts := Options{CRMDir: writeCRM(t, smallCRM.contacts, smallCRM.accounts), Actor: "ops", Logger: quietLogger}
			opts.Rules, opts.SetRules = tc.first, tc.first != ""
			rep, err := Dedup(ctx, w, opts)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Rules != tc.want || rep.Settings != 1 {
				t.Fatalf("first run: rule set %q, settings version %d; want %q, 1", rep.Rules, rep.Settings, tc.want)
			}
			if got := query(t, w, "SELECT version, value FROM crm.dedup_settings WHERE setting = 'rules'"); !slices.Equal(got, []string{"1 " + tc.want}) {
				t.Fatalf("committed rule set %v, want version 1 %s", got, tc.want)
			}
			// A later run that names none keeps the committed one, also
			// when it changes the other setting.
			again, err := Dedup(ctx, w, Options{ExcludeAcctTypes: []string{"Broker"}, SetExclude: true, Logger: quietLogger})
			if err != nil {
				t.Fatal(err)
			}
			if again.Unchanged || again.Rules != tc.want || again.Settings != 2 {
				t.Fatalf("later run: unchanged %v, rule set %q, settings version %d; want a run with %q, version 2", again.Unchanged, again.Rules, again.Settings, tc.want)
			}
			if got := query(t, w, "SELECT version, value FROM crm.dedup_settings WHERE setting = 'rules' ORDER BY version"); !slices.Equal(got, []string{"1 " + tc.want, "2 " + tc.want}) {
				t.Fatalf("committed rule sets %v, want %s in versions 1 and 2", got, tc.want)
			}
		})
	}
	t.Run("runs that recorded no rule set", func(t *testing.T) {
		s, err := settingsFromCursors(map[string]string{settingsCursor: "2", settingsValueCursor: `["Broker"]`})
		if err != nil || s.Rules != dedup.RulesKORE || s.Version != 2 {
			t.Fatalf("settings %+v, err %v; want KORE's rules, version 2", s, err)
		}
	})
}

// TestDedupFirstRunNeedsCRM: without --crm the first run refuses, and
// commits nothing.
func TestDedupFirstRunNeedsCRM(t *testing.T) {
	w := openWarehouse(t, t.TempDir())
	smallClone(t, w)
	_, err := Dedup(context.Background(), w, Options{Logger: quietLogger})
	if err == nil || !strings.Contains(err.Error(), "--crm") {
		t.Fatalf("err %v, want one asking for --crm", err)
	}
	if head, _ := w.Stream(context.Background(), Stream); head.Seq != 0 {
		t.Fatal("a refused run committed")
	}
}

// TestReadCRMDirErrors: damaged CRM files end with an error naming the
// file, the line and, where one is at fault, the field; with
// --max-rejects the bad rows are kept and the rest loads.
func TestReadCRMDirErrors(t *testing.T) {
	good := smallCRM.contacts[0]
	for _, tc := range []struct {
		name     string
		contacts []string
		accounts []string
		want     string // in the error
	}{
		{"truncated line", []string{good, `C9,"Ann,Lee`}, smallCRM.accounts, "contacts.csv line 3: not CSV"},
		{"wrong column count", []string{good, "C9,Ann,Lee,ann@example.com"}, smallCRM.accounts, "contacts.csv line 3: has 4 fields, the header 12"},
		{"bad date", []string{good, "C9,Ann,Lee,,,,,,,,2020-13-45 10:00:00,"}, smallCRM.accounts, "contacts.csv line 3 field created_at: \"2020-13-45 10:00:00\" is not a time"},
		{"duplicate id", []string{good, good}, smallCRM.accounts, "contacts.csv line 3 field contact_id: \"C1\" appears twice"},
		{"bad account type", smallCRM.contacts, []string{"A1,X,Person,,,"}, "accounts.csv line 2 field type: \"Person\" is not Company or Household"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeCRM(t, tc.contacts, tc.accounts)
			_, err := readCRMDir(context.Background(), dir, time.UTC, 0)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v\nwant it to say %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), dir) {
				t.Fatalf("err %v does not name the file's folder %s", err, dir)
			}
		})
	}
	t.Run("bad header", func(t *testing.T) {
		dir := writeCRM(t, nil, nil)
		if err := os.WriteFile(filepath.Join(dir, ContactsFile), []byte("contact_id,first\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := readCRMDir(context.Background(), dir, time.UTC, 0)
		if err == nil || !strings.Contains(err.Error(), "contacts.csv line 1 field first_name: the header lacks column first_name") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("kept with max-rejects", func(t *testing.T) {
		w := openWarehouse(t, t.TempDir())
		smallClone(t, w)
		dir := writeCRM(t, append(slices.Clone(smallCRM.contacts), "C9,Ann,Lee,,,,,,,,yesterday,"), smallCRM.accounts)
		rep, err := Dedup(context.Background(), w, Options{CRMDir: dir, MaxRejects: 1, Logger: quietLogger})
		if err != nil {
			t.Fatal(err)
		}
		if rep.CRMRowsIn != rep.CRMContacts+rep.CRMAccounts+rep.Rejected || rep.Rejected != 1 {
			t.Fatalf("rows in %d, loaded %d + %d, rejected %d", rep.CRMRowsIn, rep.CRMContacts, rep.CRMAccounts, rep.Rejected)
		}
		got := query(t, w, "SELECT line, field FROM crm.rejects")
		if !slices.Equal(got, []string{"4 created_at"}) {
			t.Fatalf("crm.rejects %v", got)
		}
	})
}

// TestSetPrimaryKeepsHistory: set-primary moves the primary in one
// commit, demotes the old one, and crm.mapping_history shows who, when,
// from and to; the clones are untouched; doing it again changes nothing;
// an account not mapped to the contact is refused.
func TestSetPrimaryKeepsHistory(t *testing.T) {
	ctx := context.Background()
	w := openWarehouse(t, t.TempDir())
	smallClone(t, w)
	if _, err := Dedup(ctx, w, Options{CRMDir: writeCRM(t, smallCRM.contacts, smallCRM.accounts), Logger: quietLogger}); err != nil {
		t.Fatal(err)
	}
	clones := func() []int64 {
		var seqs []int64
		for _, team := range []string{"nhl", "arena"} {
			h, err := w.Stream(ctx, clone.CloneStream(team))
			if err != nil {
				t.Fatal(err)
			}
			seqs = append(seqs, h.Seq)
		}
		return seqs
	}
	before := clones()
	rep, err := SetPrimary(ctx, w, "C1", dedup.AccountRef{Team: "nhl", AcctID: 2}, SetPrimaryOptions{Actor: "ann", Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Unchanged || rep.Commit == nil || rep.From == nil || *rep.From != (dedup.AccountRef{Team: "arena", AcctID: 8}) {
		t.Fatalf("set-primary report %+v", rep)
	}
	seq := strconv.FormatInt(rep.Commit.Seq, 10)
	got := query(t, w, "SELECT team, acct_id, contact_from, contact_to, role_from, role_to, changed_by, reason FROM crm.mapping_history WHERE seq = "+seq+" ORDER BY team")
	want := []string{"arena 8 C1 C1 primary secondary ann demoted", "nhl 2 C1 C1 secondary primary ann set-primary"}
	if !slices.Equal(got, want) {
		t.Fatalf("history of the set-primary:\n%v\nwant\n%v", got, want)
	}
	if got := query(t, w, "SELECT primary_team, primary_acct_id FROM crm.contact WHERE contact_id = 'C1'"); !slices.Equal(got, []string{"nhl 2"}) {
		t.Fatalf("C1's primary %v, want nhl 2", got)
	}
	if after := clones(); !slices.Equal(before, after) {
		t.Fatalf("set-primary committed to a clone: heads %v, then %v", before, after)
	}
	again, err := SetPrimary(ctx, w, "C1", dedup.AccountRef{Team: "nhl", AcctID: 2}, SetPrimaryOptions{Logger: quietLogger})
	if err != nil || !again.Unchanged {
		t.Fatalf("set-primary again: %+v, %v; want unchanged", again, err)
	}
	if _, err := SetPrimary(ctx, w, "C1", dedup.AccountRef{Team: "nhl", AcctID: 1}, SetPrimaryOptions{Logger: quietLogger}); !errors.Is(err, ErrRefused) {
		t.Fatalf("set-primary of an account of another contact: %v, want ErrRefused", err)
	}
	// The next dedup over the same clones keeps the choice.
	if _, err := Dedup(ctx, w, Options{Logger: quietLogger}); err != nil {
		t.Fatal(err)
	}
	if got := query(t, w, "SELECT role FROM crm.archtics_mapping WHERE team = 'nhl' AND acct_id = 2"); !slices.Equal(got, []string{"primary"}) {
		t.Fatalf("after a dedup, nhl:2 is %v", got)
	}
}

// TestExportShape: the export has the import file's columns, one row per
// contact changed since the commit with its latest state, Insert for a
// contact created since, Update otherwise, and only changes after --since.
func TestExportShape(t *testing.T) {
	ctx := context.Background()
	w := openWarehouse(t, t.TempDir())
	smallClone(t, w)
	first, err := Dedup(ctx, w, Options{CRMDir: writeCRM(t, smallCRM.contacts, smallCRM.accounts), Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	changed := query(t, w, "SELECT DISTINCT contact_id FROM crm.contact_changes ORDER BY 1")
	var buf bytes.Buffer
	rep, err := Export(ctx, w, 0, "csv", &buf, "")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recs[0], ExportColumns) {
		t.Fatalf("header %v, want %v", recs[0], ExportColumns)
	}
	if int64(len(recs)-1) != rep.Rows || len(recs)-1 != len(changed) {
		t.Fatalf("%d rows (report %d), want one per changed contact (%d)", len(recs)-1, rep.Rows, len(changed))
	}
	col := func(name string) int { return slices.Index(ExportColumns, name) }
	for _, r := range recs[1:] {
		ext, op := r[col("External Id")], r[col("Operation")]
		switch {
		case op == "Insert" && (r[col("Id")] != "" || !strings.HasPrefix(ext, "A-")):
			t.Errorf("insert %v: want no Id and an External Id A-<team>-<acct>", r)
		case op == "Update" && r[col("Id")] != ext:
			t.Errorf("update %v: want the CRM's Id", r)
		case op != "Insert" && op != "Update":
			t.Errorf("operation %q", op)
		}
		if r[col("Last Changed Seq")] != strconv.FormatInt(first.Commit.Seq, 10) || r[col("Archtics Team")] == "" {
			t.Errorf("row %v: want last changed at %d and its primary account", r, first.Commit.Seq)
		}
	}

	// JSON Lines: the same rows, as objects with the same keys in order.
	buf.Reset()
	if _, err := Export(ctx, w, 0, "jsonl", &buf, ""); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != len(recs)-1 {
		t.Fatalf("%d jsonl lines, %d csv rows", len(lines), len(recs)-1)
	}
	for i, l := range lines {
		var obj map[string]string
		if err := json.Unmarshal([]byte(l), &obj); err != nil {
			t.Fatalf("line %d %q: %v", i+1, l, err)
		}
		for j, c := range ExportColumns {
			if obj[c] != recs[i+1][j] {
				t.Fatalf("line %d %s = %q, csv %q", i+1, c, obj[c], recs[i+1][j])
			}
		}
	}

	// Since the last commit: nothing.
	buf.Reset()
	rep, err = Export(ctx, w, first.Commit.Seq, "csv", &buf, "")
	if err != nil || rep.Rows != 0 {
		t.Fatalf("export since the head: %+v, %v", rep, err)
	}
	// A set-primary after it: one update, of C1.
	if _, err := SetPrimary(ctx, w, "C1", dedup.AccountRef{Team: "nhl", AcctID: 2}, SetPrimaryOptions{Logger: quietLogger}); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if rep, err = Export(ctx, w, first.Commit.Seq, "csv", &buf, ""); err != nil {
		t.Fatal(err)
	}
	recs, _ = csv.NewReader(&buf).ReadAll()
	if rep.Rows != 1 || rep.Updates != 1 || recs[1][col("External Id")] != "C1" || recs[1][col("Archtics Account Id")] != "2" {
		t.Fatalf("export after set-primary: %+v %v", rep, recs)
	}
}

// TestReportAddsUp: the report's categories add up to the accounts, per
// team and in all, and the plain-words answer says them.
func TestReportAddsUp(t *testing.T) {
	ctx := context.Background()
	w := openWarehouse(t, t.TempDir())
	smallClone(t, w)
	if _, err := Dedup(ctx, w, Options{CRMDir: writeCRM(t, smallCRM.contacts, smallCRM.accounts), ExcludeAcctTypes: []string{"broker"}, SetExclude: true, Logger: quietLogger}); err != nil {
		t.Fatal(err)
	}
	s, err := Report(ctx, w, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, ts := range append(slices.Clone(s.Teams), s.Total) {
		if ts.Accounts != ts.Excluded+ts.MergedAway+ts.Primary+ts.Secondary+ts.Pending {
			t.Errorf("%s: %+v does not add up", ts.Team, ts)
		}
		var rules int64
		for _, n := range ts.ByRule {
			rules += n
		}
		if rules != ts.Primary+ts.Secondary {
			t.Errorf("%s: rules %v add up to %d, mapped %d", ts.Team, ts.ByRule, rules, ts.Primary+ts.Secondary)
		}
	}
	if s.Total.Accounts != 5 || s.Total.Excluded != 1 || s.Total.Pending != 0 || s.Contacts != s.PreExisting+s.Created {
		t.Fatalf("summary %+v", s)
	}
	if s.WithAccounts != s.Total.Primary {
		t.Fatalf("%d contacts with accounts, %d primary accounts: each contact has one primary", s.WithAccounts, s.Total.Primary)
	}
	for _, n := range []int64{s.Total.Accounts, s.Total.Excluded, s.Total.Secondary, s.WithAccounts} {
		if !strings.Contains(s.Why, strconv.FormatInt(n, 10)) {
			t.Fatalf("why %q does not give %d", s.Why, n)
		}
	}
}

// TestDedupSimulatedIncrementalEqualsFull: dedup after the simulator's
// dump, then after each of several incrementals (new accounts, changed
// names, merges), gives the same contact per account as one run over the
// end state in a fresh warehouse; every merged-away account follows its
// winner; accounts in = mapped + excluded + merged away unfollowed.
func TestDedupSimulatedIncrementalEqualsFull(t *testing.T) {
	if testing.Short() {
		t.Skip("simulated client with days of changes")
	}
	// Every rule set: under the evidence rules and the probabilistic one
	// an incremental run knows the unchanged accounts' details only
	// through Engine.Know. The probabilistic full run matches with the
	// model the incremental warehouse committed (Options.Model): a model
	// fitted on the end state would weigh otherwise.
	for _, rules := range []string{dedup.RulesKORE, dedup.RulesEvidence, dedup.RulesProbabilistic} {
		t.Run(rules, func(t *testing.T) { testIncrementalEqualsFull(t, rules) })
	}
}

func testIncrementalEqualsFull(t *testing.T, rules string) {
	ctx := context.Background()
	cfg := simulator.SmallConfig()
	cfg.Accounts = 400
	cfg.EventsPerSeason = 3
	cfg.TicketsPerEvent = 30
	cfg.MergeRate = 0.6
	cfg.DuplicateRate = 0.2
	cfg.DaysAfterCutoff = 4
	exclude := Options{ExcludeAcctTypes: simulator.CRMExcludedAcctTypes, SetExclude: true, Rules: rules, SetRules: true, Logger: quietLogger}

	inc := newSimClient(t, cfg)
	w := openWarehouse(t, t.TempDir())
	inc.load(t, w)
	opts := exclude
	opts.CRMDir = inc.crm
	opts.CRMLocation = inc.world.Location()
	first, err := Dedup(ctx, w, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range first.Teams {
		if tc.Accounts != tc.Excluded+tc.Fed || tc.Fed == 0 || tc.Excluded == 0 {
			t.Fatalf("first run, team %s: %+v; want every account excluded or fed", tc.Team, tc)
		}
	}
	var fedLater int64
	for _, step := range []time.Duration{26 * time.Hour, 30 * time.Hour, 40 * time.Hour} {
		inc.clock.Set(inc.clock.Now().Add(step))
		inc.incremental(t, w)
		rep, err := Dedup(ctx, w, Options{Logger: quietLogger})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range rep.Teams {
			fedLater += tc.Fed
		}
	}
	if fedLater == 0 {
		t.Fatal("the incrementals brought no new or changed account: the incremental dedup went untested")
	}

	full := newSimClient(t, cfg)
	fw := openWarehouse(t, t.TempDir())
	full.load(t, fw)
	full.clock.Set(inc.clock.Now())
	full.incremental(t, fw)
	opts.CRMDir = full.crm
	if rules == dedup.RulesProbabilistic {
		var m dedup.Model
		text := query(t, w, "SELECT model FROM crm.match_model WHERE version = 1")
		if len(text) != 1 || json.Unmarshal([]byte(text[0]), &m) != nil {
			t.Fatalf("the incremental warehouse's model: %d rows", len(text))
		}
		opts.Model = &m
	}
	if _, err := Dedup(ctx, fw, opts); err != nil {
		t.Fatal(err)
	}
	got, want := mappingPartition(t, w), mappingPartition(t, fw)
	if !slices.Equal(got, want) {
		t.Fatalf("incremental mapping differs from the full run's:\n%s", diffLines(got, want))
	}
	// Roles differ only where order decides: each contact has at most one
	// primary, and exactly one unless a merge moved its primary account
	// (which primary then is the engine's decision).
	for _, wh := range []*pipeline.Warehouse{w, fw} {
		if bad := query(t, wh, `SELECT contact_id FROM crm.archtics_mapping GROUP BY contact_id
HAVING count(*) FILTER (WHERE role = 'primary') > 1
    OR count(*) FILTER (WHERE role = 'primary') = 0 AND count(*) FILTER (WHERE rule = 'merged') = 0`); len(bad) > 0 {
			t.Fatalf("contacts without exactly one primary: %v\n%v", bad, query(t, wh, "SELECT m.*, c.primary_team, c.primary_acct_id FROM crm.archtics_mapping m JOIN crm.contact c USING (contact_id) WHERE contact_id = '"+strings.Fields(bad[0])[0]+"'"))
		}
	}
	// Merged-away accounts follow their winner.
	if bad := query(t, w, `SELECT l.team, l.loser_acct_id FROM archtics.acct_merge l
JOIN crm.archtics_mapping win ON win.team = l.team AND win.acct_id = l.winner_acct_id
LEFT JOIN crm.archtics_mapping lose ON lose.team = l.team AND lose.acct_id = l.loser_acct_id
WHERE NOT EXISTS (SELECT 1 FROM archtics.acct_merge x WHERE x.team = l.team AND x.loser_acct_id = l.winner_acct_id)
  AND (lose.contact_id IS DISTINCT FROM win.contact_id OR lose.rule <> 'merged')`); len(bad) > 0 {
		t.Fatalf("merged-away accounts not following their winner: %v", bad)
	}
	if n := query(t, w, "SELECT count(*) FROM crm.archtics_mapping WHERE rule = 'merged'"); n[0] == "0" {
		t.Fatal("no merge was followed: the world must merge accounts")
	}
	// Accounts Archtics deleted left the mapping: none is mapped that is
	// not in its clone (or merged away), the history says when, and no
	// contact keeps a deleted account as its primary.
	if bad := query(t, w, `SELECT m.team, m.acct_id FROM crm.archtics_mapping m
WHERE NOT EXISTS (SELECT 1 FROM archtics.cust a WHERE a.team = m.team AND a.acct_id = m.acct_id AND a.primary_code = 'Primary')
  AND NOT EXISTS (SELECT 1 FROM archtics.acct_merge a WHERE a.team = m.team AND a.loser_acct_id = m.acct_id)`); len(bad) > 0 {
		t.Fatalf("mapped accounts that are in no clone: %v", bad)
	}
	if n := query(t, w, "SELECT count(*) FROM crm.mapping_history WHERE role_to = 'deleted' AND reason = 'deleted' AND role_from IN ('primary', 'secondary')"); n[0] == "0" {
		t.Fatal("no mapped account was deleted: the world's incrementals must delete accounts")
	}
	if bad := query(t, w, `SELECT c.contact_id FROM crm.contact c JOIN crm.mapping_version v
  ON v.team = c.primary_team AND v.acct_id = c.primary_acct_id AND v.role = 'deleted'`); len(bad) > 0 {
		t.Fatalf("contacts whose primary account was deleted: %v", bad)
	}
	if got := query(t, w, "SELECT value FROM crm.dedup_settings WHERE setting = 'rules' ORDER BY version DESC LIMIT 1"); len(got) != 1 || got[0] != rules {
		t.Fatalf("the committed rule set is %v, want %s", got, rules)
	}
	if rules == dedup.RulesEvidence {
		if n := query(t, w, "SELECT count(*) FROM crm.archtics_mapping WHERE rule LIKE 'evidence_%'"); n[0] == "0" {
			t.Fatal("no account was mapped by the evidence rule: the world's duplicates should need it")
		}
	}
	if rules == dedup.RulesProbabilistic {
		if n := query(t, w, "SELECT count(*) FROM crm.archtics_mapping WHERE rule = 'probabilistic' AND match_weight IS NOT NULL"); n[0] == "0" {
			t.Fatal("no account was mapped by the model, with its weight: the world's duplicates should need it")
		}
	}
	// Nothing is left stale: a run that reads every account again (forced
	// by a settings change, the other rule set) finds none changed since
	// the last run.
	other := dedup.RulesEvidence
	if rules == other {
		other = dedup.RulesKORE
	}
	again, err := Dedup(ctx, w, Options{Rules: other, SetRules: true, Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range again.Teams {
		if tc.Fed != 0 {
			t.Errorf("team %s: %d accounts fed again with no clone commit since the last run: their mapping rows kept an old source_md5", tc.Team, tc.Fed)
		}
	}
	if again.MappingRows != 0 {
		t.Errorf("%d mapping rows written by a run with nothing new", again.MappingRows)
	}
}

func diffLines(got, want []string) string {
	g, wt := map[string]bool{}, map[string]bool{}
	for _, s := range got {
		g[s] = true
	}
	for _, s := range want {
		wt[s] = true
	}
	var b strings.Builder
	n := 0
	for _, s := range got {
		if !wt[s] && n < 20 {
			b.WriteString("  incremental only: " + s + "\n")
			n++
		}
	}
	for _, s := range want {
		if !g[s] && n < 40 {
			b.WriteString("  full only:        " + s + "\n")
			n++
		}
	}
	return b.String()
}
