package admin

import (
	"context"
	"slices"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// LevelChange is one permission of one member that an edit would change.
type LevelChange struct {
	Permission string
	Old, New   policy.Level
}

// MemberImpact is how an edit would change one member's effective levels.
type MemberImpact struct {
	UserID  string
	Changes []LevelChange
}

// Impact is the preview of a role edit (P1).
type Impact struct {
	RoleID  string
	Members []MemberImpact // members whose effective levels would change, by user id
	// Unaffected counts the role's members whose effective levels stay,
	// because another role or a direct grant already gives as much.
	Unaffected int
}

// PreviewRole computes what saving and applying grants to a role would do
// to its members' effective levels (P1). Nothing is written. The grants
// are validated as an edit would be.
func (s *Service) PreviewRole(ctx context.Context, ws, id string, grants policy.Grants) (Impact, error) {
	sp, err := s.space(ctx, ws)
	if err != nil {
		return Impact{}, err
	}
	sp.write.Lock() // the vector cache is the writers'
	defer sp.write.Unlock()
	v := newView(sp.m, s.now().UTC(), Actor{})
	if err := v.updateRole(id, RoleUpdate{Grants: grants}); err != nil {
		return Impact{}, err
	}
	out := Impact{RoleID: id}
	for _, u := range v.membersOf(id) {
		m, old := v.member(u), v.base.members[u]
		before, after := v.baseEffective(old), v.effective(m)
		var ch []LevelChange
		for _, p := range v.cat.Permissions() {
			if before[p.ID] != after[p.ID] {
				ch = append(ch, LevelChange{Permission: p.Key, Old: before[p.ID], New: after[p.ID]})
			}
		}
		if len(ch) == 0 {
			out.Unaffected++
			continue
		}
		out.Members = append(out.Members, MemberImpact{UserID: u, Changes: ch})
	}
	slices.SortFunc(out.Members, func(a, b MemberImpact) int { return cmpString(a.UserID, b.UserID) })
	return out, nil
}
