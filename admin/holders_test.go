package admin

import (
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// TestM7_R6_RoleHolderIndexFollowsMerges: the count of a role's members (a
// role's member_count, M7) and the lazily built index of its holders (what
// an applied edit moves, R6) stay equal to what the members hold, through
// random assignments, removals, role deletions and merges, whether the
// index was built before the writes, in the middle or never.
func TestM7_R6_RoleHolderIndexFollowsMerges(t *testing.T) {
	t.Parallel()
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 17))
			d := &Dataset{Workspace: Workspace{ID: "w", Name: "W", Plan: PlanFree, Revision: 1}}
			roles := []string{"a", "b", "c", "d"}
			for _, id := range roles {
				d.Roles = append(d.Roles, Role{ID: id, Name: id, Audience: policy.Internal, Revision: 1})
				d.Revisions = append(d.Revisions, RoleRevision{RoleID: id, Revision: 1})
			}
			for i := range 30 {
				d.Members = append(d.Members, Member{UserID: fmt.Sprintf("u%02d", i), Kind: policy.Internal, Roles: randomRoles(rng, roles)})
			}
			m, err := newModel(policy.DefaultCatalog(), d, time.Now, 0)
			if err != nil {
				t.Fatal(err)
			}
			buildAt := rng.IntN(4) // 0: before the writes; 3: never
			for step := range 40 {
				if step == buildAt*10 {
					m.holders()
				}
				v := newView(m, time.Now(), Actor{})
				for range 1 + rng.IntN(5) {
					u := fmt.Sprintf("u%02d", rng.IntN(40))
					switch {
					case rng.IntN(6) == 0:
						v.removeMember(u)
					default:
						mb := &Member{UserID: u, Kind: policy.Internal, Roles: randomRoles(rng, slices.Collect(maps.Keys(v.roles)))}
						if old := v.member(u); old != nil {
							mb = old.clone()
							mb.Roles = randomRoles(rng, slices.Collect(maps.Keys(v.roles)))
						}
						v.putMember(mb)
					}
				}
				if rng.IntN(8) == 0 && len(v.roles) > 1 {
					id := slices.Sorted(maps.Keys(v.roles))[rng.IntN(len(v.roles))]
					for _, u := range v.sortedMembers() {
						if mb := v.member(u); mb != nil && mb.holds(id) {
							c := mb.clone()
							c.Roles = slices.DeleteFunc(c.Roles, func(a Assignment) bool { return a.RoleID == id })
							v.putMember(c)
						}
					}
					v.deleteRole(id)
				}
				v.merge()
				if err := v.base.advance(nil, v.members, nil, slog.New(slog.DiscardHandler)); err != nil {
					t.Fatal(err)
				}
				assertHolders(t, m)
			}
		})
	}
}

func randomRoles(rng *rand.Rand, ids []string) []Assignment {
	slices.Sort(ids)
	var out []Assignment
	for _, id := range ids {
		if rng.IntN(2) == 0 {
			out = append(out, Assignment{RoleID: id, Revision: 1})
		}
	}
	return out
}

func assertHolders(t *testing.T, m *model) {
	t.Helper()
	want := map[string]map[string]struct{}{}
	for u, mb := range m.allMembers() {
		for _, a := range mb.Roles {
			if want[a.RoleID] == nil {
				want[a.RoleID] = map[string]struct{}{}
			}
			want[a.RoleID][u] = struct{}{}
		}
	}
	for id := range m.roles {
		if got := m.roleCount[id]; got != len(want[id]) {
			t.Fatalf("role %s: count %d, members holding it %d", id, got, len(want[id]))
		}
	}
	for id := range m.roleCount {
		if m.roles[id] == nil {
			t.Fatalf("count kept for deleted role %s", id)
		}
	}
	if m.roleMembers == nil {
		return
	}
	for id := range m.roles {
		if got := m.roleMembers[id]; !maps.Equal(got, want[id]) && len(got)+len(want[id]) > 0 {
			t.Fatalf("role %s: index %v, members holding it %v", id, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want[id])))
		}
	}
}
