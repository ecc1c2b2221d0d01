package admin

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// This file is separation of duties (S1–S3): the rules, their exceptions,
// the violations of current members, and S2's check, which finish runs on
// every write next to C4 and X3a. The check reads the members' effective
// levels as finish computes them for X3a, so every kind of grant that
// shows in effective levels is held by it too.

// MaxSoDRules bounds a workspace's separation-of-duties rules.
const MaxSoDRules = 200

// MaxSoDExceptions bounds the exceptions of one rule.
const MaxSoDExceptions = 10000

// SoDRule is a separation-of-duties rule (S1): two or more sets of
// permissions, or of roles, that no member may hold together above none.
// Exactly one of Permissions and Roles is set.
type SoDRule struct {
	ID          string
	Name        string
	Description string
	Permissions [][]string // permission keys, per set
	Roles       [][]string // role ids, per set
	// Exceptions are the members allowed to break the rule (S3), sorted by
	// user id.
	Exceptions []SoDException
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// SoDException lets one member hold a rule's conflicting combination (S3).
type SoDException struct {
	UserID    string
	Reason    string
	ExpiresAt time.Time // zero: never expires
	GrantedBy string    // who recorded it, named as in the audit log (X5)
	GrantedAt time.Time
}

// ActiveAt reports whether the exception is honoured at t.
func (e SoDException) ActiveAt(t time.Time) bool {
	return e.ExpiresAt.IsZero() || t.Before(e.ExpiresAt)
}

// exception returns the member's exception to the rule, if any.
func (r *SoDRule) exception(user string) (SoDException, bool) {
	i, ok := slices.BinarySearchFunc(r.Exceptions, user, func(e SoDException, u string) int { return cmpString(e.UserID, u) })
	if !ok {
		return SoDException{}, false
	}
	return r.Exceptions[i], true
}

// SoDViolation is one member holding a rule's conflicting combination (S3).
type SoDViolation struct {
	RuleID   string
	RuleName string
	UserID   string
	// Held lists, per set of the rule, the items of it the member holds
	// (nil for a set it does not hold).
	Held [][]string
	// Exception is the member's exception to the rule, when it has one
	// (active or expired: Excepted says whether it is honoured now).
	Exception *SoDException
	Excepted  bool
}

// HeldText says what the member holds of each set it holds, for people:
// "billing_view and deals_edit, leads_edit".
func (f SoDViolation) HeldText() string {
	var parts []string
	for _, h := range f.Held {
		if h != nil {
			parts = append(parts, strings.Join(h, ", "))
		}
	}
	return strings.Join(parts, " and ")
}

// SoDRules returns the workspace's rules, sorted by id. Reading them is a
// report (X3: settings_roles_view at all).
func (s *Service) SoDRules(ctx context.Context, ws string, who Actor) ([]SoDRule, error) {
	if err := s.canReport(ctx, ws, who); err != nil {
		return nil, err
	}
	var out []SoDRule
	err := s.read(ctx, ws, func(m *model) error {
		out = slices.Clone(m.sod)
		return nil
	})
	return out, err
}

// SoDRule returns one rule; not_found if there is none with that id.
func (s *Service) SoDRule(ctx context.Context, ws string, who Actor, id string) (SoDRule, error) {
	rules, err := s.SoDRules(ctx, ws, who)
	if err != nil {
		return SoDRule{}, err
	}
	for _, r := range rules {
		if r.ID == id {
			return r, nil
		}
	}
	return SoDRule{}, errNoSoDRule(id)
}

func errNoSoDRule(id string) error {
	return &policy.Error{Code: policy.CodeNotFound, Message: fmt.Sprintf("no separation-of-duties rule %q", id),
		Details: map[string]any{"rule_id": id}}
}

func (s *Service) canReport(ctx context.Context, ws string, who Actor) error {
	a, err := s.Authority(ctx, ws, who)
	if err != nil {
		return err
	}
	return a.Can(AreaReports)
}

// PutSoDRule creates or replaces the rule r.ID (S1) with its exceptions
// (S3). A rule that current members already break is accepted: their
// violations are listed by SoDViolations and reported in the event feed as
// targets "sod_violation:<rule>:<user>"; only new violations are refused
// afterwards (S2). An exception keeps who recorded it and when as long as
// it is unchanged. Returns invalid_argument for a malformed rule or
// exception, unknown_permission (C1) for a key the catalog does not know,
// not_found for a role or an excepted member that does not exist.
func (s *Service) PutSoDRule(ctx context.Context, ws string, w Write, r SoDRule) (SoDRule, int64, error) {
	var out SoDRule
	v, err := s.update(ctx, ws, w, "sod.put", func(v *view) error {
		var err error
		out, err = v.putSoDRule(r)
		return err
	})
	if err != nil {
		return SoDRule{}, 0, err
	}
	return out, v.ws.Revision, nil
}

// DeleteSoDRule deletes a rule; not_found if there is none.
func (s *Service) DeleteSoDRule(ctx context.Context, ws string, w Write, id string) (int64, error) {
	v, err := s.update(ctx, ws, w, "sod.delete", func(v *view) error {
		i := slices.IndexFunc(v.sod, func(r SoDRule) bool { return r.ID == id })
		if i < 0 {
			return errNoSoDRule(id)
		}
		v.record("sod.delete", "sod_rule:"+id, sodAudit(&v.sod[i]), nil)
		v.sod = slices.Delete(slices.Clone(v.sod), i, i+1)
		v.sodPut, v.sodCompiled = true, nil
		return nil
	})
	if err != nil {
		return 0, err
	}
	return v.ws.Revision, nil
}

// putSoDRule validates r and makes it one of the view's rules, audited.
func (v *view) putSoDRule(r SoDRule) (SoDRule, error) {
	if err := checkID("separation-of-duties rule", r.ID); err != nil {
		return SoDRule{}, err
	}
	var err error
	if r.Name, err = cleanName("rule", r.Name, 100); err != nil {
		return SoDRule{}, err
	}
	if n := len([]rune(r.Description)); n > 1000 {
		return SoDRule{}, policy.Errorf(policy.CodeInvalidArgument, "a rule's description has at most 1000 characters, got %d", n)
	}
	if (len(r.Permissions) == 0) == (len(r.Roles) == 0) {
		return SoDRule{}, policy.Errorf(policy.CodeInvalidArgument, "a separation-of-duties rule has either conflicts (sets of permissions) or roles (sets of roles)")
	}
	if len(r.Permissions) == 0 {
		r.Permissions = nil
	} else {
		r.Roles = nil
	}
	if _, err := v.compileSoD(&r); err != nil {
		return SoDRule{}, err
	}
	if r.Roles != nil {
		for _, set := range r.Roles {
			for _, id := range set {
				if v.roles[id] == nil {
					return SoDRule{}, &policy.Error{Code: policy.CodeNotFound, Message: fmt.Sprintf("no role %q", id), Details: map[string]any{"role_id": id}}
				}
			}
		}
	}
	i := slices.IndexFunc(v.sod, func(x SoDRule) bool { return x.ID == r.ID })
	var old *SoDRule
	if i >= 0 {
		old = &v.sod[i]
	} else if len(v.sod) >= MaxSoDRules {
		return SoDRule{}, policy.Errorf(policy.CodeInvalidArgument, "a workspace has at most %d separation-of-duties rules", MaxSoDRules)
	}
	if r.Exceptions, err = v.sodExceptions(old, r.Exceptions); err != nil {
		return SoDRule{}, err
	}
	r.CreatedAt, r.UpdatedAt = v.now, v.now
	if old != nil {
		r.CreatedAt, r.UpdatedAt = old.CreatedAt, old.UpdatedAt
		if sameSoDRule(old, &r) {
			return *old, nil
		}
		r.UpdatedAt = v.now
	}
	var before any
	if old != nil {
		before = sodAudit(old)
	}
	v.record("sod.put", "sod_rule:"+r.ID, before, sodAudit(&r))
	v.auditExceptions(old, &r)
	rules := slices.Clone(v.sod)
	if i >= 0 {
		rules[i] = r
	} else {
		rules = append(rules, r)
		slices.SortFunc(rules, func(a, b SoDRule) int { return cmpString(a.ID, b.ID) })
	}
	v.sod, v.sodPut, v.sodCompiled = rules, true, nil
	v.reportViolations(r.ID)
	return r, nil
}

// sodExceptions validates a rule's new exceptions, keeping who recorded
// an unchanged one and when.
func (v *view) sodExceptions(old *SoDRule, in []SoDException) ([]SoDException, error) {
	if len(in) > MaxSoDExceptions {
		return nil, policy.Errorf(policy.CodeInvalidArgument, "a rule has at most %d exceptions, got %d", MaxSoDExceptions, len(in))
	}
	out := make([]SoDException, 0, len(in))
	seen := map[string]bool{}
	for _, e := range in {
		if err := checkUserID(e.UserID); err != nil {
			return nil, err
		}
		if seen[e.UserID] {
			return nil, policy.Errorf(policy.CodeInvalidArgument, "member %q has two exceptions to one rule", e.UserID)
		}
		seen[e.UserID] = true
		e.Reason = strings.TrimSpace(e.Reason)
		e.ExpiresAt = e.ExpiresAt.UTC().Truncate(time.Microsecond)
		if old != nil {
			if prev, had := old.exception(e.UserID); had && prev.Reason == e.Reason && prev.ExpiresAt.Equal(e.ExpiresAt) {
				out = append(out, prev) // unchanged: kept as recorded
				continue
			}
		}
		if v.member(e.UserID) == nil {
			return nil, &policy.Error{Code: policy.CodeNotFound, Message: fmt.Sprintf("no member %q to except from the rule", e.UserID),
				Details: map[string]any{"user_id": e.UserID}}
		}
		if e.Reason == "" {
			return nil, &policy.Error{Code: policy.CodeReasonRequired, Message: fmt.Sprintf("the exception for %s needs a reason (S3)", e.UserID),
				Details: map[string]any{"user_id": e.UserID}}
		}
		if n := len([]rune(e.Reason)); n > MaxReason {
			return nil, policy.Errorf(policy.CodeInvalidArgument, "an exception's reason has at most %d characters, got %d", MaxReason, n)
		}
		if !e.ExpiresAt.IsZero() && !e.ExpiresAt.After(v.now) {
			return nil, policy.Errorf(policy.CodeInvalidArgument, "the exception for %s expires at %s, which is not in the future", e.UserID, e.ExpiresAt.Format(time.RFC3339))
		}
		e.GrantedBy, e.GrantedAt = v.actor.AuditName(), v.now
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b SoDException) int { return cmpString(a.UserID, b.UserID) })
	return out, nil
}

