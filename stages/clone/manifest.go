package clone

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"archtics/internal/textenc"
	"archtics/pipeline/txlog"
	"archtics/schemas"
	"archtics/storage"
)

// ManifestName is the manifest's name at the root of a dump.
const ManifestName = "manifest.json"

// Manifest describes a full dump: when it was cut and what each file holds.
// Ticketmaster's developer hands over files; the manifest is how we know a
// download is complete and intact before loading it.
type Manifest struct {
	Client string    `json:"client"`
	Cutoff time.Time `json:"cutoff"` // rows entered before this instant are in the dump
	Format string    `json:"format"` // how the files are encoded, in words
	// TimeZone is the IANA zone of the client's wall clock, which every
	// timestamp in the dump and the change API is written in.
	TimeZone string `json:"timezone"`
	// Encoding is the files' character encoding: utf-8 (the default),
	// windows-1252 or iso-8859-1 (textenc.Lookup).
	Encoding string `json:"encoding"`
	Files    []struct {
		Team   string `json:"team"`
		Table  string `json:"table"` // Archtics table name: event, cust, ticket, tex
		Path   string `json:"path"`  // relative to the manifest
		Part   int    `json:"part"`
		Rows   int64  `json:"rows"`
		Bytes  int64  `json:"bytes"`
		SHA256 string `json:"sha256"`
	} `json:"files"`
}

// OpenDump reads the manifest of the dump stored in st and returns the dump,
// each file opened from st on demand.
func OpenDump(ctx context.Context, st storage.Store) (Dump, error) {
	rc, _, err := st.Get(ctx, ManifestName)
	if err != nil {
		return Dump{}, fmt.Errorf("dump %s: read %s: %w (is this the folder the dump was downloaded to?)", st.URL(), ManifestName, err)
	}
	defer rc.Close()
	var m Manifest
	dec := json.NewDecoder(io.LimitReader(rc, 64<<20))
	if err := dec.Decode(&m); err != nil {
		return Dump{}, fmt.Errorf("dump %s: parse %s: %w", st.URL(), ManifestName, err)
	}
	if m.Cutoff.IsZero() {
		return Dump{}, fmt.Errorf("dump %s: %s has no cutoff: without it the change pulls cannot start", st.URL(), ManifestName)
	}
	d := Dump{Cutoff: m.Cutoff}
	if m.TimeZone != "" {
		loc, err := time.LoadLocation(m.TimeZone)
		if err != nil {
			return Dump{}, fmt.Errorf("dump %s: %s timezone %q: %w (want an IANA zone such as America/New_York)", st.URL(), ManifestName, m.TimeZone, err)
		}
		d.Location = loc
	}
	charset, err := textenc.Lookup(m.Encoding)
	if err != nil {
		return Dump{}, fmt.Errorf("dump %s: %s encoding: %w", st.URL(), ManifestName, err)
	}
	if len(m.Files) == 0 {
		return Dump{}, fmt.Errorf("dump %s: %s lists no files: nothing to load (is the manifest complete?)", st.URL(), ManifestName)
	}
	listed := map[string]int{}
	for i, f := range m.Files {
		t, ok := schemas.Lookup("archtics." + f.Table)
		if !ok || t.Schema != "archtics" {
			return Dump{}, fmt.Errorf("dump %s: %s file %d (%s): unknown table %q", st.URL(), ManifestName, i+1, f.Path, f.Table)
		}
		if f.Team == "" || f.Path == "" || f.SHA256 == "" {
			return Dump{}, fmt.Errorf("dump %s: %s file %d: team, path and sha256 are required", st.URL(), ManifestName, i+1)
		}
		if err := ValidateTeam(f.Team); err != nil {
			return Dump{}, fmt.Errorf("dump %s: %s file %d (%s): %w", st.URL(), ManifestName, i+1, f.Path, err)
		}
		key, err := dumpPath(f.Path)
		if err != nil {
			return Dump{}, fmt.Errorf("dump %s: %s file %d: %w", st.URL(), ManifestName, i+1, err)
		}
		if first, ok := listed[key]; ok {
			return Dump{}, fmt.Errorf("dump %s: %s lists %s twice (files %d and %d): loading it twice would double its rows; fix the manifest",
				st.URL(), ManifestName, key, first, i+1)
		}
		listed[key] = i + 1
		d.Files = append(d.Files, DumpFile{
			Team: f.Team, Table: t, Name: key, Rows: f.Rows, SHA256: f.SHA256, Charset: charset,
			Open: func() (io.ReadCloser, error) {
				rc, _, err := st.Get(ctx, key)
				return rc, err
			},
		})
	}
	return d, nil
}

// Teams lists the teams a dump holds, in manifest order.
func (d Dump) Teams() []string {
	var teams []string
	seen := map[string]bool{}
	for _, f := range d.Files {
		if !seen[f.Team] {
			seen[f.Team] = true
			teams = append(teams, f.Team)
		}
	}
	return teams
}

// ValidateTeam checks a team name before anything is written under it:
// it becomes a stream name segment (<team>/clone) and a Hive partition
// value (team=<team>), so it must be one plain segment.
func ValidateTeam(team string) error {
	if team == "" || len(team) > 50 || strings.Contains(team, "/") {
		return fmt.Errorf("team %q: want 1 to 50 letters, digits, '.', '_' or '-', not starting with '.' or '_'", team)
	}
	if err := txlog.ValidateStreamName(team); err != nil {
		return fmt.Errorf("team %q: want 1 to 50 letters, digits, '.', '_' or '-', not starting with '.' or '_' (%v)", team, err)
	}
	if txlog.EscapePathValue(team) != team {
		return fmt.Errorf("team %q: not a plain partition value", team)
	}
	return nil
}

// dumpPath checks a manifest path and returns it cleaned: relative,
// inside the dump, plain text.
func dumpPath(p string) (string, error) {
	if len(p) > 400 || strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7F || r == '\\' || r == utf8.RuneError }) {
		return "", fmt.Errorf("path %q: want a relative path of at most 400 printable characters, '/' between folders", p)
	}
	key := path.Clean(p)
	if path.IsAbs(key) || key == "." || key == ".." || strings.HasPrefix(key, "../") {
		return "", fmt.Errorf("path %q: must name a file inside the dump folder", p)
	}
	return key, nil
}
