// Package storetest is the conformance suite every admin.Store passes: it
// drives the admin rules through admin.Service over the store under test,
// restarts services on the same store to prove that what was committed is
// what is loaded, and races several services (as several processes would)
// against one store.
//
// A store's test calls Run with a Harness; see store/sqlite and
// store/postgres.
package storetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// Harness connects the suite to one store implementation.
type Harness struct {
	// Open returns a new, empty store, closed when the test ends.
	Open func(t *testing.T) admin.Store
	// Exec runs a raw SQL statement against the store's database, to
	// tamper with it as an attacker with database access would.
	Exec func(t *testing.T, s admin.Store, query string)
	// QueryInt runs a raw SQL query answering one integer, to measure
	// what the database holds.
	QueryInt func(t *testing.T, s admin.Store, query string) int64
}

// Run runs the whole suite.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"Commit_AllOrNothing", testCommitContract},
		{"Commit_OpsActInOrder", testCommitOpsInOrder},
		{"W1_Isolation", testW1Isolation},
		{"X2_KeysHashedAuditedRevocable", testX2Keys},
		{"Secrets_OneValuePerName", testSecrets},
		{"Secrets_UpdatesAreAtomic", testUpdateSecret},
		{"IdempotencyKeys_OneClaimAnswerExpiry", testIdempotencyKeys},
		{"W2_PlanRolesAndLimits", testW2PlanRolesAndLimits},
		{"W3_PlanChangeKeepsEverything", testW3PlanChange},
		{"R1_NamesUniqueIgnoringCase", testR1Names},
		{"R2_R3_ProtectedRoles", testR2R3Protected},
		{"R4_Duplicate", testR4Duplicate},
		{"R5_DeleteNeedsReassign", testR5DeleteReassign},
		{"R6_SaveVersusApply", testR6SaveVersusApply},
		{"R6a_RevisionsDiffRestore", testR6aRevisions},
		{"R7_RevisionConflict", testR7RevisionConflict},
		{"R8_AllowDenyEverything", testR8AllowDeny},
		{"R9_Templates", testR9Templates},
		{"C1_C4_C5_BadGrantsWriteNothing", testGrantValidation},
		{"C9_SmartObjects", testC9SmartObjects},
		{"M2_M4_DefaultRoleRules", testM2M4DefaultRole},
		{"M5_DirectGrants", testM5DirectGrants},
		{"M6_AudienceMatch", testM6Audience},
		{"M7_AssignmentsAndFilters", testM7Filters},
		{"M8_RemoveMember", testM8RemoveMember},
		{"T1_ExpiryNeverHonoured", testT1ExpiryNeverHonoured},
		{"T2_ExpiryCommittedOnceBySystem", testT2ExpiryCommittedOnce},
		{"T3_ExtensionIsAGrant", testT3ExtensionIsAGrant},
		{"M9_DepartmentRoles", testM9DepartmentRoles},
		{"M9_T1_DepartmentRoleExpiry", testM9T1DepartmentRoleExpiry},
		{"M2_T1_MoveOntoExpiringDepartmentRoles", testM2T1MoveOntoExpiringDepartmentRoles},
		{"A1_T2_WriteTakingExpiredAccess", testA1T2WriteTakingExpiredAccess},
		{"A1_T2_ApplyMovingExpiredAccess", testA1T2ApplyMovingExpiredAccess},
		{"W1_SharedStructuresStayPerWorkspace", testW1SharedStructuresStayPerWorkspace},
		{"M9_X3a_DepartmentRoleIsAGrant", testM9X3aDepartmentRoleIsAGrant},
		{"T3_X3a_NoSelfExtension", testT3X3aNoSelfExtension},
		{"T3_X3a_NoPermanentCopy", testT3X3aNoPermanentCopy},
		{"M9_X3a_DepartmentAbusePaths", testM9X3aDepartmentAbusePaths},
		{"Departments_Tree", testDepartments},
		{"Departments_DepthBoundedImportLinear", testDepartmentDepth},
		{"A1_EpochsExact", testA1Epochs},
		{"X3_ActingMember", testX3Actor},
		{"X3_AreasAndSpan", testX3Areas},
		{"X3a_Span", testX3aSpan},
		{"X3a_OwnReach", testX3aOwnReach},
		{"X3a_EscalationOracle", testX3aEscalationOracle},
		{"X3a_ConditionCountsAtItsLevel", testX3aConditions},
		{"X3_OwnerRemovalIsTheOwners", testX3OwnerRemoval},
		{"X3a_DepartmentMoveAtBothEnds", testX3aDepartmentMove},
		{"X3a_Z2_ActionMappingsNeedAll", testX3aActionMappings},
		{"X3a_G1_ConditionLiftedAboveOwnLevel", testX3aConditionLifted},
		{"G1_G2_ConditionsStoredDecidedDiffedExported", testG1ConditionsStored},
		{"G2_C4PerRecordAcrossGrantSets", testG2C4PerRecordAcrossGrantSets},
		{"M6_ClientOwner", testM6ClientOwner},
		{"X5_AuditNamesWho", testX5AuditNamesWho},
		{"Z2_ActionAliases", testZ2ActionAliases},
		{"S1_SoDRules", testS1SoDRules},
		{"S2_SoDRefusesEveryPath", testS2SoDRefusesEveryPath},
		{"S3_ExistingViolationsAndExceptions", testS3ExistingViolations},
		{"S2_PropertyAgainstReference", testS2PropertyAgainstReference},
		{"V1_ReviewScopeAndItems", testV1ReviewScope},
		{"V2_ReviewDecisionsAndClose", testV2ReviewDecisionsAndClose},
		{"V2_ReviewDeadlineExactlyOnce", testV2ReviewDeadlineOnce},
		{"V3_ReviewRecurrenceAndCSV", testV3ReviewRecurrenceAndCSV},
		{"X4_AuditChainAndReasons", testX4Audit},
		{"X4_ReasonBoundedAndStoredOncePerWrite", testX4ReasonOnce},
		{"X4_EveryRevisionAuditedAndReplayable", testX4EveryRevisionAudited},
		{"X4_AppliesAuditedReimportWritesNothing", testX4AppliesAudited},
		{"X4_KeyedChainDatabaseAloneNeverVerifies", testX4KeyedChain},
		{"X4_VerifyWhileWritesCommit", testX4VerifyWhileWritesCommit},
		{"U1_Usage", testU1Usage},
		{"P1_ImpactPreview", testP1Preview},
		{"P1_G1_PreviewShowsConditionChanges", testP1G1PreviewShowsConditionChanges},
		{"PolicyAsCode", testPolicyFile},
		{"Changelog", testChangelog},
		{"Restart_RebuildsSameState", testRestart},
		{"Follow_OtherNodesChanges", testFollow},
		{"BulkLoad_RangeEqualsLoad", testBulkLoadEqualsLoad},
		{"R6_LoadGivesRolesTheirNewestRevision", testLoadRoleGrantsOfNewestRevision},
		{"R6_AssignmentsFollowAppliedRevision", testR6AssignmentsFollowAppliedRevision},
		{"R6_A1_X3a_LargeApplyMovesFollowersExactly", testR6LargeApply},
		{"W1_SharedPredefinedGrants", testW1SharedPredefinedGrants},
		{"Follow_DeltaEqualsFreshLoad", testFollowDeltaEqualsFreshLoad},
		{"Import_AllOrNothing", testImportAllOrNothing},
		{"Race_LastRoleRemovals", testRaceLastRole},
		{"Race_PlanLimit", testRacePlanLimit},
		{"Race_DeleteReassignVersusAssign", testRaceDeleteAssign},
		{"Race_SameRevisionEdits", testRaceSameRevision},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, h)
		})
	}
}

