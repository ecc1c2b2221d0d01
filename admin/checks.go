package admin

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// levelOf returns the level of key in a vector of catalog cat; none when
// cat does not know key.
func levelOf(cat *policy.Catalog, vec policy.Vector, key string) policy.Level {
	if id, ok := cat.Lookup(key); ok {
		return vec[id]
	}
	return policy.LevelNone
}

// sameLevels compares two effective vectors, possibly of different
// catalogs (a smart object was added or removed), by permission key.
func sameLevels(ca *policy.Catalog, a policy.Vector, cb *policy.Catalog, b policy.Vector) bool {
	if ca == cb {
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	for _, p := range cb.Permissions() {
		if levelOf(ca, a, p.Key) != b[p.ID] {
			return false
		}
	}
	for _, p := range ca.Permissions() {
		if _, ok := cb.Lookup(p.Key); !ok && a[p.ID] != policy.LevelNone {
			return false
		}
	}
	return true
}

// raised returns the permissions of catalog cb whose level in b is above
// their level in a (of catalog ca).
func raised(ca *policy.Catalog, a policy.Vector, cb *policy.Catalog, b policy.Vector) []*policy.Permission {
	var out []*policy.Permission
	for _, p := range cb.Permissions() {
		// Relation modules are not granted (R10): every role reaches
		// related records alike, so relation access never counts as
		// raised; a level beyond it (predefined Head sees every task)
		// does.
		if p.Module.Kind == policy.Relation && b[p.ID] <= policy.LevelOwn {
			continue
		}
		if b[p.ID] > levelOf(ca, a, p.Key) {
			out = append(out, p)
		}
	}
	return out
}

// raisedAbove lists, as "key: level (yours: level)", each permission that
// goes from old to new above the actor's own level (X3).
func raisedAbove(co *policy.Catalog, old policy.Vector, cn *policy.Catalog, nw policy.Vector, cActor *policy.Catalog, actor policy.Vector) []string {
	var out []string
	for _, p := range raised(co, old, cn, nw) {
		if mine := levelOf(cActor, actor, p.Key); nw[p.ID] > mine {
			out = append(out, fmt.Sprintf("%s: %s (yours: %s)", p.Key, nw[p.ID], mine))
		}
	}
	return out
}

func escalationError(items []string) error {
	if len(items) == 0 {
		return nil
	}
	items = unique(items)
	return &policy.Error{Code: policy.CodePrivilegeEscalation,
		Message: "you cannot grant more than you have: " + strings.Join(items, ", "),
		Details: map[string]any{"permissions": items}}
}

// checkRoleRaises checks every new role revision against the revision it
// replaces: raised levels and lifted conditions within the actor's own
// (X3a.1), and a reason for a raised delete or export level (X4). It checks
// every apply's move of a role's holders from one revision to another for
// lifted conditions too: the levels of a move are the members' business
// (finish), the conditions are not in them.
func (v *view) checkRoleRaises(actor policy.Vector) error {
	var esc, powerful []string
	for _, rv := range v.newRevs {
		r := v.roles[rv.RoleID]
		if r == nil {
			continue
		}
		old := make(policy.Vector, v.base.cat.NumPermissions())
		var oldWhen policy.Conditions
		if br := v.base.roles[r.ID]; br != nil {
			if brv := v.base.revs[policy.RoleRef{RoleID: br.ID, Revision: br.Revision}]; brv != nil {
				old, oldWhen = v.vector(v.base.cat, br, brv), brv.When
			}
		}
		rvc := rv
		nw := v.vector(v.cat, r, &rvc)
		for _, p := range raised(v.base.cat, old, v.cat, nw) {
			if p.Action == "delete" || p.Action == "export" {
				powerful = append(powerful, p.Key)
			}
		}
		if actor != nil {
			esc = append(esc, raisedAbove(v.base.cat, old, v.cat, nw, v.base.cat, actor)...)
			esc = append(esc, condLifted(oldWhen, v.cat, nw, rv.When, v.base.cat, actor)...)
		}
	}
	if actor != nil {
		for _, mv := range v.revMoves {
			r, from, to := v.roles[mv.roleID], v.roleRevision(mv.roleID, mv.from), v.roleRevision(mv.roleID, mv.to)
			if r == nil || from == nil || to == nil || mv.from == mv.to {
				continue
			}
			esc = append(esc, condLifted(from.When, v.cat, v.vector(v.cat, r, to), to.When, v.base.cat, actor)...)
		}
	}
	if err := escalationError(esc); err != nil {
		return err
	}
	return v.reasonFor(powerful)
}

// revMove is an apply moving a role's holders from one revision to another.
type revMove struct {
	roleID   string
	from, to int64
}

// condLifted lists, as "key: level, its condition lifted or changed (yours:
// level)", each permission whose grant was conditional under oldWhen and,
// at a level above the actor's own, is held under another condition or none
// under newWhen (X3a.1 with G1). A conditional grant counts at its level, so
// the level checks see nothing when a condition is lifted; what the grant
// reaches widens all the same, and only an actor who could grant that level
// outright may widen it. Adding a condition narrows a grant and passes.
func condLifted(oldWhen policy.Conditions, cn *policy.Catalog, nw policy.Vector, newWhen policy.Conditions, cActor *policy.Catalog, actor policy.Vector) []string {
	var out []string
	for _, key := range slices.Sorted(maps.Keys(oldWhen)) {
		was := oldWhen[key]
		if was == "" || newWhen[key] == was {
			continue
		}
		id, ok := cn.Lookup(key)
		if !ok {
			continue
		}
		if l, mine := nw[id], levelOf(cActor, actor, key); l > mine {
			out = append(out, fmt.Sprintf("%s: %s, its condition lifted or changed (yours: %s)", key, l, mine))
		}
	}
	return out
}

// checkDirectRaises requires a reason when a member's direct grants raise
// a delete or export level (X4).
func (v *view) checkDirectRaises() error {
	var powerful []string
	for u := range v.dirty {
		m, old := v.members[u], v.baseMember(u)
		if m == nil || len(m.Grants) == 0 {
			continue
		}
		before := make(policy.Vector, v.base.cat.NumPermissions())
		if old != nil {
			before = v.base.cat.Resolve(old.Grants, old.Kind)
		}
		for _, p := range raised(v.base.cat, before, v.cat, v.cat.Resolve(m.Grants, m.Kind)) {
			if p.Action == "delete" || p.Action == "export" {
				powerful = append(powerful, p.Key)
			}
		}
	}
	return v.reasonFor(powerful)
}

func (v *view) reasonFor(powerful []string) error {
	if len(powerful) == 0 || strings.TrimSpace(v.reason) != "" {
		return nil
	}
	powerful = unique(powerful)
	return &policy.Error{Code: policy.CodeReasonRequired,
		Message: "raising " + strings.Join(powerful, ", ") + " needs a reason: say why these powerful permissions are given",
		Details: map[string]any{"permissions": powerful}}
}

// checkMemberC4 checks that a member with direct grants still satisfies C4
// on its effective levels (M5), whatever its roles now give.
func (v *view) checkMemberC4(m *Member) error { return v.checkMemberC4At(m, v.now) }

// checkMemberC4At is checkMemberC4 with the roles m holds through
// departments at instant t (T1).
func (v *view) checkMemberC4At(m *Member, t time.Time) error {
	refs := heldRefs(v.depts, v.roles, m, t, nil, v.deptRoleCount > 0)
	vs := make([]policy.Vector, 0, len(refs))
	for _, a := range refs {
		r, rv := v.roles[a.RoleID], v.roleRevision(a.RoleID, a.Revision)
		if r != nil && rv != nil {
			vs = append(vs, v.vector(v.cat, r, rv))
		}
	}
	_, err := v.cat.ValidateDirectGrants(m.Grants, m.Kind, vs)
	if vs := v.memberCondC4(m); err == nil && len(vs) > 0 {
		err = &policy.Error{Code: policy.CodeDependencyViolation, Message: "direct grants rejected: " + joinMessages(vs),
			Details: map[string]any{"violations": vs}}
	}
	if err != nil {
		var pe *policy.Error
		if errors.As(err, &pe) {
			return &policy.Error{Code: pe.Code, Message: fmt.Sprintf("member %s: %s", m.UserID, pe.Message),
				Details: withDetail(pe.Details, "user_id", m.UserID)}
		}
		return err
	}
	return nil
}

func joinMessages(vs []policy.Violation) string {
	msgs := make([]string, len(vs))
	for i, x := range vs {
		msgs[i] = x.Message
	}
	return strings.Join(msgs, "; ")
}

func withDetail(d map[string]any, k string, val any) map[string]any {
	out := map[string]any{k: val}
	maps.Copy(out, d)
	return out
}

// PowerfulRaises lists the delete and export permissions whose level a
// role of the given audience would raise by going from grants old to new:
// the edits that need a reason (X4). A console asks for one before saving.
func PowerfulRaises(cat *policy.Catalog, audience policy.Audience, old, new policy.Grants) []string {
	var out []string
	for _, p := range raised(cat, cat.Resolve(old, audience), cat, cat.Resolve(new, audience)) {
		if p.Action == "delete" || p.Action == "export" {
			out = append(out, p.Key)
		}
	}
	return out
}
