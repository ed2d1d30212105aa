package crm

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"archtics/pipeline"
	"archtics/pipeline/txlog"
	"archtics/pipeline/views"
	"archtics/schemas"
)

// ExportColumns are the columns of `archtics crm export`, named as a
// CRM's contact import file names them (Salesforce's Data Import Wizard
// and Data Loader map these by name; HubSpot and Dynamics map them once):
//
//	Id                   the CRM's contact id, for an update of a contact the CRM had (source crm); empty for an insert
//	External Id          our contact_id: the key to upsert on (A-<team>-<acct_id> for a contact dedup created)
//	FirstName, LastName, Email, Phone
//	MailingStreet        street lines joined by a line break
//	MailingCity, MailingState, MailingPostalCode
//	AccountId            the CRM account (company or household) id
//	Archtics Team, Archtics Account Id   the contact's primary Archtics account
//	Operation            Insert (the contact is new since --since) or Update
//	Changed Fields       the crm.contact fields changed since --since, comma-separated
//	Last Changed Seq     the crm commit of the contact's latest change: the next export's --since
var ExportColumns = []string{"Id", "External Id", "FirstName", "LastName", "Email", "Phone", "MailingStreet", "MailingCity",
	"MailingState", "MailingPostalCode", "AccountId", "Archtics Team", "Archtics Account Id", "Operation", "Changed Fields", "Last Changed Seq"}

// ExportReport says what an export wrote.
type ExportReport struct {
	Since, Head int64
	Rows        int64
	Inserts     int64
	Updates     int64
}

// Export writes to out the contacts inserted or updated by crm commits
// after since, one row per contact with its latest state, in contact_id
// order, as CSV (a header line, RFC 4180) or JSON Lines (one object per
// contact with ExportColumns as keys).
func Export(ctx context.Context, w *pipeline.Warehouse, since int64, format string, out io.Writer, cacheDir string) (*ExportReport, error) {
	if format != "csv" && format != "jsonl" {
		return nil, fmt.Errorf("crm export: format %q: want csv or jsonl", format)
	}
	if since < 0 {
		return nil, fmt.Errorf("crm export: --since %d: want a crm commit number, 0 for everything", since)
	}
	head, err := committedHead(ctx, w, "crm export")
	if err != nil {
		return nil, err
	}
	rep := &ExportReport{Since: since, Head: head.Seq}
	cacheDir, done, err := cacheFolder(cacheDir, "crm export")
	if err != nil {
		return nil, err
	}
	defer done()
	d, err := views.OpenViews(ctx, w.At(txlog.AsOf{Stream: Stream, Seq: head.Seq}).Log, "", cacheDir, schemas.CRMContactChanges)
	if err != nil {
		return nil, fmt.Errorf("crm export: open crm.contact_changes: %w", err)
	}
	defer d.Close()
	rows, err := d.QueryContext(ctx, `SELECT contact_id, seq, op, coalesce(first_name, ''), coalesce(last_name, ''), coalesce(email, ''),
  coalesce(phone, ''), coalesce(street, ''), coalesce(street2, ''), coalesce(city, ''), coalesce(state, ''),
  coalesce(postal_code, ''), coalesce(account_id, ''), source, coalesce(primary_team, ''),
  coalesce(CAST(primary_acct_id AS VARCHAR), ''), coalesce(changed_fields, '')
FROM crm.contact_changes WHERE seq > ? ORDER BY contact_id, seq`, since)
	if err != nil {
		return nil, fmt.Errorf("crm export: %w", err)
	}
	defer rows.Close()

	bw := bufio.NewWriter(out)
	var cw *csv.Writer
	if format == "csv" {
		cw = csv.NewWriter(bw)
		if err := cw.Write(ExportColumns); err != nil {
			return nil, fmt.Errorf("crm export: %w", err)
		}
	}
	emit := func(rec []string) error {
		if cw != nil {
			return cw.Write(rec)
		}
		// By hand, to keep ExportColumns' order (a map would sort the keys).
		var sb strings.Builder
		sb.WriteByte('{')
		for i, c := range ExportColumns {
			if i > 0 {
				sb.WriteByte(',')
			}
			k, _ := json.Marshal(c)
			v, _ := json.Marshal(rec[i])
			sb.Write(k)
			sb.WriteByte(':')
			sb.Write(v)
		}
		sb.WriteString("}\n")
		_, err := bw.WriteString(sb.String())
		return err
	}
	var pending []string
	var fields []string
	var inserted bool
	flush := func() error {
		if pending == nil {
			return nil
		}
		op := "Update"
		if inserted {
			op = "Insert"
			pending[0] = ""
			rep.Inserts++
		} else {
			rep.Updates++
		}
		pending[13], pending[14] = op, strings.Join(fields, ",")
		rep.Rows++
		err := emit(pending)
		pending, fields, inserted = nil, nil, false
		return err
	}
	for n := 0; rows.Next(); n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		var id, op, source, changed string
		var seq int64
		var f [13]string
		if err := rows.Scan(&id, &seq, &op, &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8], &f[9], &source, &f[10], &f[11], &changed); err != nil {
			return nil, fmt.Errorf("crm export: %w", err)
		}
		if pending != nil && pending[1] != id {
			if err := flush(); err != nil {
				return nil, fmt.Errorf("crm export: write: %w", err)
			}
		}
		if pending == nil {
			inserted = false
		}
		if op == schemas.CRMOpInsert {
			inserted = true
		}
		street := f[4]
		if f[5] != "" {
			street += "\n" + f[5]
		}
		crmID := ""
		if source == SourceCRM {
			crmID = id
		}
		pending = []string{crmID, id, f[0], f[1], f[2], f[3], street, f[6], f[7], f[8], f[9], f[10], f[11], "", "", strconv.FormatInt(seq, 10)}
		fields = mergeFields(fields, changed)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("crm export: %w", err)
	}
	if err := flush(); err != nil {
		return nil, fmt.Errorf("crm export: write: %w", err)
	}
	if cw != nil {
		cw.Flush()
		if err := cw.Error(); err != nil {
			return nil, fmt.Errorf("crm export: write: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("crm export: write: %w", err)
	}
	return rep, nil
}

// mergeFields adds the comma-separated names of more to fields, once each.
func mergeFields(fields []string, more string) []string {
	for _, f := range strings.Split(more, ",") {
		if f == "" {
			continue
		}
		found := false
		for _, g := range fields {
			found = found || g == f
		}
		if !found {
			fields = append(fields, f)
		}
	}
	return fields
}
