// Package policy is Gatehouse's domain core: the permission catalog, levels,
// grant validation, role compilation and every decision (check, filter,
// explain, who-can).
//
// The package is pure. It performs no I/O, reads no clock, keeps no global
// mutable state and logs nothing; callers load data from wherever they keep
// it and hand it in. It must never import database/sql, net/http or any other
// Gatehouse package, so that it stays importable as a library and testable in
// isolation.
//
// The flow is: a [Catalog] (deployment-wide, from YAML) is extended with a
// workspace's smart objects ([Catalog.WithObjects]); role revisions and
// members are compiled against it into an immutable [Snapshot]; decisions are
// pure functions of a Snapshot. A check on a Snapshot is two map lookups and
// an array index: it takes no lock and allocates nothing.
package policy
