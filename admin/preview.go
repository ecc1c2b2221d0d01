package admin

import (
	"context"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// LevelChange is one permission of one member that an edit would change.
type LevelChange struct {
	Permission string
	Old, New   policy.Level
	// OldWhen and NewWhen are the conditions under which the member holds
	// Old and New (G1), "" when held unconditionally. A change of
	// condition at the same level is a change (Old == New).
	OldWhen, NewWhen string
}

// MemberImpact is how an edit would change one member's effective levels.
type MemberImpact struct {
	UserID  string
	Changes []LevelChange
}

// PermissionImpact counts, for one permission, the members whose effective
// level an edit would raise (Gaining) or lower (Losing).
type PermissionImpact struct {
	Permission      string
	Gaining, Losing int
	// Changing counts the members whose level stays but whose conditions
	// change (G1): a condition added, removed or edited at the same level.
	Changing int
}

// Impact is the preview of a role edit (P1): a summary over every member
// of the role, and one page of the affected members.
type Impact struct {
	RoleID string
	// Affected counts the role's members whose effective levels would
	// change; Unaffected those whose levels stay, because another role or
	// a direct grant already gives as much.
	Affected, Unaffected int
	// Permissions counts the members gaining and losing per permission,
	// for the permissions that change for anyone, in catalog order.
	Permissions []PermissionImpact
	// Members is a page of the affected members, by user id: those after
	// the page's cursor, at most its limit.
	Members []MemberImpact
	// Next is the cursor of the next page (the last user id of this
	// one), "" on the last page.
	Next string
	// SoD lists the members who would come to break a separation-of-duties
	// rule (S2), at most MaxPreviewSoD of them: the edit would be refused
	// with separation_of_duties when applied.
	SoD []SoDViolation
}

// MaxPreviewSoD bounds the SoD violations a preview lists.
const MaxPreviewSoD = 100

// ImpactPage selects the page of affected members a preview lists.
type ImpactPage struct {
	After string // members after this user id
	Limit int    // 1–1000; 0 means 100
}

// PreviewRole computes what saving and applying grants to a role would do
// to its members' effective levels (P1). Nothing is written. The grants
// are validated as an edit would be. The answer is bounded: a summary of
// fixed size per permission and one page of members, whatever the
// number of members (an allow-all on 15,000 members once answered 101 MB).
func (s *Service) PreviewRole(ctx context.Context, ws, id string, grants policy.Grants, page ImpactPage) (Impact, error) {
	return s.PreviewRoleWhen(ctx, ws, id, grants, nil, page)
}

// PreviewRoleWhen is PreviewRole with conditions on some of the proposed
// grants (G1): they are validated as an edit would be, and a conditional
// grant counts at its level in the impact.
func (s *Service) PreviewRoleWhen(ctx context.Context, ws, id string, grants policy.Grants, when policy.Conditions, page ImpactPage) (Impact, error) {
	if page.Limit <= 0 || page.Limit > 1000 {
		page.Limit = 100
	}
	sp, err := s.space(ctx, ws)
	if err != nil {
		return Impact{}, err
	}
	sp.write.Lock() // the vector cache is the writers'
	defer sp.write.Unlock()
	v := newView(sp.m, s.now().UTC(), Actor{})
	if err := v.updateRole(id, RoleUpdate{Grants: grants, When: when}); err != nil {
		return Impact{}, err
	}
	out := Impact{RoleID: id}
	perms := v.cat.Permissions()
	gain, lose, cond := make([]int, len(perms)), make([]int, len(perms)), make([]int, len(perms))
	srcs := condSources{}
	for _, u := range v.membersOf(id) { // sorted by user id
		m, old := v.member(u), v.baseMember(u)
		before, after := v.baseEffective(old), v.effective(m)
		var cb, ca []condAccess
		if hasConditions(v.base.revs, old) || hasConditions(v.revs, m) {
			cb = srcs.conditionalAccess(v.base.cat, v.base.roles, v.base.revs, old, before)
			ca = srcs.conditionalAccess(v.cat, v.roles, v.revs, m, after)
		}
		listed := u > page.After && len(out.Members) < page.Limit
		var ch []LevelChange
		changed := false
		for i, p := range perms {
			b, a := before[p.ID], after[p.ID]
			var bw, aw string
			if cb != nil {
				bw, aw = cb[p.ID].when, ca[p.ID].when
			}
			switch {
			case a > b:
				gain[i]++
			case a < b:
				lose[i]++
			case cb != nil && cb[p.ID].shape != ca[p.ID].shape:
				cond[i]++
			default:
				continue
			}
			changed = true
			if listed {
				ch = append(ch, LevelChange{Permission: p.Key, Old: b, New: a, OldWhen: bw, NewWhen: aw})
			}
		}
		if !changed {
			out.Unaffected++
			continue
		}
		out.Affected++
		switch {
		case listed:
			out.Members = append(out.Members, MemberImpact{UserID: u, Changes: ch})
		case u > page.After && out.Next == "":
			out.Next = out.Members[len(out.Members)-1].UserID // one more exists after the page
		}
	}
	out.SoD = v.newViolations(v.membersOf(id), MaxPreviewSoD)
	for i, p := range perms {
		if gain[i] > 0 || lose[i] > 0 || cond[i] > 0 {
			out.Permissions = append(out.Permissions, PermissionImpact{Permission: p.Key, Gaining: gain[i], Losing: lose[i], Changing: cond[i]})
		}
	}
	return out, nil
}
