// Package policyref is a deliberately simple reference model of Gatehouse's
// decision rules (DESIGN.md C4–C6, D1–D3, M3, M5, M6, R10, W4), for
// differential tests: the policy package's own tests ask it and a compiled
// policy.Snapshot the same questions, and the stress test asks it about
// the database state a node's decision was made at.
//
// It is written from DESIGN.md, not from the compiled snapshot: maps and
// loops, no permission ids, no vectors, no sharing, no caches beyond a
// key index. Speed is not a goal; being obviously right is. It must never
// use policy.Snapshot, policy.Compile or the catalog's resolution helpers
// (Resolve, RoleVector, EffectiveLevels, ValidateGrants): that is what it
// checks. From the catalog it reads only the module tree as declared.
//
// policyref imports only the policy package and the standard library.
package policyref
