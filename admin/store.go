package admin

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// Store is the persistence admin needs: every role below. Implementations:
// store/sqlite and store/postgres; store/storetest is the conformance suite
// both pass. Callers that need less declare the role they use (Reader,
// Committer, UsageStore, Secrets), as internal/node does for its session
// keys.
//
// Every method is safe for concurrent use. Errors carry policy codes where
// the caller can act on them (not_found); anything else is internal.
type Store interface {
	Reader
	Committer
	UsageStore
	Secrets
}

// Committer writes a workspace's changes.
type Committer interface {
	// Commit writes c in one transaction: c.Ops in order, the audit entries
	// and the changelog row, and moves the workspace to c.Revision. It
	// returns ErrStale, writing nothing, when the workspace is no longer at
	// c.Base (another writer won). A Commit with Base 0 creates the
	// workspace; it returns ErrStale if the id is taken.
	Commit(ctx context.Context, c *Commit) error
}

// Reader reads what was committed.
type Reader interface {
	// Load returns everything a workspace's model is built from: the
	// workspace, its roles at their newest revisions, every role revision a
	// member holds, members with assignments, departments, smart objects
	// and the audit chain's head. not_found if there is no such workspace.
	Load(ctx context.Context, workspace string) (*Dataset, error)
	// Workspaces returns the id of every workspace, sorted.
	Workspaces(ctx context.Context) ([]string, error)
	// Heads returns every workspace's current revision, sorted by
	// workspace: what a node compares its snapshots with to learn what
	// other nodes committed (see Service.Sync).
	Heads(ctx context.Context) ([]Head, error)
	// RoleRevisions returns a role's revisions, oldest first.
	RoleRevisions(ctx context.Context, workspace, role string) ([]RoleRevision, error)
	// Members returns a page of members matching f, sorted by user id.
	Members(ctx context.Context, workspace string, f MemberFilter) ([]Member, error)
	// Audit returns a page of audit entries matching f, by sequence.
	Audit(ctx context.Context, workspace string, f AuditFilter) ([]AuditEntry, error)
	// Changes returns the changelog rows after revision after, oldest first,
	// at most limit of them.
	Changes(ctx context.Context, workspace string, after int64, limit int) ([]Change, error)
}

// UsageStore keeps permission usage (U1).
type UsageStore interface {
	// AddUsage adds the counts to the stored usage in one transaction,
	// keeping the later last-used time. Counts for a workspace or role that
	// no longer exists are dropped.
	AddUsage(ctx context.Context, workspace string, u []Usage) error
	// Usage returns a workspace's stored usage.
	Usage(ctx context.Context, workspace string) ([]Usage, error)
}

// Secrets keeps deployment-wide secrets: the console links claimed (see
// ClaimConsoleLink) here, the session signing keys in internal/node.
type Secrets interface {
	// Secret returns the deployment secret called name, first storing the
	// value of generate if there is none. Concurrent callers, in this
	// process or another, all get the one value that was stored first.
	Secret(ctx context.Context, name string, generate func() []byte) ([]byte, error)
	// UpdateSecret replaces the secret called name with what update makes
	// of its value, atomically: if another process changes it in between,
	// update runs again on the newer value. It returns ErrSecretMissing
	// when there is no such secret, and update's own errors as they are.
	UpdateSecret(ctx context.Context, name string, update func(old []byte) ([]byte, error)) ([]byte, error)
}

// WorkspaceLocker is implemented by stores that several processes share
// (store/postgres). Service holds a workspace's lock around each write,
// so that nodes writing one workspace take turns rather than race: under
// contention every write still gets through. Correctness does not depend
// on it: Commit's compare-and-set does that.
type WorkspaceLocker interface {
	LockWorkspace(ctx context.Context, ws string) (unlock func(), err error)
}

// Head is a workspace's current revision.
type Head struct {
	Workspace string
	Revision  int64
}

// ErrStale is returned by Store.Commit when the workspace moved past the
// revision the write was computed against.
var ErrStale = errors.New("admin: workspace changed concurrently")

// ErrSecretMissing is returned by Store.UpdateSecret for a secret that was
// never stored.
var ErrSecretMissing = errors.New("admin: no such secret")

// Commit is one committed change of a workspace.
type Commit struct {
	Workspace string
	Base      int64 // the revision the change was computed against; 0 creates
	Revision  int64 // the new revision, Base+1
	Time      time.Time
	Ops       []Op
	Audit     []AuditEntry
	Change    Change
	// AuditHead is the chain head after Audit, stored with the workspace so
	// that removing the newest entries is detected too.
	AuditHead AuditHead
}

// AuditHead is the newest entry of a workspace's audit chain.
type AuditHead struct {
	Seq  int64
	Hash string
}

