package web

import (
	"database/sql"
	"encoding/csv"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"
)

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"pct":   func(f float64) string { return fmt.Sprintf("%.1f%%", f*100) },
	"mins":  minutesLabel,
	"clock": func(t time.Time) string { return t.Format("15:04") },
	"day":   func(t time.Time) string { return t.Format("Mon 2 Jan 2006 15:04") },
	"secs":  func(t time.Time) string { return t.Format("15:04:05") },
	"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"reportEvent": func(p *page, e *eventView) *page {
		return &page{Title: p.Title, Static: true, Event: e}
	},
	"seat": func(n sql.NullInt32) string {
		if !n.Valid {
			return "staff"
		}
		return fmt.Sprint(n.Int32)
	},
}).ParseFS(files, "templates/*.html"))

// AsOf is the "data as of HH:MM, N s ago" line: the latest tick's time in
// the team's zone and when it was committed (the page counts the seconds).
type AsOf struct {
	Team      string
	Local     string
	Committed time.Time
	AgoS      int64
}

func asOf(t *Team, now time.Time) *AsOf {
	if t == nil {
		return nil
	}
	return &AsOf{Team: t.Name, Local: t.Ref.In(t.Loc).Format("15:04"), Committed: t.Committed, AgoS: int64(now.Sub(t.Committed).Seconds())}
}

// page is what every template gets.
type page struct {
	Title  string
	Static bool         // the demo's report: CSS inlined, no script, no links to the server
	CSS    template.CSS // inlined in the static report
	AsOf   *AsOf
	Today  []*Team
	Event  *eventView
	Events []*eventView // the report's events
}

func todayData(s *snapshot, teams []*Team, now time.Time) *page {
	return &page{Title: "Today", AsOf: asOf(s.newest(), now), Today: teams}
}

// ArrivalsRow is one three-minute bucket of the arrivals table.
type ArrivalsRow struct {
	Minutes int
	Wall    time.Time
	Gates   []int64
	Total   int64
	Seats   int64
	Share   float64
}

// LateRow is one bucket after the start with seats first scanned in it.
type LateRow struct {
	Minutes int
	Wall    time.Time
	Seats   int64
}

type eventView struct {
	*EventPage
	Gates         []string
	Rows          []ArrivalsRow
	Load          []GateLoad
	Late          []LateRow
	LateTotal     int64
	ScansTotal    int64
	ArrivalsChart template.HTML
	LateChart     template.HTML
	ShareChart    template.HTML
	LoadChart     template.HTML
	AsOf          *AsOf
}

func eventData(t *Team, p *EventPage, now time.Time) *page {
	v := newEventView(p, "")
	v.AsOf = asOf(t, now)
	return &page{Title: p.Name, AsOf: v.AsOf, Event: v}
}

// newEventView shapes an event's data for the template; prefix keeps the
// SVG ids apart when a report holds several events.
func newEventView(p *EventPage, prefix string) *eventView {
	v := &eventView{EventPage: p, Gates: gates(p.Arrivals), Load: gateLoad(p.Arrivals)}
	idx := map[string]int{}
	for i, g := range v.Gates {
		idx[g] = i
	}
	seats := map[int]SharePoint{}
	for _, sp := range p.ShareCurve {
		seats[sp.Minutes] = sp
	}
	byMin := map[int]*ArrivalsRow{}
	var order []int // Arrivals come ordered by minutes
	late := map[int]int64{}
	for _, b := range p.Arrivals {
		r := byMin[b.Minutes]
		if r == nil {
			sp := seats[b.Minutes]
			r = &ArrivalsRow{Minutes: b.Minutes, Wall: p.StartWall.Add(time.Duration(b.Minutes) * time.Minute),
				Gates: make([]int64, len(v.Gates)), Seats: sp.Seats, Share: sp.Share()}
			byMin[b.Minutes] = r
			order = append(order, b.Minutes)
		}
		r.Gates[idx[b.Gate]] += b.Scans
		r.Total += b.Scans
		v.ScansTotal += b.Scans
		if b.Minutes >= 0 && b.FirstEntries > 0 {
			late[b.Minutes] += b.FirstEntries
			v.LateTotal += b.FirstEntries
		}
	}
	for _, m := range order {
		v.Rows = append(v.Rows, *byMin[m])
	}
	var lateBuckets []GateBucket
	for _, b := range p.Arrivals {
		if b.Minutes >= 0 && b.FirstEntries > 0 {
			lateBuckets = append(lateBuckets, b)
		}
	}
	for _, r := range v.Rows {
		if n := late[r.Minutes]; n > 0 {
			v.Late = append(v.Late, LateRow{Minutes: r.Minutes, Wall: r.Wall, Seats: n})
		}
	}
	v.ArrivalsChart = stackedChart(prefix+"arrivals-chart", "Arrivals per gate per three-minute tick",
		fmt.Sprintf("%d scans at %d gates, stacked by gate, against minutes to the start; the numbers are in the table below.", v.ScansTotal, len(v.Gates)),
		p.Arrivals, func(b GateBucket) int64 { return b.Scans })
	v.LateChart = stackedChart(prefix+"late-chart", "Late arrivals: seats first scanned after the start",
		fmt.Sprintf("%d seats first scanned after the start, by gate, per three-minute tick.", v.LateTotal),
		lateBuckets, func(b GateBucket) int64 { return b.FirstEntries })
	prevName := ""
	if p.Previous != nil {
		prevName = fmt.Sprintf("%s (%s)", p.Previous.Name, p.Previous.StartWall.Format("2 Jan"))
	}
	v.ShareChart = shareChart(prefix+"share-chart", "Share of sold seats scanned",
		fmt.Sprintf("Cumulative share of the %d sold seats scanned against minutes to the start, now %.1f%%; dashed: the previous comparable event %s.", p.Sold, p.Share()*100, prevName),
		p.ShareCurve, p.PreviousCurve, p.Name, prevName)
	v.LoadChart = gateLoadChart(prefix+"load-chart", "Gate load", "Scans per gate over the event.", v.Load)
	return v
}

// writeNoShowsCSV writes an event's no-shows with a header line.
func writeNoShowsCSV(w io.Writer, team string, id int32, ns []NoShow) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"team", "event_id", "section_name", "row_name", "seat_num", "acct_id", "name_first", "name_last", "email_addr"})
	for _, n := range ns {
		acct := ""
		if n.Acct.Valid {
			acct = strconv.Itoa(int(n.Acct.Int32))
		}
		cw.Write([]string{team, strconv.Itoa(int(id)), cell(n.Section), cell(n.Row), strconv.Itoa(int(n.Seat)), acct,
			cell(n.NameFirst), cell(n.NameLast), cell(n.Email)})
	}
	cw.Flush()
	return cw.Error()
}

// cell keeps a spreadsheet from reading a text cell as a formula (a name
// typed as =HYPERLINK(...) in Archtics): such a cell gets a leading quote.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