// auditExceptions records one entry per exception added, changed or
// removed, with the member as its target: the member's own history shows
// it (S3 "recorded and audited").
func (v *view) auditExceptions(old, r *SoDRule) {
	var prev []SoDException
	if old != nil {
		prev = old.Exceptions
	}
	for _, e := range r.Exceptions {
		p, had := (&SoDRule{Exceptions: prev}).exception(e.UserID)
		if had && p == e {
			continue
		}
		var before any
		if had {
			before = exceptionAudit(r.ID, p)
		}
		v.record("sod.exception", "member:"+e.UserID, before, exceptionAudit(r.ID, e))
	}
	for _, p := range prev {
		if _, kept := r.exception(p.UserID); !kept {
			v.record("sod.exception", "member:"+p.UserID, exceptionAudit(r.ID, p), nil)
		}
	}
}

func exceptionAudit(rule string, e SoDException) map[string]any {
	out := map[string]any{"sod_rule": rule, "reason": e.Reason}
	if !e.ExpiresAt.IsZero() {
		out["expires_at"] = e.ExpiresAt
	}
	return out
}

func sodAudit(r *SoDRule) map[string]any {
	out := map[string]any{"name": r.Name, "description": r.Description, "exceptions": len(r.Exceptions)}
	if r.Roles != nil {
		out["roles"] = r.Roles
	} else {
		out["conflicts"] = r.Permissions
	}
	return out
}

