package watch

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"archtics/schemas"
)

// maxEntryLine bounds a line of a list file: an account, a label and a
// note, quoted, fit with room to spare; a longer line is refused before
// it is held in memory whole.
const maxEntryLine = 4 * (12 + schemas.MaxWatchLabel + schemas.MaxWatchNote)

// ReadEntries reads a watch list as CSV: one account a line,
// acct_id,label[,note], an optional header line acct_id,label,note,
// blank lines and lines starting with # skipped. It stops reading, and
// refuses, at the first line longer than a list needs or at the entry
// past schemas.MaxWatchEntries, so a hostile file costs no more than a
// list's size to refuse. The entries are then checked (CheckEntries).
func ReadEntries(r io.Reader) ([]Entry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxEntryLine)
	var out []Entry
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		cr := csv.NewReader(strings.NewReader(text))
		cr.TrimLeadingSpace = true
		rec, err := cr.Read()
		if err != nil {
			return nil, refuse("line %d: not CSV (acct_id,label[,note]): %v", line, err)
		}
		if line == 1 && strings.EqualFold(strings.TrimSpace(rec[0]), "acct_id") {
			continue // the header
		}
		if len(rec) < 2 || len(rec) > 3 {
			return nil, refuse("line %d: %d fields, want acct_id,label[,note]", line, len(rec))
		}
		if len(out) == schemas.MaxWatchEntries {
			return nil, refuse("more than %d entries (line %d): a watch list is at most %d accounts", schemas.MaxWatchEntries, line, schemas.MaxWatchEntries)
		}
		acct, err := strconv.ParseInt(strings.TrimSpace(rec[0]), 10, 32)
		if err != nil || acct <= 0 {
			return nil, refuse("line %d: acct_id %.20q is not a positive integer", line, rec[0])
		}
		e := Entry{AcctID: int32(acct), Label: strings.TrimSpace(rec[1])}
		if len(rec) == 3 {
			e.Note = strings.TrimSpace(rec[2])
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, refuse("line %d is longer than %d bytes: a label is at most %d bytes and a note %d", line+1, maxEntryLine,
				schemas.MaxWatchLabel, schemas.MaxWatchNote)
		}
		return nil, fmt.Errorf("read the watch list: %w", err)
	}
	if err := CheckEntries(out); err != nil {
		return nil, err
	}
	return out, nil
}
