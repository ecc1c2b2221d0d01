package stress

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/gatehouse-authz/gatehouse/client"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// writer is one client making random admin writes. Its picture of the
// roles is refreshed now and then and may be stale: an answer such as
// not_found or revision_conflict is then expected, and allowed.
type writer struct {
	h     *harness
	rng   *rand.Rand
	api   *client.Client // with a reason (X4)
	bare  *client.Client // without one: writes raising delete or export are refused
	roles map[string][]client.Role
	ops   int
}

func newWriter(h *harness, i int) *writer {
	api := h.api[i%len(h.api)]
	return &writer{h: h, rng: rand.New(rand.NewPCG(h.runSeed, uint64(i))), api: api.WithReason("stress"), bare: api,
		roles: map[string][]client.Role{}}
}

// op is one kind of write: it sends a random request and says which error
// codes the answer may carry, and whether the request was invalid and so
// must be refused.
type op struct {
	name   string
	weight int
	do     func(w *writer, ws string) outcome
}

type outcome struct {
	err      error
	allowed  codes
	mustFail string // why the request must be refused, if it must
}

var ops = []op{
	{"role.create", 8, (*writer).createRole},
	{"role.update", 12, (*writer).updateGrants},
	{"role.rename", 3, (*writer).renameRole},
	{"role.set_all", 2, (*writer).setAll},
	{"role.duplicate", 4, (*writer).duplicateRole},
	{"role.delete", 5, (*writer).deleteRole},
	{"role.restore", 3, (*writer).restoreRole},
	{"role.members.add", 10, (*writer).addMembers},
	{"role.members.add_until", 4, (*writer).addMembersUntil},
	{"member.grants_until", 2, (*writer).setDirectGrantsUntil},
	{"department.roles", 3, (*writer).setDepartmentRoles},
	{"role.members.remove", 8, (*writer).removeMember},
	{"member.roles", 8, (*writer).setMemberRoles},
	{"member.grants", 8, (*writer).setDirectGrants},
	{"member.upsert", 10, (*writer).upsertMember},
	{"member.delete", 3, (*writer).deleteMember},
	{"department.put", 4, (*writer).putDepartment},
	{"department.delete", 2, (*writer).deleteDepartment},
	{"workspace.plan", 2, (*writer).changePlan},
	{"object.put", 2, (*writer).putObject},
	{"object.delete", 2, (*writer).deleteObject},
}

var totalWeight = func() int {
	n := 0
	for _, o := range ops {
		n += o.weight
	}
	return n
}()

func (w *writer) run(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		ws := active[w.rng.IntN(len(active))]
		n := w.rng.IntN(totalWeight)
		o := ops[0]
		for _, o = range ops {
			if n < o.weight {
				break
			}
			n -= o.weight
		}
		if o.name == "department.roles" && ws == plain {
			ws = active[0] // plain keeps no department roles
		}
		// Roles are listed after the workspace is settled: the redirect
		// above may pick one whose roles were never listed.
		if w.ops%8 == 0 || len(w.roles[ws]) == 0 {
			rs, err := w.api.Roles(w.h.ctx, ws, client.RoleQuery{})
			if err != nil {
				w.h.rep.fail("unexpected error", "list roles of %s: %v", ws, err)
				continue
			}
			w.roles[ws] = rs
		}
		w.ops++
		w.h.gate.RLock()
		res := o.do(w, ws)
		w.h.gate.RUnlock()
		w.judge(o.name, ws, res)
	}
}

// judge checks an answer against what the request allowed.
func (w *writer) judge(name, ws string, res outcome) {
	code := client.ErrorCode(res.err)
	// Active workspaces have SoD rules (seed): any write that gives
	// access may be refused by S2.
	res.allowed = append(res.allowed, policy.CodeSeparationOfDuties)
	switch {
	case res.err == nil && res.mustFail != "":
		w.h.rep.fail("refusal expected", "%s on %s succeeded although %s", name, ws, res.mustFail)
	case res.err != nil && !res.allowed.has(code):
		w.h.rep.fail("unexpected error", "%s on %s: %v", name, ws, res.err)
	}
	if res.err == nil {
		w.h.stats.add("write ok "+name, 1)
	} else {
		w.h.stats.add("write refused "+name+" "+string(code), 1)
	}
}

