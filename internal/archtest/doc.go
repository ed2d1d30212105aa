// Package archtest holds the architecture test: the import arrows the
// module forbids (the product depending on the simulator, the simulator
// on the product, the commit log on DuckDB or the AWS SDK), checked with
// go list on every go test run. The rules are a table in
// archtest_test.go; the package has no code of its own.
package archtest
