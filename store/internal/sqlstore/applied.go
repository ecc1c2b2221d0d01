package sqlstore

import (
	"context"
	"fmt"

	"github.com/gatehouse-authz/gatehouse/admin"
)

// An assignment row without a revision follows its role's
// applied_revision (R6; migration 00011): an apply moves the role's
// followers by writing the role row alone (Store.applyRole). A write
// stores an assignment on its role's applied revision as a follower
// (appliedRoles), so that the next apply has nothing to rewrite, and so
// that the row is checked against its role once (a NULL revision skips
// the role_revisions key, which a pinned row pays as well as the roles
// key). A read gives each follower its role's applied revision
// (followedRevision, followers), so nothing above the store sees the
// difference.

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

// roleOf names a role of a workspace.
type roleOf struct{ ws, role string }

// followedRevision returns the revision that the assignments of role
// following it hold in d: the role's applied revision, its newest unless
// lagging says otherwise.
func (q *sel) followedRevision(d *admin.Dataset, role string) (int64, error) {
	if rev, ok := q.lagging[roleOf{d.Workspace.ID, role}]; ok {
		return rev, nil
	}
	for i := range d.Roles {
		if d.Roles[i].ID == role {
			return d.Roles[i].Revision, nil
		}
	}
	return 0, fmt.Errorf("workspace %s: an assignment follows role %s, which it does not have", d.Workspace.ID, role)
}

// followers resolves the assignments that follow their role, one
// workspace after another: by followedRevision's scan of a workspace's
// few roles, or, for a workspace with many, through a map of them made
// on its first follower (crm-medium: 200 roles, 100,000 followers).
type followers struct {
	d    *admin.Dataset
	revs map[string]int64
}

func (f *followers) revision(q *sel, d *admin.Dataset, role string) (int64, error) {
	if len(d.Roles) <= 16 {
		return q.followedRevision(d, role)
	}
	if f.d != d {
		f.d, f.revs = d, make(map[string]int64, len(d.Roles))
		for i := range d.Roles {
			rev, err := q.followedRevision(d, d.Roles[i].ID)
			if err != nil {
				return 0, err
			}
			f.revs[d.Roles[i].ID] = rev
		}
	}
	if rev, ok := f.revs[role]; ok {
		return rev, nil
	}
	return q.followedRevision(d, role) // the error
}