// Dataset is a workspace as stored.
type Dataset struct {
	Workspace   Workspace
	Roles       []Role         // newest revisions, with their grants
	Revisions   []RoleRevision // every revision some member holds, newest ones included
	Members     []Member
	Departments []Department
	Objects     []SmartObject
	Keys        []APIKey
	Aliases     map[string]string // action aliases (Z2): alias → permission key
	// GatewayRoutes are the routes a gateway asks about, in order.
	GatewayRoutes []policy.GatewayRoute
	// SoDRules are the workspace's separation-of-duties rules (S1), with
	// their exceptions (S3).
	SoDRules []SoDRule
	// Reviews are the workspace's access review campaigns (V1–V3), with
	// their items.
	Reviews   []Review
	AuditHead AuditHead
}

// MemberFilter selects members (M7). Zero fields select everything.
type MemberFilter struct {
	Role       string
	Department string
	Query      string // case-insensitive substring of user id, name or email
	After      string // user id cursor: members after it
	Limit      int    // 0 means 100
}

// AuditFilter selects audit entries. Zero fields select everything.
type AuditFilter struct {
	Target string
	Actor  string
	Since  time.Time
	After  int64 // sequence cursor: entries after it
	Limit  int   // 0 means 100
}

// Op is one write of a Commit. The concrete types below are the whole set;
// stores switch on them. A store may write a run of consecutive
// PutMember, PutAssignment and DeleteAssignment ops set-based (store/
// internal/sqlstore does: one statement per table), as long as the result
// is what applying them one by one, in order, would give.
type Op interface{ op() }

// PutWorkspace updates the workspace row's name and plan (creating it when
// Commit.Base is 0).
type PutWorkspace struct{ Workspace Workspace }

// PutRole inserts or updates a role row (not its grants: see
// PutRoleRevision).
type PutRole struct{ Role Role }

// DeleteRole deletes a role and its revisions. It has no members left.
type DeleteRole struct{ RoleID string }

// PutRoleRevision inserts a new role revision.
type PutRoleRevision struct{ Revision RoleRevision }

// PutMember inserts or updates a member with its departments and direct
// grants; assignments are separate ops.
type PutMember struct {
	Member Member
	// Created says the member did not exist at the commit's base
	// revision, so that a store may insert it and its assignments without
	// looking for rows to update (an import's 10,000 members). It is a
	// promise the store may rely on: if it is false, the insert meets the
	// existing row's key and the whole commit fails.
	Created bool
}

// DeleteMember deletes a member with its assignments (M8).
type DeleteMember struct{ UserID string }

// PutAssignment inserts or updates one assignment of one member.
type PutAssignment struct {
	UserID     string
	Assignment Assignment
}

// DeleteAssignment removes a role from a member.
type DeleteAssignment struct{ UserID, RoleID string }

// ApplyRole moves every assignment of a role to a revision (R6 "save and
// apply"): one statement, however many members.
type ApplyRole struct {
	RoleID   string
	Revision int64
}

// BumpEpochs adds one to the epoch of each listed member (A1).
type BumpEpochs struct{ UserIDs []string }

// PutDepartment inserts or updates a department.
type PutDepartment struct{ Department Department }

// DeleteDepartment deletes a department; members and children were moved
// off it by earlier ops.
type DeleteDepartment struct{ ID string }

// PutObject inserts or updates a smart object type (C9).
type PutObject struct{ Object SmartObject }

// DeleteObject deletes a smart object type.
type DeleteObject struct{ ID string }

// PutKey inserts a workspace API key (X2).
type PutKey struct{ Key APIKey }

// DeleteKey deletes a workspace API key.
type DeleteKey struct{ ID string }

// PutGatewayRoutes replaces the workspace's gateway routes with Routes.
type PutGatewayRoutes struct{ Routes []policy.GatewayRoute }

// PutAliases replaces the workspace's action aliases (Z2) with Aliases.
type PutAliases struct{ Aliases map[string]string }

// PutSoDRules replaces the workspace's separation-of-duties rules, with
// their exceptions, by Rules (S1, S3).
type PutSoDRules struct{ Rules []SoDRule }

// PutReview inserts or updates a review campaign's row (V1) and upserts
// Items, the items of it that changed (all of them for a new campaign).
type PutReview struct {
	Review Review // Items ignored
	Items  []ReviewItem
}

func (PutWorkspace) op()     {}
func (PutRole) op()          {}
func (DeleteRole) op()       {}
func (PutRoleRevision) op()  {}
func (PutMember) op()        {}
func (DeleteMember) op()     {}
func (PutAssignment) op()    {}
func (DeleteAssignment) op() {}
func (ApplyRole) op()        {}
func (BumpEpochs) op()       {}
func (PutDepartment) op()    {}
func (DeleteDepartment) op() {}
func (PutObject) op()        {}
func (DeleteObject) op()     {}
func (PutKey) op()           {}
func (DeleteKey) op()        {}
func (PutAliases) op()       {}
func (PutGatewayRoutes) op() {}
func (PutSoDRules) op()      {}
func (PutReview) op()        {}
