package admin

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// This file is X3a, no escalation on any path, in one place: every write
// reaches finish, and finish calls checkEscalation on the whole change
// before anything is committed, whatever operation made it. A new kind of
// grant (conditions, expiry, department roles) only has to show in the
// members' effective levels, the department tree or the members'
// departments for these checks to hold it too.
//
// The three conditions, for a write made by an acting member who is not an
// owner (keys acting for themselves and owners are not limited):
//  1. no member's effective level of any permission rises above the
//     actor's own (finish, with raisedAbove, and checkRoleRaises);
//  2. nothing changes outside the actor's span: the members it changes lie
//     in the span before and after, and so do the departments it creates,
//     moves, renames or deletes (checkSpan);
//  3. the actor's own reach does not widen: for every permission, the
//     records it can act on after the write are among those it could
//     before (checkOwnReach).
// Ownership is the owners' (checkOwnership), whoever acts.

// areas maps every write action to the area it needs (X3). update refuses
// an action missing here, so a new operation cannot forget its area.
var areas = map[string]Area{
	"role.create": AreaRolesEdit, "role.update": AreaRolesEdit, "role.delete": AreaRolesEdit,
	"role.duplicate": AreaRolesEdit, "role.restore": AreaRolesEdit, "object.put": AreaRolesEdit,
	"object.delete": AreaRolesEdit, "policy.import": AreaRolesEdit, "aliases.put": AreaRolesEdit, "gateway.put": AreaRolesEdit,
	"sod.put": AreaRolesEdit, "sod.delete": AreaRolesEdit,
	"review.open": AreaRolesEdit, "review.update": AreaRolesEdit, "review.close": AreaRolesEdit, "review.revoke": AreaRolesEdit,
	"review.refused": AreaRolesEdit, "review.closed": AreaRolesEdit, "review.decide": AreaPeopleEdit,

	"member.upsert": AreaPeopleEdit, "member.import": AreaPeopleEdit, "member.roles": AreaPeopleEdit,
	"role.members.add": AreaPeopleEdit, "role.members.remove": AreaPeopleEdit, "member.remove": AreaPeopleEdit,
	"member.grants": AreaPeopleEdit, "member.expire": AreaPeopleEdit, "department.put": AreaPeopleEdit, "department.delete": AreaPeopleEdit,

	"key.create": AreaOwner, "key.revoke": AreaOwner, "workspace.update": AreaOwner, "console.link": AreaOwner,
}

// areaOf returns the area of a write action.
func areaOf(action string) Area {
	a, ok := areas[action]
	if !ok {
		panic("admin: write action " + action + " has no area; add it to areas")
	}
	return a
}

// checkEscalation enforces X3a's conditions 2 and 3 and the owners' hold
// on ownership on a finished view. Condition 1 is checked where finish
// compares each member's levels.
func (v *view) checkEscalation() error {
	if err := v.checkOwnership(); err != nil {
		return err
	}
	if v.auth.unlimited {
		return nil
	}
	if err := v.checkSpan(); err != nil {
		return err
	}
	if err := v.checkMappings(); err != nil {
		return err
	}
	return v.checkOwnReach()
}

// checkMappings is X3a.1 for what decides which permission a host's action
// stands for (Z2): action aliases and gateway routes. Re-pointing one
// changes no member's levels, so the level checks cannot see it, yet it
// hands the action to every holder of the new permission: pointing "delete
// invoice" at invoices_view would let every viewer delete. A limited actor
// may add, remove or change an alias or a route only when it holds, at all,
// every permission the mapping stood for and stands for: then the change
// lets no one do what the actor could not grant.
func (v *view) checkMappings() error {
	var need []string
	if v.aliasesPut {
		for _, a := range unique(append(slices.Collect(maps.Keys(v.base.aliases)), slices.Collect(maps.Keys(v.aliases))...)) {
			if was, is := v.base.aliases[a], v.aliases[a]; was != is {
				need = append(need, was, is)
			}
		}
	}
	if v.gatewayPut {
		resolve := func(aliases map[string]string, r policy.GatewayRoute) string {
			if p, ok := aliases[r.Permission]; ok {
				return p
			}
			return r.Permission
		}
		for _, r := range v.base.gateway {
			if !slices.Contains(v.gateway, r) {
				need = append(need, resolve(v.base.aliases, r))
			}
		}
		for _, r := range v.gateway {
			if !slices.Contains(v.base.gateway, r) {
				need = append(need, resolve(v.aliases, r))
			}
		}
	}
	var short []string
	for _, key := range unique(need) {
		if key == "" {
			continue
		}
		if mine := v.auth.Level(key); mine != policy.LevelAll {
			short = append(short, fmt.Sprintf("%s: all (yours: %s)", key, mine))
		}
	}
	if len(short) == 0 {
		return nil
	}
	return &policy.Error{Code: policy.CodePrivilegeEscalation,
		Message: "you can change an action alias or a gateway route only between permissions you hold at all: " + strings.Join(short, ", "),
		Details: map[string]any{"reason": "action_mapping", "permissions": short}}
}