// snapshots is a Publisher that keeps the newest snapshot per workspace.
type snapshots struct {
	mu sync.Mutex
	m  map[string]*policy.Snapshot
}

func (p *snapshots) Publish(s *policy.Snapshot) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if old := p.m[s.Workspace()]; old != nil && old.Revision() > s.Revision() {
		return
	}
	p.m[s.Workspace()] = s
}

func (p *snapshots) get(ws string) *policy.Snapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m[ws]
}

// env is one test's store and a service over it.
type env struct {
	t     *testing.T
	ctx   context.Context
	h     Harness
	store admin.Store
	svc   *admin.Service
	snaps *snapshots
	clock *clock
	// keys are the audit keys of the services the env makes (X4).
	keys []admin.AuditKey
}

// testAuditKey is the audit key of the suite's services: every test runs
// with a keyed chain, as a deployment does.
var testAuditKey = admin.AuditKey{ID: "test1", Secret: []byte("storetest audit key, 32 bytes or more")}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func newEnv(t *testing.T, h Harness) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), h: h, store: h.Open(t),
		clock: &clock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}, keys: []admin.AuditKey{testAuditKey}}
	e.svc, e.snaps = e.service()
	return e
}

// service returns a new Service over the env's store, as another process
// or a restart would have.
func (e *env) service() (*admin.Service, *snapshots) {
	snaps := &snapshots{m: map[string]*policy.Snapshot{}}
	return admin.New(e.store, admin.Options{Now: e.clock.now, Publisher: snaps, AuditKeys: e.keys}), snaps
}

