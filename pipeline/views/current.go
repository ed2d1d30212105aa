package views

import (
	"context"
	"database/sql"
	"fmt"

	"archtics/pipeline/txlog"
	"archtics/schemas"
)

// CurrentStateOut finds the rows of the files of source table src's
// current state (schemas.CurrentParts, as they are in st) that are not in
// the current state: an older version of a key, a version seen twice, a
// tombstone (schemas.CurrentDeletesSQL, the view's own ranking). It calls
// each with the row's team, its file's key and its position in the file,
// in that order. The Iceberg publisher writes them as position deletes.
func CurrentStateOut(ctx context.Context, w *txlog.Log, cacheDir string, st *txlog.State, src *schemas.Table, each func(team, key string, pos int64) error) error {
	parts := schemas.CurrentParts(src)
	local, err := MaterializeAt(ctx, w, cacheDir, st, parts...)
	if err != nil {
		return err
	}
	keyOf := map[string]string{}
	lists := make([][]string, len(parts))
	for i, p := range parts {
		lists[i] = local[p.FullName()]
		for j, e := range st.Files(p.FullName()) {
			keyOf[lists[i][j]] = e.Key
		}
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	defer db.Close()
	// The local paths share one folder, so their order is the keys'.
	rows, err := db.QueryContext(ctx, schemas.CurrentDeletesSQL(src, lists[0], lists[1], lists[2])+"\nORDER BY team, _file, _pos")
	if err != nil {
		return fmt.Errorf("the rows out of the current state of %s: %w", src.SQLName(), err)
	}
	defer rows.Close()
	for rows.Next() {
		var team, file string
		var pos int64
		if err := rows.Scan(&team, &file, &pos); err != nil {
			return err
		}
		key, ok := keyOf[file]
		if !ok {
			return fmt.Errorf("the rows out of the current state of %s: DuckDB named %s, which is not one of the files it was given", src.SQLName(), file)
		}
		if err := each(team, key, pos); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("the rows out of the current state of %s: %w", src.SQLName(), err)
	}
	return nil
}