// client returns the API client for this write: usually with a reason.
func (w *writer) client() (*client.Client, bool) {
	if w.rng.IntN(10) == 0 {
		return w.bare, false
	}
	return w.api, true
}

// withReason adds reason_required to the codes a write without a reason
// may get.
func withReason(cs codes, reason bool) codes {
	if !reason {
		return append(cs, policy.CodeReasonRequired)
	}
	return cs
}

func (w *writer) role(ws string) client.Role {
	rs := w.roles[ws]
	return rs[w.rng.IntN(len(rs))]
}

func (w *writer) user() string { return userPool[w.rng.IntN(len(userPool))] }

func (w *writer) dept() string {
	if w.rng.IntN(4) == 0 {
		return deptPool[w.rng.IntN(len(deptPool))]
	}
	return deptPool[w.rng.IntN(5)]
}

// roleName picks from a small pool, so that names collide (R1) and the
// number of custom roles stays bounded; a few differ only in case.
func (w *writer) roleName() string {
	n := w.rng.IntN(16)
	if w.rng.IntN(8) == 0 {
		return fmt.Sprintf("ROLE %d", n)
	}
	return fmt.Sprintf("Role %d", n)
}

func (w *writer) audience() policy.Audience {
	if w.rng.IntN(4) == 0 {
		return policy.Client
	}
	return policy.Internal
}

func (w *writer) createRole(ws string) outcome {
	c, reason := w.client()
	in := client.RoleInput{Name: w.roleName(), Audience: w.audience()}
	allowed := withReason(codes{policy.CodePlanLimitReached, policy.CodeNameTaken}, reason)
	if w.rng.IntN(10) == 0 {
		in.Template = []string{"sales", "support", "billing", "analyst", "readonly_client"}[w.rng.IntN(5)]
		in.Audience = ""
		_, _, err := c.CreateRole(w.h.ctx, ws, in)
		return outcome{err: err, allowed: allowed}
	}
	g, valid := w.grants(in.Audience)
	in.Grants = g
	_, _, err := c.CreateRole(w.h.ctx, ws, in)
	if !valid {
		return outcome{err: err, allowed: append(allowed, invalidGrantCodes...), mustFail: fmt.Sprintf("grants %v are invalid for a %s role", g, in.Audience)}
	}
	return outcome{err: err, allowed: allowed}
}

// ifRevision is the If-Match of an edit of r: usually r's revision as last
// seen, sometimes an older one (a certain conflict), sometimes none.
func (w *writer) ifRevision(r client.Role) int64 {
	switch n := w.rng.IntN(10); {
	case n < 6:
		return r.Revision
	case n < 7 && r.Revision > 1:
		return r.Revision - 1
	}
	return 0
}

func (w *writer) apply() *bool {
	switch w.rng.IntN(3) {
	case 0:
		return nil
	case 1:
		t := true
		return &t
	}
	f := false
	return &f
}

func (w *writer) updateGrants(ws string) outcome {
	c, reason := w.client()
	r := w.role(ws)
	g, _ := w.grants(r.Audience)
	_, _, err := c.UpdateRole(w.h.ctx, ws, r.ID, client.RoleUpdate{Grants: g, Apply: w.apply(), IfRevision: w.ifRevision(r)})
	// An applied edit may take away what a member's direct grant relied
	// on (C4 on effective levels). The role may have been deleted and made
	// again with the other audience since the writer listed it, so the
	// grants are judged for both.
	allowed := withReason(append(codes{policy.CodeNotFound, policy.CodeRevisionConflict}, invalidGrantCodes...), reason)
	if !w.h.baseRef.Valid(g, policy.Internal) && !w.h.baseRef.Valid(g, policy.Client) {
		return outcome{err: err, allowed: allowed, mustFail: fmt.Sprintf("grants %v are invalid for any role", g)}
	}
	return outcome{err: err, allowed: allowed}
}

