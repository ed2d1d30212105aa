package simulator

import (
	"sort"
	"strconv"
	"time"

	"archtics/schemas"
)

// TruthTable is one table of the truth at an instant: where it goes, its
// definition (the clone's column names and types) and its rows in the
// dump's text form ("" is NULL). simulator/truthfiles writes them as
// Parquet (archtics simulate truth).
type TruthTable struct {
	Path  string // file under the output folder, e.g. "archtics/cust.parquet"
	Table *schemas.Table
	Rows  []Row
}

// Truth tables that are not clone tables. Timestamps are the client's
// local wall clock, as in the clone.
var (
	// TruthDuplicateClusters is groundtruth/duplicate_clusters.csv at an
	// instant: one row per account of a person with several accounts.
	TruthDuplicateClusters = &schemas.Table{
		Schema: "truth", Name: "duplicate_clusters",
		Doc: "People with several accounts at the instant: accounts present then or merged away by then; a merge shows only once done.",
		Columns: []schemas.Column{
			{Name: "person_id", Type: schemas.String, Width: 50, Doc: "<team>-<acct_id of the person's original account>"},
			{Name: "team", Type: schemas.String, Width: 50},
			{Name: "acct_id", Type: schemas.Int32},
			{Name: "variant", Type: schemas.String, Width: 50, Nullable: true, Doc: "how the account presents the person: original, exact, typo, nickname, ..."},
			{Name: "merged_into_acct_id", Type: schemas.Int32, Nullable: true, Doc: "the winner if Archtics merged this account away by the instant"},
			{Name: "merged_at", Type: schemas.Timestamp, Nullable: true},
		},
		Key: []string{"person_id", "team", "acct_id"},
	}
	// TruthMerges is groundtruth/merges.csv at an instant: the merges done
	// by then.
	TruthMerges = &schemas.Table{
		Schema: "truth", Name: "merges",
		Doc: "Account merges done by the instant: the loser's rows vanished, its references moved to the winner.",
		Columns: []schemas.Column{
			{Name: "team", Type: schemas.String, Width: 50},
			{Name: "loser_acct_id", Type: schemas.Int32},
			{Name: "winner_acct_id", Type: schemas.Int32},
			{Name: "merged_at", Type: schemas.Timestamp, Doc: "local wall clock"},
			{Name: "merged_at_utc", Type: schemas.Timestamp, Doc: "the same instant in UTC"},
			{Name: "person_id", Type: schemas.String, Width: 50},
			{Name: "before_cutoff", Type: schemas.Bool, Doc: "in the dump already (the loser's rows absent from it)"},
		},
		Key: []string{"team", "loser_acct_id"},
	}
)

// TruthAt returns the whole truth at instant at, every team in each table:
// archtics.event, cust, ticket, tex and attendance as they stand (StateAt),
// archtics_rtx.attendance_raw as a realtime store holds it (TrueAttendance
// with the default criteria), the duplicate clusters and merges as of at,
// and the CRM outcome (crmTruth).
func (w *World) TruthAt(at time.Time) []TruthTable {
	var out []TruthTable
	present := map[string]map[string]bool{} // team -> acct_id present at at
	for _, t := range schemas.SourceTables {
		tt := TruthTable{Path: t.Schema + "/" + t.Name + ".parquet", Table: t}
		for _, team := range w.teams {
			rows := w.StateAt(team, t, at)
			tt.Rows = append(tt.Rows, rows...)
			if t == schemas.Cust {
				present[team] = map[string]bool{}
				for _, r := range rows {
					present[team][r[1]] = true
				}
			}
		}
		out = append(out, tt)
	}
	att := TruthTable{Path: "archtics_rtx/attendance_raw.parquet", Table: schemas.RTXAttendanceRaw}
	for _, team := range w.teams {
		att.Rows = append(att.Rows, w.TrueAttendance(team, at, nil)...)
	}
	out = append(out, att, w.clustersAt(at, present), w.mergesAt(at), w.crmTruth())
	return out
}

func (w *World) mergesAt(at time.Time) TruthTable {
	tt := TruthTable{Path: "truth/merges.parquet", Table: TruthMerges}
	for _, m := range w.Merges() {
		if m.At.After(at) {
			continue
		}
		tt.Rows = append(tt.Rows, Row{m.Team, strconv.Itoa(int(m.Loser)), strconv.Itoa(int(m.Winner)),
			m.At.In(w.g.loc).Format(TimeLayout), m.At.UTC().Format(TimeLayout), m.Person,
			strconv.FormatBool(m.At.Before(w.cfg.Cutoff))})
	}
	return tt
}

// clustersAt keeps of each cluster the accounts that exist at at (present
// then, or merged away by then), and the clusters still holding two.
func (w *World) clustersAt(at time.Time, present map[string]map[string]bool) TruthTable {
	tt := TruthTable{Path: "truth/duplicate_clusters.parquet", Table: TruthDuplicateClusters}
	for _, c := range w.DuplicateClusters() {
		var rows []Row
		for _, m := range c.Members {
			acct := strconv.Itoa(int(m.AcctID))
			merged := m.MergedInto != 0 && !m.MergedAt.After(at)
			if !present[m.Team][acct] && !merged {
				continue
			}
			into, when := "", ""
			if merged {
				into, when = strconv.Itoa(int(m.MergedInto)), m.MergedAt.In(w.g.loc).Format(TimeLayout)
			}
			rows = append(rows, Row{c.Person, m.Team, acct, m.Variant, into, when})
		}
		if len(rows) >= 2 {
			tt.Rows = append(tt.Rows, rows...)
		}
	}
	sort.SliceStable(tt.Rows, func(a, b int) bool { return tt.Rows[a][0] < tt.Rows[b][0] })
	return tt
}
