package admin

import "github.com/gatehouse-authz/gatehouse/policy"

// The one translation of the admin model into the policy core's input:
// a full compile (model.state), a write's delta (delta.go) and a
// follower's delta (followdelta.go) must hand the core the same values,
// or a snapshot built one way would decide differently from one built
// another.

// policyRole is role r at revision rv as the policy core compiles it.
func policyRole(r *Role, rv *RoleRevision) policy.RoleRevision {
	return policy.RoleRevision{RoleID: r.ID, Revision: rv.Revision, Name: r.Name,
		Audience: r.Audience, Predefined: r.Predefined, Grants: rv.Grants, When: rv.When}
}

// roleWithGrants is role r at revision rv with grants g in place of its
// own and no conditions: what a level comparison (C4, previews) reads.
func roleWithGrants(r *Role, rv *RoleRevision, g policy.Grants) policy.RoleRevision {
	return policy.RoleRevision{RoleID: r.ID, Revision: rv.Revision, Name: r.Name,
		Audience: r.Audience, Predefined: r.Predefined, Grants: g}
}

// policyMember is member m holding the role revisions refs (its own and
// those held through departments, as heldRefs lists them), with data, the
// record of m as the model keeps it (see memberdata.go): m may be the
// member as live now, the record is of the member as stored.
func policyMember(m *Member, refs []policy.RoleRef, data string) policy.Member {
	return policy.Member{UserID: m.UserID, Kind: m.Kind, Owner: m.Owner, DepartmentIDs: m.DepartmentIDs,
		Roles: refs, Grants: m.Grants, When: m.When, Epoch: m.Epoch, Email: m.Email, Data: data}
}
