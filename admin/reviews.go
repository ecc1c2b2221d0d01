package admin

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// This file is access reviews (V1–V3): campaigns over a scope of
// assignments and direct grants, items decided keep or revoke by allowed
// reviewers, and the close that applies revocations as ordinary audited
// writes, one transaction per member. Every step is a write through
// update, so the workspace's compare-and-set makes each happen once
// across nodes: a node that loses the race reloads and finds it done.

// The values of a review's fields.
const (
	ReviewOpen    = "open"
	ReviewClosing = "closing" // defaults taken; revocations being applied
	ReviewClosed  = "closed"

	DecisionKeep   = "keep"
	DecisionRevoke = "revoke"

	ReviewersAdmins = "admins"           // owners and members with settings_roles_edit
	ReviewersHeads  = "department_heads" // each member's department head

	OutcomeKept    = "kept"
	OutcomeRevoked = "revoked"
	OutcomeRefused = "refused" // the revocation broke a rule (M4, C4, S2): nothing of it was written
	OutcomeGone    = "gone"    // the member or the access was gone by the close
)

// MaxReviewItems bounds the items one campaign opens with.
const MaxReviewItems = 200_000

// ReviewScope selects what a campaign reviews (V1). The zero scope is
// every assignment and direct grant of the workspace. Otherwise an item is
// in scope when its role is one of Roles, or what it grants reaches one of
// Permissions, or a permission whose action is one of Actions, at MinLevel
// or above (own when unset).
type ReviewScope struct {
	Roles       []string
	Permissions []string
	Actions     []string
	MinLevel    policy.Level
}

func (s ReviewScope) empty() bool {
	return len(s.Roles) == 0 && len(s.Permissions) == 0 && len(s.Actions) == 0
}

// Review is an access review campaign (V1–V3).
type Review struct {
	ID        string
	Name      string
	Scope     ReviewScope
	Reviewers string // ReviewersAdmins or ReviewersHeads
	Deadline  time.Time
	Default   string // the decision of items still open at the close
	EveryDays int    // recurrence: a campaign like it opens at close, due N days after this one's deadline
	Status    string
	CreatedBy string
	CreatedAt time.Time
	ClosedBy  string
	ClosedAt  time.Time
	Next      string // the campaign its recurrence opened
	Items     []ReviewItem
}

// ReviewItem is one member's assignment or direct grant under review (V2),
// or a department's role (M9): a role a member holds through a department
// is the department's assignment, which only changing the department
// revokes, so it is one item of the department (UserID empty), decided by
// admins with settings_roles_edit at all (never by a member it reaches).
type ReviewItem struct {
	ID           int
	UserID       string
	DepartmentID string        // a department's role assignment (M9), UserID empty
	RoleID       string        // an assignment of this role, or
	Permission   string        // a direct grant of this permission
	Grants       policy.Grants // what it grants
	// LastUsed is the last use of what the item grants when the campaign
	// opened (U1): for a role, the role's last use by anyone; direct
	// grants are not tracked by usage, so zero.
	LastUsed time.Time
	// ExpiresAt is when what the item grants expires (T1), as it is now;
	// zero when it does not. Read from the live assignment, not stored.
	ExpiresAt time.Time
	Decision  string
	Reason    string
	DecidedBy string // a reviewer as the audit log names it, or "default"
	DecidedAt time.Time
	Outcome   string
	Note      string // why a revocation was refused
}

// Progress counts a campaign's items.
func (r *Review) Progress() (decided, total int) {
	for _, it := range r.Items {
		if it.Decision != "" {
			decided++
		}
	}
	return decided, len(r.Items)
}

// ReviewInput is what opens or changes a campaign.
type ReviewInput struct {
	Name      string
	Scope     ReviewScope
	Reviewers string
	Deadline  time.Time
	Default   string
	EveryDays int
}

func (v *view) checkReviewInput(in *ReviewInput) error {
	var err error
	if in.Name, err = cleanName("review", in.Name, 100); err != nil {
		return err
	}
	if in.Reviewers == "" {
		in.Reviewers = ReviewersAdmins
	}
	if in.Reviewers != ReviewersAdmins && in.Reviewers != ReviewersHeads {
		return policy.Errorf(policy.CodeInvalidArgument, "reviewers must be %s or %s, not %q", ReviewersAdmins, ReviewersHeads, excerpt(in.Reviewers))
	}
	if in.Default != DecisionKeep && in.Default != DecisionRevoke {
		return policy.Errorf(policy.CodeInvalidArgument, "default must be keep or revoke, not %q", excerpt(in.Default))
	}
	if in.EveryDays < 0 || in.EveryDays > 3660 {
		return policy.Errorf(policy.CodeInvalidArgument, "every_days must be 0 (no recurrence) to 3660, got %d", in.EveryDays)
	}
	in.Deadline = in.Deadline.UTC().Truncate(time.Microsecond)
	if !in.Deadline.After(v.now) {
		return policy.Errorf(policy.CodeInvalidArgument, "the deadline %s is not in the future", in.Deadline.Format(time.RFC3339))
	}
	for _, id := range in.Scope.Roles {
		if _, err := v.role(id); err != nil {
			return err
		}
	}
	for _, k := range in.Scope.Permissions {
		if _, err := v.cat.PermissionByKey(k); err != nil {
			return prefixError("scope", err)
		}
	}
	for _, a := range in.Scope.Actions {
		if !slices.ContainsFunc(v.cat.Permissions(), func(p *policy.Permission) bool { return p.Action == a }) {
			return policy.Errorf(policy.CodeInvalidArgument, "no permission of the catalog has action %q", excerpt(a))
		}
	}
	if in.Scope.MinLevel == policy.LevelNone {
		in.Scope.MinLevel = policy.LevelOwn
	}
	return nil
}

