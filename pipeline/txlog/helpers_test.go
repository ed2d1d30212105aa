package txlog_test

import (
	"testing"

	"archtics/pipeline/txlog"
	"archtics/pipeline/txlog/txlogtest"
	"archtics/storage"
)

var (
	testLogger = txlogtest.Logger
	ownedRTX   = txlogtest.OwnedTable
	tablesOf   = txlogtest.TablesOf
	ts         = txlogtest.TS
	fakeEntry  = txlogtest.FakeEntry
	mustCommit = txlogtest.MustCommit
	sameState  = txlogtest.SameState
	replayAll  = txlogtest.ReplayAll
)

func fileLog(t testing.TB, dir string) *txlog.Log {
	return txlog.New(txlogtest.FileStore(t, dir), testLogger)
}

// forEachBackend runs f as a subtest per backend on a fresh log.
func forEachBackend(t *testing.T, f func(t *testing.T, w *txlog.Log)) {
	txlogtest.ForEachBackend(t, "txlog", func(t *testing.T, st storage.Store) { f(t, txlog.New(st, testLogger)) })
}

func putFake(t testing.TB, w *txlog.Log, es ...txlog.FileEntry) []txlog.FileEntry {
	t.Helper()
	return txlogtest.PutFake(t, w.Store, es...)
}
