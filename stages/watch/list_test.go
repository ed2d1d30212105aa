package watch_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"archtics/internal/dbtest"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/simulator"
	"archtics/stages/watch"
	"archtics/storage/storagetest"
)

// TestWatchListVersions sets, adds to, removes from and re-hooks a
// team's list, on a local warehouse and on S3 (when AWS_ENDPOINT_URL is
// set): each change is a version with who and what; the live list, the
// list as of a version's time and korebi.watch_list agree; a label that
// is SQL is stored and read back as text.
func TestWatchListVersions(t *testing.T) {
	locations := map[string]string{"local": ""}
	if storagetest.HaveS3() {
		locations["s3"] = storagetest.S3Location(t, "watch")
	} else {
		t.Log("S3 case skipped: " + storagetest.S3Skip)
	}
	for name, location := range locations {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			g := newGameDay(t, simulator.TinyConfig(), location)
			sqlLabel := "x'); DROP TABLE korebi.watch_list_history; --"
			steps := []struct {
				change watch.Change
				want   map[int32]string // acct → label after the step
				hook   string
			}{
				{watch.Change{Replace: true, Entries: []watch.Entry{{AcctID: 5, Label: "VIP"}, {AcctID: 3, Label: sqlLabel, Note: "a sponsor's guest"}, {AcctID: 9, Label: "Séason — 2026"}},
					Webhook: &watch.Webhook{URL: "https://hooks.example.com/services/T0/B0/SECRETTOKEN", SecretEnv: "WATCH_SECRET"}},
					map[int32]string{3: sqlLabel, 5: "VIP", 9: "Séason — 2026"}, "https://hooks.example.com/..."},
				{watch.Change{Add: []watch.Entry{{AcctID: 11, Label: "Sponsor X guests"}, {AcctID: 5, Label: "VIP+"}}},
					map[int32]string{3: sqlLabel, 5: "VIP+", 9: "Séason — 2026", 11: "Sponsor X guests"}, "https://hooks.example.com/..."},
				{watch.Change{Remove: []int32{9, 404}},
					map[int32]string{3: sqlLabel, 5: "VIP+", 11: "Sponsor X guests"}, "https://hooks.example.com/..."},
				{watch.Change{Webhook: &watch.Webhook{}}, map[int32]string{3: sqlLabel, 5: "VIP+", 11: "Sponsor X guests"}, ""},
			}
			var versions []*watch.Version
			for i, s := range steps {
				v, c, err := watch.Apply(ctx, g.w, "nhl", s.change, watch.SetOptions{By: "ops", Note: fmt.Sprintf("step %d", i+1)}, g.cache)
				if err != nil {
					t.Fatalf("step %d: %v", i+1, err)
				}
				if v.Version != int64(i+1) || c.Stream != watch.SettingsStream("nhl") {
					t.Fatalf("step %d: version %d on %s", i+1, v.Version, c.Stream)
				}
				cur, err := watch.Current(ctx, g.w, "nhl", g.cache)
				if err != nil {
					t.Fatal(err)
				}
				got := map[int32]string{}
				for _, e := range cur.Entries {
					got[e.AcctID] = e.Label
				}
				if fmt.Sprint(got) != fmt.Sprint(s.want) || cur.Webhook.Host() != s.hook {
					t.Errorf("step %d: the live list is %v with webhook %q, want %v with %q", i+1, got, cur.Webhook.Host(), s.want, s.hook)
				}
				versions = append(versions, v)
			}
			hist, err := watch.History(ctx, g.w, "nhl", g.cache)
			if err != nil {
				t.Fatal(err)
			}
			var changes []string
			for _, h := range hist {
				changes = append(changes, fmt.Sprintf("%d %s %d %s", h.Version, h.Change, h.Count, h.SetBy))
			}
			want := []string{"1 set 3 entries; webhook https://hooks.example.com/... 3 ops", "2 add 2 4 ops", "3 remove 2 3 ops", "4 webhook removed 3 ops"}
			if strings.Join(changes, "\n") != strings.Join(want, "\n") {
				t.Errorf("history:\n%s\nwant:\n%s", strings.Join(changes, "\n"), strings.Join(want, "\n"))
			}
			at, err := watch.At(ctx, g.w, "nhl", versions[1].SetAt, g.cache)
			if err != nil || at == nil || at.Version != 2 || len(at.Entries) != 4 {
				t.Errorf("the list at version 2's time: %+v, %v", at, err)
			}
			db, err := views.OpenDuckDB(ctx, "", g.w.Log, g.cache, schemas.WatchList)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			rows := dbtest.Strings(t, db, "SELECT concat_ws('|', acct_id, label, version) FROM korebi.watch_list WHERE team = 'nhl'")
			if diff := dbtest.DiffSets([]string{"3|" + sqlLabel + "|4", "5|VIP+|4", "11|Sponsor X guests|4"}, rows); diff != "" {
				t.Errorf("korebi.watch_list:\n%s", diff)
			}
			if _, _, err := watch.Apply(ctx, g.w, "nohockey", steps[1].change, watch.SetOptions{}, g.cache); err == nil || !strings.Contains(err.Error(), "load-dump") {
				t.Errorf("a team without a clone: %v", err)
			}
		})
	}
}

