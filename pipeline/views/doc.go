// Package views serves the warehouse to SQL: a verified local cache of
// the committed files (each checked against its commit's size and SHA-256
// before DuckDB reads it), the DuckDB views over that cache that schemas
// defines, the guard that keeps SQL from writing inside the warehouse, and
// the offline copy (Sync, OpenOffline). It is the only part of the
// warehouse that links DuckDB.
package views
