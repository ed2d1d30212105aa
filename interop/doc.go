// Package interop holds the test that reads archtics' published tables with
// readers we did not write: icebird (JavaScript, built on hyparquet) over the
// Iceberg metadata, and DuckDB's Node client over the exported DuckDB file,
// and compares every row with `archtics query`. The test is behind the
// interop build tag (it needs Node and the npm packages of package.json):
// run it with `make interop`; see docs/interop.md.
package interop