// workspace creates a workspace on a plan.
func (e *env) workspace(id string, plan admin.Plan) {
	e.t.Helper()
	if _, err := e.svc.CreateWorkspace(e.ctx, admin.WorkspaceInput{ID: id, Name: "Workspace " + id, Plan: plan}); err != nil {
		e.t.Fatalf("create workspace %s: %v", id, err)
	}
}

// role creates a custom role with grants, failing the test on error.
func (e *env) role(ws, name string, aud policy.Audience, g policy.Grants) admin.Role {
	e.t.Helper()
	r, _, err := e.svc.CreateRole(e.ctx, ws, admin.Write{Reason: "test"}, admin.RoleInput{Name: name, Audience: aud, Grants: g})
	if err != nil {
		e.t.Fatalf("create role %s: %v", name, err)
	}
	return r
}

// member upserts a member, failing the test on error.
func (e *env) member(ws string, in admin.MemberInput) admin.Member {
	e.t.Helper()
	m, _, err := e.svc.UpsertMember(e.ctx, ws, admin.Write{}, in)
	if err != nil {
		e.t.Fatalf("upsert member %s: %v", in.UserID, err)
	}
	return m
}

func (e *env) getMember(ws, user string) admin.Member {
	e.t.Helper()
	m, err := e.svc.Member(e.ctx, ws, admin.Actor{}, user)
	if err != nil {
		e.t.Fatalf("member %s: %v", user, err)
	}
	return m
}

func (e *env) revision(ws string) int64 {
	e.t.Helper()
	w, err := e.svc.Workspace(e.ctx, ws)
	if err != nil {
		e.t.Fatal(err)
	}
	return w.Revision
}

// level is a member's effective level of perm in the published snapshot.
func (e *env) level(ws, user, perm string) policy.Level {
	e.t.Helper()
	d, err := e.snaps.get(ws).Check(user, perm)
	if err != nil {
		e.t.Fatalf("check %s %s: %v", user, perm, err)
	}
	return d.Level
}

// wantCode fails unless err carries code.
func wantCode(t *testing.T, err error, code policy.Code) *policy.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	var pe *policy.Error
	if !errors.As(err, &pe) || pe.Code != code {
		t.Fatalf("got error %v (code %s), want code %s", err, policy.ErrorCode(err), code)
	}
	return pe
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func roleIDs(m admin.Member) []string {
	var ids []string
	for _, a := range m.Roles {
		ids = append(ids, a.RoleID)
	}
	return ids
}

func ptr[T any](x T) *T { return &x }

func hasRole(roles []admin.Role, id string) bool {
	return slices.ContainsFunc(roles, func(r admin.Role) bool { return r.ID == id })
}

const (
	none = policy.LevelNone
	own  = policy.LevelOwn
	dept = policy.LevelDepartment
	sub  = policy.LevelSubdepartments
	all  = policy.LevelAll
)
