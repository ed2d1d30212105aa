// Package publishcmd is the program archtics-iceberg: it publishes a
// warehouse's tables as Apache Iceberg tables (package icebergcat) when
// archtics asks it to, after `archtics catalog iceberg` has checked the
// request and recorded the setting, and after every commit of a warehouse
// that publishes. It is a program of its own because the Iceberg library
// costs every process that links it a long start, and most archtics
// commands never publish.
//
// Its interface is archtics', not a user's: the warehouse comes in the
// environment (ARCHTICS_WAREHOUSE) and so does the SQL catalog's URI
// (ARCHTICS_ICEBERG_SQL_URI), so that neither shows in a process list.
package publishcmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"

	"archtics/icebergcat"
	"archtics/icebergcat/layout"
	"archtics/pipeline/txlog"
	"archtics/pipeline/views"
	"archtics/storage"
	"archtics/storage/backend"
)

// Exit codes, as archtics documents them.
const (
	ExitOK       = 0
	ExitUsage    = 2
	ExitConflict = 3
	ExitFailure  = 4
)

// Main runs `archtics-iceberg publish [flags]` with args (without the
// program's name) and returns the exit code. getenv reads the environment.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "publish" {
		fmt.Fprintln(stderr, "usage: archtics-iceberg publish [--tables schema.table,...] [--rebuild] [--sql-catalog-name NAME] [--quiet] [--log-format text|json] [--log-level LEVEL]\n(archtics runs this program: use `archtics catalog iceberg`)")
		return ExitUsage
	}
	fs := flag.NewFlagSet("archtics-iceberg publish", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tables := fs.String("tables", "", "publish only these tables (schema.table, comma-separated); default: every stored table")
	rebuild := fs.Bool("rebuild", false, "write every table's metadata afresh from the whole commit log")
	sqlName := fs.String("sql-catalog-name", "", "also point the JDBC catalog's rows (catalog_name NAME) of the database in "+layout.SQLURIEnv+" at the new metadata")
	quiet := fs.Bool("quiet", false, "print nothing but errors (publishing after a commit)")
	logFormat := fs.String("log-format", "text", "text or json")
	logLevel := fs.String("log-level", "warn", "debug, info, warn or error")
	if err := fs.Parse(args[1:]); err != nil {
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "archtics-iceberg publish takes no arguments, got %q\n", fs.Arg(0))
		return ExitUsage
	}
	logger, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		fmt.Fprintln(stderr, "archtics-iceberg:", err)
		return ExitUsage
	}
	location := getenv(layout.WarehouseEnv)
	if location == "" {
		fmt.Fprintf(stderr, "archtics-iceberg: no warehouse: %s is not set (archtics sets it)\n", layout.WarehouseEnv)
		return ExitUsage
	}
	store, err := backend.Open(ctx, location)
	if err != nil {
		fmt.Fprintf(stderr, "archtics-iceberg: open warehouse %s: %s\n", storage.Redact(location), storage.Redact(err.Error()))
		return ExitFailure
	}
	// The cache archtics' own commands use (ARCHTICS_CACHE, or the
	// default per warehouse), for the files DuckDB reads.
	cache := getenv("ARCHTICS_CACHE")
	if cache == "" {
		cache = views.DefaultCacheDir(store.URL())
	}
	opt := icebergcat.Options{Rebuild: *rebuild, CacheDir: cache, CurrentStateOut: views.CurrentStateOut}
	if *tables != "" {
		opt.Tables = strings.Split(*tables, ",")
	}
	if !*quiet {
		opt.Progress = func(r icebergcat.TableResult) {
			fmt.Fprintf(stderr, "%s: %d new snapshots, metadata v%d\n", r.Table, r.Snapshots, r.Version)
		}
	}
	if *sqlName != "" {
		uri := getenv(layout.SQLURIEnv)
		if uri == "" {
			fmt.Fprintf(stderr, "archtics-iceberg: --sql-catalog-name needs %s\n", layout.SQLURIEnv)
			return ExitUsage
		}
		p, err := icebergcat.OpenSQLPointer(ctx, uri, *sqlName)
		if err != nil {
			fmt.Fprintln(stderr, "archtics-iceberg:", storage.Redact(err.Error()))
			return ExitFailure
		}
		defer p.Close()
		opt.Pointer = p
	}
	res, err := icebergcat.Publish(ctx, txlog.New(store, logger), opt)
	if err != nil {
		fmt.Fprintf(stderr, "archtics: catalog iceberg %s: %s\n", storage.Redact(store.URL()), storage.Redact(err.Error()))
		if errors.Is(err, icebergcat.ErrConflict) {
			return ExitConflict
		}
		return ExitFailure
	}
	if !*quiet {
		printResults(stdout, stderr, res)
	}
	return ExitOK
}

// printResults lists each table's metadata file, what engines register.
func printResults(stdout, stderr io.Writer, res []icebergcat.TableResult) {
	sort.Slice(res, func(i, j int) bool { return res[i].Table < res[j].Table })
	added := 0
	for _, r := range res {
		added += r.Snapshots
		fmt.Fprintf(stdout, "%s\t%s\n", r.Table, r.MetadataLocation)
	}
	fmt.Fprintf(stderr, "published %d tables (%d new snapshots); register them: archtics catalog ddl --dialect trino|athena\n", len(res), added)
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}
