package crm

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"archtics/ats"
	"archtics/internal/rowbuild"
	"archtics/pipeline"
	"archtics/pipeline/pipelinetest"
	"archtics/pipeline/txlog"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/simulator"
	"archtics/simulator/simtest"
	"archtics/stages/changes"
	"archtics/stages/clone"
	"archtics/storage/file"
	"archtics/storage/storagetest"
)

type testLocation struct{ name, url string }

// testLocations is a fresh local folder, and a fresh S3 prefix when an
// endpoint is configured (make test always configures one).
func testLocations(t *testing.T) []testLocation {
	locs := []testLocation{{"file", t.TempDir()}}
	if !storagetest.HaveS3() {
		t.Log("S3 case skipped: " + storagetest.S3Skip)
		return locs
	}
	return append(locs, testLocation{"s3", storagetest.S3Location(t, "crm")})
}

var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// custAccount is an account's primary name, for a hand-made clone.
type custAccount struct {
	Team                                       string
	AcctID                                     int32
	Type, Company, First, Last, Email          string
	Street, City, State, Zip, PhoneDay, AddDay string
}

// custRow is a's archtics.cust row, in the table's column order.
func custRow(a custAccount) []string {
	r := make([]string, len(schemas.Cust.Columns))
	set := func(col, v string) { r[schemas.Cust.ColumnIndex(col)] = v }
	set("team", a.Team)
	set("acct_id", strconv.Itoa(int(a.AcctID)))
	set("cust_name_id", strconv.Itoa(int(a.AcctID)*10))
	set("primary_code", "Primary")
	set("rec_status", "A")
	set("acct_type_desc", a.Type)
	set("company_name", a.Company)
	set("name_first", a.First)
	set("name_last", a.Last)
	set("street_addr_1", a.Street)
	set("city", a.City)
	set("state", a.State)
	set("zip", a.Zip)
	set("phone_day", a.PhoneDay)
	set("email_addr", a.Email)
	set("add_date", a.AddDay+" 10:00:00")
	set("upd_date", a.AddDay+" 10:00:00")
	return r
}

// commitClone commits accounts as team's clone (a dump commit on
// <team>/clone), with watermark to.
func commitClone(t *testing.T, w *pipeline.Warehouse, team, batch, to string, accts []custAccount) {
	t.Helper()
	_, err := w.WriteAndCommit(context.Background(), txlog.CommitRequest{
		Stream: clone.CloneStream(team), Stage: "test", BatchID: batch, Watermark: txlog.Watermark{To: to},
	}, func(add func(*schemas.Table) *pipeline.TableWriter) error {
		rb := rowbuild.New(memory.DefaultAllocator, schemas.Cust)
		defer rb.Release()
		for _, a := range accts {
			if err := rb.Append(custRow(a)); err != nil {
				return err
			}
		}
		rec := rb.NewRecord()
		defer rec.Release()
		return add(schemas.Cust).Write(rec)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// writeCRM writes contacts.csv and accounts.csv (their lines after the
// header) to a new folder.
func writeCRM(t *testing.T, contacts, accounts []string) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, header []string, lines []string) {
		text := strings.Join(header, ",") + "\n"
		for _, l := range lines {
			text += l + "\n"
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(ContactsFile, contactColumns, contacts)
	write(AccountsFile, accountColumns, accounts)
	return dir
}

func openWarehouse(t *testing.T, dir string) *pipeline.Warehouse {
	t.Helper()
	w, err := pipelinetest.Open(context.Background(), dir, quietLogger)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// query returns the rows of q over the warehouse's views, each row's
// columns joined by " ".
func query(t *testing.T, w *pipeline.Warehouse, q string) []string {
	t.Helper()
	var out []string
	_, err := views.Query(context.Background(), w.Log, t.TempDir(), q, func(rows *sql.Rows) error {
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			parts := make([]string, len(vals))
			for i, v := range vals {
				if v == nil {
					parts[i] = "NULL"
				} else {
					parts[i] = fmt.Sprint(v)
				}
			}
			out = append(out, strings.Join(parts, " "))
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

// simClient is a simulated client: its dump loaded into a warehouse, and
// its change API on a clock the test drives.
type simClient struct {
	world *simulator.World
	clock *simulator.SimClock
	cli   *ats.Client
	opts  clone.IncrementalOptions
	dump  clone.Dump
	crm   string // the dump's crm/ folder
	truth string // the dump's groundtruth/duplicate_clusters.csv
}

func newSimClient(t *testing.T, cfg simulator.Config) *simClient {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := simulator.WriteDump(ctx, cfg, simulator.DirDest(dir), nil); err != nil {
		t.Fatal(err)
	}
	src, err := file.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	dump, err := clone.OpenDump(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	s := simtest.Serve(t, cfg)
	return &simClient{world: s.World, clock: s.Clock, cli: s.Client, dump: dump, crm: filepath.Join(dir, "crm"),
		truth: filepath.Join(dir, "groundtruth", "duplicate_clusters.csv"),
		opts:  clone.IncrementalOptions{Pull: changes.Options{Location: s.World.Location(), PageSize: 97}, Logger: quietLogger}}
}

// load loads every team's dump into w.
func (s *simClient) load(t *testing.T, w *pipeline.Warehouse) {
	t.Helper()
	for _, team := range s.dump.Teams() {
		if _, err := clone.LoadDump(context.Background(), w, s.dump, team, nil); err != nil {
			t.Fatalf("load %s: %v", team, err)
		}
	}
}

// incremental runs an incremental of every team of w up to the clock.
func (s *simClient) incremental(t *testing.T, w *pipeline.Warehouse) {
	t.Helper()
	for _, team := range s.world.Teams() {
		if _, err := clone.Incremental(context.Background(), w, s.cli, team, s.opts); err != nil {
			t.Fatalf("incremental %s: %v", team, err)
		}
	}
}

// mappingPartition renders the mapping as the groups of accounts sharing
// a contact: a pre-existing contact by its id, a contact dedup created by
// the smallest account it holds (the ids of created contacts depend on
// which account came first, the grouping does not), one line per
// account: "team:acct -> contact". Only the accounts of the clone's
// current state (and the merged-away ones) count: an account Archtics
// deleted keeps its mapping (the CRM keeps its contact), but a run over
// the end state never sees it.
func mappingPartition(t *testing.T, w *pipeline.Warehouse) []string {
	t.Helper()
	rows := query(t, w, `SELECT m.team, m.acct_id, m.contact_id, c.source FROM crm.archtics_mapping m JOIN crm.contact c USING (contact_id)
WHERE EXISTS (SELECT 1 FROM archtics.cust a WHERE a.team = m.team AND a.acct_id = m.acct_id AND a.primary_code = 'Primary')
   OR EXISTS (SELECT 1 FROM archtics.acct_merge a WHERE a.team = m.team AND a.loser_acct_id = m.acct_id)`)
	label := map[string]string{}
	type acct struct{ ref, contact, source string }
	var accts []acct
	for _, r := range rows {
		f := strings.Fields(r)
		a := acct{ref: fmt.Sprintf("%s:%08s", f[0], f[1]), contact: f[2], source: f[3]}
		accts = append(accts, a)
		if a.source != SourceCRM {
			if l, ok := label[a.contact]; !ok || a.ref < l {
				label[a.contact] = a.ref
			}
		}
	}
	var out []string
	for _, a := range accts {
		c := a.contact
		if a.source != SourceCRM {
			c = "new(" + label[a.contact] + ")"
		}
		out = append(out, a.ref+" -> "+c)
	}
	sort.Strings(out)
	return out
}
