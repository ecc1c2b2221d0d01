package policy

import (
	"fmt"
	"slices"
)

// This file is separation of duties (S1, S2) in the domain core: which of
// a rule's sets a member holds, from its effective levels and its roles.
// Deciding what is a new violation, and refusing it, is admin's (S2).

// MaxSoDSets and MaxSoDSetItems bound one SoD rule.
const (
	MaxSoDSets     = 10
	MaxSoDSetItems = 100
)

// SoDSets is a separation-of-duties rule compiled against one catalog
// (S1): two or more sets that no member may hold together. A set is held
// when the member holds any one of its items: a permission above none, or
// a role. A permission item covers the permission itself and the same
// action on every descendant module that inherits from it (C6), so
// `billing_view` covers `invoices_view`: a rule on a group means the group.
type SoDSets struct {
	// Items are the rule's sets as written: permission keys or role ids.
	Items [][]string
	// perms holds, per set and item, the permission ids the item covers;
	// nil for a rule over roles.
	perms [][][]PermID
	// any marks every permission some item covers.
	any []bool
}

// Touches reports whether a change of the given permissions' levels can
// change what the rule sees: false for a role rule, whose sets are
// assignments, and for permissions no item covers.
func (r *SoDSets) Touches(ids []PermID) bool {
	for _, p := range ids {
		if int(p) < len(r.any) && r.any[p] {
			return true
		}
	}
	return false
}

// CompileSoD validates and compiles a rule's permission sets against c.
// Returns invalid_argument for fewer than two sets, an empty set, an item
// twice, or too many; unknown_permission (C1) for a key c does not know.
func (c *Catalog) CompileSoD(sets [][]string) (*SoDSets, error) {
	if err := checkSoDShape(sets); err != nil {
		return nil, err
	}
	out := &SoDSets{Items: sets, perms: make([][][]PermID, len(sets))}
	for i, set := range sets {
		out.perms[i] = make([][]PermID, len(set))
		for j, key := range set {
			p, err := c.PermissionByKey(key)
			if err != nil {
				return nil, err
			}
			out.perms[i][j] = c.covered(p)
		}
	}
	return out.index(len(c.perms)), nil
}

// index fills any from perms.
func (r *SoDSets) index(n int) *SoDSets {
	r.any = make([]bool, n)
	for i := range r.perms {
		for j := range r.perms[i] {
			for _, p := range r.perms[i][j] {
				r.any[p] = true
			}
		}
	}
	return r
}

// CompileSoDKnown compiles a stored rule's permission sets leniently: keys
// c no longer knows (a smart object deleted, C7) cover nothing, so the
// rule keeps holding on what remains rather than failing every write.
func (c *Catalog) CompileSoDKnown(sets [][]string) *SoDSets {
	out := &SoDSets{Items: sets, perms: make([][][]PermID, len(sets))}
	for i, set := range sets {
		out.perms[i] = make([][]PermID, len(set))
		for j, key := range set {
			if p, err := c.PermissionByKey(key); err == nil {
				out.perms[i][j] = c.covered(p)
			}
		}
	}
	return out.index(len(c.perms))
}

// RoleSoD compiles a rule over role sets (S1). Role ids are checked by the
// caller, which knows the workspace's roles.
func RoleSoD(sets [][]string) (*SoDSets, error) {
	if err := checkSoDShape(sets); err != nil {
		return nil, err
	}
	return &SoDSets{Items: sets}, nil
}

func checkSoDShape(sets [][]string) error {
	if len(sets) < 2 || len(sets) > MaxSoDSets {
		return Errorf(CodeInvalidArgument, "a separation-of-duties rule has 2 to %d sets, got %d", MaxSoDSets, len(sets))
	}
	seen := map[string]int{}
	for i, set := range sets {
		if len(set) == 0 || len(set) > MaxSoDSetItems {
			return Errorf(CodeInvalidArgument, "set %d of the rule holds %d items; a set holds 1 to %d", i+1, len(set), MaxSoDSetItems)
		}
		for _, it := range set {
			if j, ok := seen[it]; ok {
				return &Error{Code: CodeInvalidArgument,
					Message: fmt.Sprintf("%q is in sets %d and %d: a set cannot conflict with itself", it, j+1, i+1),
					Details: map[string]any{"item": it}}
			}
			seen[it] = i
		}
	}
	return nil
}

// covered returns p and every permission that inherits its grant (C6).
func (c *Catalog) covered(p *Permission) []PermID {
	out := []PermID{p.ID}
	for _, q := range c.perms {
		for a := q.parent; a != nil; a = a.parent {
			if a == p {
				out = append(out, q.ID)
				break
			}
		}
	}
	return out
}

// Roles reports whether the rule is over roles rather than permissions.
func (r *SoDSets) Roles() bool { return r.perms == nil }

// Held returns, for each set, the items of it the member holds: for a
// permission rule, the keys covering some permission above none in
// levels; for a role rule, the role ids among roles. A set the member does
// not hold is nil. The member breaks the rule when two or more sets are
// non-nil (see Conflicting).
func (r *SoDSets) Held(levels Vector, roles []string) [][]string {
	return r.HeldBy(func(p PermID) Level {
		if int(p) < len(levels) {
			return levels[p]
		}
		return LevelNone
	}, roles)
}

// HeldBy is Held with the member's levels given as a function, asked only
// about the permissions the rule covers: a caller that can tell a few
// levels without computing all of them passes it.
func (r *SoDSets) HeldBy(level func(PermID) Level, roles []string) [][]string {
	out := make([][]string, len(r.Items))
	for i, set := range r.Items {
		for j, it := range set {
			if r.holds(i, j, level, roles) {
				out[i] = append(out[i], it)
			}
		}
	}
	return out
}

func (r *SoDSets) holds(i, j int, level func(PermID) Level, roles []string) bool {
	if r.perms == nil {
		return slices.Contains(roles, r.Items[i][j])
	}
	for _, p := range r.perms[i][j] {
		if level(p) > LevelNone {
			return true
		}
	}
	return false
}

// Conflicting reports whether held (from Held) holds two or more sets.
func Conflicting(held [][]string) bool {
	n := 0
	for _, h := range held {
		if h != nil {
			n++
		}
	}
	return n >= 2
}

// NewConflict reports whether after holds a conflicting combination that
// before did not (S2, S3): two or more sets, one of which before did not
// hold or before being no conflict at all. A member who already broke a
// rule may keep what it held, or lose some of it, but gains no new pair.
func NewConflict(before, after [][]string) bool {
	if !Conflicting(after) {
		return false
	}
	if len(before) != len(after) || !Conflicting(before) {
		return true
	}
	for i := range after {
		if after[i] != nil && before[i] == nil {
			return true
		}
	}
	return false
}
