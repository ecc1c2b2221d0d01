package admin

import (
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

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

// memberCompiler turns members into the policy core's input, as they are
// live at now, their role revisions (their own and those held through
// departments, as heldRefs lists them) appended to one buffer.
type memberCompiler struct {
	depts     map[string]*Department
	roles     map[string]*Role
	follow    follows // of the model the snapshot will be with
	now       time.Time
	withDepts bool
	refs      []policy.RoleRef
	buf       []byte // scratch for records
}

// member is m as the policy core compiles it, with data, the record of m
// the snapshot keeps (see memberdata.go; "": encode it): the record is of
// the member as stored, the rest of the member as live now.
func (c *memberCompiler) member(m *Member, data string) policy.Member {
	if data == "" {
		c.buf = appendMember(c.buf[:0], m, c.follow)
		data = string(c.buf)
	}
	m = m.live(c.now)
	start := len(c.refs)
	c.refs = heldRefs(c.depts, c.roles, m, c.now, c.refs, c.withDepts)
	return policy.Member{UserID: m.UserID, Kind: m.Kind, Owner: m.Owner, DepartmentIDs: m.DepartmentIDs,
		Roles: c.refs[start:len(c.refs):len(c.refs)], Grants: m.Grants, When: m.When, Epoch: m.Epoch, Email: m.Email, Data: data}
}
