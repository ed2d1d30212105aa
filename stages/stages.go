// Package stages holds the pipeline's stages, one package each: plain
// functions over a context, typed inputs and the warehouse, each
// idempotent for its logical batch and each ending in exactly one commit.
// The pipeline package composes them; the command line runs them one at a
// time or end to end.
//
//   - clone: the dump load, the incremental (change pull, key sweep,
//     merges), compaction, the clone's time zone and its diff with a dump.
//   - changes: the lossless pull of the change API.
//   - realtime: the admin's criteria, the three-minute ticks, expiry.
//   - crm and dedup: CRM deduplication and its matcher.
package stages