func sameSoDRule(a, b *SoDRule) bool {
	eq := func(x, y [][]string) bool { return slices.EqualFunc(x, y, slices.Equal) }
	return a.Name == b.Name && a.Description == b.Description && eq(a.Permissions, b.Permissions) && eq(a.Roles, b.Roles) &&
		slices.Equal(a.Exceptions, b.Exceptions)
}

// compileSoD compiles a rule against the view's catalog.
func (v *view) compileSoD(r *SoDRule) (*policy.SoDSets, error) {
	if r.Roles != nil {
		return policy.RoleSoD(r.Roles)
	}
	c, err := v.cat.CompileSoD(r.Permissions)
	if err != nil {
		return nil, prefixError("rule "+r.ID, err)
	}
	return c, nil
}

// compiledSoD returns the view's rules compiled against its catalog. A
// permission a catalog change (C9) removed leaves its rule compiled
// without it rather than failing every write.
func (v *view) compiledSoD() []*policy.SoDSets {
	if v.sodCompiled != nil || len(v.sod) == 0 {
		return v.sodCompiled
	}
	out := make([]*policy.SoDSets, len(v.sod))
	for i := range v.sod {
		r := &v.sod[i]
		c, err := v.compileSoD(r)
		if err != nil {
			c = v.cat.CompileSoDKnown(r.Permissions)
		}
		out[i] = c
	}
	v.sodCompiled = out
	return out
}

