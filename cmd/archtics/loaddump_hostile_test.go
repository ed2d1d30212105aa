package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"archtics/internal/hostile"
	"archtics/pipeline/views"
	"archtics/schemas"
)

// TestHostileDumps loads every case of testdata/hostile (README there)
// into a fresh warehouse through the command line and checks what the
// case says the loader must do: fail naming the culprit with nothing
// committed and no warehouse folder left, or load with rows in = loaded
// + rejected, the documented rejects and repairs, no key twice and every
// text column of every table readable by DuckDB.
func TestHostileDumps(t *testing.T) {
	golden := filepath.Join("..", "..", "testdata", "dump-tiny")
	for _, c := range hostile.Cases {
		t.Run(c.Name, func(t *testing.T) {
			dump := filepath.Join("..", "..", "testdata", "hostile", c.Name)
			if c.AtTestTime {
				dump = filepath.Join(t.TempDir(), c.Name)
				if err := hostile.Write(c, golden, dump); err != nil {
					t.Fatal(err)
				}
			}
			wh := filepath.Join(t.TempDir(), "warehouse")
			var code int
			var stdout string
			stderr := captureStderr(t, func() {
				stdout = captureStdout(t, func() {
					code = run(context.Background(), []string{"archtics", "--log-level", "error", "--warehouse", wh, "load-dump", "--dump", dump})
				})
			})
			if c.Fail != "" {
				if code == exitOK || !strings.Contains(stderr, c.Fail) {
					t.Fatalf("exit %d, stderr %q: want a failure naming %q", code, stderr, c.Fail)
				}
				if _, err := os.Stat(wh); !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("a refused load left the warehouse folder %s (%v)", wh, err)
				}
				return
			}
			if code != exitOK {
				t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
			}
			checkHostileLoad(t, c, wh, stdout)
			var vcode int
			vout := captureStdout(t, func() {
				vcode = run(context.Background(), []string{"archtics", "--log-level", "error", "--warehouse", wh, "verify"})
			})
			if vcode != exitOK {
				t.Fatalf("verify exit %d:\n%s", vcode, vout)
			}
		})
	}
}

func checkHostileLoad(t *testing.T, c hostile.Case, wh, stdout string) {
	t.Helper()
	var in, loaded, rejected, repaired int64
	if _, err := fmt.Sscanf(stdout, hostile.Team+": %d rows in, %d loaded, %d rejected, %d fields repaired", &in, &loaded, &rejected, &repaired); err != nil {
		t.Fatalf("load-dump printed %q: %v", stdout, err)
	}
	if in != loaded+rejected || rejected != hostile.BaseRejected+c.Rejected || repaired != c.Repaired {
		t.Fatalf("in %d, loaded %d, rejected %d, repaired %d: want in = loaded + rejected, %d rejected, %d repaired",
			in, loaded, rejected, repaired, hostile.BaseRejected+c.Rejected, c.Repaired)
	}
	ctx := context.Background()
	w, err := openWarehouseAt(ctx, wh, nil)
	if err != nil {
		t.Fatal(err)
	}
	tables := append(append([]*schemas.Table{}, schemas.SourceTables...), schemas.Rejects, schemas.Repairs)
	db, err := views.OpenDuckDB(ctx, "", w.Log, t.TempDir(), tables...)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(q string) int64 {
		t.Helper()
		var n int64
		if err := db.QueryRow(q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	var rows int64
	for _, tbl := range schemas.SourceTables {
		rows += count("SELECT count(*) FROM " + tbl.SQLName())
		key := strings.Join(tbl.Key, ", ")
		if n := count(fmt.Sprintf("SELECT count(*) FROM (SELECT %s FROM %s GROUP BY %s HAVING count(*) > 1)", key, tbl.SQLName(), key)); n > 0 {
			t.Errorf("%s: %d keys on more than one row", tbl.SQLName(), n)
		}
	}
	if rows != loaded || count("SELECT count(*) FROM archtics_meta.rejects") != rejected || count("SELECT count(*) FROM archtics_meta.repairs") != repaired {
		t.Errorf("the warehouse holds %d rows, %d rejects, %d repairs; load-dump said %d, %d, %d", rows,
			count("SELECT count(*) FROM archtics_meta.rejects"), count("SELECT count(*) FROM archtics_meta.repairs"), loaded, rejected, repaired)
	}
	// Every value of every column, text included, through DuckDB: a string
	// that is not UTF-8 fails the read.
	var all strings.Builder
	for _, tbl := range tables {
		for _, v := range queryAll(t, db, fmt.Sprintf("SELECT CAST(to_json(x) AS VARCHAR) FROM %s x", tbl.SQLName())) {
			if !utf8.ValidString(v) {
				t.Errorf("%s: a row is not UTF-8: %q", tbl.SQLName(), v)
			}
			all.WriteString(v)
		}
	}
	for _, want := range c.Holds {
		if !strings.Contains(all.String(), want) {
			t.Errorf("no table holds %s", want)
		}
	}
}

// TestLoadDumpBadTeamFlag: a --team that is not a plain name, or not in
// the dump, is a usage error before the warehouse folder is made.
func TestLoadDumpBadTeamFlag(t *testing.T) {
	dump := filepath.Join("..", "..", "testdata", "dump-tiny")
	for _, team := range []string{"../evil", "nhl/clone", "nope"} {
		t.Run(team, func(t *testing.T) {
			wh := filepath.Join(t.TempDir(), "warehouse")
			var code int
			stderr := captureStderr(t, func() {
				code = run(context.Background(), []string{"archtics", "--warehouse", wh, "load-dump", "--dump", dump, "--team", team})
			})
			if code != exitUsage || !strings.Contains(stderr, team) {
				t.Fatalf("exit %d, stderr %q: want a usage error naming %q", code, stderr, team)
			}
			if _, err := os.Stat(wh); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("a refused load left the warehouse folder %s (%v)", wh, err)
			}
		})
	}
}
