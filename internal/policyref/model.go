package policyref

import (
	"slices"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// module is one catalog module as the reference sees it.
type module struct {
	id, parent string
	actions    map[string]bool // action → scoped
	requires   map[string][]string
	relation   bool
	internal   bool
	relations  map[string][]string                // R10: relation → actions it allows
	predefined map[string]map[string]policy.Level // R10: predefined role id → action → level
}

// Model is the reference model of one workspace at one revision: its
// catalog, role revisions, members and departments. It is immutable once
// built and safe for concurrent use.
type Model struct {
	modules map[string]*module
	keys    map[string]permKey // "<module>_<action>" → where it lives
	roles   map[policy.RoleRef]policy.RoleRevision
	members map[string]policy.Member
	parent  map[string]string // department → parent ("" for a root)
}

// permKey is a permission key split into its module and action.
type permKey struct {
	m      *module
	action string
}

// New builds the model of state st over catalog cat (the workspace's
// catalog, smart objects included; st.Catalog is ignored, so a test can
// pair a state with the catalog it means).
func New(cat *policy.Catalog, st policy.State) *Model {
	r := &Model{modules: map[string]*module{}, keys: map[string]permKey{},
		roles: map[policy.RoleRef]policy.RoleRevision{}, members: map[string]policy.Member{}, parent: map[string]string{}}
	for _, m := range cat.AllModules() {
		rm := &module{id: m.ID, actions: map[string]bool{}, requires: map[string][]string{},
			relation: m.Kind == policy.Relation, relations: m.Relations, predefined: m.PredefinedRoles}
		// M6: internal_only is inherited by every descendant.
		for a := m; a != nil; a = a.Parent {
			rm.internal = rm.internal || a.InternalOnly
		}
		if m.Parent != nil {
			rm.parent = m.Parent.ID
		}
		for _, p := range m.Permissions {
			rm.actions[p.Action] = p.Scoped
			for _, q := range p.Requires {
				rm.requires[p.Action] = append(rm.requires[p.Action], q.Action)
			}
			r.keys[m.ID+"_"+p.Action] = permKey{m: rm, action: p.Action}
		}
		r.modules[m.ID] = rm
	}
	for _, ro := range st.Roles {
		r.roles[policy.RoleRef{RoleID: ro.RoleID, Revision: ro.Revision}] = ro
	}
	for _, m := range st.Members {
		r.members[m.UserID] = m
	}
	for _, d := range st.Departments {
		r.parent[d.ID] = d.ParentID
	}
	return r
}

// Known reports whether perm is a permission of the catalog (C1).
func (r *Model) Known(perm string) bool {
	_, ok := r.keys[perm]
	return ok
}

// IsMember reports whether user is a member of the workspace (D3).
func (r *Model) IsMember(user string) bool {
	_, ok := r.members[user]
	return ok
}

// Resolve is the level a grant set gives a permission for a role or
// member of audience aud, by C6: the explicit grant, else the nearest
// ancestor's grant of the same action. Relation modules (R10) and, for
// clients, internal-only modules (M6) resolve to none; so do unknown keys.
func (r *Model) Resolve(g policy.Grants, perm string, aud policy.Audience) policy.Level {
	k, ok := r.keys[perm]
	if !ok {
		return policy.LevelNone
	}
	return r.resolve(g, k.m, k.action, aud)
}

func (r *Model) resolve(g policy.Grants, m *module, action string, aud policy.Audience) policy.Level {
	if m.relation || (aud == policy.Client && m.internal) {
		return policy.LevelNone
	}
	for cur := m; cur != nil; cur = r.modules[cur.parent] {
		if _, ok := cur.actions[action]; !ok {
			continue
		}
		if l, ok := g[cur.id+"_"+action]; ok {
			return l
		}
	}
	return policy.LevelNone
}

// Level is user's effective level of perm (M3, M5, W4, R10, M6): an owner
// has all, except that a client never holds an internal-only module;
// otherwise the highest over the member's roles at their revisions,
// its direct grants and its relation access. A non-member or an unknown
// permission has none.
func (r *Model) Level(user, perm string) policy.Level {
	mem, ok := r.members[user]
	k, known := r.keys[perm]
	if !ok || !known {
		return policy.LevelNone
	}
	m, action := k.m, k.action
	if mem.Owner {
		if mem.Kind == policy.Client && m.internal {
			return policy.LevelNone
		}
		return policy.LevelAll
	}
	best := policy.LevelNone
	if m.relation {
		for _, acts := range m.relations {
			if slices.Contains(acts, action) {
				best = policy.LevelOwn
			}
		}
	}
	for _, ref := range mem.Roles {
		ro := r.roles[ref]
		best = max(best, r.resolve(ro.Grants, m, action, ro.Audience))
		if ro.Predefined && m.relation {
			if l, ok := m.predefined[ro.RoleID][action]; ok {
				best = max(best, l)
			}
		}
	}
	return max(best, r.resolve(mem.Grants, m, action, mem.Kind))
}

// under reports whether department d lies in the subtree of anc.
func (r *Model) under(d, anc string) bool {
	for seen := 0; d != "" && seen < 1000; seen++ {
		if d == anc {
			return true
		}
		d = r.parent[d]
	}
	return false
}

// Allowed decides a check (D1) or, with rec, a check on a record (D2, R10).
func (r *Model) Allowed(user, perm string, rec *policy.Resource) bool {
	l := r.Level(user, perm)
	if l == policy.LevelNone {
		return false
	}
	return rec == nil || r.reaches(user, perm, l, rec)
}

// reaches reports whether level l of perm reaches rec for user (D2, R10).
func (r *Model) reaches(user, perm string, l policy.Level, rec *policy.Resource) bool {
	if l == policy.LevelAll {
		return true
	}
	k := r.keys[perm]
	if k.m.relation {
		lists := map[string][]string{policy.RelCreator: rec.Relations.Creator, policy.RelResponsible: rec.Relations.Responsible,
			policy.RelParticipant: rec.Relations.Participant, policy.RelObserver: rec.Relations.Observer}
		for rel, acts := range k.m.relations {
			if slices.Contains(acts, k.action) && slices.Contains(lists[rel], user) {
				return true
			}
		}
		return false
	}
	if rec.OwnerID == user || slices.Contains(rec.Relations.Responsible, user) {
		return true
	}
	if l == policy.LevelOwn {
		return false
	}
	depts := []string{rec.DepartmentID}
	if rec.DepartmentID == "" {
		depts = r.members[rec.OwnerID].DepartmentIDs
	}
	for _, d := range depts {
		if _, known := r.parent[d]; !known {
			continue
		}
		for _, md := range r.members[user].DepartmentIDs {
			if d == md || (l == policy.LevelSubdepartments && r.under(d, md)) {
				return true
			}
		}
	}
	return false
}