// heldRoleIDs returns the roles a member holds now, its own and those it
// holds through its departments (M9), as role rules see them (S1).
func (v *view) heldRoleIDs(depts map[string]*Department, roles map[string]*Role, m *Member) []string {
	refs := heldRefs(depts, roles, m.live(v.now), v.now, nil, v.anyDeptRoles())
	out := make([]string, len(refs))
	for i, a := range refs {
		out[i] = a.RoleID
	}
	return out
}

// checkSoD is S2: no member the write changes (owners aside: W4) comes to hold a conflicting
// combination it did not hold before, unless it has an active exception
// to that rule. Old violations may remain (S3); a rule put by this very
// write is compared with the members' state before it, so adding a rule
// that members break refuses nothing. Returns separation_of_duties
// naming every rule, member and permission; finish writes nothing then.
func (v *view) checkSoD(users []string) error {
	return sodError(v.newViolations(users, 0))
}

// newViolations returns the violations checkSoD refuses among users, at
// most limit of them (0: all).
func (v *view) newViolations(users []string, limit int) []SoDViolation {
	rules := v.compiledSoD()
	if len(rules) == 0 {
		return nil
	}
	// The levels before the write are in the base catalog's ids, which a
	// smart object put or deleted (C9) shifts: the rules are compiled
	// against it too.
	baseRules := rules
	if v.base.cat != v.cat {
		baseRules = make([]*policy.SoDSets, len(v.sod))
		for i := range v.sod {
			if r := &v.sod[i]; r.Roles != nil {
				baseRules[i] = rules[i]
			} else {
				baseRules[i] = v.base.cat.CompileSoDKnown(r.Permissions)
			}
		}
	}
	var found []SoDViolation
	for _, u := range users {
		m := v.member(u)
		if m == nil || m.Owner {
			continue // owners can do everything (W4): no rule binds them
		}
		old := v.baseMember(u)
		var after, before func(policy.PermID) policy.Level
		if old != nil && v.onlyRevisionsMoved(u, old, m) {
			if !v.sodTouched(u, old, m, rules) {
				continue
			}
			// Levels are the highest over the roles (no direct grant,
			// no ownership): asked only where the rules look.
			after, before = v.roleLevels(v.cat, v.roles, v.revs, m), v.roleLevels(v.base.cat, v.base.roles, v.base.revs, old)
		} else {
			after = vectorLevels(v.effective(m))
			if old != nil {
				before = vectorLevels(v.baseEffective(old))
			}
		}
		afterRoles := v.heldRoleIDs(v.depts, v.roles, m)
		for i, c := range rules {
			r := &v.sod[i]
			held := c.HeldBy(after, afterRoles)
			if !policy.Conflicting(held) {
				continue
			}
			if e, ok := r.exception(u); ok && e.ActiveAt(v.now) {
				continue
			}
			var was [][]string
			if old != nil && !old.Owner { // an owner, bound by no rule (W4), breaks one when it stops being an owner
				was = baseRules[i].HeldBy(before, v.heldRoleIDs(v.base.depts, v.base.roles, old))
			}
			if policy.NewConflict(was, held) {
				found = append(found, SoDViolation{RuleID: r.ID, RuleName: r.Name, UserID: u, Held: held})
				if len(found) == limit {
					return found
				}
			}
		}
	}
	return found
}

