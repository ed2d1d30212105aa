package crm

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"archtics/pipeline"
	"archtics/schemas"
	"archtics/stages/dedup"
)

// The probabilistic rule set matches with a model fitted on the client's
// own accounts. Each settings version under it has one model, fitted by
// the run that commits the version and committed with it to
// crm.match_model; later runs read it back, so an incremental run matches
// with the model the full run did, and the weights that decided a mapping
// can always be explained from a committed model.

// accountFilter says which accounts a run leaves out of matching: those
// of an excluded type, and those Archtics merged away (they follow their
// winner instead).
type accountFilter struct {
	loser    map[dedup.AccountRef]bool
	excluded func(acctType string) bool
}

func newAccountFilter(s settings, merges []merge) accountFilter {
	loser := make(map[dedup.AccountRef]bool, len(merges))
	for _, m := range merges {
		loser[m.Loser] = true
	}
	excludedSet := s.excludedSet()
	byType := map[string]bool{} // by acct_type_desc as the clone has it: a few types among a million accounts
	return accountFilter{loser: loser, excluded: func(acctType string) bool {
		x, ok := byType[acctType]
		if !ok {
			x = excludedSet[strings.ToLower(strings.TrimSpace(acctType))]
			byType[strings.Clone(acctType)] = x
		}
		return x
	}}
}

// fittedModel is a model this run fitted.
type fittedModel struct {
	model    *dedup.Model
	accounts int64
	json     string
}

// fitModel reads the sorted accounts once and fits the model on those
// the engine will be fed or told about: neither excluded nor merged away.
func fitModel(ctx context.Context, accountsFile string, f accountFilter) (*fittedModel, error) {
	fitter := dedup.NewModelFitter()
	var n int64
	err := eachAccount(ctx, accountsFile, func(int64) {}, func(*cloneAccount) {}, func(a *cloneAccount) error {
		if f.excluded(a.AcctType) || f.loser[a.AccountRef] {
			return nil
		}
		fitter.Add(&a.Account)
		n++
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("fit the probabilistic model: %w", err)
	}
	m, err := fitter.Fit()
	if err != nil {
		return nil, fmt.Errorf("fit the probabilistic model on %d accounts: %w", n, err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode the probabilistic model: %w", err)
	}
	return &fittedModel{model: m, accounts: n, json: string(b)}, nil
}

// givenModel is a model the caller gives (Options.Model), checked, to
// commit as this run's.
func givenModel(m *dedup.Model) (*fittedModel, error) {
	if err := m.Check(); err != nil {
		return nil, fmt.Errorf("the given model: %w", err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode the given model: %w", err)
	}
	return &fittedModel{model: m, accounts: m.Accounts, json: string(b)}, nil
}

// readModel reads the model committed with settings version v; nil when
// there is none.
func readModel(ctx context.Context, db *sql.DB, v int64) (*dedup.Model, error) {
	var text string
	err := db.QueryRowContext(ctx, `SELECT model FROM crm.match_model WHERE version = ?`, v).Scan(&text)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read crm.match_model: %w", err)
	}
	var m dedup.Model
	err = json.Unmarshal([]byte(text), &m)
	if err == nil {
		err = m.Check()
	}
	if err != nil {
		return nil, fmt.Errorf("crm.match_model of settings version %d is not a model this release can match with (%v): run archtics dedup --refit-model to fit one on the clones as they are", v, err)
	}
	return &m, nil
}

// writeModel writes the fitted model as settings version v's.
func writeModel(ctx context.Context, add func(*schemas.Table) *pipeline.TableWriter, fit *fittedModel, v, seq int64, at time.Time) error {
	row := []string{strconv.FormatInt(v, 10), instant(at), strconv.FormatInt(fit.accounts, 10),
		strconv.FormatFloat(fit.model.Threshold, 'g', -1, 64), fit.json, strconv.FormatInt(seq, 10)}
	return writeRows(ctx, add(schemas.CRMMatchModel), [][]string{row})
}

// appendWeights appends the crm.match_weights row of a mapping the model
// decided.
func appendWeights(w *rowWriter, seq int64, m *mappingVersion) error {
	x := m.Weights
	w.int64(seq)
	w.str(m.Account.Team)
	w.int32(m.Account.AcctID, true)
	w.str(m.ContactID)
	for _, f := range []float64{x.Total, x.First, x.Last, x.Birth, x.Address, x.Postal, x.Email, x.Phone} {
		w.float64(f)
	}
	return w.end()
}
