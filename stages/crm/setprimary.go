package crm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"archtics/pipeline"
	"archtics/pipeline/txlog"
	"archtics/pipeline/views"
	"archtics/schemas"
	"archtics/stages/dedup"
)

// ErrNoDedup is wrapped when a command needs a dedup run first.
var ErrNoDedup = errors.New("the warehouse has no CRM deduplication yet (no commit on the crm stream)")

// ErrRefused is wrapped when the engine refuses a set-primary (an
// unknown contact, an account not mapped to it): nothing was committed.
var ErrRefused = errors.New("refused")

// SetPrimaryOptions say who changes a primary.
type SetPrimaryOptions struct {
	Actor    string // default $USER, else "unknown"
	CacheDir string
	Logger   *slog.Logger
}

// SetPrimaryReport says what a set-primary did.
type SetPrimaryReport struct {
	Commit    *txlog.Commit // nil when Unchanged
	Unchanged bool          // the account was the contact's primary already
	From      *dedup.AccountRef
	Mapping   []mappingVersion // the mapping rows written (the new primary, the demoted one)
}

// SetPrimary makes acct, already mapped to contactID, the contact's
// primary account (Engine.SetPrimary) and commits the changed mapping
// rows and contact in one commit on the crm stream, each mapping row with
// who and when, so crm.mapping_history shows from and to. Ticketing data
// is not touched. Another crm commit meanwhile fails it with
// txlog.ErrCommitConflict.
func SetPrimary(ctx context.Context, w *pipeline.Warehouse, contactID string, acct dedup.AccountRef, opts SetPrimaryOptions) (*SetPrimaryReport, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	what := fmt.Sprintf("set-primary of contact %s to %s:%d", contactID, acct.Team, acct.AcctID)
	head, err := committedHead(ctx, w, what)
	if err != nil {
		return nil, err
	}
	cacheDir, done, err := cacheFolder(opts.CacheDir, what)
	if err != nil {
		return nil, err
	}
	defer done()
	d, err := views.OpenViews(ctx, w.At(txlog.AsOf{Stream: Stream, Seq: head.Seq}).Log, "", cacheDir, crmViews...)
	if err != nil {
		return nil, fmt.Errorf("%s: open the crm tables: %w", what, err)
	}
	defer d.Close()
	prev, err := readState(ctx, d.DB, "")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	rep := &SetPrimaryReport{}
	for _, c := range prev.Contacts {
		if c.ID == contactID && c.Primary != nil {
			p := *c.Primary
			rep.From = &p
		}
	}
	runAt := now(w)
	state, prevMaps := prev.engineState()
	eng, err := dedup.New(dedup.Config{Now: func() time.Time { return runAt }}, state)
	if err != nil {
		return nil, fmt.Errorf("%s: the CRM state: %w", what, err)
	}
	eng.TrackChanges()
	if _, err := eng.SetPrimary(contactID, acct); err != nil {
		return nil, fmt.Errorf("%s: %w: %w (see crm.archtics_mapping for the accounts mapped to the contact)", what, ErrRefused, err)
	}
	ch := changesOf(eng, newIDs(prev, eng, 0), prev, prevMaps, nil, runAt)
	rep.Mapping = ch.mappingVersions()
	if len(ch.mapping) == 0 && len(ch.contacts) == 0 {
		rep.Unchanged = true
		logger.Info("set-primary: the account is the contact's primary already: nothing to do", "contact", contactID, "team", acct.Team, "acct_id", acct.AcctID)
		return rep, nil
	}
	seq := head.Seq + 1
	sum := sha256.Sum256([]byte(fmt.Sprintf("%d\x00%s\x00%s\x00%d", head.Seq, contactID, acct.Team, acct.AcctID)))
	req := txlog.CommitRequest{
		Stream:    Stream,
		Stage:     "dedup-set-primary",
		BatchID:   "set-primary-" + hex.EncodeToString(sum[:12]),
		ExpectSeq: seq,
		Summary:   map[string]int64{"mapping_rows": int64(len(ch.mapping)), "contacts_updated": ch.updated, "acct_id": int64(acct.AcctID)},
	}
	who := actor(opts.Actor)
	c, err := w.WriteAndCommit(ctx, req, func(add func(t *schemas.Table) *pipeline.TableWriter) error {
		return writeChanges(ctx, add, nil, ch, seq, who, runAt, false)
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	rep.Commit = c
	logger.Info("set-primary: committed", "seq", c.Seq, "contact", contactID, "team", acct.Team, "acct_id", strconv.Itoa(int(acct.AcctID)), "by", who)
	return rep, nil
}
