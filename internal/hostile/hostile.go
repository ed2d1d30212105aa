// Package hostile builds the hostile-input corpus (testdata/hostile):
// damaged copies of the tiny golden dump's nhl team and of its CRM files,
// each with what the loader must make of it. The corpus is generated
// from testdata/dump-tiny, deterministically, so a reviewer reads the
// damage here and the tests check that the committed copy is this
// program's output (TestCorpusIsGenerated; `make testdata` writes it
// again, through internal/hostile/cmd/hostile).
package hostile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/klauspost/compress/gzip"
)

// Case is one damaged dump and what load-dump must do with it.
type Case struct {
	Name string
	What string // the damage, for the README
	// Fail, when set, is what load-dump's error must name (the file, the
	// path, the manifest's field); the load must commit nothing and leave
	// no warehouse folder. Empty: the load must succeed.
	Fail string
	// Rejected and Repaired are the rows rejected and fields repaired
	// beyond the base dump's own (BaseRejected), for a load that succeeds.
	Rejected, Repaired int64
	// Holds are texts the loaded tables must hold (in DuckDB's JSON of
	// their rows): what a repair or a declared encoding made of the bytes.
	Holds []string
	// AtTestTime cases are large: written by Write when a test runs, never
	// committed.
	AtTestTime bool
	damage     func(d *dump)
}

// Expect says what the loader must do, for the README.
func (c Case) Expect() string {
	if c.Fail != "" {
		return fmt.Sprintf("fails naming %s; nothing committed, no warehouse folder left", c.Fail)
	}
	return fmt.Sprintf("loads: %d more rows rejected, %d fields repaired; in = loaded + rejected, keys unique, all text UTF-8", c.Rejected, c.Repaired)
}

// BaseRejected are the rejects of the undamaged base: the golden dump's
// injected lines (cust and ticket lines 12, 13 and 14).
const BaseRejected = 6

// Team is the only team of the corpus's dumps.
const Team = "nhl"

// custRows is how many data rows of the golden cust part the base keeps.
const custRows = 30

