package main

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"archtics/internal/rowbuild"
	"archtics/pipeline"
	"archtics/pipeline/txlog"
	"archtics/schemas"
	"archtics/stages/clone"
	"archtics/stages/crm"
)

// tremblayAccount is one of Gabriel Tremblay's Archtics accounts (the
// seed's story): at his current employer, or the outdated one from when
// he worked at TryNowDo Ltd. Both carry his personal email; the outdated
// one typed it in capitals, so which account overwrote the contact shows.
type tremblayAccount struct {
	acctID                            int32
	company, email, street, city, zip string
	phone                             string
}

var (
	tremblayCurrent  = tremblayAccount{501, "Sporting Service Solutions Inc", "gabriel.tremblay@example.com", "100 Harbor Way", "Boston", "02110", "617-555-0142"}
	tremblayOutdated = tremblayAccount{302, "TryNowDo Ltd", "Gabriel.Tremblay@Example.com", "9 Kendall Sq", "Cambridge", "02142", "617-555-0199"}
)

// tremblayCRM is the client's CRM before the load: Gabriel at Sporting
// Service Solutions Inc, with the details of his current account.
func tremblayCRM(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		crm.ContactsFile: "contact_id,first_name,last_name,email,phone,account_id,mailing_street,mailing_city,mailing_state,mailing_postal_code,created_at,updated_at\n" +
			"C100,Gabriel,Tremblay,gabriel.tremblay@example.com,617-555-0142,A1,100 Harbor Way,Boston,MA,02110,2019-03-01 09:00:00,2025-06-01 09:00:00\n" +
			"C101,Marie,Gagnon,marie.gagnon@example.com,,A1,100 Harbor Way,Boston,MA,02110,2019-03-01 09:00:00,2019-03-01 09:00:00\n",
		crm.AccountsFile: "account_id,name,type,billing_city,billing_state,created_at\n" +
			"A1,Sporting Service Solutions Inc,Company,Boston,MA,2019-03-01 09:00:00\n" +
			"A2,TryNowDo Ltd,Company,Cambridge,MA,2015-01-01 09:00:00\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// commitTremblay commits a as an account of team nhl's clone, added on
// addDay.
func commitTremblay(t *testing.T, w *pipeline.Warehouse, a tremblayAccount, addDay, watermark string) {
	t.Helper()
	row := make([]string, len(schemas.Cust.Columns))
	set := func(col, v string) { row[schemas.Cust.ColumnIndex(col)] = v }
	set("team", "nhl")
	set("acct_id", itoa(a.acctID))
	set("cust_name_id", itoa(a.acctID*10))
	set("primary_code", "Primary")
	set("acct_type_desc", "Individual")
	set("company_name", a.company)
	set("name_first", "Gabriel")
	set("name_last", "Tremblay")
	set("street_addr_1", a.street)
	set("city", a.city)
	set("state", "MA")
	set("zip", a.zip)
	set("phone_day", a.phone)
	set("email_addr", a.email)
	set("add_date", addDay+" 10:00:00")
	set("upd_date", addDay+" 10:00:00")
	_, err := w.WriteAndCommit(context.Background(), txlog.CommitRequest{
		Stream: clone.CloneStream("nhl"), Stage: "test", BatchID: "acct-" + itoa(a.acctID), Watermark: txlog.Watermark{To: watermark},
	}, func(add func(*schemas.Table) *pipeline.TableWriter) error {
		rb := rowbuild.New(memory.DefaultAllocator, schemas.Cust)
		defer rb.Release()
		if err := rb.Append(row); err != nil {
			return err
		}
		rec := rb.NewRecord()
		defer rec.Release()
		return add(schemas.Cust).Write(rec)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

// TestDedupTremblayBothOrders is the seed's story through the command
// line. Gabriel Tremblay's CRM contact (Sporting Service Solutions Inc)
// meets his two Archtics accounts, the same personal email on both, one
// dedup run per account as they are found:
//   - outdated first: the TryNowDo Ltd account becomes the contact's
//     primary and overwrites it (its email spelling, its phone, address and
//     the TryNowDo Ltd company); the current account, found later, is
//     secondary and changes nothing;
//   - current first: the current account is primary; the outdated one,
//     found later, is secondary and does not overwrite the contact.
func TestDedupTremblayBothOrders(t *testing.T) {
	// Both rule sets: the story is the same under the evidence rules (the
	// two accounts share the personal email and the first name).
	for _, rules := range []string{"kore", "evidence"} {
		for _, order := range []struct {
			name          string
			first, second tremblayAccount
		}{
			{"outdated first", tremblayOutdated, tremblayCurrent},
			{"current first", tremblayCurrent, tremblayOutdated},
		} {
			t.Run(rules+"/"+order.name, func(t *testing.T) {
				ctx := context.Background()
				dir := t.TempDir()
				wh, cache := filepath.Join(dir, "warehouse"), filepath.Join(dir, "cache")
				w, err := openWarehouseAt(ctx, wh, nil)
				if err != nil {
					t.Fatal(err)
				}
				runOK := runner(t, ctx, wh)
				contact := func() map[string]string {
					t.Helper()
					lines := queryCSV(t, w, cache, `SELECT c.email, c.phone, c.street, c.city, c.postal_code, a.name AS company,
  c.primary_team || ':' || c.primary_acct_id AS primary_account
FROM crm.contact c LEFT JOIN crm.account a ON a.account_id = c.account_id WHERE c.contact_id = 'C100'`)
					recs, err := csv.NewReader(strings.NewReader(strings.Join(lines, "\n"))).ReadAll()
					if err != nil || len(recs) != 2 {
						t.Fatalf("contact C100: %v %v", lines, err)
					}
					m := map[string]string{}
					for i, k := range recs[0] {
						m[k] = recs[1][i]
					}
					return m
				}
				check := func(when string, got map[string]string, primary, details tremblayAccount) {
					t.Helper()
					if got["primary_account"] != "nhl:"+itoa(primary.acctID) || got["email"] != details.email {
						t.Errorf("%s: contact %v; want primary nhl:%d and the email %s", when, got, primary.acctID, details.email)
					}
					if got["phone"] != details.phone || got["street"] != details.street || got["city"] != details.city ||
						got["postal_code"] != details.zip || got["company"] != details.company {
						t.Errorf("%s: contact %v; want the details of account %d (%s, %s, %s)", when, got, details.acctID, details.phone, details.street, details.company)
					}
				}

				commitTremblay(t, w, order.first, "2016-04-02", "2026-11-20T17:00:01Z")
				runOK("dedup", "--crm", tremblayCRM(t), "--crm-timezone", "America/New_York", "--cache", cache, "--rules", rules)
				afterFirst := contact()
				check("after the first account", afterFirst, order.first, order.first)

				commitTremblay(t, w, order.second, "2021-09-14", "2026-11-21T17:00:01Z")
				runOK("dedup", "--cache", cache)
				afterSecond := contact()
				check("after the second account", afterSecond, order.first, order.first)
				if !mapsEqual(afterFirst, afterSecond) {
					t.Errorf("the secondary account changed the contact:\nbefore %v\nafter  %v", afterFirst, afterSecond)
				}
				roles := queryCSV(t, w, cache, "SELECT acct_id, contact_id, role, rule FROM crm.archtics_mapping ORDER BY acct_id")
				want := []string{"acct_id,contact_id,role,rule"}
				for _, a := range []tremblayAccount{tremblayOutdated, tremblayCurrent} {
					if a.acctID == order.first.acctID {
						want = append(want, itoa(a.acctID)+",C100,primary,email")
					} else {
						want = append(want, itoa(a.acctID)+",C100,secondary,email")
					}
				}
				slices.Sort(want[1:])
				if !slices.Equal(roles, want) {
					t.Errorf("mapping %v, want %v", roles, want)
				}
				// Marie, whom no account matches, is never pushed.
				if got := queryCSV(t, w, cache, "SELECT count(*) FROM crm.contact_changes WHERE contact_id = 'C101'"); got[1] != "0" {
					t.Errorf("C101 pushed: %v", got)
				}
			})
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestDedupCommands runs the commands as a user does: a first run, its
// report, set-primary with its history through query, an export to a
// file; and the usage errors (exit 2) and failures (exit 4).
func TestDedupCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	wh, cache := filepath.Join(dir, "warehouse"), filepath.Join(dir, "cache")
	w, err := openWarehouseAt(ctx, wh, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := []string{"archtics", "--log-level", "error", "--warehouse", wh}
	runCode := func(args ...string) (int, string) {
		var code int
		out := captureStdout(t, func() { code = run(ctx, append(append([]string(nil), base...), args...)) })
		return code, out
	}
	commitTremblay(t, w, tremblayOutdated, "2016-04-02", "2026-11-20T17:00:01Z")
	commitTremblay(t, w, tremblayCurrent, "2021-09-14", "2026-11-21T17:00:01Z")

	// Who is who: Gabriel Tremblay's two accounts are one person.
	truth, badTruth := filepath.Join(dir, "truth.csv"), filepath.Join(dir, "bad-truth.csv")
	if err := os.WriteFile(truth, []byte("person_id,team,acct_id,variant\ngabriel,nhl,302,original\ngabriel,nhl,501,employer_change\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(badTruth, []byte("person_id,team,acct_id\ngabriel,nhl,three hundred two\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badCRM := tremblayCRM(t)
	if err := os.WriteFile(filepath.Join(badCRM, crm.ContactsFile), []byte("contact_id,first_name,last_name,email,phone,account_id,mailing_street,mailing_city,mailing_state,mailing_postal_code,created_at,updated_at\nC1,A,B,,,,,,,,not a date,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"report before any dedup", []string{"dedup", "report"}, exitFailure},
		{"evaluate before any dedup", []string{"dedup", "evaluate", "--truth", truth}, exitFailure},
		{"evaluate without --truth", []string{"dedup", "evaluate"}, exitUsage},
		{"first run without --crm", []string{"dedup"}, exitFailure},
		{"a --crm folder that does not exist", []string{"dedup", "--crm", filepath.Join(dir, "nope")}, exitUsage},
		{"a bad date in the CRM", []string{"dedup", "--crm", badCRM}, exitFailure},
		{"a threshold over 1", []string{"dedup", "--threshold", "1.5"}, exitUsage},
		{"exclude and exclude-none", []string{"dedup", "--exclude-none", "--exclude-acct-type", "Test"}, exitUsage},
		{"a stray argument", []string{"dedup", "now"}, exitUsage},
		{"export format xml", []string{"crm", "export", "--since", "0", "--format", "xml"}, exitUsage},
		{"an unknown rule set", []string{"dedup", "--rules", "fuzzy"}, exitUsage},
		{"a refit without a dedup", []string{"dedup", "--refit-model"}, exitFailure},
		{"min-weight without crm-duplicates", []string{"dedup", "report", "--min-weight", "3"}, exitUsage},
		{"a min-weight out of range", []string{"dedup", "report", "--crm-duplicates", "--min-weight", "1e9"}, exitUsage},
		{"export without --since", []string{"crm", "export"}, exitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, out := runCode(tc.args...); code != tc.want {
				t.Errorf("%s: exit %d, want %d\n%s", tc.name, code, tc.want, out)
			}
		})
	}
	if head, _ := w.Stream(ctx, crm.Stream); head.Seq != 0 {
		t.Fatalf("failed runs committed (crm at %d)", head.Seq)
	}

	// The client's CRM holds Gabriel twice: C102 is him too.
	twice := tremblayCRM(t)
	cf, err := os.OpenFile(filepath.Join(twice, crm.ContactsFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cf.WriteString("C102,Gabe,Tremblay,gabriel.tremblay@example.com,(617) 555-0142,A2,12 Elm St,Cambridge,MA,02139,2021-03-01 09:00:00,2021-03-01 09:00:00\n"); err != nil {
		t.Fatal(err)
	}
	cf.Close()
	if code, out := runCode("dedup", "--crm", twice, "--exclude-acct-type", "Broker", "--actor", "ops", "--cache", cache); code != exitOK || !strings.Contains(out, "dedup: commit 1 of crm") {
		t.Fatalf("dedup: exit %d\n%s", code, out)
	}
	if code, out := runCode("dedup", "--cache", cache); code != exitOK || !strings.Contains(out, "nothing to do") {
		t.Fatalf("rerun: exit %d\n%s", code, out)
	}
	code, out := runCode("dedup", "report", "--cache", cache)
	if code != exitOK || !strings.Contains(out, "Archtics has 2 accounts") || !strings.Contains(out, "1 accounts are the same person as another account") {
		t.Fatalf("report: exit %d\n%s", code, out)
	}
	if code, out := runCode("dedup", "report", "--format", "json", "--cache", cache); code != exitOK || !strings.Contains(out, `"secondary": 1`) {
		t.Fatalf("report json: exit %d\n%s", code, out)
	}
	// The pairs of contacts: C100 and C102 share an email, with the
	// weights (two accounts fit no model worth its threshold, so the bar
	// is lowered); a bar above any weight lists none.
	if code, out := runCode("dedup", "report", "--crm-duplicates", "--min-weight", "-50", "--cache", cache); code != exitOK || !strings.Contains(out, "3 contacts compared") ||
		!strings.Contains(out, "C100") || !strings.Contains(out, "C102") || !strings.Contains(out, "first_name +") {
		t.Fatalf("report --crm-duplicates: exit %d\n%s", code, out)
	}
	if code, out := runCode("dedup", "report", "--crm-duplicates", "--min-weight", "100", "--format", "json", "--cache", cache); code != exitOK ||
		!strings.Contains(out, `"pairs": []`) {
		t.Fatalf("report --crm-duplicates --min-weight 100 --format json: exit %d\n%s", code, out)
	}
	if code, out := runCode("dedup", "--refit-model", "--cache", cache); code != exitUsage {
		t.Fatalf("refit under the evidence rules: exit %d, want %d\n%s", code, exitUsage, out)
	}
	// evaluate: the one true pair found, nothing false.
	if code, out := runCode("dedup", "evaluate", "--truth", truth, "--cache", cache); code != exitOK ||
		!strings.Contains(out, "pairs: true 1, predicted 1, true positives 1, false positives 0, false negatives 0") ||
		!strings.Contains(out, "precision 1.0000, recall 1.0000") {
		t.Fatalf("evaluate: exit %d\n%s", code, out)
	}
	if code, out := runCode("dedup", "evaluate", "--truth", truth, "--format", "json", "--cache", cache); code != exitOK || !strings.Contains(out, `"true_positives": 1`) {
		t.Fatalf("evaluate json: exit %d\n%s", code, out)
	}
	for _, bad := range []string{badTruth, filepath.Join(dir, "no-such-truth.csv")} {
		var code int
		msg := captureStderr(t, func() { code, _ = runCode("dedup", "evaluate", "--truth", bad, "--cache", cache) })
		if code != exitUsage || !strings.Contains(msg, bad) {
			t.Fatalf("evaluate --truth %s: exit %d, want %d and the file named\n%s", bad, code, exitUsage, msg)
		}
	}

	// set-primary: refused for an account of no contact (exit 2), done
	// for the secondary, and its history is queryable.
	if code, _ := runCode("dedup", "set-primary", "--contact", "C101", "--team", "nhl", "--acct", "501"); code != exitUsage {
		t.Fatalf("set-primary of an account of another contact: exit %d, want %d", code, exitUsage)
	}
	if code, out := runCode("dedup", "set-primary", "--contact", "C100", "--team", "nhl", "--acct", "501", "--actor", "ann", "--cache", cache); code != exitOK ||
		!strings.Contains(out, "primary account nhl:302 -> nhl:501") {
		t.Fatalf("set-primary: exit %d\n%s", code, out)
	}
	hist := queryCSV(t, w, cache, "SELECT seq, acct_id, role_from, role_to, changed_by, reason FROM crm.mapping_history WHERE changed_by = 'ann' ORDER BY acct_id")
	if want := []string{"seq,acct_id,role_from,role_to,changed_by,reason", "2,302,primary,secondary,ann,demoted", "2,501,secondary,primary,ann,set-primary"}; !slices.Equal(hist, want) {
		t.Fatalf("history %v, want %v", hist, want)
	}

	// Export since the first run: C100's new primary, to a file.
	outFile := filepath.Join(dir, "contacts.csv")
	if code, out := runCode("crm", "export", "--since", "1", "--format", "csv", "--out", outFile, "--cache", cache); code != exitOK {
		t.Fatalf("export: exit %d\n%s", code, out)
	}
	f, err := os.Open(outFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || !slices.Equal(recs[0], crm.ExportColumns) || recs[1][0] != "C100" || recs[1][12] != "501" || recs[1][13] != "Update" {
		t.Fatalf("export: %v", recs)
	}
	if code, out := runCode("crm", "export", "--since", "0", "--format", "jsonl", "--cache", cache); code != exitOK || !strings.HasPrefix(out, `{"Id":"C100","External Id":"C100"`) {
		t.Fatalf("export jsonl: exit %d\n%s", code, out)
	}
}
