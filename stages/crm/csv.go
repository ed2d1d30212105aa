package crm

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"archtics/internal/textenc"
	"archtics/stages/dedup"
)

// The client's CRM before the first run, as CSV files in one folder (the
// simulator's crm/ writes them so): RFC 4180 CSV, UTF-8, a header line
// naming the columns (any order; every column below must be there, no
// other), then one row per record.
//
//	contacts.csv  contact_id, first_name, last_name, email, phone, account_id,
//	              mailing_street, mailing_city, mailing_state, mailing_postal_code,
//	              created_at, updated_at; optional mailing_street2
//	accounts.csv  account_id, name, type (Company or Household), billing_city,
//	              billing_state, created_at
//
// contact_id and account_id are required and unique in their file; times
// are "YYYY-MM-DD HH:MM:SS" in the CRM's time zone (Options.CRMLocation)
// or RFC 3339 with a zone; the other fields may be empty.
const (
	ContactsFile = "contacts.csv"
	AccountsFile = "accounts.csv"
)

var (
	contactColumns  = []string{"contact_id", "first_name", "last_name", "email", "phone", "account_id", "mailing_street", "mailing_city", "mailing_state", "mailing_postal_code", "created_at", "updated_at"}
	contactOptional = []string{"mailing_street2"}
	accountColumns  = []string{"account_id", "name", "type", "billing_city", "billing_state", "created_at"}
)

// fieldWidths are the widths of the crm tables' columns the CSV columns
// land in: a longer value is rejected with its field.
var fieldWidths = map[string]int{
	"contact_id": 40, "first_name": 100, "last_name": 250, "email": 300, "phone": 40, "account_id": 40,
	"mailing_street": 250, "mailing_street2": 250, "mailing_city": 100, "mailing_state": 20, "mailing_postal_code": 20,
	"name": 250, "type": 20, "billing_city": 100, "billing_state": 20, "created_at": 40, "updated_at": 40,
}

// CSVError is a row of the CRM's files that could not be read: the file,
// the line (1-based, the header is line 1), the field ("" for the whole
// line) and why.
type CSVError struct {
	File   string
	Line   int64
	Field  string
	Reason string
	Raw    string
}

func (e *CSVError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s line %d: %s", e.File, e.Line, e.Reason)
	}
	return fmt.Sprintf("%s line %d field %s: %s", e.File, e.Line, e.Field, e.Reason)
}

// loadedCRM is the pre-existing CRM as read from its files.
type loadedCRM struct {
	Contacts []dedup.Contact
	Accounts []dedup.CRMAccount
	Rejects  []*CSVError
	// Repairs are the fields that were not UTF-8, loaded read as
	// Windows-1252 (Raw holds the row as read, bytes escaped \xNN).
	Repairs []*CSVError
	RowsIn  int64
}

// readCRMDir reads contacts.csv and accounts.csv of dir. A file that does
// not parse as CSV (an unterminated quote, a bad header) fails at once; a
// row that parses but does not convert (a wrong number of fields, a bad
// time, a duplicate or empty id) is rejected, and more than maxRejects
// rejects fail the load with the first one's file, line and field.
func readCRMDir(ctx context.Context, dir string, loc *time.Location, maxRejects int) (*loadedCRM, error) {
	if loc == nil {
		loc = time.UTC
	}
	out := &loadedCRM{}
	fail := func() error {
		if len(out.Rejects) > maxRejects {
			first := out.Rejects[0]
			more := ""
			if n := len(out.Rejects); n > 1 {
				more = fmt.Sprintf(" (and %d more rejected rows)", n-1)
			}
			return fmt.Errorf("%w%s: fix the CRM files, or pass --max-rejects N to load the rest and keep the rejected rows in crm.rejects", first, more)
		}
		return nil
	}
	seenAcct := map[string]bool{}
	err := readCSV(ctx, filepath.Join(dir, AccountsFile), accountColumns, nil, func(line int64, get func(string) string, raw string) *CSVError {
		a := dedup.CRMAccount{ID: strings.TrimSpace(get("account_id")), Name: get("name"), Type: get("type"),
			City: get("billing_city"), State: get("billing_state"), Source: SourceCRM}
		if e := checkID(a.ID, "account_id", seenAcct); e != "" {
			return &CSVError{Field: "account_id", Reason: e}
		}
		if a.Type != "Company" && a.Type != "Household" && a.Type != "" {
			return &CSVError{Field: "type", Reason: fmt.Sprintf("%q is not Company or Household", a.Type)}
		}
		var err error
		if a.Created, err = parseCRMTime(get("created_at"), loc); err != nil {
			return &CSVError{Field: "created_at", Reason: err.Error()}
		}
		seenAcct[a.ID] = true
		out.Accounts = append(out.Accounts, a)
		return nil
	}, &out.Rejects, &out.Repairs)
	if err != nil {
		return nil, err
	}
	if err := fail(); err != nil {
		return nil, err
	}
	seenContact := map[string]bool{}
	err = readCSV(ctx, filepath.Join(dir, ContactsFile), contactColumns, contactOptional, func(line int64, get func(string) string, raw string) *CSVError {
		c := dedup.Contact{ID: strings.TrimSpace(get("contact_id")), First: get("first_name"), Last: get("last_name"),
			Email: get("email"), Phone: get("phone"), AccountID: strings.TrimSpace(get("account_id")),
			Street: get("mailing_street"), Street2: get("mailing_street2"), City: get("mailing_city"),
			State: get("mailing_state"), PostalCode: get("mailing_postal_code"), Source: SourceCRM}
		if e := checkID(c.ID, "contact_id", seenContact); e != "" {
			return &CSVError{Field: "contact_id", Reason: e}
		}
		var err error
		if c.Created, err = parseCRMTime(get("created_at"), loc); err != nil {
			return &CSVError{Field: "created_at", Reason: err.Error()}
		}
		if c.Updated, err = parseCRMTime(get("updated_at"), loc); err != nil {
			return &CSVError{Field: "updated_at", Reason: err.Error()}
		}
		seenContact[c.ID] = true
		out.Contacts = append(out.Contacts, c)
		return nil
	}, &out.Rejects, &out.Repairs)
	if err != nil {
		return nil, err
	}
	out.RowsIn = int64(len(out.Contacts) + len(out.Accounts) + len(out.Rejects))
	return out, fail()
}

