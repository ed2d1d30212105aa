// Package scangen makes Arrow record batches shaped like
// archtics_rtx.attendance_raw for the warehouse's tests and benchmarks:
// deterministic, varied values, a few nulls, grouped by team and date the
// way a feed delivers them.
package scangen

import (
	"fmt"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"archtics/schemas"
)

// Gen makes rows shaped like archtics_rtx.attendance_raw.
type Gen struct {
	Teams []string
	Dates []time.Time
}

// Default makes rows of two teams over three dates.
func Default() Gen {
	return Gen{
		Teams: []string{"NHL", "ARENA"},
		Dates: []time.Time{
			time.Date(2025, 4, 10, 0, 0, 0, 0, time.UTC),
			time.Date(2025, 4, 12, 0, 0, 0, 0, time.UTC),
			time.Date(2025, 4, 15, 0, 0, 0, 0, time.UTC),
		},
	}
}

// Batches returns rows rows in record batches of batch rows, grouped by
// (team, date) the way a feed delivers them. seq0 offsets the sequence ids
// so different calls give different content.
func (g Gen) Batches(rows, batch int, seq0 int) []arrow.RecordBatch {
	sc := schemas.RTXAttendanceRaw.ArrowSchema()
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	groups := len(g.Teams) * len(g.Dates)
	per := (rows + groups - 1) / groups
	var out []arrow.RecordBatch
	n := 0
	flush := func() {
		if n > 0 {
			out = append(out, b.NewRecordBatch())
			n = 0
		}
	}
	str := func(i int) *array.StringBuilder { return b.Field(i).(*array.StringBuilder) }
	row := 0
	for gi := 0; gi < groups && row < rows; gi++ {
		team, date := g.Teams[gi/len(g.Dates)], g.Dates[gi%len(g.Dates)]
		eventID := int32(1000 + gi)
		evName := fmt.Sprintf("25%s%s", team[:3], date.Format("0102"))
		for k := 0; k < per && row < rows; k++ {
			seq := seq0 + row
			scan := date.Add(18*time.Hour + time.Duration(k%14400)*time.Second)
			str(0).Append([]string{"0", "0", "0", "0", "0", "0", "0", "0", "0", "12"}[seq%10])
			str(1).Append("Gate " + strconv.Itoa(1+seq%12))
			str(2).Append([]string{"S", "S", "S", "R", "X", "M"}[seq%6])
			str(3).Append(string(rune('A' + seq%26)))
			str(4).Append(evName)
			str(5).Append(scan.Format("15:04:05"))
			str(6).Append(strconv.Itoa(1 + seq%30))
			str(7).Append(strconv.Itoa(101 + (seq/30)%230))
			str(8).Append([]string{"M", "M", "P", "C"}[seq%4])
			str(9).Append(strconv.Itoa(seq))
			if seq%50 == 0 {
				str(10).AppendNull()
			} else {
				str(10).Append(evName)
			}
			b.Field(11).(*array.Int32Builder).Append(eventID)
			if seq%17 == 0 {
				b.Field(12).(*array.Int32Builder).AppendNull()
			} else {
				b.Field(12).(*array.Int32Builder).Append(int32(100000 + seq%5000))
			}
			b.Field(13).(*array.TimestampBuilder).Append(arrow.Timestamp(scan.UnixMicro()))
			str(14).Append(team)
			b.Field(15).(*array.Date32Builder).Append(arrow.Date32FromTime(date))
			n++
			row++
			if n == batch {
				flush()
			}
		}
		flush()
	}
	flush()
	return out
}

// ReleaseAll releases recs.
func ReleaseAll(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

// NHL makes rows of team nhl only, which the stream nhl/realtime owns.
func NHL() Gen { return Gen{Teams: []string{"nhl"}, Dates: Default().Dates} }
