package admin

import (
	"encoding/json"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// Plan is a workspace's subscription plan (W2).
type Plan string

// The plans of W2.
const (
	PlanFree         Plan = "free"
	PlanStandard     Plan = "standard"
	PlanProfessional Plan = "professional"
)

// Workspace is a tenant (W1).
type Workspace struct {
	ID        string
	Name      string
	Plan      Plan
	Revision  int64 // the revision of the last committed change
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Role is a role (profile) at its newest revision.
type Role struct {
	ID          string
	Name        string
	Description string
	Audience    policy.Audience
	Predefined  bool
	Default     bool  // the one default role (R2)
	Revision    int64 // the newest revision (R6), 1 for a new role
	Grants      policy.Grants
	When        policy.Conditions // conditions of conditional grants (G1)
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// MemberCount is filled by reads; it is not stored.
	MemberCount int
}

// RoleRevision is one immutable revision of a role's grants (R6, R6a).
type RoleRevision struct {
	RoleID    string
	Revision  int64
	Grants    policy.Grants
	When      policy.Conditions // conditions of conditional grants (G1)
	Author    string            // who made it, named as in the audit log (X5)
	Reason    string
	Applied   bool  // whether the edit that made it moved the assignees (R6)
	Restored  int64 // the revision it restores, or 0 (R6a)
	CreatedAt time.Time
}

// Assignment is a role held by a member, at a revision (R6, M7).
type Assignment struct {
	RoleID     string
	Revision   int64
	AssignedAt time.Time
	AssignedBy string // who made it, named as in the audit log (X5)
	// ExpiresAt is the instant from which the assignment is no longer
	// honoured (T1); zero for an assignment that does not expire.
	ExpiresAt time.Time
}

// Member is a user of a workspace (M1).
type Member struct {
	UserID        string
	Name          string
	Email         string
	Kind          policy.Audience
	Owner         bool // W4
	DepartmentIDs []string
	Roles         []Assignment // sorted by role id, never empty (M2)
	Grants        policy.Grants
	When          policy.Conditions // conditions of conditional direct grants (G1)
	// GrantExpiry holds, for the direct grants that expire (T1), the
	// instant from which each is no longer honoured. Keys are a subset of
	// Grants' keys; nil when none expires.
	GrantExpiry map[string]time.Time
	// DepartmentRoles are the roles the member holds through its
	// departments (M9), filled by reads; they are not stored per member.
	DepartmentRoles []HeldRole
	Epoch           int64 // A1
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Department is a node of a workspace's org tree.
type Department struct {
	ID       string
	Name     string
	ParentID string // "" for a root
	// Roles are held by every member of the department while there (M9),
	// sorted by role id. Their AssignedAt, AssignedBy and ExpiresAt (T1)
	// are the department's assignment's.
	Roles []Assignment
	// IncludeSubdepartments extends Roles to the members of every
	// department below this one.
	IncludeSubdepartments bool
}

// AuditEntry is one line of a workspace's audit log (X4). Entries form a
// hash chain: Hash covers PrevHash and every other field. It is an
// HMAC-SHA256 under the audit key KeyID names, or, for entries written
// without a key (KeyID ""), a plain SHA-256.
type AuditEntry struct {
	Seq      int64
	Time     time.Time
	Revision int64
	Actor    string // who acted (X5): a user id, "key:<id>", "deployment" or "system"
	// ActorName is the acting member's name when it acted, if a member did.
	ActorName string
	Action    string // e.g. "role.update"
	Target    string // e.g. "role:sales", "member:u1"
	Before    json.RawMessage
	After     json.RawMessage
	Reason    string
	// KeyID names the audit key whose MAC Hash is; "" for a legacy,
	// unkeyed entry.
	KeyID    string
	PrevHash string
	Hash     string
}

// Change is a workspace's changelog row for one revision: what changed and
// whose epochs moved (A1, A3). Other nodes and the event feed read it.
type Change struct {
	Revision int64
	Time     time.Time
	Action   string   // the operation, e.g. "role.update"
	Targets  []string // what it changed
	Epochs   []string // user ids whose epoch moved
}

// Usage is the use of one permission through one role (U1); the engine
// counts it, so it is declared in policy, below both.
type Usage = policy.Usage

// Actor is who performs an admin operation (X3, X5). UserID names an
// acting member (Gatehouse-Actor, or a member's console session): its
// authority is checked (X3) and it cannot escalate (X3a). Without one, the
// key that made the call acts for itself, as the host platform does, with
// KeyID naming it, or Deployment set for the deployment admin key. The zero
// Actor is an in-process call with no key, such as a test or a seeder.
type Actor struct {
	UserID     string
	KeyID      string
	Deployment bool
	// System marks Gatehouse's own automatic changes, such as an expiry
	// being committed (T2) or an access review closed at its deadline
	// (V2): audited as "system" (X5), not limited by X3.
	System bool
}

// SystemActor is the actor of automatic changes (T2, X5).
var SystemActor = Actor{System: true}

// AuditName is how the audit log names the actor (X5): the member's user
// id, "key:<id>", "deployment", or "" for an in-process call.
func (a Actor) AuditName() string {
	switch {
	case a.UserID != "":
		return a.UserID
	case a.KeyID != "":
		return "key:" + a.KeyID
	case a.Deployment:
		return "deployment"
	case a.System:
		return "system"
	}
	return ""
}

// SmartObject is a workspace's own object type (C9).
type SmartObject = policy.SmartObject
