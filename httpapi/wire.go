package httpapi

import (
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// The JSON shapes of DESIGN.md §3. Field names are part of the API; more
// fields may be added, none renamed.

type workspaceJSON struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Plan      admin.Plan `json:"plan"`
	Revision  int64      `json:"revision"`
	CreatedAt time.Time  `json:"created_at"`
}

func toWorkspace(w admin.Workspace) workspaceJSON {
	return workspaceJSON{ID: w.ID, Name: w.Name, Plan: w.Plan, Revision: w.Revision, CreatedAt: w.CreatedAt}
}

type roleJSON struct {
	ID          string             `json:"id"`
	Name        string             `json:"name"`
	Description string             `json:"description"`
	Audience    policy.Audience    `json:"audience"`
	Predefined  bool               `json:"predefined"`
	Default     bool               `json:"default"`
	Grants      policy.GrantValues `json:"grants"`
	Revision    int64              `json:"revision"`
	MemberCount int                `json:"member_count"`
	UpdatedAt   time.Time          `json:"updated_at"`
}

func toRole(r admin.Role) roleJSON {
	return roleJSON{ID: r.ID, Name: r.Name, Description: r.Description, Audience: r.Audience, Predefined: r.Predefined,
		Default: r.Default, Grants: policy.JoinGrants(aboveNone(r.Grants), r.When), Revision: r.Revision, MemberCount: r.MemberCount, UpdatedAt: r.UpdatedAt}
}

// aboveNone drops grants at none: a response lists only grants above none.
func aboveNone(g policy.Grants) policy.Grants {
	out := make(policy.Grants, len(g))
	for k, l := range g {
		if l > policy.LevelNone {
			out[k] = l
		}
	}
	return out
}

type assignmentJSON struct {
	RoleID     string    `json:"role_id"`
	Revision   int64     `json:"revision"`
	AssignedAt time.Time `json:"assigned_at"`
	AssignedBy string    `json:"assigned_by"`
	// ExpiresAt is when the assignment stops being honoured (T1).
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

type memberJSON struct {
	UserID        string             `json:"user_id"`
	Name          string             `json:"name"`
	Email         string             `json:"email"`
	Kind          policy.Audience    `json:"kind"`
	DepartmentIDs []string           `json:"department_ids"`
	Owner         bool               `json:"owner"`
	Roles         []assignmentJSON   `json:"roles"`
	Grants        policy.GrantValues `json:"grants"`
	// GrantExpiresAt holds, for each direct grant that expires, when it
	// stops being honoured (T1).
	GrantExpiresAt map[string]time.Time `json:"grant_expires_at,omitempty"`
	// DepartmentRoles are the roles held through departments (M9).
	DepartmentRoles []heldRoleJSON `json:"department_roles"`
	Epoch           int64          `json:"epoch"`
}

func toMember(m admin.Member) memberJSON {
	out := memberJSON{UserID: m.UserID, Name: m.Name, Email: m.Email, Kind: m.Kind, DepartmentIDs: m.DepartmentIDs,
		Owner: m.Owner, Roles: make([]assignmentJSON, len(m.Roles)), Grants: policy.JoinGrants(aboveNone(m.Grants), m.When), Epoch: m.Epoch}
	if out.DepartmentIDs == nil {
		out.DepartmentIDs = []string{}
	}
	for i, a := range m.Roles {
		out.Roles[i] = toAssignment(a)
	}
	out.DepartmentRoles = make([]heldRoleJSON, len(m.DepartmentRoles))
	for i, h := range m.DepartmentRoles {
		out.DepartmentRoles[i] = heldRoleJSON{assignmentJSON: toAssignment(h.Assignment), DepartmentID: h.Department}
	}
	if len(m.GrantExpiry) > 0 {
		out.GrantExpiresAt = m.GrantExpiry
	}
	return out
}

// timeOrNil is nil for the zero time, which JSON leaves out.
func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

type departmentJSON struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	ParentID string `json:"parent_id"`
	// Roles are held by every member of the department (M9), and of its
	// sub-departments when IncludeSubdepartments.
	Roles                 []assignmentJSON `json:"roles"`
	IncludeSubdepartments bool             `json:"include_subdepartments"`
}