// checkOwnership refuses a change of any member's ownership, or a client
// owner, unless owners make it (X3 "ownership: owners only", M6). Removing
// an owner is such a change: an administrator who may remove the members
// of its span must not remove the workspace's owners with them.
func (v *view) checkOwnership() error {
	for u, m := range v.members {
		old := v.baseMember(u)
		was := old != nil && old.Owner
		if m == nil {
			if was {
				if err := v.auth.Can(AreaOwner); err != nil {
					return err
				}
			}
			continue
		}
		if m.Owner && m.Kind == policy.Client {
			return &policy.Error{Code: policy.CodeAudienceMismatch,
				Message: fmt.Sprintf("%s is a client member and cannot own the workspace: owners are internal members (M6)", m.UserID),
				Details: map[string]any{"user_id": m.UserID, "kind": m.Kind}}
		}
		if m.Owner != was {
			if err := v.auth.Can(AreaOwner); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkSpan is X3a.2: every member the write changes lies in the actor's
// span before and after, and every department it puts or deletes lies in
// the span before (if it existed) and after (if it still exists), the
// span being measured from the actor's departments on each tree.
func (v *view) checkSpan() error {
	check := func(u string) error {
		if old := v.baseMember(u); old != nil && !v.auth.Manages(old) {
			return v.outsideSpan("member "+u, u, old.DepartmentIDs)
		}
		if m := v.member(u); m != nil && !v.auth.Manages(m) {
			return v.outsideSpan("member "+u+" in the departments given", u, m.DepartmentIDs)
		}
		return nil
	}
	for _, u := range v.addressedMembers {
		if err := check(u); err != nil {
			return err
		}
	}
	for u, m := range v.members {
		if m != nil && !v.dirty[u] {
			continue // moved by a role apply or an epoch bump only
		}
		if err := check(u); err != nil {
			return err
		}
	}
	touched := append(append(slices.Clone(v.addressedDepts), v.deptsPut...), v.deptsDeleted...)
	if len(touched) == 0 {
		return nil
	}
	actor := v.baseMember(v.auth.actor.UserID)
	after := deptSpan(v.depts, actor.DepartmentIDs, v.auth.edit)
	for _, id := range unique(touched) {
		prev, existed := v.base.depts[id]
		if existed && !v.auth.ManagesDepartment(id) {
			return v.outsideSpan("department "+id, "", []string{id})
		}
		next, exists := v.depts[id]
		if exists && v.auth.edit != policy.LevelAll && !after[id] {
			return v.outsideSpan("department "+id+" where it would be", "", []string{id})
		}
		// A move changes the tree at both of its ends. The span is measured
		// from the actor's own departments, so they stay in it wherever
		// they go: without this, an administrator could move its own
		// department out from under its supervisor's span, or into
		// another branch. The top of the tree is no one's span but all's.
		if existed && exists && next.ParentID != prev.ParentID {
			for _, parent := range []string{prev.ParentID, next.ParentID} {
				_, old := v.base.depts[parent]
				if parent != "" && !v.auth.ManagesDepartment(parent) && (old || !after[parent]) {
					return v.outsideSpan("moving department "+id+" changes department "+parent+", which", "", []string{parent})
				}
			}
		}
	}
	return nil
}

func (v *view) outsideSpan(what, user string, depts []string) error {
	d := map[string]any{"reason": "outside_span", "department_ids": depts}
	if user != "" {
		d["user_id"] = user
	}
	return &policy.Error{Code: policy.CodePrivilegeEscalation,
		Message: fmt.Sprintf("%s is outside what you manage: your %s reaches %s", what, permRolesEdit, v.spanText()),
		Details: d}
}

func (v *view) spanText() string {
	if v.auth.edit < policy.LevelDepartment {
		return "no one else"
	}
	if len(v.auth.editSpan) == 0 {
		return "no department"
	}
	return "departments " + strings.Join(slices.Sorted(maps.Keys(v.auth.editSpan)), ", ")
}

// checkOwnReach is X3a.3: after the write the actor can act on no record
// it could not act on before, for any permission. Levels compare by what
// they reach: own and relation access are the actor's own records;
// department and subdepartments reach the departments deptSpan gives, on
// the tree and with the actor's departments before and after the write;
// all reaches everything. A change that reaches nothing new passes, such
// as joining a department while holding no department-level grant, or
// creating a sub-department (it holds no records yet).
//
// Records without a department follow their owner's departments (D2).
// Where another member sits is X3a.2's business: an actor may move the
// members of its span within it, and their records without a department
// move with them. Members outside the span cannot be moved by the actor,
// so their records are reached anew only through the departments the
// actor reaches, which this check compares.
func (v *view) checkOwnReach() error {
	u := v.auth.actor.UserID
	old, nw := v.baseMember(u), v.member(u)
	if nw == nil {
		return nil // leaving reaches nothing
	}
	oldEff, newEff := v.auth.levels, v.effective(nw)
	type pair struct{ o, n policy.Level }
	wider := map[pair]bool{}
	widens := func(o, n policy.Level) bool {
		switch {
		case n == policy.LevelNone || o == policy.LevelAll:
			return false
		case n == policy.LevelAll:
			return true
		case o < policy.LevelOwn:
			return true
		case n == policy.LevelOwn:
			return false
		}
		if w, ok := wider[pair{o, n}]; ok {
			return w
		}
		before := deptSpan(v.base.depts, old.DepartmentIDs, o)
		w := false
		for d := range deptSpan(v.depts, nw.DepartmentIDs, n) {
			// A department this write creates holds no records yet.
			if _, existed := v.base.depts[d]; existed && !before[d] {
				w = true
				break
			}
		}
		wider[pair{o, n}] = w
		return w
	}
	var gained []string
	for _, p := range v.cat.Permissions() {
		o, n := levelOf(v.base.cat, oldEff, p.Key), newEff[p.ID]
		if widens(o, n) {
			gained = append(gained, fmt.Sprintf("%s: %s (yours now: %s)", p.Key, n, o))
		}
	}
	// T3: keeping one's own access past its expiry widens one's reach at
	// that instant as surely as a new grant does now. Compare the levels
	// the actor will hold at every instant something it holds (or would
	// hold) expires.
	if len(gained) == 0 && old != nil {
		for _, at := range v.expiriesOf(old, nw) {
			oldAt := v.fellBack(effectiveAt(nil, v.base, v.base.cat, v.base.roles, v.base.revs, v.base.depts, old, at), v.base.depts, v.base.roles, old, at)
			newAt := v.fellBack(effectiveAt(v, v.base, v.cat, v.roles, v.revs, v.depts, nw, at), v.depts, v.roles, nw, at)
			for _, p := range v.cat.Permissions() {
				o, n := levelOf(v.base.cat, oldAt, p.Key), newAt[p.ID]
				if widens(o, n) {
					gained = append(gained, fmt.Sprintf("%s: %s after %s (yours then: %s)", p.Key, n, at.Format(time.RFC3339), o))
				}
			}
			if len(gained) > 0 {
				break
			}
		}
	}
	if len(gained) == 0 {
		return nil
	}
	if len(gained) > 20 {
		gained = append(gained[:20], fmt.Sprintf("and %d more", len(gained)-20))
	}
	return &policy.Error{Code: policy.CodePrivilegeEscalation,
		Message: "you cannot widen your own access: " + strings.Join(gained, ", "),
		Details: map[string]any{"reason": "own_reach", "permissions": gained}}
}

// expiriesOf returns, in order, every instant after now at which
// something member old (before the write) or nw (after) holds expires:
// its own assignments and direct grants and the roles of every
// department (T1).
func (v *view) expiriesOf(old, nw *Member) []time.Time {
	now := v.now
	var out []time.Time
	add := func(at time.Time) {
		if !at.IsZero() && at.After(now) && !slices.ContainsFunc(out, at.Equal) {
			out = append(out, at)
		}
	}
	for _, m := range []*Member{old, nw} {
		if m == nil {
			continue
		}
		for _, a := range m.Roles {
			add(a.ExpiresAt)
		}
		for _, at := range m.GrantExpiry {
			add(at)
		}
	}
	for _, depts := range []map[string]*Department{v.base.depts, v.depts} {
		for _, d := range depts {
			for _, a := range d.Roles {
				add(a.ExpiresAt)
			}
		}
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// fellBack adds, to the levels eff of member m at instant at, the default
// role's when m holds no role then, as the system's expiry would give it
// (M4).
func (v *view) fellBack(eff policy.Vector, depts map[string]*Department, roles map[string]*Role, m *Member, at time.Time) policy.Vector {
	live := m.live(at)
	if len(live.Roles) > 0 || len(deptHeld(depts, roles, live, at)) > 0 {
		return eff
	}
	def := v.defaultRole()
	if def == nil || def.Audience != m.Kind {
		return eff
	}
	c := live.clone()
	c.Roles = []Assignment{{RoleID: def.ID, Revision: def.Revision}}
	return effectiveAt(v, v.base, v.cat, v.roles, v.revs, depts, c, at)
}

// raisedLater is X3a.1 at every instant ahead at which something member m
// holds expires (T3; old is nil for a new member): a write that leaves m's levels as they are now but
// lets m keep, past that instant, a level above the actor's own — such as
// a permanent assignment of a role m holds until Friday through its
// department — grants that level as surely as a write that raises it now.
func (v *view) raisedLater(old, m *Member, actor policy.Vector) []string {
	var out []string
	for _, at := range v.expiriesOf(old, m) {
		oldAt := make(policy.Vector, v.base.cat.NumPermissions()) // a new member held nothing
		if old != nil {
			oldAt = v.fellBack(effectiveAt(nil, v.base, v.base.cat, v.base.roles, v.base.revs, v.base.depts, old, at), v.base.depts, v.base.roles, old, at)
		}
		newAt := v.fellBack(effectiveAt(v, v.base, v.cat, v.roles, v.revs, v.depts, m, at), v.depts, v.roles, m, at)
		for _, s := range raisedAbove(v.base.cat, oldAt, v.cat, newAt, v.base.cat, actor) {
			out = append(out, s+" after "+at.Format(time.RFC3339))
		}
		if len(out) > 0 {
			break
		}
	}
	return out
}
