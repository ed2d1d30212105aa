// Package reliability is the suite that tries to break the product's
// first promise, "nothing lost, nothing doubled", the way a hostile
// operator and a broken source would: every stage that commits is run as
// a child process (the real binary) and SIGKILLed at seeded random points,
// run through an S3 endpoint that fails one request in ten, against a
// source that fails one call in five, by several writers at once, and with
// recognizable secrets whose every trace is then searched for. Each case is
// compared with an uninterrupted run of the same stage: the same committed
// rows per table (as multisets, through DuckDB), no duplicate keys in the
// current-state tables, and a clean verify.
//
// The package holds only tests (and this file); nothing imports it. Its
// short form runs in `make test`; `make reliability` runs the full form
// (ARCHTICS_RELIABILITY=full). See docs/reliability.md.
package reliability