type file struct {
	Team   string `json:"team"`
	Table  string `json:"table"`
	Path   string `json:"path"`
	Part   int    `json:"part"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

type manifest struct {
	Client   string `json:"client"`
	Cutoff   string `json:"cutoff,omitempty"`
	TimeZone string `json:"timezone"`
	Encoding string `json:"encoding,omitempty"`
	Files    []file `json:"files"`
}

// dump is a dump in memory: its manifest and each file's text lines
// (header first), gzipped when written. raw overrides a file's bytes,
// rawManifest the manifest's.
type dump struct {
	m           manifest
	lines       map[string][]string
	raw         map[string][]byte
	rawManifest []byte
}

// Cases are the dump cases, in README order.
var Cases = []Case{
	{Name: "truncated-part", What: "the cust part cut at half its bytes", Fail: "nhl/cust/cust_part-00000.txt.gz",
		damage: func(d *dump) {
			b := d.gz("nhl/cust/cust_part-00000.txt.gz")
			d.raw["nhl/cust/cust_part-00000.txt.gz"] = b[:len(b)/2]
		}},
	{Name: "bit-flipped-part", What: "one bit flipped in the middle of the ticket part's bytes", Fail: "nhl/ticket/ticket_part-00000.txt.gz",
		damage: func(d *dump) {
			b := append([]byte(nil), d.gz("nhl/ticket/ticket_part-00000.txt.gz")...)
			b[len(b)/2] ^= 0x10
			d.raw["nhl/ticket/ticket_part-00000.txt.gz"] = b
		}},
	{Name: "wrong-checksum", What: "the manifest gives the event part a SHA-256 that is not its own", Fail: "nhl/event/event_part-00000.txt.gz",
		damage: func(d *dump) {
			d.raw["nhl/event/event_part-00000.txt.gz"] = d.gz("nhl/event/event_part-00000.txt.gz")
			d.file("event").SHA256 = strings.Repeat("ab", 32)
		}},
	{Name: "path-listed-twice", What: "the manifest lists the cust part twice", Fail: "nhl/cust/cust_part-00000.txt.gz",
		damage: func(d *dump) { d.m.Files = append(d.m.Files, *d.file("cust")) }},
	{Name: "part-under-two-names", What: "the cust part copied under a second name, both listed: every key twice", Rejected: 2*(custRows-3) + 3,
		damage: func(d *dump) {
			f := *d.file("cust")
			f.Path, f.Part = "nhl/cust/cust_part-00001.txt.gz", 1
			d.lines[f.Path] = d.lines["nhl/cust/cust_part-00000.txt.gz"]
			d.m.Files = append(d.m.Files, f)
		}},
	{Name: "duplicated-lines", What: "a cust line and a ticket line each repeated (row counts adjusted)", Rejected: 4,
		damage: func(d *dump) {
			for _, p := range []string{"nhl/cust/cust_part-00000.txt.gz", "nhl/ticket/ticket_part-00000.txt.gz"} {
				l := d.lines[p]
				d.lines[p] = append(l[:5:5], append([]string{l[4]}, l[5:]...)...)
			}
		}},
	{Name: "latin1-every-table", What: "a Latin-1 byte in a text field of every table", Repaired: 4,
		Holds: []string{`"Café Night"`, `"Müller"`, `"Ä"`, `"Résale"`, `"M\\xFCller"`},
		damage: func(d *dump) {
			d.set("event", 2, "event_name_long", "Caf\xe9 Night")
			d.set("cust", 2, "name_last", "M\xfcller")
			d.set("ticket", 2, "row_name", "\xc4")
			d.set("tex", 2, "activity_name", "R\xe9sale")
		}},
	{Name: "invalid-utf8-every-table", What: "UTF-8 broken every way in every table: a lone continuation byte, a cut sequence, an encoded surrogate, 0xFF, an overlong slash", Repaired: 5,
		damage: func(d *dump) {
			d.set("event", 3, "event_name_long", "a\x80b")
			d.set("cust", 3, "name_first", "Jos\xc3")
			d.set("cust", 4, "city", "\xed\xa0\x80")
			d.set("ticket", 3, "row_name", "\xff")
			d.set("tex", 3, "activity_name", "\xc0\xaf")
		}},
	{Name: "declared-latin1", What: `the files written in Latin-1 and the manifest saying "encoding": "iso-8859-1"`,
		Holds: []string{`"Müller"`, `"Café Night"`},
		damage: func(d *dump) {
			d.m.Encoding = "iso-8859-1"
			d.set("cust", 2, "name_last", "M\xfcller")
			d.set("event", 2, "event_name_long", "Caf\xe9 Night")
		}},
	{Name: "nul-bytes", What: "NUL bytes inside a text field, and in place of a key", Rejected: 1,
		Holds: []string{`"Nul\u0000l"`},
		damage: func(d *dump) {
			d.set("cust", 2, "name_last", "Nul\x00l")
			d.set("cust", 3, "acct_id", "\x00")
		}},
	{Name: "huge-field", What: "a 1 MiB field in a varchar(250) column", Repaired: 1, AtTestTime: true,
		damage: func(d *dump) { d.set("cust", 2, "name_last", strings.Repeat("x", 1<<20)) }},
	{Name: "over-long-line", What: "a 65 MiB line", Fail: "nhl/cust/cust_part-00000.txt.gz", AtTestTime: true,
		damage: func(d *dump) { d.set("cust", 2, "name_last", strings.Repeat("y", 65<<20)) }},
	{Name: "extra-and-missing-fields", What: "a cust line with an extra field, a ticket line with one missing", Rejected: 2,
		damage: func(d *dump) {
			p := "nhl/cust/cust_part-00000.txt.gz"
			d.lines[p][2] += "|extra"
			p = "nhl/ticket/ticket_part-00000.txt.gz"
			d.lines[p][2] = d.lines[p][2][:strings.LastIndexByte(d.lines[p][2], '|')]
		}},
	{Name: "out-of-range-times", What: "impossible and far-out dates and times: optional ones (repaired NULL) and a required one (rejected)", Rejected: 1, Repaired: 3,
		damage: func(d *dump) {
			d.set("cust", 2, "birth_date", "1974-02-30")
			d.set("cust", 3, "add_date", "2026-13-01 25:61:00")
			d.set("cust", 4, "since_date", "99999-01-01")
			d.set("cust", 5, "upd_date", "10000-01-01 00:00:00")
			d.set("ticket", 2, "upd_datetime", "9999-12-31 23:59:59") // far, but a time: kept
		}},
	{Name: "bad-optional-fields", What: "letters in a numeric column, a bad amount: repaired NULL, the row kept", Repaired: 2,
		damage: func(d *dump) {
			d.set("cust", 2, "household_id", "5OO001")
			d.set("ticket", 2, "purchase_price", "12,50 USD")
		}},
	{Name: "unknown-escape", What: `a backslash before a letter the dump does not escape (\t)`, Rejected: 1,
		damage: func(d *dump) { d.set("cust", 2, "name_last", `Tab\tbed`) }},
	{Name: "path-traversal-path", What: "a manifest path leaving the dump folder", Fail: "../dump-tiny/nhl/cust/cust_part-00000.txt.gz",
		damage: func(d *dump) { d.file("cust").Path = "../dump-tiny/nhl/cust/cust_part-00000.txt.gz" }},
	{Name: "path-traversal-team", What: "a team named ../evil", Fail: "../evil",
		damage: func(d *dump) {
			for i := range d.m.Files {
				d.m.Files[i].Team = "../evil"
			}
		}},
	{Name: "team-with-slash", What: "a team named nhl/x (it would add a stream level)", Fail: "nhl/x",
		damage: func(d *dump) { d.file("tex").Team = "nhl/x" }},
	{Name: "empty-part", What: "a part that is a valid gzip of nothing (no header line)", Fail: "nhl/tex/tex_part-00000.txt.gz",
		damage: func(d *dump) { d.lines["nhl/tex/tex_part-00000.txt.gz"] = nil }},
	{Name: "zero-byte-part", What: "a part of zero bytes", Fail: "nhl/tex/tex_part-00000.txt.gz",
		damage: func(d *dump) { d.raw["nhl/tex/tex_part-00000.txt.gz"] = []byte{} }},
	{Name: "header-only-part", What: "a second cust part with its header and no rows",
		damage: func(d *dump) {
			f := *d.file("cust")
			f.Path, f.Part = "nhl/cust/cust_part-00001.txt.gz", 1
			d.lines[f.Path] = d.lines["nhl/cust/cust_part-00000.txt.gz"][:1]
			d.m.Files = append(d.m.Files, f)
		}},
	{Name: "manifest-not-json", What: "manifest.json is not JSON", Fail: "manifest.json",
		damage: func(d *dump) { d.rawManifest = []byte("client: nhl\ncutoff: yesterday\n") }},
	{Name: "manifest-no-cutoff", What: "the manifest has no cutoff", Fail: "no cutoff",
		damage: func(d *dump) { d.m.Cutoff = "" }},
	{Name: "manifest-future-cutoff", What: "the manifest's cutoff is decades ahead: a clone cut there would take no change pull", Fail: "in the future",
		damage: func(d *dump) { d.m.Cutoff = "2062-11-23T19:00:00Z" }},
	{Name: "manifest-unknown-table", What: "the manifest names a table Archtics does not have", Fail: `unknown table "seats"`,
		damage: func(d *dump) { d.file("tex").Table = "seats" }},
	{Name: "manifest-unknown-encoding", What: "the manifest declares an encoding the loader does not know", Fail: "windows-1252",
		damage: func(d *dump) { d.m.Encoding = "ebcdic" }},
	{Name: "manifest-no-files", What: "the manifest lists no files", Fail: "no files",
		damage: func(d *dump) { d.m.Files = nil }},
}

// file returns the manifest entry of the base's part of table.
func (d *dump) file(table string) *file {
	for i := range d.m.Files {
		if d.m.Files[i].Table == table {
			return &d.m.Files[i]
		}
	}
	panic("hostile: no file of table " + table)
}

// set puts value into column col of data line n (1 = the first after the
// header) of table's base part.
func (d *dump) set(table string, n int, col, value string) {
	p := d.file(table).Path
	lines := d.lines[p]
	header := strings.Split(lines[0], "|")
	i := indexOf(header, col)
	if i < 0 {
		panic("hostile: no column " + col + " in " + p)
	}
	fields := strings.Split(lines[n], "|")
	fields[i] = value
	lines[n] = strings.Join(fields, "|")
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// gz is the gzip of path's lines, as Write would write them.
func (d *dump) gz(p string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf) // no name, no time: the same bytes every run
	for _, l := range d.lines[p] {
		io.WriteString(zw, l+"\n")
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// base reads the nhl team of the golden dump at src, cust cut to its first
// custRows rows.
func base(src string) (*dump, error) {
	b, err := os.ReadFile(filepath.Join(src, "manifest.json"))
	if err != nil {
		return nil, err
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	d := &dump{m: manifest{Client: m.Client, Cutoff: m.Cutoff, TimeZone: m.TimeZone},
		lines: map[string][]string{}, raw: map[string][]byte{}}
	for _, f := range m.Files {
		if f.Team != Team || f.Part != 0 {
			continue
		}
		r, err := os.Open(filepath.Join(src, filepath.FromSlash(f.Path)))
		if err != nil {
			return nil, err
		}
		zr, err := gzip.NewReader(r)
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		text, err := io.ReadAll(zr)
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		lines := strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")
		if f.Table == "cust" && len(lines) > custRows+1 {
			lines = lines[:custRows+1]
		}
		d.lines[f.Path] = lines
		d.m.Files = append(d.m.Files, f)
	}
	return d, nil
}

// write writes the dump into dir: each file, then manifest.json with the
// files' rows, sizes and hashes (but for the damage a case made to them).
func (d *dump) write(dir string) error {
	hashed := map[string]bool{}
	for i := range d.m.Files {
		f := &d.m.Files[i]
		b, ok := d.raw[f.Path]
		if !ok {
			b = d.gz(f.Path)
		}
		if !strings.HasPrefix(f.Path, "../") && !hashed[f.Path] {
			if err := writeFile(filepath.Join(dir, filepath.FromSlash(f.Path)), b); err != nil {
				return err
			}
		}
		hashed[f.Path] = true
		if f.SHA256 == strings.Repeat("ab", 32) {
			continue // the case's wrong checksum
		}
		// The manifest describes the file as it was written: a case that
		// damaged the bytes after (raw) leaves the manifest's entry whole.
		desc := b
		if _, damaged := d.raw[f.Path]; damaged && d.lines[f.Path] != nil {
			desc = d.gz(f.Path)
		}
		sum := sha256.Sum256(desc)
		f.SHA256, f.Bytes = hex.EncodeToString(sum[:]), int64(len(desc))
		if lines, ok := d.lines[f.Path]; ok && len(lines) > 0 {
			f.Rows = int64(len(lines) - 1)
		}
	}
	mb := d.rawManifest
	if mb == nil {
		var err error
		if mb, err = json.MarshalIndent(d.m, "", "  "); err != nil {
			return err
		}
		mb = append(mb, '\n')
	}
	return writeFile(filepath.Join(dir, "manifest.json"), mb)
}

func writeFile(p string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, b, 0o644)
}

// Write writes case c, built from the golden dump at src, into dir.
func Write(c Case, src, dir string) error {
	d, err := base(src)
	if err != nil {
		return err
	}
	if c.damage != nil {
		c.damage(d)
	}
	return d.write(dir)
}

// Generate writes the committed corpus into out: every case not made at
// test time, the CRM cases under crm/, and the README.
func Generate(src, out string) error {
	var readme strings.Builder
	readme.WriteString(readmeHead)
	for _, c := range Cases {
		where := "`" + c.Name + "/`"
		if c.AtTestTime {
			where = "`" + c.Name + "` (made by the test, too big to commit)"
		} else if err := Write(c, src, filepath.Join(out, c.Name)); err != nil {
			return fmt.Errorf("case %s: %w", c.Name, err)
		}
		fmt.Fprintf(&readme, "| %s | %s | %s |\n", where, escapeCell(c.What), c.Expect())
	}
	readme.WriteString(crmHead)
	for _, c := range CRMCases {
		for name, text := range map[string]string{"contacts.csv": c.Contacts, "accounts.csv": c.Accounts} {
			if err := writeFile(filepath.Join(out, "crm", c.Name, name), []byte(text)); err != nil {
				return err
			}
		}
		fmt.Fprintf(&readme, "| `crm/%s/` | %s | %s |\n", c.Name, escapeCell(c.What), c.Expect())
	}
	return writeFile(filepath.Join(out, "README.md"), []byte(readme.String()))
}

func escapeCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

const readmeHead = `# Hostile inputs

Damaged copies of the nhl team of ` + "`../dump-tiny`" + ` (its cust part cut to 30 rows) and
small damaged CRM files, each with what the product must do with it. Generated by
` + "`internal/hostile`" + ` (do not edit; ` + "`make testdata`" + ` writes them again).
` + "`cmd/archtics.TestHostileDumps`" + ` loads every dump case into a fresh warehouse and
` + "`stages/crm.TestHostileCRM`" + ` reads every CRM case. The undamaged base loads with 6
rejects (the golden dump's injected lines).

| case | damage | the loader must |
|---|---|---|
`

const crmHead = `
| CRM case | damage | the CRM reader must |
|---|---|---|
`

// Paths lists the files of dir, relative and sorted, for comparisons.
func Paths(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		out = append(out, path.Clean(filepath.ToSlash(rel)))
		return err
	})
	sort.Strings(out)
	return out, err
}