func vectorLevels(vec policy.Vector) func(policy.PermID) policy.Level {
	return func(p policy.PermID) policy.Level { return vec[p] }
}

// roleLevels returns a member's levels as the highest over its roles'
// compiled vectors, for a member with no direct grant and no ownership
// (see onlyRevisionsMoved): what revisionChange compares too.
func (v *view) roleLevels(cat *policy.Catalog, roles map[string]*Role, revs map[policy.RoleRef]*RoleRevision, m *Member) func(policy.PermID) policy.Level {
	vecs := make([]policy.Vector, 0, len(m.Roles))
	for _, a := range m.Roles {
		r, rv := roles[a.RoleID], revs[policy.RoleRef{RoleID: a.RoleID, Revision: a.Revision}]
		if r != nil && rv != nil {
			vecs = append(vecs, v.vector(cat, r, rv))
		}
	}
	return func(p policy.PermID) policy.Level {
		var l policy.Level
		for _, vec := range vecs {
			l = max(l, vec[p])
		}
		return l
	}
}

// sodTouched reports whether a member's change may matter to a rule. A
// member moved only to other revisions of the roles it holds (an apply
// reaching thousands of members; the caller checks onlyRevisionsMoved)
// keeps its assignments, so role rules see nothing new, and its levels
// change only where the revisions differ: if no rule covers those
// permissions, nothing more is computed.
func (v *view) sodTouched(u string, old, m *Member, rules []*policy.SoDSets) bool {
	var diff []policy.PermID
	for i, a := range m.Roles {
		if a.Revision != old.Roles[i].Revision {
			diff = append(diff, v.revisionDiff(a.RoleID, old.Roles[i].Revision, a.Revision)...)
		}
	}
	for _, c := range rules {
		if c.Touches(diff) {
			return true
		}
	}
	return false
}

func sodError(found []SoDViolation) error {
	if len(found) == 0 {
		return nil
	}
	var parts []string
	details := make([]map[string]any, 0, len(found))
	for i, f := range found {
		if i < 5 {
			parts = append(parts, fmt.Sprintf("%s would hold %s together (rule %q)", f.UserID, f.HeldText(), f.RuleName))
		}
		details = append(details, map[string]any{"rule_id": f.RuleID, "rule": f.RuleName, "user_id": f.UserID, "held": f.Held})
	}
	msg := "separation of duties: " + strings.Join(parts, "; ")
	if len(found) > 5 {
		msg += fmt.Sprintf("; and %d more", len(found)-5)
	}
	return &policy.Error{Code: policy.CodeSeparationOfDuties, Message: msg + "; nothing was written",
		Details: map[string]any{"violations": details}}
}

