// Package stress holds Gatehouse's concurrency stress test, in its test
// files: many clients make random admin writes over the HTTP API of real
// nodes (SQLite, and two nodes sharing one PostgreSQL) while checkers read
// the database and ask for decisions, asserting the invariants of
// DESIGN.md continuously:
//
//   - every member has at least one role, of its own audience (M2, M6);
//   - exactly one default role, the predefined Employee (R2, R3);
//   - custom roles are created only under the plan's limit (W2, W3);
//   - member epochs never go backwards, and move whenever effective
//     levels, departments or kind change (A1); sessions follow them (A2);
//   - no role revision and no member's effective levels break C4 (M5);
//   - every decision equals the reference model's (internal/policyref)
//     computed from the database state at the decision's revision (D1,
//     D2, D3, D5, D8).
//
// By default each store is stressed for eight seconds; GATEHOUSE_STRESS=2m
// runs each for two minutes:
//
//	go test -race -count=1 ./internal/stress/
//	PGPORT=55443 ./scripts/postgres env GATEHOUSE_STRESS=2m go test -race -count=1 -timeout 10m ./internal/stress/
//
// The package has no code of its own outside its tests.
package stress