func toDepartment(d admin.Department) departmentJSON {
	out := departmentJSON{ID: d.ID, Name: d.Name, ParentID: d.ParentID, Roles: make([]assignmentJSON, len(d.Roles)),
		IncludeSubdepartments: d.IncludeSubdepartments}
	for i, a := range d.Roles {
		out.Roles[i] = toAssignment(a)
	}
	return out
}

func toAssignment(a admin.Assignment) assignmentJSON {
	return assignmentJSON{RoleID: a.RoleID, Revision: a.Revision, AssignedAt: a.AssignedAt, AssignedBy: a.AssignedBy, ExpiresAt: timeOrNil(a.ExpiresAt)}
}

// heldRoleJSON is a role a member holds through a department (M9).
type heldRoleJSON struct {
	assignmentJSON
	DepartmentID string `json:"department_id"`
}

type revisionJSON struct {
	RoleID    string             `json:"role_id"`
	Revision  int64              `json:"revision"`
	Grants    policy.GrantValues `json:"grants"`
	Author    string             `json:"author"`
	Reason    string             `json:"reason"`
	Applied   bool               `json:"applied"`
	Restored  int64              `json:"restored,omitempty"`
	CreatedAt time.Time          `json:"created_at"`
}

func toRevision(rv admin.RoleRevision) revisionJSON {
	return revisionJSON{RoleID: rv.RoleID, Revision: rv.Revision, Grants: policy.JoinGrants(aboveNone(rv.Grants), rv.When), Author: rv.Author,
		Reason: rv.Reason, Applied: rv.Applied, Restored: rv.Restored, CreatedAt: rv.CreatedAt}
}

type grantChangeJSON struct {
	Permission string       `json:"permission"`
	Old        policy.Level `json:"old"`
	New        policy.Level `json:"new"`
	OldWhen    string       `json:"old_when,omitempty"` // G1: the conditions, when either side has one
	NewWhen    string       `json:"new_when,omitempty"`
}

type keyJSON struct {
	ID        string         `json:"id"`
	Scope     admin.KeyScope `json:"scope"`
	Name      string         `json:"name"`
	CreatedAt time.Time      `json:"created_at"`
	CreatedBy string         `json:"created_by"`
	// Key is the secret, present only in the answer that created it.
	Key string `json:"key,omitempty"`
}

func toKey(k admin.APIKey) keyJSON {
	return keyJSON{ID: k.ID, Scope: k.Scope, Name: k.Name, CreatedAt: k.CreatedAt, CreatedBy: k.CreatedBy}
}

type auditJSON struct {
	Seq      int64     `json:"seq"`
	Time     time.Time `json:"time"`
	Revision int64     `json:"revision"`
	Actor    string    `json:"actor"`
	// ActorName is the acting member's name when it acted (X5).
	ActorName string `json:"actor_name,omitempty"`
	Action    string `json:"action"`
	Target    string `json:"target"`
	Before    any    `json:"before"`
	After     any    `json:"after"`
	Reason    string `json:"reason"`
	Hash      string `json:"hash"`
	// KeyID names the audit key that signed the entry (X4).
	KeyID string `json:"key_id,omitempty"`
}

type changeJSON struct {
	Revision int64     `json:"revision"`
	Time     time.Time `json:"time"`
	Action   string    `json:"action"`
	Targets  []string  `json:"targets"`
	// Epochs lists the members whose epoch moved (A1): their sessions
	// must re-authenticate (A3).
	Epochs []string `json:"epochs"`
}

func toChange(c admin.Change) changeJSON {
	out := changeJSON{Revision: c.Revision, Time: c.Time, Action: c.Action, Targets: c.Targets, Epochs: c.Epochs}
	if out.Targets == nil {
		out.Targets = []string{}
	}
	if out.Epochs == nil {
		out.Epochs = []string{}
	}
	return out
}

// page is a list response.
type page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}