func (w *writer) renameRole(ws string) outcome {
	r := w.role(ws)
	name := w.roleName()
	if r.Default && w.rng.IntN(2) == 0 {
		name = []string{"Employee", "Basic access"}[w.rng.IntN(2)] // R2: the default role may be renamed
	}
	_, _, err := w.api.UpdateRole(w.h.ctx, ws, r.ID, client.RoleUpdate{Name: &name})
	return outcome{err: err, allowed: codes{policy.CodeNotFound, policy.CodeNameTaken}}
}

func (w *writer) setAll(ws string) outcome {
	c, reason := w.client()
	r := w.role(ws)
	set := []string{"allow", "deny"}[w.rng.IntN(2)]
	_, _, err := c.UpdateRole(w.h.ctx, ws, r.ID, client.RoleUpdate{SetAll: set, Apply: w.apply()})
	return outcome{err: err, allowed: withReason(codes{policy.CodeNotFound, policy.CodeDependencyViolation}, reason)}
}

func (w *writer) duplicateRole(ws string) outcome {
	c, reason := w.client()
	r := w.role(ws)
	name := w.roleName()
	if w.rng.IntN(6) == 0 {
		name = "" // "<name> (Copy)"
	}
	_, _, err := c.DuplicateRole(w.h.ctx, ws, r.ID, name)
	return outcome{err: err, allowed: withReason(codes{policy.CodeNotFound, policy.CodeRoleProtected, policy.CodePlanLimitReached, policy.CodeNameTaken}, reason)}
}

// deleteRole deletes a role, usually a custom one, usually moving its
// members to another (R5).
func (w *writer) deleteRole(ws string) outcome {
	r := w.role(ws)
	for range 3 {
		if !r.Predefined {
			break
		}
		r = w.role(ws)
	}
	to := ""
	if w.rng.IntN(4) != 0 {
		to = w.role(ws).ID
	}
	_, err := w.api.DeleteRole(w.h.ctx, ws, r.ID, to)
	// last_role: a client whose one permanent role goes, its others
	// expiring (T1).
	return outcome{err: err, allowed: codes{policy.CodeNotFound, policy.CodeRoleProtected, policy.CodeRoleInUse, policy.CodeAudienceMismatch,
		policy.CodeInvalidArgument, policy.CodeDependencyViolation, policy.CodeLastRole}}
}

func (w *writer) restoreRole(ws string) outcome {
	c, reason := w.client()
	r := w.role(ws)
	n := 1 + w.rng.Int64N(r.Revision)
	_, _, err := c.RestoreRevision(w.h.ctx, ws, r.ID, n, client.RestoreOptions{Apply: w.apply(), IfRevision: w.ifRevision(r)})
	// A revision granting a smart object deleted since holds orphaned
	// keys (C7), which a restore refuses as unknown permissions.
	return outcome{err: err, allowed: withReason(codes{policy.CodeNotFound, policy.CodeRevisionConflict, policy.CodeDependencyViolation,
		policy.CodeUnknownPermission}, reason)}
}

func (w *writer) addMembers(ws string) outcome {
	r := w.role(ws)
	users := []string{w.user()}
	for w.rng.IntN(4) == 0 {
		users = append(users, w.user())
	}
	_, err := w.api.AddRoleMembers(w.h.ctx, ws, r.ID, users)
	return outcome{err: err, allowed: codes{policy.CodeNotFound, policy.CodeAudienceMismatch}}
}

