package crm

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"archtics/schemas"
	"archtics/stages/dedup"
)

// The committed CRM is read back as the clone's accounts are: DuckDB
// writes each query's result to a spool Parquet file, read one Arrow
// record batch at a time. database/sql's Scan, row by row, took 17 s of a
// later run at a million mapping rows and 900,000 contacts; DuckDB itself
// computes both views in 3.

const (
	contactsStateSQL = `SELECT contact_id, first_name, last_name, email, phone, account_id, street, street2,
  city, state, postal_code, source, primary_team, primary_acct_id, created, updated FROM crm.contact ORDER BY contact_id`
	accountsStateSQL = `SELECT account_id, name, type, city, state, source, created FROM crm.account ORDER BY account_id`
	mappingStateSQL  = `SELECT team, acct_id, contact_id, role, rule, sim_first, sim_last, sim_email, sim_company,
  sim_address, sim_postal, sim_phone, source_md5, first_matched FROM crm.archtics_mapping`
)

// readState reads the CRM the committed crm tables hold. spoolDir holds
// the spool files ("": a temporary folder, removed afterwards).
func readState(ctx context.Context, db *sql.DB, spoolDir string) (*crmState, error) {
	if spoolDir == "" {
		dir, err := os.MkdirTemp("", "archtics-crm-state-")
		if err != nil {
			return nil, fmt.Errorf("read the crm tables: spool folder: %w", err)
		}
		defer os.RemoveAll(dir)
		spoolDir = dir
	}
	st := &crmState{Mapping: map[dedup.AccountRef]*mappingRow{}}
	err := eachBatch(ctx, db, spoolDir, "crm.contact", contactsStateSQL, func(n int64) {
		st.Contacts = make([]dedup.Contact, 0, n)
	}, func(b *batchCols) error {
		id, first, last, email, phone, acct := b.str(0), b.str(1), b.str(2), b.str(3), b.str(4), b.str(5)
		street, street2, city, state, postal, source := b.str(6), b.str(7), b.str(8), b.str(9), b.str(10), b.str(11)
		pteam, pacct, created, updated := b.str(12), b.i32(13), b.ts(14), b.ts(15)
		if b.err != nil {
			return b.err
		}
		for i := range b.n {
			c := dedup.Contact{ID: id(i), First: first(i), Last: last(i), Email: email(i), Phone: phone(i),
				AccountID: acct(i), Street: street(i), Street2: street2(i), City: city(i), State: state(i),
				PostalCode: postal(i), Source: source(i), Created: created(i), Updated: updated(i)}
			if t := pteam(i); t != "" {
				if a, ok := pacct(i); ok {
					c.Primary = &dedup.AccountRef{Team: t, AcctID: a}
				}
			}
			st.Contacts = append(st.Contacts, c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = eachBatch(ctx, db, spoolDir, "crm.account", accountsStateSQL, func(n int64) {
		st.Accounts = make([]dedup.CRMAccount, 0, n)
	}, func(b *batchCols) error {
		id, name, typ, city, state, source, created := b.str(0), b.str(1), b.str(2), b.str(3), b.str(4), b.str(5), b.ts(6)
		if b.err != nil {
			return b.err
		}
		for i := range b.n {
			st.Accounts = append(st.Accounts, dedup.CRMAccount{ID: id(i), Name: name(i), Type: typ(i),
				City: city(i), State: state(i), Source: source(i), Created: created(i)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var rows []mappingRow // one allocation for all of them
	err = eachBatch(ctx, db, spoolDir, "crm.archtics_mapping", mappingStateSQL, func(n int64) {
		rows = make([]mappingRow, 0, n)
		st.Mapping = make(map[dedup.AccountRef]*mappingRow, n)
	}, func(b *batchCols) error {
		team, acct, contact, role, rule := b.str(0), b.i32(1), b.str(2), b.str(3), b.str(4)
		var sims [7]func(int) float64
		for k := range sims {
			sims[k] = b.score(5 + k)
		}
		md5, first := b.str(12), b.ts(13)
		if b.err != nil {
			return b.err
		}
		for i := range b.n {
			a, ok := acct(i)
			if !ok {
				return fmt.Errorf("read crm.archtics_mapping: a row without acct_id")
			}
			m := mappingRow{SourceMD5: md5(i), FirstMatched: first(i)}
			m.Account, m.ContactID, m.Role, m.Rule = dedup.AccountRef{Team: team(i), AcctID: a}, contact(i), dedup.Role(role(i)), rule(i)
			m.Scores = dedup.Scores{First: sims[0](i), Last: sims[1](i), Email: sims[2](i), Company: sims[3](i),
				Address: sims[4](i), Postal: sims[5](i), Phone: sims[6](i)}
			rows = append(rows, m)
			st.Mapping[m.Account] = &rows[len(rows)-1]
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// eachBatch runs query into a spool Parquet file, tells size its number
// of rows, then calls fn with each record batch. what names the table in
// errors.
func eachBatch(ctx context.Context, db *sql.DB, spoolDir, what, query string, size func(n int64), fn func(*batchCols) error) error {
	path := filepath.Join(spoolDir, "state.parquet")
	if _, err := db.ExecContext(ctx, "COPY ("+query+") TO "+schemas.QuoteString(path)+" (FORMAT parquet)"); err != nil {
		return fmt.Errorf("read %s: %w", what, err)
	}
	defer os.Remove(path)
	rr, rows, done, err := openSpool(ctx, path, what)
	if err != nil {
		return err
	}
	defer done()
	size(rows)
	for rr.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec := rr.RecordBatch()
		if err := fn(&batchCols{rec: rec, n: int(rec.NumRows()), what: what}); err != nil {
			return err
		}
	}
	if err := rr.Err(); err != nil {
		return fmt.Errorf("read %s from %s: %w", what, path, err)
	}
	return nil
}

// openSpool opens a Parquet file DuckDB wrote (what names its content in
// errors) for reading one Arrow record batch at a time: the reader, its
// number of rows, and a function that releases them.
func openSpool(ctx context.Context, path, what string) (pqarrow.RecordReader, int64, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("read %s: %w", what, err)
	}
	pf, err := file.NewParquetReader(f)
	if err != nil {
		f.Close()
		return nil, 0, nil, fmt.Errorf("read %s from DuckDB's output %s: %w", what, path, err)
	}
	fail := func(err error) (pqarrow.RecordReader, int64, func(), error) {
		pf.Close()
		f.Close()
		return nil, 0, nil, fmt.Errorf("read %s from %s: %w", what, path, err)
	}
	// Each batch's buffers are freed when the next is read (whoever keeps
	// a value copies it: batchCols.str), and go to the next batch.
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 16 * 1024}, &recycler{})
	if err != nil {
		return fail(err)
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return fail(err)
	}
	return rr, pf.NumRows(), func() { rr.Release(); pf.Close(); f.Close() }, nil
}

// batchCols reads a record batch's columns by type. The first column of
// an unexpected type sets err (and its reader returns zero values).
type batchCols struct {
	rec  arrow.RecordBatch
	n    int
	what string
	err  error
}

func (b *batchCols) fail(c int, want string) {
	if b.err == nil {
		b.err = fmt.Errorf("read %s: column %s is %s, want %s", b.what, b.rec.ColumnName(c), b.rec.Column(c).DataType(), want)
	}
}

// str reads a string column ("" for NULL). The batch's buffer is copied
// once into one string that the values slice: one allocation per column
// and batch, not per value.
func (b *batchCols) str(c int) func(int) string {
	var off []int32
	var off64 []int64
	var buf string
	col := b.rec.Column(c)
	switch s := col.(type) {
	case *array.String:
		off, buf = s.ValueOffsets(), string(s.ValueBytes())
	case *array.LargeString:
		off64, buf = s.ValueOffsets(), string(s.ValueBytes())
	default:
		b.fail(c, "a string")
		return func(int) string { return "" }
	}
	return func(i int) string {
		if col.IsNull(i) {
			return ""
		}
		if off != nil {
			return buf[off[i]-off[0] : off[i+1]-off[0]]
		}
		return buf[off64[i]-off64[0] : off64[i+1]-off64[0]]
	}
}

// i32 reads an int32 column; false for NULL.
func (b *batchCols) i32(c int) func(int) (int32, bool) {
	col, ok := b.rec.Column(c).(*array.Int32)
	if !ok {
		b.fail(c, "int32")
		return func(int) (int32, bool) { return 0, false }
	}
	return func(i int) (int32, bool) { return col.Value(i), col.IsValid(i) }
}

// score reads a similarity column: -1 for NULL (not compared).
func (b *batchCols) score(c int) func(int) float64 {
	col, ok := b.rec.Column(c).(*array.Float64)
	if !ok {
		b.fail(c, "float64")
		return func(int) float64 { return -1 }
	}
	return func(i int) float64 {
		if col.IsNull(i) {
			return -1
		}
		return col.Value(i)
	}
}

// ts reads a timestamp column, in UTC; the zero time for NULL.
func (b *batchCols) ts(c int) func(int) time.Time {
	col, ok := b.rec.Column(c).(*array.Timestamp)
	if !ok {
		b.fail(c, "a timestamp")
		return func(int) time.Time { return time.Time{} }
	}
	unit := col.DataType().(*arrow.TimestampType).Unit
	return func(i int) time.Time {
		if col.IsNull(i) {
			return time.Time{}
		}
		return col.Value(i).ToTime(unit).UTC()
	}
}
