package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"archtics/stages/crm"
)

func crmCommand() *cli.Command {
	return &cli.Command{
		Name:  "crm",
		Usage: "the CRM the deduplication keeps (crm.*): export the contact changes to push to a CRM",
		Subcommands: []*cli.Command{
			{
				Name:  "export",
				Usage: "write the contacts inserted or updated since a crm commit, as a CRM's import file (csv or jsonl)",
				Description: `export writes one row per contact that a dedup run or a set-primary inserted or
updated after crm commit --since (0: every change), with the contact's latest state,
in contact_id order. The columns are named as a CRM's contact import file names them:

   Id                  the CRM's contact id, for an update of a contact the CRM had; empty for an insert
   External Id         the warehouse's contact_id: the key to upsert on
   FirstName, LastName, Email, Phone
   MailingStreet       street lines, joined by a line break
   MailingCity, MailingState, MailingPostalCode
   AccountId           the CRM account (company or household) the contact belongs to
   Archtics Team, Archtics Account Id   the contact's primary Archtics account
   Operation           Insert (created since --since) or Update
   Changed Fields      the crm.contact fields changed since --since
   Last Changed Seq    the crm commit of its latest change: pass the highest as the next --since

--format csv writes RFC 4180 CSV with a header line; jsonl one JSON object per line
with the same keys, in the same order. The changes are crm.contact_changes: query
them with archtics query "SELECT * FROM crm.contact_changes WHERE seq > N".`,
				Flags: []cli.Flag{
					&cli.Int64Flag{Name: "since", Usage: "export the changes of crm commits after this one (0: all)", Required: true},
					&cli.StringFlag{Name: "format", Value: "csv", Usage: "csv or jsonl"},
					&cli.StringFlag{Name: "out", Usage: "write to this `FILE` (replaced whole when done) instead of standard output"},
					&cli.StringFlag{Name: "cache", Usage: "local cache of committed files and their verify stamps (default: the user cache folder)", EnvVars: []string{"ARCHTICS_CACHE"}},
				},
				Action: func(c *cli.Context) error {
					if c.NArg() > 0 {
						return cli.Exit(fmt.Sprintf("crm export takes no arguments, got %q (see --help)", c.Args().First()), exitUsage)
					}
					format := c.String("format")
					if format != "csv" && format != "jsonl" {
						return cli.Exit(fmt.Sprintf("--format %q: want csv or jsonl", format), exitUsage)
					}
					if c.Int64("since") < 0 {
						return cli.Exit(fmt.Sprintf("--since %d: want a crm commit number (0: every change)", c.Int64("since")), exitUsage)
					}
					w, err := openExistingWarehouse(c)
					if err != nil {
						return err
					}
					return writeOut(c.String("out"), func(out io.Writer) error {
						rep, err := crm.Export(c.Context, w, c.Int64("since"), format, out, cacheDir(c, w))
						if err != nil {
							return dedupError(err)
						}
						fmt.Fprintf(os.Stderr, "crm export: %d contacts (%d inserts, %d updates) changed after crm commit %d, up to %d\n",
							rep.Rows, rep.Inserts, rep.Updates, rep.Since, rep.Head)
						return nil
					})
				},
			},
		},
	}
}

// writeOut runs write on standard output, or on a temporary file renamed
// over path once write succeeded, so a failed or stopped export never
// leaves half a file where the import tool looks.
func writeOut(path string, write func(io.Writer) error) error {
	if path == "" || path == "-" {
		bw := bufio.NewWriter(os.Stdout)
		if err := write(bw); err != nil {
			return err
		}
		return bw.Flush()
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("--out %s: %w (check the folder exists and is writable)", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--out %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("--out %s: %w", path, err)
	}
	return nil
}