// addMembersUntil assigns a role for a second or three (T1): the expiry
// is committed by system during the run (T2).
func (w *writer) addMembersUntil(ws string) outcome {
	r := w.role(ws)
	users := []string{w.user()}
	at := time.Now().Add(time.Second + time.Duration(w.rng.IntN(2000))*time.Millisecond)
	_, err := w.api.AddRoleMembersUntil(w.h.ctx, ws, r.ID, users, at)
	// A client whose every role would expire: last_role.
	return outcome{err: err, allowed: codes{policy.CodeNotFound, policy.CodeAudienceMismatch, policy.CodeLastRole}}
}

// setDirectGrantsUntil gives a member a direct grant for a second or two.
func (w *writer) setDirectGrantsUntil(ws string) outcome {
	c, reason := w.client()
	at := time.Now().Add(time.Second + time.Duration(w.rng.IntN(1000))*time.Millisecond)
	perms := w.h.base.Permissions()
	p := perms[w.rng.IntN(len(perms))]
	l := policy.LevelAll
	_, _, err := c.SetMemberGrantsUntil(w.h.ctx, ws, w.user(), policy.Grants{p.Key: l}, map[string]time.Time{p.Key: at}, map[bool]string{true: "stress"}[reason])
	return outcome{err: err, allowed: withReason(codes{policy.CodeNotFound, policy.CodeDependencyViolation, policy.CodeAudienceMismatch,
		policy.CodeInvalidArgument, policy.CodeUnknownPermission}, reason)}
}

// setDepartmentRoles gives a department none, one or two roles (M9), with
// or without its sub-departments, sometimes for a few seconds (T1).
func (w *writer) setDepartmentRoles(ws string) outcome {
	d := client.Department{ID: w.dept()}
	d.Name = "Department " + d.ID
	var in client.DepartmentRoles
	for range w.rng.IntN(3) {
		in.RoleIDs = append(in.RoleIDs, w.role(ws).ID)
	}
	in.IncludeSubdepartments = w.rng.IntN(2) == 0
	if len(in.RoleIDs) > 0 && w.rng.IntN(3) == 0 {
		in.ExpiresAt = map[string]time.Time{in.RoleIDs[0]: time.Now().Add(time.Second + time.Duration(w.rng.IntN(2000))*time.Millisecond)}
	}
	_, _, err := w.api.PutDepartmentRoles(w.h.ctx, ws, d, in)
	// An unknown role or department parent; a client left without a
	// role when a department stops giving one (M4).
	return outcome{err: err, allowed: codes{policy.CodeNotFound, policy.CodeInvalidArgument, policy.CodeLastRole, policy.CodeDependencyViolation}}
}

// removeMember takes a role from a member, usually one the member held a
// moment ago.
func (w *writer) removeMember(ws string) outcome {
	u, role := w.user(), w.role(ws).ID
	if w.rng.IntN(4) != 0 {
		m, err := w.api.Member(w.h.ctx, ws, u)
		if err != nil {
			return outcome{err: err, allowed: codes{policy.CodeNotFound}}
		}
		if len(m.Roles) > 0 { // else M2 is broken, which the checkers report
			role = m.Roles[w.rng.IntN(len(m.Roles))].RoleID
		}
	}
	_, err := w.api.RemoveRoleMember(w.h.ctx, ws, role, u)
	return outcome{err: err, allowed: codes{policy.CodeNotFound, policy.CodeLastRole, policy.CodeDependencyViolation}}
}

func (w *writer) roleIDs(ws string) []string {
	ids := []string{w.role(ws).ID}
	if w.rng.IntN(3) == 0 {
		ids = append(ids, w.role(ws).ID)
	}
	return ids
}

func (w *writer) setMemberRoles(ws string) outcome {
	var ids []string
	if w.rng.IntN(8) != 0 {
		ids = w.roleIDs(ws)
	}
	_, _, err := w.api.SetMemberRoles(w.h.ctx, ws, w.user(), ids)
	return outcome{err: err, allowed: codes{policy.CodeNotFound, policy.CodeAudienceMismatch, policy.CodeLastRole, policy.CodeDependencyViolation}}
}

