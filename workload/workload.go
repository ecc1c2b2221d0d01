// Package workload generates deterministic policy workloads for benchmarks
// and load tests: a catalog, roles, a department tree, members and a query
// mix. The same configuration always yields the same workload, so figures
// from different runs and machines are comparable.
//
// It imports only policy; nothing in Gatehouse's serving path imports it.
package workload

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// Config sizes a workload.
type Config struct {
	Name            string
	Seed            uint64
	Groups          int     // top-level groups
	ModulesPerGroup int     // modules under each group (each has the 5 standard actions)
	Roles           int     // custom roles
	GrantFraction   float64 // fraction of permissions each role grants
	Members         int
	MaxRoles        int // each member holds 1..MaxRoles roles
	Departments     int // in a 3-level tree
	Queries         int
	AllowedFraction float64 // fraction of queries that are allowed
}

// CRMMedium is the reference workload of the benchmarks: 1 workspace, 50
// modules × 5 actions = 250 permissions, 200 roles granting a random 30%
// each, 100,000 members with 1–3 roles, a 3-level tree of 30 departments,
// and a query mix of which 50% is allowed.
var CRMMedium = Config{Name: "crm-medium", Seed: 20261124, Groups: 10, ModulesPerGroup: 4,
	Roles: 200, GrantFraction: 0.3, Members: 100_000, MaxRoles: 3, Departments: 30,
	Queries: 1 << 16, AllowedFraction: 0.5}

// Query is one decision to ask. Record is set for record-level checks.
type Query struct {
	User       string
	Permission string
	Record     *policy.Resource
	Allowed    bool // the expected answer
}

// Workload is a generated workspace and its queries.
type Workload struct {
	Config  Config
	YAML    []byte // the catalog source
	State   policy.State
	Queries []Query // record-less checks
	Records []Query // checks on records by members at department or subdepartments level
}

// Generate builds the workload described by cfg. It panics on a config
// that cannot produce a valid workload (a programming error in a benchmark).
func Generate(cfg Config) *Workload {
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	w := &Workload{Config: cfg}
	w.YAML = catalogYAML(cfg)
	cat, err := policy.ParseCatalog(cfg.Name+".yaml", w.YAML)
	if err != nil {
		panic(err)
	}
	st := policy.State{Workspace: cfg.Name, Revision: 1, Catalog: cat}
	st.Departments = departments(cfg.Departments)
	for i := range cfg.Roles {
		st.Roles = append(st.Roles, policy.RoleRevision{RoleID: fmt.Sprintf("role_%03d", i), Revision: 1,
			Name: fmt.Sprintf("Role %d", i), Audience: policy.Internal, Grants: roleGrants(rng, cat, cfg.GrantFraction)})
	}
	for i := range cfg.Members {
		m := policy.Member{UserID: fmt.Sprintf("user-%06d", i), Kind: policy.Internal, Epoch: 1,
			DepartmentIDs: []string{st.Departments[rng.IntN(len(st.Departments))].ID}}
		n := 1 + rng.IntN(cfg.MaxRoles)
		for range n {
			m.Roles = append(m.Roles, policy.RoleRef{RoleID: st.Roles[rng.IntN(len(st.Roles))].RoleID, Revision: 1})
		}
		st.Members = append(st.Members, m)
	}
	w.State = st
	snap, err := policy.Compile(st)
	if err != nil {
		panic(err)
	}
	w.Queries = queries(rng, snap, cfg, false)
	w.Records = queries(rng, snap, cfg, true)
	return w
}

// catalogYAML writes a catalog of Groups groups with ModulesPerGroup modules
// each, every module with the standard actions.
func catalogYAML(cfg Config) []byte {
	var b strings.Builder
	b.WriteString("version: 1\nmodules:\n")
	for g := range cfg.Groups {
		fmt.Fprintf(&b, "  - id: group%02d\n    description: Group %d\n    children:\n", g, g)
		for m := range cfg.ModulesPerGroup {
			fmt.Fprintf(&b, "      - {id: module%02d%02d, description: Module %d of group %d}\n", g, m, m, g)
		}
	}
	return []byte(b.String())
}

