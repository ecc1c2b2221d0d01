package admin

import (
	"context"
	"slices"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// UnusedGrant is a permission a role gives that no allowed decision used
// through that role within the report's window (U1).
type UnusedGrant struct {
	RoleID     string
	Permission string
	Level      policy.Level
	LastUsed   time.Time // zero if never used
}

// RecordUsage stores usage counts for a workspace (U1); the engine's
// flusher calls it every few seconds with what it counted.
func (s *Service) RecordUsage(ctx context.Context, ws string, u []Usage) error {
	return s.store.AddUsage(ctx, ws, u)
}

// Usage returns a workspace's recorded usage.
func (s *Service) Usage(ctx context.Context, ws string) ([]Usage, error) {
	if _, err := s.space(ctx, ws); err != nil {
		return nil, err
	}
	return s.store.Usage(ctx, ws)
}

// UnusedGrants lists, for every role at its newest revision, the
// permissions it gives (explicitly or by inheritance) that were not used
// through it in the last days days (U1), by role and permission.
func (s *Service) UnusedGrants(ctx context.Context, ws string, days int) ([]UnusedGrant, error) {
	if days < 1 || days > 3650 {
		return nil, policy.Errorf(policy.CodeInvalidArgument, "unused_days must be 1 to 3650, got %d", days)
	}
	sp, err := s.space(ctx, ws)
	if err != nil {
		return nil, err
	}
	used, err := s.store.Usage(ctx, ws)
	if err != nil {
		return nil, err
	}
	last := map[[2]string]time.Time{}
	for _, u := range used {
		last[[2]string{u.RoleID, u.Permission}] = u.LastUsed
	}
	cutoff := s.now().Add(-time.Duration(days) * 24 * time.Hour)
	sp.write.Lock()
	defer sp.write.Unlock()
	m := sp.m
	var out []UnusedGrant
	for _, r := range m.roles {
		rv := m.revs[policy.RoleRef{RoleID: r.ID, Revision: r.Revision}]
		vec := m.roleVector(m.cat, r, rv)
		for _, p := range m.cat.Permissions() {
			if vec[p.ID] == policy.LevelNone || p.Module.Kind == policy.Relation {
				continue
			}
			if t := last[[2]string{r.ID, p.Key}]; t.Before(cutoff) {
				out = append(out, UnusedGrant{RoleID: r.ID, Permission: p.Key, Level: vec[p.ID], LastUsed: t})
			}
		}
	}
	slices.SortFunc(out, func(a, b UnusedGrant) int {
		if c := cmpString(a.RoleID, b.RoleID); c != 0 {
			return c
		}
		return cmpString(a.Permission, b.Permission)
	})
	return out, nil
}