// TestHostileInput: what a list or webhook may not be is refused with a
// reason and nothing is written; the reason never holds the webhook's
// credentials, path or query.
func TestHostileInput(t *testing.T) {
	ctx := context.Background()
	g := newGameDay(t, simulator.TinyConfig(), "")
	many := make([]watch.Entry, schemas.MaxWatchEntries+1)
	for i := range many {
		many[i] = watch.Entry{AcctID: int32(i + 1), Label: "VIP"}
	}
	for _, tc := range []struct {
		name   string
		change watch.Change
		want   string
		secret string // must not be in the message
	}{
		{"credentials in the URL", watch.Change{Webhook: &watch.Webhook{URL: "https://bob:hunter2@hooks.example.com/in"}}, "carries a user name or password", "hunter2"},
		{"a user in the URL", watch.Change{Webhook: &watch.Webhook{URL: "https://bob@hooks.example.com/in?token=QQQ"}}, "https://hooks.example.com carries", "QQQ"},
		{"ftp", watch.Change{Webhook: &watch.Webhook{URL: "ftp://files.example.com/drop/TOKEN1"}}, `scheme is "ftp"`, "TOKEN1"},
		{"file", watch.Change{Webhook: &watch.Webhook{URL: "file:///etc/passwd"}}, `scheme is "file"`, "passwd"},
		{"javascript", watch.Change{Webhook: &watch.Webhook{URL: "javascript:alert(1)"}}, `scheme is "javascript"`, "alert"},
		{"no host", watch.Change{Webhook: &watch.Webhook{URL: "https:///TOKEN2"}}, "has no host", "TOKEN2"},
		{"unparseable", watch.Change{Webhook: &watch.Webhook{URL: "http://[::1/TOKEN3"}}, "does not parse", "TOKEN3"},
		{"spaces", watch.Change{Webhook: &watch.Webhook{URL: "https://h.example.com/a b/TOKEN4"}}, "spaces or control", "TOKEN4"},
		{"huge URL", watch.Change{Webhook: &watch.Webhook{URL: "https://h.example.com/" + strings.Repeat("T", 5000)}}, "at most 2000", "TTTTTTTTTT"},
		{"secret variable", watch.Change{Webhook: &watch.Webhook{URL: "https://h.example.com/x", SecretEnv: "A=B; rm -rf /"}}, "not an environment variable name", ""},
		{"acct_id zero", watch.Change{Add: []watch.Entry{{AcctID: 0, Label: "VIP"}}}, "positive integer", ""},
		{"acct_id negative", watch.Change{Replace: true, Entries: []watch.Entry{{AcctID: -7, Label: "VIP"}}}, "positive integer", ""},
		{"removing acct_id negative", watch.Change{Remove: []int32{-1}}, "positive integer", ""},
		{"twice", watch.Change{Add: []watch.Entry{{AcctID: 4, Label: "a"}, {AcctID: 4, Label: "b"}}}, "listed twice", ""},
		{"no label", watch.Change{Add: []watch.Entry{{AcctID: 4, Label: "  "}}}, "label is empty", ""},
		{"1 MB label", watch.Change{Add: []watch.Entry{{AcctID: 4, Label: strings.Repeat("x", 1<<20)}}}, "1048576 bytes, at most 100", ""},
		{"label with a newline", watch.Change{Add: []watch.Entry{{AcctID: 4, Label: "VIP\nDROP"}}}, "control characters", ""},
		{"label not UTF-8", watch.Change{Add: []watch.Entry{{AcctID: 4, Label: "V\xffP"}}}, "not UTF-8", ""},
		{"huge note", watch.Change{Add: []watch.Entry{{AcctID: 4, Label: "VIP", Note: strings.Repeat("n", 501)}}}, "at most 500", ""},
		{"too many entries", watch.Change{Replace: true, Entries: many}, "100001 entries, at most 100000", ""},
		{"nothing", watch.Change{}, "nothing to change", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, err := g.w.Stream(ctx, watch.SettingsStream("nhl"))
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = watch.Apply(ctx, g.w, "nhl", tc.change, watch.SetOptions{}, g.cache)
			var ie *watch.InputError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an InputError saying %q", err, tc.want)
			}
			if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
				t.Errorf("the message holds %q: %v", tc.secret, err)
			}
			if len(err.Error()) > 400 {
				t.Errorf("the message is %d bytes: it must not echo the input", len(err.Error()))
			}
			after, err := g.w.Stream(ctx, watch.SettingsStream("nhl"))
			if err != nil {
				t.Fatal(err)
			}
			if after.Seq != before.Seq {
				t.Errorf("a refused change committed (seq %d → %d)", before.Seq, after.Seq)
			}
		})
	}
	// Nothing of the refused URLs reached the warehouse's files.
	root := filepath.Join(g.dir, "warehouse")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, s := range []string{"hunter2", "TOKEN1", "TOKEN2", "QQQ"} {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds %q", p, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestReadEntries reads list files: the header, comments and blank
// lines skipped, quoted labels with commas; a file of ten million lines
// is refused after reading about a list's worth of it, a megabyte line
// after its first few kilobytes.
func TestReadEntries(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      io.Reader
		want    string // the entries, or the refusal's text
		maxRead int64  // bytes the reader may give; 0: no limit
	}{
		{name: "a list", in: strings.NewReader("acct_id,label,note\n# VIPs\n\n12,VIP\n 7, \"Sponsor X, guests\", gate B\n"),
			want: "[{12 VIP } {7 Sponsor X, guests gate B}]"},
		{name: "SQL in a label", in: strings.NewReader("3,\"'); DROP TABLE korebi.watch_list; --\"\n"),
			want: "[{3 '); DROP TABLE korebi.watch_list; -- }]"},
		{name: "ten million lines", in: &lines{n: 10_000_000}, want: "more than 100000 entries (line 100001)", maxRead: 4 << 20},
		{name: "a megabyte label", in: io.MultiReader(strings.NewReader("1,"), &repeat{b: 'x', n: 1 << 20}),
			want: "line 1 is longer than", maxRead: 64 << 10},
		{name: "acct_id not a number", in: strings.NewReader("abc,VIP\n"), want: `acct_id "abc" is not a positive integer`},
		{name: "acct_id too large", in: strings.NewReader("99999999999,VIP\n"), want: "is not a positive integer"},
		{name: "four fields", in: strings.NewReader("1,VIP,note,extra\n"), want: "4 fields"},
		{name: "one field", in: strings.NewReader("1\n"), want: "1 fields"},
		{name: "bad quoting", in: strings.NewReader("1,\"VIP\n"), want: "not CSV"},
		{name: "twice", in: strings.NewReader("1,a\n1,b\n"), want: "listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			counted := &countingReader{r: tc.in}
			entries, err := watch.ReadEntries(counted)
			got := fmt.Sprint(entries)
			if err != nil {
				got = err.Error()
			}
			if !strings.Contains(got, tc.want) {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
			if tc.maxRead > 0 && counted.n > tc.maxRead {
				t.Errorf("read %d bytes to refuse it, at most %d expected", counted.n, tc.maxRead)
			}
		})
	}
}

// lines yields n lines "i,VIP" without holding them.
type lines struct {
	i, n int
	buf  []byte
}

func (l *lines) Read(p []byte) (int, error) {
	for len(l.buf) < len(p) && l.i < l.n {
		l.i++
		l.buf = fmt.Appendf(l.buf, "%d,VIP\n", l.i)
	}
	if len(l.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, l.buf)
	l.buf = l.buf[n:]
	return n, nil
}

// repeat yields n bytes b.
type repeat struct {
	b byte
	n int
}

func (r *repeat) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.n)
	for i := range k {
		p[i] = r.b
	}
	r.n -= k
	return k, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