func (w *writer) setDirectGrants(ws string) outcome {
	c, reason := w.client()
	g := policy.Grants{}
	if w.rng.IntN(4) != 0 {
		aud := policy.Internal
		if w.rng.IntN(4) == 0 {
			aud = policy.Client
		}
		g = w.rawGrants(aud, 1+w.rng.IntN(3))
		if w.rng.IntN(2) == 0 {
			closeRequires(w.h.base, g)
		}
	}
	_, _, err := c.SetMemberGrants(w.h.ctx, ws, w.user(), g, "")
	return outcome{err: err, allowed: withReason(append(codes{policy.CodeNotFound}, invalidGrantCodes...), reason)}
}

func (w *writer) upsertMember(ws string) outcome {
	u := w.user()
	in := client.MemberInput{UserID: u, Name: "User " + u, Kind: policy.Internal}
	if isClient(u) != (w.rng.IntN(30) == 0) {
		in.Kind = policy.Client
	}
	for range w.rng.IntN(3) {
		in.DepartmentIDs = append(in.DepartmentIDs, w.dept())
	}
	if w.rng.IntN(3) == 0 {
		in.RoleIDs = w.roleIDs(ws)
	}
	if w.rng.IntN(25) == 0 {
		owner := w.rng.IntN(3) == 0
		in.Owner = &owner
	}
	_, _, err := w.api.PutMember(w.h.ctx, ws, in)
	// A client leaving the department that gave its only role (M9, M4).
	return outcome{err: err, allowed: codes{policy.CodeInvalidArgument, policy.CodeAudienceMismatch, policy.CodeNotFound, policy.CodeDependencyViolation, policy.CodeLastRole}}
}

func (w *writer) deleteMember(ws string) outcome {
	_, err := w.api.DeleteMember(w.h.ctx, ws, w.user())
	return outcome{err: err, allowed: codes{policy.CodeNotFound}}
}

func (w *writer) putDepartment(ws string) outcome {
	d := client.Department{ID: w.dept()}
	d.Name = "Department " + d.ID
	if w.rng.IntN(2) == 0 {
		d.ParentID = w.dept()
	}
	_, _, err := w.api.PutDepartment(w.h.ctx, ws, d)
	// A missing parent, or a move under itself or a descendant; a move
	// taking away a department role a direct grant relies on (M9, C4).
	return outcome{err: err, allowed: codes{policy.CodeInvalidArgument, policy.CodeDependencyViolation, policy.CodeLastRole}}
}

func (w *writer) deleteDepartment(ws string) outcome {
	_, err := w.api.DeleteDepartment(w.h.ctx, ws, w.dept())
	// A member leaving it would lose the role its direct grants rely on
	// (M9, C4).
	return outcome{err: err, allowed: codes{policy.CodeNotFound, policy.CodeDependencyViolation, policy.CodeLastRole}}
}

func (w *writer) changePlan(ws string) outcome {
	plans := []client.Plan{client.PlanFree, client.PlanStandard, client.PlanProfessional, client.PlanProfessional, client.PlanProfessional}
	p := plans[w.rng.IntN(len(plans))]
	_, _, err := w.api.UpdateWorkspace(w.h.ctx, ws, client.WorkspaceUpdate{Plan: &p})
	return outcome{err: err}
}

var objectPool = []string{"obj1", "obj2", "obj3"}

func (w *writer) putObject(ws string) outcome {
	id := objectPool[w.rng.IntN(len(objectPool))]
	_, _, err := w.api.PutObject(w.h.ctx, ws, client.SmartObject{ID: id, Name: fmt.Sprintf("Object %s v%d", id, w.rng.IntN(3)), Description: "a smart object"})
	return outcome{err: err}
}

func (w *writer) deleteObject(ws string) outcome {
	id := objectPool[w.rng.IntN(len(objectPool))]
	_, err := w.api.DeleteObject(w.h.ctx, ws, id, w.rng.IntN(2) == 0)
	return outcome{err: err, allowed: codes{policy.CodeNotFound, policy.CodeRoleInUse}}
}