// MaxReportedViolations bounds the violations one rule's write reports
// in its change (the event feed's bound on a change's size); the rest are
// counted in one more target, and listed by SoDViolations.
const MaxReportedViolations = 1000

// reportViolations adds the members who break rule id now, without an
// active exception, to the write's targets as "sod_violation:<rule>:<user>"
// (S3: the event feed reports the violations of a newly added rule), at
// most MaxReportedViolations of them, then "sod_violations_more:<rule>:<n>".
func (v *view) reportViolations(id string) {
	i := slices.IndexFunc(v.sod, func(r SoDRule) bool { return r.ID == id })
	c := v.compiledSoD()[i]
	n := 0
	defer func() {
		if n > MaxReportedViolations {
			v.target(fmt.Sprintf("sod_violations_more:%s:%d", id, n-MaxReportedViolations))
		}
	}()
	for _, u := range v.sortedMembers() {
		m := v.member(u)
		if m.Owner || !policy.Conflicting(c.Held(v.effective(m), v.heldRoleIDs(v.depts, v.roles, m))) {
			continue
		}
		if e, ok := v.sod[i].exception(u); ok && e.ActiveAt(v.now) {
			continue
		}
		if n++; n <= MaxReportedViolations {
			v.target("sod_violation:" + id + ":" + u)
		}
	}
}

// sortedMembers returns the user ids of every member as the view sees
// them, sorted.
func (v *view) sortedMembers() []string {
	out := make([]string, 0, v.base.snap.NumMembers())
	for u := range v.base.memberIDs() {
		if _, over := v.members[u]; !over {
			out = append(out, u)
		}
	}
	for u, m := range v.members {
		if m != nil {
			out = append(out, u)
		}
	}
	slices.Sort(out)
	return out
}

// SoDPage selects a page of violations.
type SoDPage struct {
	After string // user id cursor: violations of members after it
	Limit int    // 1–1000; 0 means 100
}

// SoDViolations lists the members who break rule id now, by user id (S3),
// owners aside (W4: they can do everything, and no rule binds them),
// with their exceptions: those with an active exception are listed too,
// marked Excepted. It returns the page and the next cursor ("" on the
// last page). A report: settings_roles_view at all (X3).
func (s *Service) SoDViolations(ctx context.Context, ws string, who Actor, id string, page SoDPage) ([]SoDViolation, string, error) {
	if page.Limit <= 0 || page.Limit > 1000 {
		page.Limit = 100
	}
	if err := s.canReport(ctx, ws, who); err != nil {
		return nil, "", err
	}
	sp, err := s.space(ctx, ws)
	if err != nil {
		return nil, "", err
	}
	sp.write.Lock() // the vector cache is the writers'
	defer sp.write.Unlock()
	v := newView(sp.m, s.now().UTC(), Actor{})
	i := slices.IndexFunc(v.sod, func(r SoDRule) bool { return r.ID == id })
	if i < 0 {
		return nil, "", errNoSoDRule(id)
	}
	return v.violations(i, page)
}

func (v *view) violations(i int, page SoDPage) ([]SoDViolation, string, error) {
	r, c := &v.sod[i], v.compiledSoD()[i]
	var out []SoDViolation
	for _, u := range v.sortedMembers() {
		if u <= page.After {
			continue
		}
		m := v.member(u)
		if m.Owner {
			continue
		}
		held := c.Held(v.effective(m), v.heldRoleIDs(v.depts, v.roles, m))
		if !policy.Conflicting(held) {
			continue
		}
		if len(out) == page.Limit {
			return out, out[len(out)-1].UserID, nil
		}
		f := SoDViolation{RuleID: r.ID, RuleName: r.Name, UserID: u, Held: held}
		if e, ok := r.exception(u); ok {
			f.Exception, f.Excepted = &e, e.ActiveAt(v.now)
		}
		out = append(out, f)
	}
	return out, "", nil
}
