package sqlstore

import (
	"context"

	"github.com/gatehouse-authz/gatehouse/admin"
)

// An assignment row without a revision follows its role's
// applied_revision (R6; migration 00011): an apply moves the role's
// followers by writing the role row alone. A write stores an assignment
// on its role's applied revision as a follower, so that the next apply
// has nothing to rewrite, and so that the row is checked against its role
// once (a NULL revision skips the role_revisions key, which a pinned row
// pays as well as the roles key).

// appliedRoles is the applied revision of each role of a workspace, read
// once per Commit when it first writes an assignment, and forgotten when
// an op changes a role.
type appliedRoles struct {
	revs map[string]int64 // nil: not read
}

// forget drops what was read: op may change a role's applied revision.
func (a *appliedRoles) forget(op admin.Op) {
	switch op.(type) {
	case admin.PutRole, admin.ApplyRole, admin.DeleteRole:
		a.revs = nil
	}
}

// revision returns what an assignment row of role at rev stores: nil when
// rev is the role's applied revision, else rev.
func (a *appliedRoles) revision(ctx context.Context, s *Store, tx Tx, ws, role string, rev int64) (any, error) {
	if a.revs == nil {
		a.revs = map[string]int64{}
		err := s.eachRow(ctx, tx, func(rows Rows) error {
			var id string
			var applied int64
			if err := rows.Scan(&id, &applied); err != nil {
				return err
			}
			a.revs[id] = applied
			return nil
		}, `SELECT id, applied_revision FROM roles WHERE workspace_id = ?`, ws)
		if err != nil {
			return nil, err
		}
	}
	if applied, ok := a.revs[role]; ok && applied == rev {
		return nil, nil
	}
	return rev, nil
}