func checkID(id, field string, seen map[string]bool) string {
	switch {
	case id == "":
		return "empty: every row needs its " + field
	case len(id) > 40:
		return fmt.Sprintf("%q is longer than 40 characters", id)
	case seen[id]:
		return fmt.Sprintf("%q appears twice in the file", id)
	}
	return ""
}

// crmTimeLayouts are the accepted spellings of a CRM time: a wall clock
// in the CRM's zone, or an instant.
var crmTimeLayouts = []string{"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02"}

// parseCRMTime reads a CRM time; empty is the zero time.
func parseCRMTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range crmTimeLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (want YYYY-MM-DD HH:MM:SS in the CRM's zone, or RFC 3339 with a zone)", truncate(s, 60))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// readCSV reads path's header (it must name every column of want, any of
// optional, nothing else) and calls row for each record with a getter by
// column name. A record with the wrong number of fields, or one row
// refuses, is added to rejects with its file and line. A field that is not
// UTF-8 is read as Windows-1252 and added to repairs: no text the stage
// stores may be invalid UTF-8, and raw rows are kept with such bytes
// escaped \xNN.
func readCSV(ctx context.Context, path string, want, optional []string, row func(line int64, get func(string) string, raw string) *CSVError, rejects, repairs *[]*CSVError) error {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("CRM file %s: not found (--crm names a folder holding %s and %s)", path, ContactsFile, AccountsFile)
		}
		return fmt.Errorf("CRM file %s: %w", path, err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1 // checked here, to reject the line rather than stop
	r.ReuseRecord = true
	header, err := r.Read()
	for i, h := range header {
		header[i] = textenc.Valid(h) // named in errors: keep them printable
	}
	if err == io.EOF {
		return &CSVError{File: path, Line: 1, Reason: "empty file: want a header line naming the columns " + strings.Join(want, ",")}
	}
	if err != nil {
		return csvParseError(path, err)
	}
	index := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if _, dup := index[h]; dup {
			return &CSVError{File: path, Line: 1, Field: h, Reason: "the header names the column twice"}
		}
		index[h] = i
	}
	for _, c := range want {
		if _, ok := index[c]; !ok {
			return &CSVError{File: path, Line: 1, Field: c, Reason: fmt.Sprintf("the header lacks column %s (want %s)", c, strings.Join(want, ","))}
		}
	}
	allowed := map[string]bool{}
	for _, c := range append(append([]string(nil), want...), optional...) {
		allowed[c] = true
	}
	for h := range index {
		if !allowed[h] {
			return &CSVError{File: path, Line: 1, Field: h, Reason: fmt.Sprintf("unknown column %q (want %s; optional %s)", h, strings.Join(want, ","), strings.Join(optional, ","))}
		}
	}
	width := len(header)
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return csvParseError(path, err)
		}
		line, _ := r.FieldPos(0)
		raw := textenc.Escape(strings.Join(rec, ","))
		for i, v := range rec {
			if fixed, ok := textenc.Repair(v); ok {
				rec[i] = fixed
				*repairs = append(*repairs, &CSVError{File: path, Line: int64(line), Field: columnAt(index, i),
					Reason: "not valid UTF-8: read as Windows-1252", Raw: raw})
			}
		}
		if len(rec) != width {
			*rejects = append(*rejects, &CSVError{File: path, Line: int64(line), Reason: fmt.Sprintf("has %d fields, the header %d", len(rec), width), Raw: raw})
			continue
		}
		for c, i := range index {
			if max := fieldWidths[c]; max > 0 && len(rec[i]) > max {
				*rejects = append(*rejects, &CSVError{File: path, Line: int64(line), Field: c,
					Reason: fmt.Sprintf("%d bytes, longer than the %d the CRM tables hold", len(rec[i]), max), Raw: raw})
				rec = nil
				break
			}
		}
		if rec == nil {
			continue
		}
		get := func(c string) string {
			if i, ok := index[c]; ok {
				return rec[i]
			}
			return ""
		}
		if e := row(int64(line), get, raw); e != nil {
			e.File, e.Line, e.Raw = path, int64(line), raw
			*rejects = append(*rejects, e)
		}
	}
}

// columnAt names the column at position i of the header.
func columnAt(index map[string]int, i int) string {
	for c, at := range index {
		if at == i {
			return c
		}
	}
	return ""
}

// csvParseError names the file and line of a CSV syntax error: the rest
// of the file cannot be split into rows, so it is fatal.
func csvParseError(path string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &CSVError{File: path, Line: int64(pe.StartLine), Reason: fmt.Sprintf("not CSV from here (line %d column %d: %v): a quote left open or a stray quote; fix the file", pe.Line, pe.Column, pe.Err)}
	}
	return fmt.Errorf("CRM file %s: %w", path, err)
}
