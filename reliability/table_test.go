package reliability

import (
	"fmt"
	"io"
	"sync"
	"text/tabwriter"
)

// result is one line of the table the suite ends with.
type result struct {
	part, stage      string
	runs, kills      int
	faults           int64
	expected, found  int
	duplicates, lost int
	failures         int // cases that did not match the uninterrupted run
}

var (
	resultsMu sync.Mutex
	results   []*result
)

// record adds a line to the final table; the caller fills it in as the
// part goes (under resultsMu via add).
func record(part, stage string) *result {
	r := &result{part: part, stage: stage}
	resultsMu.Lock()
	results = append(results, r)
	resultsMu.Unlock()
	return r
}

// add counts one compared case.
func (r *result) add(o outcome) {
	resultsMu.Lock()
	defer resultsMu.Unlock()
	r.expected += o.expected
	r.found += o.found
	r.duplicates += o.duplicates
	r.lost += o.lost
	if !o.ok() {
		r.failures++
	}
}

func (r *result) count(runs, kills int, faults int64) {
	resultsMu.Lock()
	defer resultsMu.Unlock()
	r.runs += runs
	r.kills += kills
	r.faults += faults
}

// printTable prints every part's line: the columns, and the
// cases that failed.
func printTable(w io.Writer) {
	resultsMu.Lock()
	defer resultsMu.Unlock()
	if len(results) == 0 {
		return
	}
	fmt.Fprintf(w, "\nreliability (seed %d, %s form)\n", baseSeed(), map[bool]string{true: "full", false: "short"}[full()])
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "part\tstage\truns\tkills\tfaults injected\trows expected\trows found\tduplicates\tlost\tfailed cases\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", r.part, r.stage, r.runs, r.kills, r.faults, r.expected, r.found, r.duplicates, r.lost, r.failures)
	}
	tw.Flush()
}
