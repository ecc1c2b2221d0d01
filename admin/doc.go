// Package admin is every operation a workspace admin performs, with the
// invariants of DESIGN.md §2 (C9, W1–W4, R1–R10, M1–M8, A1, X3, X4, U1, P1),
// over a Store that this package declares and the store packages implement.
//
// # How a write works
//
// The Service keeps each workspace it serves in memory (a model). A write
// runs against a copy-on-write view of that model, so every invariant is
// checked against one consistent state; the view records what it changed
// as a list of Ops. The Store then commits those Ops, the audit entries and
// a changelog row in one database transaction, on the condition that the
// workspace is still at the revision the write started from (a
// compare-and-set on the workspace row). Only after the commit does the
// model take the change and a new policy snapshot get published. Writes to
// one workspace are serialized in-process; a write that loses the
// compare-and-set to another process reloads the workspace and runs again.
// So a check and the write it guards can never be split by a race, and
// nothing is ever half-written.
//
// admin imports policy and the standard library only: it knows nothing of
// SQL or HTTP, and never reads the clock except through Options.Now.
package admin
