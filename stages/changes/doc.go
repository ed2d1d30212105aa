// Package changes pulls, from the Archtics change API (simulator/server.go),
// every version of a team's table changed since a watermark, and finds the
// deletions and account merges Archtics makes without a change record. It
// writes nothing: callers store what it streams and commit the watermark.
//
// # Nothing lost at the boundary: the overlap method
//
// A pull asks for the versions with update time >= W − Overlap, where W is
// the watermark (the as_of instant of the previous successful pull, or the
// dump's cutoff), follows next_cursor through every page of the one
// snapshot the first page pinned, and returns that snapshot's as_of as the
// next watermark. The caller deduplicates by (key, update instant) against
// what it already holds, and keeps per key the version with the newest
// update instant (Clone semantics, see Version).
//
// Why it loses nothing. Let A be the as_of of the previous pull. It served
// every version committed at or before A with update time >= its since
// (the server's contract), so a version it missed was committed after A or
// updated before its since. The second kind was seen by an earlier pull
// (induction down to the dump, which holds every version committed before
// the cutoff). For the first kind, commit − update <= L, the longest a
// version can take to commit after its update time; so its update time is
// > A − L, and the next pull, whose since is A − Overlap, serves it as soon
// as Overlap >= L. Rows that share one timestamp, with each other or with
// the watermark, are all served because since is inclusive and the server
// pages by (update time, key) inside one snapshot, not by update time
// alone (airbytehq/airbyte#10782, #14732); the watermark is the snapshot's
// as_of, never MAX(update time) read in another snapshot (#85918).
//
// Why it doubles nothing. The overlap re-serves versions already held; a
// version is identified by (key, update instant) because Archtics update
// times strictly increase per key. A crash between pages leaves some pages
// stored but the watermark unmoved: the rerun from the same watermark
// re-serves them and the same identity drops them.
//
// Assumptions: (1) commit − update <= Overlap for every version; (2) per
// key, update times strictly increase and commits never go backwards (a
// row lock); (3) the server's clock does not go backwards between pulls.
//
// The default Overlap is 10 minutes. The simulator's latest commits are
// long transactions committing 2–240 s after their update time
// (generate_ticket.go, generate.go "Versions and the cutoff"; the versions
// straddling the cutoff are at most 11 s before it and 30 s after), and
// as_of has second resolution, so 241 s is the least safe overlap; 600 s is
// 2.5 times that. A real deployment should set it to its longest expected
// Archtics transaction plus its clock skew to the ATS host, and leave
// generous margin: the cost of a larger overlap is re-reading (and
// discarding) that many minutes of changes per pull, not correctness.
//
// # Time
//
// Rows carry Archtics local wall clock (the client's zone); watermarks and
// as_of are instants. A wall-clock time in the hour a fall-back repeats
// names two instants. The pull resolves each row's update time to its
// instant exactly: the stream is ordered by update instant, so the candidate
// earlier than the stream's lower bound (since, or the previous row's
// instant) is impossible, and a candidate after as_of too; when both remain
// possible it asks the server once per such second (changes since the
// later candidate: the row is there if and only if it is the later one).
// This costs a request per distinct ambiguous second in a pull whose
// window starts before it, once a year. It assumes one key never has two
// versions whose wall clocks read the same second in both passes of the
// repeated hour (exactly 3600 s apart): both would take the later
// instant. A time the zone skips is an error.
//
// # Deletions and merges
//
// Archtics deletes rows and merges accounts with no change record. Sweep
// compares the keys a table holds now (the API's keys, paged, sorted) with
// the keys the clone holds, in one merge pass of two sorted streams, and
// reports each vanished key as a Deletion. Merges derives (loser → winner)
// from the sweep of cust: an account all of whose held cust keys vanished
// was merged away or deleted; the clone's ticket and tex rows naming it are
// looked up, and where they now name another account, that account is the
// winner (Archtics moves every reference to the winner without changing
// the update time, so the looked-up rows are also the new content).
package changes
