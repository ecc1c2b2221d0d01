package policyref

import (
	"slices"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// SoDHeld is separation of duties (S1) as the reference reads it: for
// each of a rule's sets, the items of it user holds, nil for a set it
// does not hold. A role item is held when the member is assigned the
// role; a permission item when the member's level of it, or of the same
// action on any module below it, is above none. Owners hold nothing
// here: no rule binds them (W4).
func (r *Model) SoDHeld(user string, sets [][]string, roles bool) [][]string {
	out := make([][]string, len(sets))
	mem, ok := r.members[user]
	if !ok || mem.Owner {
		return out
	}
	for i, set := range sets {
		for _, it := range set {
			if r.holdsItem(mem, it, roles) {
				out[i] = append(out[i], it)
			}
		}
	}
	return out
}

func (r *Model) holdsItem(mem policy.Member, item string, roles bool) bool {
	if roles {
		return slices.ContainsFunc(mem.Roles, func(ref policy.RoleRef) bool { return ref.RoleID == item })
	}
	k, ok := r.keys[item]
	if !ok {
		return false
	}
	for key, pk := range r.keys {
		if pk.action != k.action || !r.below(pk.m, k.m) {
			continue
		}
		if r.Level(mem.UserID, key) > policy.LevelNone {
			return true
		}
	}
	return false
}

// below reports whether module m is anc or lies under it.
func (r *Model) below(m, anc *module) bool {
	for cur := m; cur != nil; cur = r.modules[cur.parent] {
		if cur == anc {
			return true
		}
	}
	return false
}

// Breaks reports whether held (from SoDHeld) holds two or more sets.
func Breaks(held [][]string) bool {
	n := 0
	for _, h := range held {
		if len(h) > 0 {
			n++
		}
	}
	return n >= 2
}
