package stages

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"time"

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
	for i, f := range m.Files {
		t, ok := schemas.Lookup("archtics." + f.Table)
		if !ok || t.Schema != "archtics" {
			return Dump{}, fmt.Errorf("dump %s: %s file %d (%s): unknown table %q", st.URL(), ManifestName, i+1, f.Path, f.Table)
		}
		if f.Team == "" || f.Path == "" || f.SHA256 == "" {
			return Dump{}, fmt.Errorf("dump %s: %s file %d: team, path and sha256 are required", st.URL(), ManifestName, i+1)
		}
		key := path.Clean(f.Path)
		d.Files = append(d.Files, DumpFile{
			Team: f.Team, Table: t, Name: key, Rows: f.Rows, SHA256: f.SHA256,
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
