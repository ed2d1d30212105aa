package simulator

import (
	"encoding/csv"
	"io"
	"sort"
	"strconv"
	"time"
)

// ClusterMember is one account of a person.
type ClusterMember struct {
	Team       string
	AcctID     int32
	Variant    string    // how the account presents the person: original, typo, nickname, employer_change, ...
	MergedInto int32     // winner's acct_id if Archtics merged this account away, else 0
	MergedAt   time.Time // when (zero if never)
}

// Cluster is one person holding several accounts, possibly in several teams.
type Cluster struct {
	Person  string // "<team>-<acct_id of the original account>"
	Members []ClusterMember
}

func (g *generator) duplicateClusters() []Cluster {
	type pkey struct {
		ti  int
		idx int32
	}
	members := map[pkey][]ClusterMember{}
	member := func(tg *teamGen, i int32) ClusterMember {
		m := ClusterMember{Team: tg.name, AcctID: acctID(i), Variant: variantNames[tg.variant[i]]}
		if k, ok := tg.loserMerge[i]; ok {
			m.MergedInto = acctID(tg.merges[k].winner)
			m.MergedAt = time.Unix(tg.merges[k].at, 0).UTC()
		}
		return m
	}
	for _, tg := range g.teams {
		for i := int32(0); i < int32(tg.n); i++ {
			if tg.dupTeam[i] < 0 {
				continue
			}
			k := pkey{int(tg.dupTeam[i]), tg.dupIdx[i]}
			members[k] = append(members[k], member(tg, i))
		}
	}
	keys := make([]pkey, 0, len(members))
	for k := range members {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(a, b int) bool {
		if keys[a].ti != keys[b].ti {
			return keys[a].ti < keys[b].ti
		}
		return keys[a].idx < keys[b].idx
	})
	out := make([]Cluster, 0, len(keys))
	for _, k := range keys {
		orig := member(g.teams[k.ti], k.idx)
		out = append(out, Cluster{Person: g.personID(k.ti, k.idx), Members: append([]ClusterMember{orig}, members[k]...)})
	}
	return out
}

// writeClusters writes groundtruth/duplicate_clusters.csv: one line per
// account of a person with several accounts.
func (g *generator) writeClusters(w io.Writer) (int64, error) {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"person_id", "team", "acct_id", "variant", "merged_into_acct_id", "merged_at"})
	var n int64
	for _, c := range g.duplicateClusters() {
		for _, m := range c.Members {
			merged, at := "", ""
			if m.MergedInto != 0 {
				merged = strconv.Itoa(int(m.MergedInto))
				at = m.MergedAt.In(g.loc).Format(TimeLayout)
			}
			_ = cw.Write([]string{c.Person, m.Team, strconv.Itoa(int(m.AcctID)), m.Variant, merged, at})
			n++
		}
	}
	cw.Flush()
	return n, cw.Error()
}

// writeMerges writes groundtruth/merges.csv.
func (g *generator) writeMerges(w io.Writer) (int64, error) {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"team", "loser_acct_id", "winner_acct_id", "merged_at", "merged_at_utc", "person_id", "before_cutoff"})
	var n int64
	for _, tg := range g.teams {
		for _, m := range g.mergesOf(tg) {
			_ = cw.Write([]string{m.Team, strconv.Itoa(int(m.Loser)), strconv.Itoa(int(m.Winner)),
				m.At.In(g.loc).Format(TimeLayout), m.At.Format(time.RFC3339), m.Person,
				strconv.FormatBool(m.At.Unix() < g.cutoff)})
			n++
		}
	}
	cw.Flush()
	return n, cw.Error()
}