// departments builds a 3-level tree: roots, their children, grandchildren.
func departments(n int) []policy.Department {
	roots := max(1, n/10)
	var ds []policy.Department
	for i := range roots {
		ds = append(ds, policy.Department{ID: fmt.Sprintf("d%d", i), Name: fmt.Sprintf("Division %d", i)})
	}
	for i := 0; len(ds) < n; i++ {
		parent := ds[i%len(ds)]
		ds = append(ds, policy.Department{ID: fmt.Sprintf("%s.%d", parent.ID, i), Name: "Team " + parent.ID, ParentID: parent.ID})
	}
	return ds
}

// roleGrants grants a random fraction of the permissions at random levels,
// then raises what they require so the set satisfies C4 (C5 levels only).
func roleGrants(rng *rand.Rand, cat *policy.Catalog, frac float64) policy.Grants {
	g := policy.Grants{}
	perms := cat.Permissions()
	for _, p := range perms {
		if rng.Float64() >= frac {
			continue
		}
		l := policy.Level(1 + rng.IntN(4))
		if !p.Scoped {
			l = policy.LevelAll
		}
		g[p.Key] = l
	}
	for changed := true; changed; {
		changed = false
		v := cat.Resolve(g, policy.Internal)
		for _, p := range perms {
			for _, q := range p.Requires {
				if !policy.DependencyOK(p, v[p.ID], q, v[q.ID]) {
					l := v[p.ID]
					if !q.Scoped || !p.Scoped {
						l = policy.LevelAll
					}
					g[q.Key] = l
					changed = true
				}
			}
		}
	}
	return g
}

// queries draws checks until AllowedFraction of them are allowed.
func queries(rng *rand.Rand, snap *policy.Snapshot, cfg Config, records bool) []Query {
	cat := snap.Catalog()
	wantAllowed := int(float64(cfg.Queries) * cfg.AllowedFraction)
	var allowed, denied []Query
	depts := departments(cfg.Departments)
	for len(allowed) < wantAllowed || len(denied) < cfg.Queries-wantAllowed {
		q := Query{User: fmt.Sprintf("user-%06d", rng.IntN(cfg.Members)),
			Permission: cat.Permission(policy.PermID(rng.IntN(cat.NumPermissions()))).Key}
		if records {
			q.Record = &policy.Resource{OwnerID: fmt.Sprintf("user-%06d", rng.IntN(cfg.Members)),
				DepartmentID: depts[rng.IntN(len(depts))].ID}
			if d, _ := snap.CheckRecord(q.User, q.Permission, nil); d.Level != policy.LevelDepartment && d.Level != policy.LevelSubdepartments {
				continue // record checks exercise the department scopes
			}
		}
		d, err := snap.CheckRecord(q.User, q.Permission, q.Record)
		if err != nil {
			panic(err)
		}
		q.Allowed = d.Allowed
		if d.Allowed && len(allowed) < wantAllowed {
			allowed = append(allowed, q)
		} else if !d.Allowed && len(denied) < cfg.Queries-wantAllowed {
			denied = append(denied, q)
		}
	}
	out := append(allowed, denied...)
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	// Lay the queries' strings and records out in query order: a server
	// reads a check's user id and record from the request it just decoded,
	// so they are in cache; scattered heap objects would charge the
	// benchmark misses a real check never pays, and evict the snapshot.
	var b strings.Builder
	for _, q := range out {
		b.WriteString(q.User)
		if q.Record != nil {
			b.WriteString(q.Record.OwnerID)
			b.WriteString(q.Record.DepartmentID)
		}
	}
	ids, off := b.String(), 0
	next := func(s string) string {
		s = ids[off : off+len(s)]
		off += len(s)
		return s
	}
	var recs []policy.Resource
	if records {
		recs = make([]policy.Resource, len(out))
	}
	for i := range out {
		out[i].User = next(out[i].User)
		if r := out[i].Record; r != nil {
			recs[i] = policy.Resource{OwnerID: next(r.OwnerID), DepartmentID: next(r.DepartmentID)}
			out[i].Record = &recs[i]
		}
	}
	return out
}