// OpenReview opens a campaign: its items are generated now, one per
// member × assignment or direct grant in scope, each with what it grants
// and its last use (U1). Needs settings_roles_edit at all (X3).
func (s *Service) OpenReview(ctx context.Context, ws string, w Write, in ReviewInput) (Review, int64, error) {
	usage, err := s.store.Usage(ctx, ws)
	if err != nil {
		return Review{}, 0, err
	}
	var out Review
	v, err := s.update(ctx, ws, w, "review.open", func(v *view) error {
		if err := v.checkReviewInput(&in); err != nil {
			return err
		}
		r, err := v.openReview(in, usage)
		out = r
		return err
	}, s.wakeReviews)
	if err != nil {
		return Review{}, 0, err
	}
	return out, v.ws.Revision, nil
}

func (v *view) openReview(in ReviewInput, usage []Usage) (Review, error) {
	r := Review{ID: fmt.Sprintf("rv%d", v.ws.Revision+1), Name: in.Name, Scope: in.Scope, Reviewers: in.Reviewers,
		Deadline: in.Deadline, Default: in.Default, EveryDays: in.EveryDays, Status: ReviewOpen,
		CreatedBy: v.actor.AuditName(), CreatedAt: v.now}
	lastUse := map[string]time.Time{}
	for _, u := range usage {
		if u.LastUsed.After(lastUse[u.RoleID]) {
			lastUse[u.RoleID] = u.LastUsed
		}
	}
	for _, u := range v.sortedMembers() {
		m := v.member(u).live(v.now) // what has expired (T1) is not reviewed
		for _, a := range m.Roles {
			rv := v.roleRevision(a.RoleID, a.Revision)
			if rv == nil {
				continue
			}
			if !v.inScope(in.Scope, a.RoleID, v.vector(v.cat, v.roles[a.RoleID], rv)) {
				continue
			}
			r.Items = append(r.Items, ReviewItem{ID: len(r.Items) + 1, UserID: u, RoleID: a.RoleID, Grants: rv.Grants.Clone(), LastUsed: lastUse[a.RoleID],
				ExpiresAt: a.ExpiresAt})
		}
		for _, k := range slices.Sorted(maps.Keys(m.Grants)) {
			g := policy.Grants{k: m.Grants[k]}
			if !v.inScope(in.Scope, "", v.cat.RoleVector(policy.RoleRevision{Audience: m.Kind, Grants: g})) {
				continue
			}
			r.Items = append(r.Items, ReviewItem{ID: len(r.Items) + 1, UserID: u, Permission: k, Grants: g, ExpiresAt: m.GrantExpiry[k]})
		}
		if len(r.Items) > MaxReviewItems {
			return Review{}, policy.Errorf(policy.CodeInvalidArgument, "the scope holds more than %d items; review a narrower scope", MaxReviewItems)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(v.depts)) { // M9: the departments' roles, one item each
		for _, a := range v.depts[id].Roles {
			rv := v.roleRevision(a.RoleID, a.Revision)
			if rv == nil || (!a.ExpiresAt.IsZero() && !v.now.Before(a.ExpiresAt)) {
				continue
			}
			if !v.inScope(in.Scope, a.RoleID, v.vector(v.cat, v.roles[a.RoleID], rv)) {
				continue
			}
			r.Items = append(r.Items, ReviewItem{ID: len(r.Items) + 1, DepartmentID: id, RoleID: a.RoleID, Grants: rv.Grants.Clone(),
				LastUsed: lastUse[a.RoleID], ExpiresAt: a.ExpiresAt})
		}
	}
	if len(r.Items) > MaxReviewItems {
		return Review{}, policy.Errorf(policy.CodeInvalidArgument, "the scope holds more than %d items; review a narrower scope", MaxReviewItems)
	}
	v.putReview(&r)
	v.record("review.open", "review:"+r.ID, nil, reviewAudit(&r))
	return r, nil
}

// inScope reports whether an item whose role is roleID ("" for a direct
// grant) and whose levels are vec falls in scope.
func (v *view) inScope(s ReviewScope, roleID string, vec policy.Vector) bool {
	if s.empty() {
		return true
	}
	if roleID != "" && slices.Contains(s.Roles, roleID) {
		return true
	}
	for _, k := range s.Permissions {
		if id, ok := v.cat.Lookup(k); ok && vec[id] >= s.MinLevel {
			return true
		}
	}
	if len(s.Actions) > 0 {
		for _, p := range v.cat.Permissions() {
			if slices.Contains(s.Actions, p.Action) && vec[p.ID] >= s.MinLevel {
				return true
			}
		}
	}
	return false
}

func reviewAudit(r *Review) map[string]any {
	decided, total := r.Progress()
	return map[string]any{"name": r.Name, "status": r.Status, "deadline": r.Deadline, "default": r.Default,
		"reviewers": r.Reviewers, "every_days": r.EveryDays, "items": total, "decided": decided}
}

// putReview records a campaign's new state in the view.
func (v *view) putReview(r *Review) {
	if v.reviews == nil {
		v.reviews = maps.Clone(v.base.reviews)
		if v.reviews == nil {
			v.reviews = map[string]*Review{}
		}
	}
	v.reviews[r.ID] = r
	v.reviewsPut = append(v.reviewsPut, r.ID)
	v.target("review:" + r.ID)
}

// review returns a campaign as the view sees it; not_found if none.
func (v *view) review(id string) (*Review, error) {
	rs := v.reviews
	if rs == nil {
		rs = v.base.reviews
	}
	if r := rs[id]; r != nil {
		return r, nil
	}
	return nil, &policy.Error{Code: policy.CodeNotFound, Message: fmt.Sprintf("no review %q", excerpt(id)), Details: map[string]any{"review_id": excerpt(id)}}
}

func cloneReview(r *Review) *Review {
	c := *r
	c.Items = slices.Clone(r.Items)
	return &c
}

// ReviewUpdate changes an open campaign (PATCH): its name, deadline,
// default or recurrence. Scope and reviewers are fixed once items exist.
type ReviewUpdate struct {
	Name      *string
	Deadline  *time.Time
	Default   *string
	EveryDays *int
}

// UpdateReview changes an open campaign; settings_roles_edit at all (X3).
func (s *Service) UpdateReview(ctx context.Context, ws string, w Write, id string, u ReviewUpdate) (Review, int64, error) {
	var out Review
	v, err := s.update(ctx, ws, w, "review.update", func(v *view) error {
		old, err := v.review(id)
		if err != nil {
			return err
		}
		if old.Status != ReviewOpen {
			return policy.Errorf(policy.CodeInvalidArgument, "review %s is %s; only an open review changes", id, old.Status)
		}
		if err := v.pastDeadline(old, "it can no longer change; it closes with its default"); err != nil {
			return err
		}
		in := ReviewInput{Name: old.Name, Scope: old.Scope, Reviewers: old.Reviewers, Deadline: old.Deadline, Default: old.Default, EveryDays: old.EveryDays}
		if u.Name != nil {
			in.Name = *u.Name
		}
		if u.Deadline != nil {
			in.Deadline = *u.Deadline
		}
		if u.Default != nil {
			in.Default = *u.Default
		}
		if u.EveryDays != nil {
			in.EveryDays = *u.EveryDays
		}
		in.Scope.Roles = nil // roles may have been deleted since: the items are what counts
		if err := v.checkReviewInput(&in); err != nil {
			return err
		}
		r := cloneReview(old)
		r.Name, r.Deadline, r.Default, r.EveryDays = in.Name, in.Deadline, in.Default, in.EveryDays
		out = *r
		if r.Name == old.Name && r.Deadline.Equal(old.Deadline) && r.Default == old.Default && r.EveryDays == old.EveryDays {
			return nil
		}
		v.putReview(r)
		v.record("review.update", "review:"+id, reviewAudit(old), reviewAudit(r))
		return nil
	}, s.wakeReviews)
	if err != nil {
		return Review{}, 0, err
	}
	return out, v.ws.Revision, nil
}

// Reviews returns the workspace's campaigns, newest first. Without report
// authority (settings_roles_view at all), a reviewer sees the open
// campaigns that hold items it may decide, and no others.
func (s *Service) Reviews(ctx context.Context, ws string, who Actor) ([]Review, error) {
	a, err := s.Authority(ctx, ws, who)
	if err != nil {
		return nil, err
	}
	report := a.Can(AreaReports) == nil
	var out []Review
	err = s.readVectors(ctx, ws, func(m *model) error {
		for _, r := range m.reviews {
			if report || len(m.reviewable(who, r)) > 0 {
				c := *r
				c.Items = nil
				out = append(out, c)
			}
		}
		return nil
	})
	slices.SortFunc(out, func(a, b Review) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, err
}

// GetReview returns a campaign without its items (see ReviewItems), with
// the counts Progress gives in Decided and Total.
func (s *Service) GetReview(ctx context.Context, ws string, who Actor, id string) (Review, int, int, error) {
	var out Review
	var decided, total int
	items, err := s.ReviewItems(ctx, ws, who, id, ReviewItemFilter{})
	if err != nil {
		return Review{}, 0, 0, err
	}
	err = s.read(ctx, ws, func(m *model) error {
		r := m.reviews[id]
		out = *r
		out.Items = nil
		return nil
	})
	for _, it := range items {
		total++
		if it.Decision != "" {
			decided++
		}
	}
	return out, decided, total, err
}

// ReviewItemFilter selects a campaign's items (V3: the reviewer's inbox).
type ReviewItemFilter struct {
	Open       bool   // only undecided items
	RoleID     string // only assignments of this role
	Permission string // only items granting this permission above none
	After      int    // item id cursor
	Limit      int    // 0: all
}

// ReviewItems returns the items of campaign id that who may see: all of
// them with report authority (settings_roles_view at all), otherwise those
// it may decide (V2). Returns not_found for no such campaign, forbidden
// when who may see none of it.
func (s *Service) ReviewItems(ctx context.Context, ws string, who Actor, id string, f ReviewItemFilter) ([]ReviewItem, error) {
	a, err := s.Authority(ctx, ws, who)
	if err != nil {
		return nil, err
	}
	report := a.Can(AreaReports) == nil
	var out []ReviewItem
	err = s.readVectors(ctx, ws, func(m *model) error {
		r := m.reviews[id]
		if r == nil {
			return &policy.Error{Code: policy.CodeNotFound, Message: fmt.Sprintf("no review %q", excerpt(id)), Details: map[string]any{"review_id": excerpt(id)}}
		}
		items := r.Items
		if !report {
			items = m.reviewable(who, r)
			if len(items) == 0 {
				return a.Can(AreaReports)
			}
		}
		for _, it := range items {
			if it.ID <= f.After || (f.Open && it.Decision != "") || (f.RoleID != "" && it.RoleID != f.RoleID) ||
				(f.Permission != "" && it.Grants[f.Permission] == policy.LevelNone) {
				continue
			}
			it.ExpiresAt = m.itemExpiry(it)
			out = append(out, it)
			if f.Limit > 0 && len(out) == f.Limit {
				break
			}
		}
		return nil
	})
	return out, err
}

// itemExpiry is when what item it grants expires (T1) as the model holds
// it now; zero when it does not, or is gone.
func (m *model) itemExpiry(it ReviewItem) time.Time {
	var roles []Assignment
	switch {
	case it.DepartmentID != "":
		if d := m.depts[it.DepartmentID]; d != nil {
			roles = d.Roles
		}
	case m.member(it.UserID) == nil:
		return time.Time{}
	case it.RoleID == "":
		return m.member(it.UserID).GrantExpiry[it.Permission]
	default:
		roles = m.member(it.UserID).Roles
	}
	if i := slices.IndexFunc(roles, func(a Assignment) bool { return a.RoleID == it.RoleID }); i >= 0 {
		return roles[i].ExpiresAt
	}
	return time.Time{}
}

// readVectors runs fn on the workspace's model under the space's write
// lock: fn computes authorities, whose role vectors the model caches, and
// that cache is the writers' (see PreviewRole).
func (s *Service) readVectors(ctx context.Context, ws string, fn func(m *model) error) error {
	sp, err := s.space(ctx, ws)
	if err != nil {
		return err
	}
	sp.write.Lock()
	defer sp.write.Unlock()
	return fn(sp.m)
}

// reviewable returns the items of r that who may decide now.
func (m *model) reviewable(who Actor, r *Review) []ReviewItem {
	a, err := m.authority(who)
	if err != nil {
		return nil
	}
	var out []ReviewItem
	for _, it := range r.Items {
		if m.canDecideItem(who, a, r, it) == nil {
			out = append(out, it)
		}
	}
	return out
}

// canDecideItem is canDecide for any item: a department's role (M9) is
// decided by the key, owners and members with settings_roles_edit at all
// (what changes a department's roles without limit of span), whatever
// the campaign's reviewers, and never by a member the department's role
// reaches (its own access, X3a).
func (m *model) canDecideItem(who Actor, a Authority, r *Review, it ReviewItem) error {
	if it.DepartmentID == "" {
		return m.canDecide(who, a, r, it.UserID)
	}
	d := m.depts[it.DepartmentID]
	if mb := m.member(who.UserID); d != nil && mb != nil && reaches(m.depts, d, mb) {
		return &policy.Error{Code: policy.CodePrivilegeEscalation,
			Message: fmt.Sprintf("department %s's roles reach you: a reviewer never reviews its own access (X3a); another reviewer decides this item", it.DepartmentID),
			Details: map[string]any{"reason": "own_access", "department_id": it.DepartmentID}}
	}
	if a.unlimited || a.edit == policy.LevelAll {
		return nil
	}
	return &policy.Error{Code: policy.CodeForbidden,
		Message: fmt.Sprintf("a department's roles are reviewed by owners and members with %s at all", permRolesEdit),
		Details: map[string]any{"department_id": it.DepartmentID}}
}

// canDecide is V2's who: a reviewer allowed by the campaign (V1) and by
// X3, never on its own access (X3a). Keys acting for themselves and
// owners may decide any item but their own.
func (m *model) canDecide(who Actor, a Authority, r *Review, user string) error {
	if who.UserID != "" && who.UserID == user {
		return &policy.Error{Code: policy.CodePrivilegeEscalation,
			Message: "a reviewer never reviews its own access (X3a); another reviewer decides this item",
			Details: map[string]any{"reason": "own_access", "user_id": user}}
	}
	if a.unlimited {
		return nil
	}
	mb := m.member(user)
	if mb == nil {
		return memberNotFound(user)
	}
	switch r.Reviewers {
	case ReviewersHeads:
		actor := m.member(who.UserID)
		if actor != nil && actor.holds(RoleHead) {
			for _, d := range mb.DepartmentIDs {
				if slices.Contains(actor.DepartmentIDs, d) {
					return nil
				}
			}
		}
		return &policy.Error{Code: policy.CodeForbidden,
			Message: fmt.Sprintf("this review is decided by each member's department head; you are not the head of a department of %s", user),
			Details: map[string]any{"reviewers": r.Reviewers, "user_id": user}}
	default:
		if a.edit > policy.LevelNone && a.Manages(mb) {
			return nil
		}
		return &policy.Error{Code: policy.CodeForbidden,
			Message: fmt.Sprintf("this review is decided by owners and members with %s over %s", permRolesEdit, user),
			Details: map[string]any{"reviewers": r.Reviewers, "user_id": user}}
	}
}

// DecideReviewItem records a decision, keep or revoke, on one item (V2).
// Only an allowed reviewer decides (canDecide); a decision can change
// until the campaign closes. Audited.
func (s *Service) DecideReviewItem(ctx context.Context, ws string, w Write, id string, item int, decision, reason string) (ReviewItem, int64, error) {
	var out ReviewItem
	v, err := s.update(ctx, ws, w, "review.decide", func(v *view) error {
		if decision != DecisionKeep && decision != DecisionRevoke {
			return policy.Errorf(policy.CodeInvalidArgument, "decision must be keep or revoke, not %q", excerpt(decision))
		}
		if n := len([]rune(reason)); n > MaxReason {
			return policy.Errorf(policy.CodeInvalidArgument, "a decision's reason has at most %d characters, got %d", MaxReason, n)
		}
		old, err := v.review(id)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(old.Items, func(it ReviewItem) bool { return it.ID == item })
		if i < 0 {
			return &policy.Error{Code: policy.CodeNotFound, Message: fmt.Sprintf("review %s has no item %d", id, item), Details: map[string]any{"item": item}}
		}
		if err := v.base.canDecideItem(v.actor, v.auth, old, old.Items[i]); err != nil {
			return err
		}
		if old.Status != ReviewOpen {
			return policy.Errorf(policy.CodeInvalidArgument, "review %s is %s; decisions are closed", id, old.Status)
		}
		if err := v.pastDeadline(old, "decisions are closed; undecided items take the default"); err != nil {
			return err
		}
		it := old.Items[i]
		if it.Decision == decision && it.Reason == reason {
			out = it
			return nil
		}
		r := cloneReview(old)
		it.Decision, it.Reason, it.DecidedBy, it.DecidedAt = decision, reason, v.actor.AuditName(), v.now
		r.Items[i] = it
		out = it
		v.putReview(r)
		v.itemsPut = append(v.itemsPut, reviewItemRef{id, item})
		v.record("review.decide", itemTarget(it), nil, map[string]any{"review": id, "item": item, "access": itemAccess(it),
			"decision": decision, "reason": reason})
		return nil
	})
	if err != nil {
		return ReviewItem{}, 0, err
	}
	return out, v.ws.Revision, nil
}

// pastDeadline refuses a change to an open campaign whose deadline has
// passed (V2): from the deadline on, undecided items take the default,
// whether or not the close has run yet, so a late decision (or a late
// change of the default or deadline) would make the outcome depend on
// which came first, the reviewer or the close.
func (v *view) pastDeadline(r *Review, what string) error {
	if v.now.Before(r.Deadline) {
		return nil
	}
	return &policy.Error{Code: policy.CodeInvalidArgument,
		Message: fmt.Sprintf("review %s passed its deadline %s; %s", r.ID, r.Deadline.Format(time.RFC3339), what),
		Details: map[string]any{"reason": "deadline_passed", "review_id": r.ID, "deadline": r.Deadline.Format(time.RFC3339)}}
}

// itemTarget is the audit target an item's decision is recorded on.
func itemTarget(it ReviewItem) string {
	if it.DepartmentID != "" {
		return "department:" + it.DepartmentID
	}
	return "member:" + it.UserID
}

func itemAccess(it ReviewItem) string {
	if it.RoleID != "" {
		return "role:" + it.RoleID
	}
	return "grant:" + it.Permission
}

// reviewItemRef names one item of one campaign.
type reviewItemRef struct {
	review string
	item   int
}

// ReviewCloseReport is what closing a campaign did.
type ReviewCloseReport struct {
	Review   Review
	Revoked  []ReviewItem
	Refused  []ReviewItem // revocations a rule refused (M4, C4, S2): nothing of them written
	Next     string       // the campaign its recurrence opened
	Revision int64
}

// CloseReview closes campaign id (V2): items still open take the default,
// then each member's revocations are applied as one ordinary, audited
// write (M4's default role, C4, S2 and X3 all hold: a refused one is
// reported and changes nothing), then the campaign is closed and, if it
// recurs, the next one opens. Each step is its own write and does what is
// left to do, so a close interrupted or raced by another node completes
// exactly once. Closing a closed campaign reports it as it is.
func (s *Service) CloseReview(ctx context.Context, ws string, w Write, id string) (ReviewCloseReport, error) {
	if w.Reason == "" {
		w.Reason = "access review " + id
	}
	// 1. The defaults, once: only an open campaign moves to closing.
	if _, err := s.update(ctx, ws, w, "review.close", func(v *view) error {
		old, err := v.review(id)
		if err != nil || old.Status != ReviewOpen {
			return err
		}
		r := cloneReview(old)
		r.Status = ReviewClosing
		for i := range r.Items {
			if r.Items[i].Decision == "" {
				r.Items[i].Decision, r.Items[i].DecidedBy, r.Items[i].DecidedAt = r.Default, "default", v.now
				v.itemsPut = append(v.itemsPut, reviewItemRef{id, r.Items[i].ID})
			}
		}
		v.putReview(r)
		v.record("review.close", "review:"+id, reviewAudit(old), reviewAudit(r))
		return nil
	}); err != nil {
		return ReviewCloseReport{}, err
	}
	// 2. The revocations, one member at a time.
	users, err := s.pendingRevocations(ctx, ws, id)
	if err != nil {
		return ReviewCloseReport{}, err
	}
	if err := s.revokeEach(ctx, ws, w, users, func(v *view, u, note string) error { return v.revokeItems(id, u, note) }); err != nil {
		return ReviewCloseReport{}, err
	}
	// 2b. The departments' roles (M9), one department at a time.
	depts, err := s.pendingDeptRevocations(ctx, ws, id)
	if err != nil {
		return ReviewCloseReport{}, err
	}
	if err := s.revokeEach(ctx, ws, w, depts, func(v *view, d, note string) error { return v.revokeDeptItems(id, d, note) }); err != nil {
		return ReviewCloseReport{}, err
	}
	// 3. Closed; the recurrence opens.
	usage, err := s.store.Usage(ctx, ws)
	if err != nil {
		return ReviewCloseReport{}, err
	}
	var rep ReviewCloseReport
	v, err := s.update(ctx, ws, w, "review.closed", func(v *view) error {
		old, err := v.review(id)
		if err != nil {
			return err
		}
		rep = ReviewCloseReport{}
		if old.Status == ReviewClosing {
			r := cloneReview(old)
			r.Status, r.ClosedAt, r.ClosedBy = ReviewClosed, v.now, v.actor.AuditName()
			for i := range r.Items {
				if r.Items[i].Outcome == "" && r.Items[i].Decision == DecisionKeep {
					r.Items[i].Outcome = OutcomeKept
					v.itemsPut = append(v.itemsPut, reviewItemRef{id, r.Items[i].ID})
				}
			}
			if r.EveryDays > 0 {
				in := ReviewInput{Name: r.Name, Scope: r.Scope, Reviewers: r.Reviewers, Default: r.Default, EveryDays: r.EveryDays,
					Deadline: r.Deadline.AddDate(0, 0, r.EveryDays)}
				for !in.Deadline.After(v.now) {
					in.Deadline = in.Deadline.AddDate(0, 0, r.EveryDays)
				}
				in.Scope.Roles = slices.DeleteFunc(slices.Clone(in.Scope.Roles), func(id string) bool { return v.roles[id] == nil })
				if len(r.Scope.Roles) > 0 && len(in.Scope.Roles) == 0 && len(in.Scope.Permissions) == 0 && len(in.Scope.Actions) == 0 {
					in.EveryDays = 0 // its roles are gone: nothing left to recur over
				} else {
					next, err := v.openReview(in, usage)
					if err != nil {
						return err
					}
					r.Next = next.ID
				}
			}
			v.putReview(r)
			v.record("review.closed", "review:"+id, reviewAudit(old), reviewAudit(r))
			old = r
		}
		rep.Review, rep.Next = *old, old.Next
		for _, it := range old.Items {
			switch it.Outcome {
			case OutcomeRevoked:
				rep.Revoked = append(rep.Revoked, it)
			case OutcomeRefused:
				rep.Refused = append(rep.Refused, it)
			}
		}
		return nil
	}, s.wakeReviews)
	if err != nil {
		return ReviewCloseReport{}, err
	}
	rep.Revision = v.ws.Revision
	return rep, nil
}

// pendingRevocations lists the members with revocations left to apply.
func (s *Service) pendingRevocations(ctx context.Context, ws, id string) ([]string, error) {
	var out []string
	err := s.read(ctx, ws, func(m *model) error {
		r := m.reviews[id]
		if r == nil || r.Status != ReviewClosing {
			return nil
		}
		for _, it := range r.Items {
			if it.Decision == DecisionRevoke && it.Outcome == "" && it.DepartmentID == "" {
				out = append(out, it.UserID)
			}
		}
		return nil
	})
	return unique(out), err
}

// pendingDeptRevocations lists the departments with role revocations left
// to apply.
func (s *Service) pendingDeptRevocations(ctx context.Context, ws, id string) ([]string, error) {
	var out []string
	err := s.read(ctx, ws, func(m *model) error {
		r := m.reviews[id]
		if r == nil || r.Status != ReviewClosing {
			return nil
		}
		for _, it := range r.Items {
			if it.Decision == DecisionRevoke && it.Outcome == "" && it.DepartmentID != "" {
				out = append(out, it.DepartmentID)
			}
		}
		return nil
	})
	slices.Sort(out)
	return slices.Compact(out), err
}

// revokeDeptItems removes the roles of department dept that the campaign
// revokes, as the ordinary department-roles write (M9: finish gives the
// default role to a member left with none, and C4, S2 and X3a hold), or,
// with note, marks them refused, changing nothing else.
func (v *view) revokeDeptItems(id, dept, note string) error {
	r, idx, err := v.pendingItems(id, func(it ReviewItem) bool { return it.DepartmentID == dept })
	if err != nil || len(idx) == 0 {
		return err
	}
	d := v.depts[dept]
	if note != "" || d == nil {
		outcome := OutcomeRefused
		if d == nil {
			outcome, note = OutcomeGone, "the department was deleted"
		}
		v.markItems(id, r, idx, outcome, note, "department:"+dept)
		return nil
	}
	keep := []string{}
	for _, a := range d.Roles {
		if !slices.ContainsFunc(idx, func(i int) bool { return r.Items[i].RoleID == a.RoleID }) {
			keep = append(keep, a.RoleID)
		}
	}
	for _, i := range idx {
		it := &r.Items[i]
		it.Outcome = OutcomeRevoked
		if !slices.ContainsFunc(d.Roles, func(a Assignment) bool { return a.RoleID == it.RoleID }) {
			it.Outcome, it.Note = OutcomeGone, "the department no longer held the role"
		}
		v.itemsPut = append(v.itemsPut, reviewItemRef{id, it.ID})
	}
	if len(keep) < len(d.Roles) {
		if err := v.setDepartmentRoles(dept, DepartmentRolesInput{RoleIDs: keep}); err != nil {
			return err
		}
	}
	v.putReview(r)
	return nil
}

// revokeItems applies the pending revocations of one member (note "") or
// marks them refused with note, leaving the member as it is.
func (v *view) revokeItems(id, user, note string) error {
	r, idx, err := v.pendingItems(id, func(it ReviewItem) bool { return it.UserID == user })
	if err != nil || len(idx) == 0 {
		return err
	}
	m0 := v.member(user)
	if note != "" || m0 == nil {
		outcome := OutcomeRefused
		if m0 == nil {
			outcome, note = OutcomeGone, "the member was removed"
		}
		v.markItems(id, r, idx, outcome, note, "member:"+user)
		return nil
	}
	m := m0.clone()
	grants := m.Grants.Clone()
	for _, i := range idx {
		it := &r.Items[i]
		it.Outcome = OutcomeRevoked
		v.itemsPut = append(v.itemsPut, reviewItemRef{id, it.ID})
		if it.RoleID != "" {
			j, ok := m.assignment(it.RoleID)
			if !ok {
				it.Outcome, it.Note = OutcomeGone, "the member no longer held the role"
				continue
			}
			m.Roles = slices.Delete(m.Roles, j, j+1)
			continue
		}
		if _, ok := grants[it.Permission]; !ok {
			it.Outcome, it.Note = OutcomeGone, "the member no longer held the grant"
			continue
		}
		delete(grants, it.Permission)
		delete(m.When, it.Permission)
		delete(m.GrantExpiry, it.Permission)
	}
	heldViaDept := v.deptRoleCount > 0 && len(deptHeld(v.depts, v.roles, m, v.now)) > 0
	if len(m.Roles) == 0 && !heldViaDept { // M4 (a role held through a department counts, M9): the default role, unless it is what was revoked
		def := v.defaultRole()
		if slices.ContainsFunc(idx, func(i int) bool { return r.Items[i].RoleID == def.ID }) {
			return v.lastRoleError(m, def)
		}
		m.addAssignment(Assignment{RoleID: def.ID, Revision: def.Revision, AssignedAt: v.now, AssignedBy: v.actor.AuditName()})
		if err := v.checkAudiences(m); err != nil {
			return err
		}
	}
	if len(grants) == 0 {
		grants, m.When = nil, nil
	}
	if len(m.GrantExpiry) == 0 {
		m.GrantExpiry = nil
	}
	m.Grants = grants
	refs := heldRefs(v.depts, v.roles, m.live(v.now), v.now, nil, v.deptRoleCount > 0)
	vs := make([]policy.Vector, 0, len(refs))
	for _, a := range refs {
		vs = append(vs, v.vector(v.cat, v.roles[a.RoleID], v.roleRevision(a.RoleID, a.Revision)))
	}
	if len(m.Grants) > 0 {
		if _, err := v.cat.ValidateDirectGrants(m.Grants, m.Kind, vs); err != nil {
			return err // C4: a remaining grant relied on what was revoked
		}
	}
	v.putMember(m)
	if !slices.Equal(m0.Roles, m.Roles) {
		v.record("member.roles", "member:"+user, assignmentsJSON(m0), assignmentsJSON(m))
	}
	if !grantsEqual(m0.Grants, m.Grants) {
		v.record("member.grants", "member:"+user, grantsJSON(m0), grantsJSON(m))
	}
	v.putReview(r)
	return nil
}

// CloseDueReviews closes every open campaign whose deadline has passed,
// in every workspace, as the system (X5): items still open take the
// default. Several nodes may run it at once; each close happens once.
// It returns how many campaigns it closed.
func (s *Service) CloseDueReviews(ctx context.Context) (int, error) {
	wss, err := s.store.Workspaces(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, ws := range wss {
		var due []string
		err := s.read(ctx, ws, func(m *model) error {
			now := s.now()
			for id, r := range m.reviews {
				// a close interrupted (closing) is finished whatever its deadline
				if r.Status == ReviewClosing || (r.Status == ReviewOpen && !now.Before(r.Deadline)) {
					due = append(due, id)
				}
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		slices.Sort(due)
		for _, id := range due {
			if _, err := s.CloseReview(ctx, ws, Write{Actor: Actor{System: true}, Reason: "access review " + id + ": deadline"}, id); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// ReviewCSV renders a campaign's decisions as CSV (V3): one line per
// item. Needs report authority (settings_roles_view at all).
func (s *Service) ReviewCSV(ctx context.Context, ws string, who Actor, id string) ([][]string, error) {
	if err := s.canReport(ctx, ws, who); err != nil {
		return nil, err
	}
	items, err := s.ReviewItems(ctx, ws, who, id, ReviewItemFilter{})
	if err != nil {
		return nil, err
	}
	rows := [][]string{{"review", "item", "user_id", "department_id", "access", "grants", "last_used", "expires_at", "decision", "reason", "decided_by", "decided_at", "outcome", "note"}}
	for _, it := range items {
		var gs []string
		for _, k := range slices.Sorted(maps.Keys(it.Grants)) {
			gs = append(gs, fmt.Sprintf("%s=%s", k, it.Grants[k]))
		}
		rows = append(rows, []string{id, fmt.Sprint(it.ID), it.UserID, it.DepartmentID, itemAccess(it), strings.Join(gs, " "), csvTime(it.LastUsed), csvTime(it.ExpiresAt),
			it.Decision, it.Reason, it.DecidedBy, csvTime(it.DecidedAt), it.Outcome, it.Note})
	}
	return rows, nil
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// reviewOps turns the campaigns the write changed into store writes: the
// campaign row, and its new or changed items.
func (v *view) reviewOps() []Op {
	var ops []Op
	for _, id := range unique(v.reviewsPut) {
		r := v.reviews[id]
		if r == nil {
			continue
		}
		op := PutReview{Review: *r}
		op.Review.Items = nil
		if v.base.reviews[id] == nil {
			op.Items = r.Items
		} else {
			changed := map[int]bool{}
			for _, ref := range v.itemsPut {
				if ref.review == id {
					changed[ref.item] = true
				}
			}
			for _, it := range r.Items {
				if changed[it.ID] {
					op.Items = append(op.Items, it)
				}
			}
		}
		ops = append(ops, op)
	}
	return ops
}

// revokeEach applies a closing campaign's revocations of each key (a
// member, or a department) as a write of its own; a write a rule refuses
// is recorded as refused, with the refusal as its note, and writes
// nothing else. Only a store failure stops the close.
func (s *Service) revokeEach(ctx context.Context, ws string, w Write, keys []string, revoke func(v *view, key, note string) error) error {
	for _, k := range keys {
		_, err := s.update(ctx, ws, w, "review.revoke", func(v *view) error { return revoke(v, k, "") })
		if code := policy.ErrorCode(err); code == policy.CodeInternal || code == policy.CodeUnavailable {
			return err
		}
		if err != nil {
			note := err.Error()
			if _, err := s.update(ctx, ws, w, "review.refused", func(v *view) error { return revoke(v, k, note) }); err != nil {
				return err
			}
		}
	}
	return nil
}

// pendingItems returns a copy of closing campaign id and the indexes of
// its items that match, are revoked and have no outcome yet; nil when the
// campaign is not closing.
func (v *view) pendingItems(id string, match func(ReviewItem) bool) (*Review, []int, error) {
	old, err := v.review(id)
	if err != nil || old.Status != ReviewClosing {
		return nil, nil, err
	}
	r := cloneReview(old)
	var idx []int
	for i, it := range r.Items {
		if match(it) && it.Decision == DecisionRevoke && it.Outcome == "" {
			idx = append(idx, i)
		}
	}
	return r, idx, nil
}

// markItems gives items idx of campaign r an outcome that changes nothing
// else (refused, or gone), audited on target.
func (v *view) markItems(id string, r *Review, idx []int, outcome, note, target string) {
	for _, i := range idx {
		r.Items[i].Outcome, r.Items[i].Note = outcome, note
		v.itemsPut = append(v.itemsPut, reviewItemRef{id, r.Items[i].ID})
	}
	v.putReview(r)
	v.record("review.refused", target, nil, map[string]any{"review": id, "items": len(idx), "note": note})
}
