package web

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"sort"
	"strings"
)

// Charts are SVG written on the server: the page needs no JavaScript
// library (nothing to vendor, pin or audit), the static report shows the
// same drawing, and a phone renders it at any width (a viewBox).

// palette is Okabe and Ito's colour-blind-safe palette (black left out:
// it is the axes' colour).
var palette = []string{"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"}

const (
	chartW, chartH         = 720, 260
	padL, padR, padT, padB = 48, 12, 12, 36
	plotW, plotH           = chartW - padL - padR, chartH - padT - padB
	textStyle              = `font-size="11" fill="#222"`
)

// svgOpen starts an accessible SVG: a title and description screen
// readers announce (role img).
func svgOpen(b *strings.Builder, id, title, desc string) {
	fmt.Fprintf(b, `<svg class="chart" id="%s" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t %s-d" preserveAspectRatio="xMidYMid meet">`,
		id, chartW, chartH, id, id)
	fmt.Fprintf(b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, id, html.EscapeString(title), id, html.EscapeString(desc))
}

// niceMax rounds up to 1, 2 or 5 times a power of ten.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// minutesLabel is a minutes-to-start tick label: -90, 0, +30.
func minutesLabel(m int) string {
	if m > 0 {
		return fmt.Sprintf("+%d", m)
	}
	return fmt.Sprint(m)
}

// xAxis draws the minutes axis from lo to hi (minutes to the start) with a
// tick every step minutes and a line at the start.
func xAxis(b *strings.Builder, lo, hi int, x func(float64) float64) {
	step := 30
	if hi-lo > 8*60 {
		step = 60
	}
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#222"/>`, padL, padT+plotH, padL+plotW, padT+plotH)
	first := int(math.Ceil(float64(lo)/float64(step))) * step
	for m := first; m <= hi; m += step {
		xx := x(float64(m))
		fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#222"/>`, xx, padT+plotH, xx, padT+plotH+4)
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle" %s>%s</text>`, xx, padT+plotH+16, textStyle, minutesLabel(m))
	}
	if lo <= 0 && hi >= 0 {
		xx := x(0)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#222" stroke-dasharray="2 3"/>`, xx, padT, xx, padT+plotH)
		fmt.Fprintf(b, `<text x="%.1f" y="%d" %s>start</text>`, xx+3, padT+10, textStyle)
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle" %s>minutes to the start</text>`, padL+plotW/2, chartH-4, textStyle)
}

// yAxis draws a value axis from 0 to max (1, 2 or 5 times a power of
// ten, so fifths are round numbers) with a line every fifth, labelled by f.
func yAxis(b *strings.Builder, max float64, f func(float64) string) {
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#222"/>`, padL, padT, padL, padT+plotH)
	for i := 0; i <= 5; i++ {
		v := max * float64(i) / 5
		y := float64(padT+plotH) - float64(plotH)*float64(i)/5
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`, padL, y, padL+plotW, y)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end" %s>%s</text>`, padL-4, y+4, textStyle, f(v))
	}
}

// gates lists the gates of buckets, sorted, with their colours.
func gates(buckets []GateBucket) []string {
	seen := map[string]bool{}
	var out []string
	for _, g := range buckets {
		if !seen[g.Gate] {
			seen[g.Gate] = true
			out = append(out, g.Gate)
		}
	}
	sort.Strings(out)
	return out
}

func gateColour(i int) string { return palette[i%len(palette)] }

// stackedChart is a bar per three-minute bucket, stacked by gate, of
// value (scans, or first entries) over the buckets keep selects.
func stackedChart(id, title, desc string, buckets []GateBucket, value func(GateBucket) int64) template.HTML {
	gs := gates(buckets)
	idx := map[string]int{}
	for i, g := range gs {
		idx[g] = i
	}
	lo, hi := 0, 0
	totals := map[int]int64{}
	for i, bk := range buckets {
		if i == 0 || bk.Minutes < lo {
			lo = bk.Minutes
		}
		if i == 0 || bk.Minutes > hi {
			hi = bk.Minutes
		}
		totals[bk.Minutes] += value(bk)
	}
	hi += 3
	var top int64
	for _, v := range totals {
		top = max(top, v)
	}
	ymax := niceMax(float64(top))
	var b strings.Builder
	svgOpen(&b, id, title, desc)
	if len(buckets) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" %s>no scans yet</text></svg>`, chartW/2, chartH/2, textStyle)
		return template.HTML(b.String())
	}
	span := float64(hi - lo)
	x := func(m float64) float64 { return float64(padL) + (m-float64(lo))/span*float64(plotW) }
	yAxis(&b, ymax, func(v float64) string { return fmt.Sprintf("%g", v) })
	barW := math.Max(float64(plotW)*3/span-0.5, 0.8)
	stack := map[int]float64{}
	for _, bk := range buckets {
		v := float64(value(bk))
		if v == 0 {
			continue
		}
		h := v / ymax * float64(plotH)
		y := float64(padT+plotH) - stack[bk.Minutes] - h
		stack[bk.Minutes] += h
		fmt.Fprintf(&b, `<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s"><title>%s, %s min: %d</title></rect>`,
			x(float64(bk.Minutes)), y, barW, h, gateColour(idx[bk.Gate]), html.EscapeString(bk.Gate), minutesLabel(bk.Minutes), value(bk))
	}
	xAxis(&b, lo, hi, x)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// shareChart draws the cumulative share of sold seats scanned against the
