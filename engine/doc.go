// Package engine answers decisions: it holds each workspace's newest
// policy.Snapshot behind an atomic pointer, swaps it when admin publishes
// a committed change, lets readers wait for a revision (D8), and counts
// allowed decisions per (permission, role) for the usage report (U1),
// flushing the counts in the background.
//
// The check path takes no lock and allocates nothing: a read of an
// immutable map, an atomic load, the snapshot's check and an atomic add.
//
// engine imports policy and admin (for the usage record type); it never
// touches a database itself.
package engine
