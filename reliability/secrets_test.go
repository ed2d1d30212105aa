package reliability

import (
	"context"
	"fmt"
	"io/fs"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"archtics/simulator"
	"archtics/storage/backend"
)

// TestSecretsNeverLeak runs the stages with recognizable secrets (the
// source's token, AWS keys, passwords in a source URL, a warehouse URL and
// an Iceberg SQL catalog URI), at debug level, including runs that fail
// on those URLs, then searches every output, every metrics file, every
// object of the warehouse, the caches and the temporary folders for them.
func TestSecretsNeverLeak(t *testing.T) {
	w := sharedWorld(t)
	secrets := map[string]string{
		"source token":    "tok-RELIABILITY-5c1d-SECRET",
		"AWS key id":      "AKIARELIABILITY5C1D",
		"AWS secret key":  "relSecretKey5c1dZzQ9",
		"source password": "pw-RELIABILITY-src-5c1d",
		"store password":  "pw-RELIABILITY-wh-5c1d",
		"sql password":    "pw-RELIABILITY-sql-5c1d",
	}
	srv, err := simulator.NewServer(w.sim, simulator.ServerConfig{Token: secrets["source token"], Clock: w.clock})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	u, _ := url.Parse(hs.URL)
	u.User = url.UserPassword("reliability", secrets["source password"])
	source := u.String()
	deadSource := "http://reliability:" + secrets["source password"] + "@127.0.0.1:1"

	dir := trialDir(t, "secrets")
	wh := filepath.Join(dir, "wh")
	if endpoint, bucket := os.Getenv("AWS_ENDPOINT_URL"), os.Getenv("ARCHTICS_TEST_BUCKET"); endpoint != "" && bucket != "" {
		wh = uploadSnapshot(t, bucket, "", "secrets")
	}
	env := []string{
		"ARCHTICS_SOURCE_TOKEN=" + secrets["source token"],
		"AWS_ACCESS_KEY_ID=" + secrets["AWS key id"],
		"AWS_SECRET_ACCESS_KEY=" + secrets["AWS secret key"],
		"ARCHTICS_LOG_LEVEL=debug",
	}
	type command struct {
		args []string
		ok   bool // must succeed (else it must fail)
	}
	sqlURI := "postgres://reliability:" + secrets["sql password"] + "@127.0.0.1:1/catalog"
	commands := []command{
		{[]string{"load-dump", "--dump", w.dump}, true},
		{[]string{"incremental", "--team", "nhl", "--source", source, "--sweep-every", "0", "--until", incrementalUntil(w).Format("2006-01-02T15:04:05Z07:00")}, true},
		{[]string{"incremental", "--team", "nhl", "--source", deadSource}, false},
		{[]string{"realtime", "criteria", "set", "--team", "nhl", "--by", "reliability", "--effective", "2021-12-31 00:00:00", "total_events = 1"}, true},
		{[]string{"realtime", "tick", "--team", "nhl", "--source", source, "--at", w.local(tickAt("20:00")(w))}, true},
		{[]string{"realtime", "tick", "--team", "nhl", "--source", deadSource, "--at", w.local(tickAt("20:03")(w))}, false},
		{[]string{"realtime", "tick", "--team", "nhl", "--source", source, "--token", "wrong-" + secrets["source token"], "--at", w.local(tickAt("20:06")(w))}, false},
		{[]string{"compact", "--team", "nhl"}, true},
		{[]string{"dedup", "--crm", w.crm}, true},
		{[]string{"catalog", "iceberg", "--catalog", "sql", "--sql-uri", sqlURI}, false},
		{[]string{"--warehouse", "https://reliability:" + secrets["store password"] + "@127.0.0.1:1/wh", "verify"}, false},
		{[]string{"verify"}, true},
	}
	w.clock.Set(tickAt("20:06")(w))
	var outputs strings.Builder
	for i, c := range commands {
		metrics := filepath.Join(dir, "metrics", fmt.Sprintf("%02d.prom", i))
		os.MkdirAll(filepath.Dir(metrics), 0o755)
		args := append([]string{"--metrics-file", metrics}, c.args...)
		code, out := runToEnd(t, runSpec{wh: wh, tmp: filepath.Join(dir, "tmp"), cache: filepath.Join(dir, "cache"), args: args, env: env})
		if c.ok != (code == 0) {
			t.Errorf("archtics %s: exit %d, want success %v\n%s", strings.Join(c.args, " "), code, c.ok, out)
		}
		fmt.Fprintf(&outputs, "$ archtics %s\n%s\n", strings.Join(c.args, " "), out)
	}

	search := func(where, text string) {
		for name, s := range secrets {
			if strings.Contains(text, s) {
				i := strings.Index(text, s)
				t.Errorf("the %s appears in %s: ...%s...", name, where, text[max(0, i-200):min(len(text), i+len(s)+50)])
			}
		}
	}
	// The commands' arguments hold the secrets; their outputs must not.
	for _, block := range strings.Split(outputs.String(), "$ archtics ") {
		if line, rest, ok := strings.Cut(block, "\n"); ok {
			search("the output of archtics "+trimSecrets(line, secrets), rest)
		}
	}
	files := 0
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		search(path, string(data))
		return nil
	})
	if strings.HasPrefix(wh, "s3://") {
		ctx := context.Background()
		st, err := backend.Open(ctx, wh)
		if err != nil {
			t.Fatal(err)
		}
		err = eachObject(ctx, st, func(key string, data []byte) error {
			files++
			search(wh+"/"+key, string(data))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if files < 20 {
		t.Fatalf("searched only %d files: the runs wrote less than expected, the test proved little", files)
	}
	progress("secrets: %d commands, %d files and objects searched", len(commands), files)
}

func trimSecrets(s string, secrets map[string]string) string {
	for _, v := range secrets {
		s = strings.ReplaceAll(s, v, "***")
	}
	return s
}
