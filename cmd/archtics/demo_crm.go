package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"archtics/pipeline"
	"archtics/pipeline/views"
	"archtics/simulator"
	"archtics/stages/crm"
)

// The demo's CRM deduplication, as the seed tells it: right after the
// dump is loaded, the accounts of every team database are deduplicated
// into the client's pre-existing CRM (the dump's crm/ files), the account
// types the simulated client excludes left out; every pre-existing
// contact's primary account is compared with the simulator's CRM truth.
// Then, after each simulated day of incrementals, only the new and
// changed accounts are deduplicated again, and at the end the report says
// why the CRM has fewer contacts than Archtics has accounts.

// errCRMNotTruth says the demo's CRM differs from the simulator's truth.
var errCRMNotTruth = errors.New("the CRM differs from the simulator's CRM truth")

// crmStep is the initial load's deduplication.
func (d *demoClone) crmStep(dumpDir string) pipeline.Step {
	return pipeline.Step{Name: "crm dedup", Run: func(ctx context.Context) (string, error) {
		if d.world == nil {
			if err := d.start(); err != nil {
				return "", err
			}
		}
		start := time.Now()
		rep, err := crm.Dedup(ctx, d.w, crm.Options{
			CRMDir: filepath.Join(dumpDir, "crm"), CRMLocation: d.world.Location(),
			ExcludeAcctTypes: simulator.CRMExcludedAcctTypes, SetExclude: true,
			Actor: "demo", CacheDir: d.cache, Logger: d.logger,
		})
		if err != nil {
			return "", err
		}
		if rep.Unchanged {
			fmt.Fprintf(d.out, "3. CRM dedup: already done for this clone state, nothing to do\n")
			return "unchanged", nil
		}
		if rep.FirstRun {
			if err := d.checkCRMTruth(ctx); err != nil {
				return "", err
			}
		}
		var accounts, excluded int64
		for _, t := range rep.Teams {
			accounts += t.Accounts
			excluded += t.Excluded
		}
		fmt.Fprintf(d.out, "3. CRM dedup of the initial load: %d accounts (%d of excluded types %s) into %d pre-existing CRM contacts: %d contacts created, %d updated, in %s; every pre-existing contact's primary account equals the CRM truth\n",
			accounts, excluded, strings.Join(rep.Excluded, ", "), rep.CRMContacts, rep.ContactsInserted, rep.ContactsUpdated, time.Since(start).Round(time.Millisecond))
		// Who is who, as the simulator knows it (archtics dedup evaluate).
		truth := filepath.Join(dumpDir, "groundtruth", "duplicate_clusters.csv")
		q, err := crm.Evaluate(ctx, d.w, truth, d.cache)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(d.out, "   against the simulator's people (archtics dedup evaluate --truth %s): pairs of accounts of one person %d, joined %d, wrongly joined %d: precision %.3f, recall %.3f with KORE's rules (rule 1 joins people who share an email); --rules evidence does better, see docs/crm.md\n",
			truth, q.TruePairs, q.TruePositives, q.FalsePositives, q.Precision, q.Recall)
		return fmt.Sprintf("%d accounts", accounts), nil
	}}
}

// crmDaily deduplicates what a simulated day of incrementals changed.
func (d *demoClone) crmDaily(ctx context.Context) (string, error) {
	rep, err := crm.Dedup(ctx, d.w, crm.Options{Actor: "demo", CacheDir: d.cache, Logger: d.logger})
	if err != nil {
		return "", err
	}
	if rep.Unchanged {
		return "", nil
	}
	var fed int64
	for _, t := range rep.Teams {
		fed += t.Fed
	}
	return fmt.Sprintf("dedup of %d new and changed accounts: %d contacts created, %d updated", fed, rep.ContactsInserted, rep.ContactsUpdated), nil
}

// crmSummary prints the report's plain-words answer.
func (d *demoClone) crmSummary(ctx context.Context) error {
	s, err := crm.Report(ctx, d.w, d.cache)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "7. CRM (archtics dedup report):\n   %s\n", strings.ReplaceAll(s.Why, "\n", "\n   "))
	return nil
}

// checkCRMTruth compares every pre-existing contact's primary account
// after the initial load with the simulator's CRM truth.
func (d *demoClone) checkCRMTruth(ctx context.Context) error {
	db, err := views.OpenDuckDB(ctx, "", d.w.Log, d.cache)
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT contact_id, coalesce(primary_team, ''), coalesce(CAST(primary_acct_id AS VARCHAR), '')
FROM crm.contact WHERE source = 'crm'`)
	if err != nil {
		return fmt.Errorf("read crm.contact: %w", err)
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var id, team, acct string
		if err := rows.Scan(&id, &team, &acct); err != nil {
			return err
		}
		got[id] = team + ":" + acct
	}
	if err := rows.Err(); err != nil {
		return err
	}
	truth, _ := d.world.CRMTruth()
	var diffs []string
	for _, c := range truth {
		want := ":"
		if c.Primary != nil {
			want = c.Primary.Team + ":" + strconv.Itoa(int(c.Primary.AcctID))
		}
		if g, ok := got[c.ContactID]; !ok || g != want {
			diffs = append(diffs, fmt.Sprintf("%s: primary %q, truth %q", c.ContactID, g, want))
		}
	}
	if len(diffs) > 0 {
		if len(diffs) > 5 {
			diffs = append(diffs[:5], fmt.Sprintf("... %d more", len(diffs)-5))
		}
		return fmt.Errorf("%w (%d contacts):\n  %s", errCRMNotTruth, len(truth), strings.Join(diffs, "\n  "))
	}
	return nil
}