// minutes to the start: the event's curve, and the previous comparable
// event's dashed beside it.
func shareChart(id, title, desc string, cur, prev []SharePoint, curName, prevName string) template.HTML {
	var b strings.Builder
	svgOpen(&b, id, title, desc)
	if len(cur) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" %s>no scans yet</text></svg>`, chartW/2, chartH/2, textStyle)
		return template.HTML(b.String())
	}
	lo, hi := cur[0].Minutes, cur[len(cur)-1].Minutes
	if len(prev) > 0 {
		lo, hi = min(lo, prev[0].Minutes), max(hi, prev[len(prev)-1].Minutes)
	}
	hi += 3
	top := 0.0
	for _, p := range append(append([]SharePoint(nil), cur...), prev...) {
		top = math.Max(top, p.Share())
	}
	ymax := math.Min(1, niceMax(top))
	if top > ymax {
		ymax = top
	}
	span := float64(hi - lo)
	x := func(m float64) float64 { return float64(padL) + (m-float64(lo))/span*float64(plotW) }
	y := func(s float64) float64 { return float64(padT+plotH) - s/ymax*float64(plotH) }
	yAxis(&b, ymax, func(v float64) string { return fmt.Sprintf("%.0f%%", v*100) })
	line := func(pts []SharePoint, colour, dash string) {
		var d strings.Builder
		for i, p := range pts {
			// The share holds until the bucket's end: a step at each end.
			cmd := "L"
			if i == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&d, "%s%.1f,%.1f ", cmd, x(float64(p.Minutes+3)), y(p.Share()))
		}
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="2.5"%s/>`, strings.TrimSpace(d.String()), colour, dash)
	}
	if len(prev) > 0 {
		line(prev, palette[1], ` stroke-dasharray="6 4"`)
	}
	line(cur, palette[0], "")
	xAxis(&b, lo, hi, x)
	// The legend, in the plot's top left corner.
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2.5"/><text x="%d" y="%d" %s>%s</text>`,
		padL+8, padT+10, padL+28, padT+10, palette[0], padL+32, padT+14, textStyle, html.EscapeString(curName))
	if len(prev) > 0 {
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2.5" stroke-dasharray="6 4"/><text x="%d" y="%d" %s>%s</text>`,
			padL+8, padT+26, padL+28, padT+26, palette[1], padL+32, padT+30, textStyle, html.EscapeString(prevName))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// GateLoad is one gate's share of an event's scans.
type GateLoad struct {
	Gate   string
	Colour string
	Scans  int64
	Peak   int64 // the most scans in one three-minute bucket
	PeakAt int   // that bucket's minutes to the start
	Share  float64
}

func gateLoad(buckets []GateBucket) []GateLoad {
	gs := gates(buckets)
	out := make([]GateLoad, len(gs))
	idx := map[string]int{}
	for i, g := range gs {
		out[i] = GateLoad{Gate: g, Colour: gateColour(i)}
		idx[g] = i
	}
	var total int64
	for _, b := range buckets {
		l := &out[idx[b.Gate]]
		l.Scans += b.Scans
		total += b.Scans
		if b.Scans > l.Peak {
			l.Peak, l.PeakAt = b.Scans, b.Minutes
		}
	}
	for i := range out {
		if total > 0 {
			out[i].Share = float64(out[i].Scans) / float64(total)
		}
	}
	return out
}

// gateLoadChart is a horizontal bar per gate of its scans.
func gateLoadChart(id, title, desc string, load []GateLoad) template.HTML {
	const rowH = 26
	h := padT + rowH*max(len(load), 1) + 8
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" id="%s" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t %s-d">`, id, chartW, h, id, id)
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, id, html.EscapeString(title), id, html.EscapeString(desc))
	var top int64
	for _, l := range load {
		top = max(top, l.Scans)
	}
	const labelW = 120
	for i, l := range load {
		y := padT + i*rowH
		w := 0.0
		if top > 0 {
			w = float64(l.Scans) / float64(top) * float64(chartW-labelW-90)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" %s>%s</text>`, labelW-6, y+15, textStyle, html.EscapeString(l.Gate))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`, labelW, y+3, w, rowH-8, l.Colour)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" %s>%d (%.0f%%)</text>`, float64(labelW)+w+6, y+15, textStyle, l.Scans, l.Share*100)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
