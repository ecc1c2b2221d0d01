package web

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

const membersPerPage = 50

type membersView struct {
	Members     []memberRow
	Roles       []admin.Role
	Departments []admin.Department
	DeptNames   map[string]string
	Role, Dept  string
	Query       string
	Next        string // cursor of the next page
	After       string
}

// memberRow is a member with its roles' names resolved.
type memberRow struct {
	admin.Member
	RoleNames map[string]string
}

func (c *Console) roleNames(rq *request) (map[string]string, []admin.Role, error) {
	roles, err := c.cfg.Admin.Roles(rq.Context(), rq.ws, "", "")
	if err != nil {
		return nil, nil, err
	}
	names := map[string]string{}
	for _, r := range roles {
		names[r.ID] = r.Name
	}
	return names, roles, nil
}

// deptNames maps the workspace's department ids to their names.
func (c *Console) deptNames(rq *request) (map[string]string, error) {
	ds, err := c.cfg.Admin.Departments(rq.Context(), rq.ws)
	if err != nil {
		return nil, err
	}
	return namesOf(ds), nil
}

func namesOf(ds []admin.Department) map[string]string {
	out := make(map[string]string, len(ds))
	for _, d := range ds {
		out[d.ID] = d.Name
	}
	return out
}

// deptNames lists departments by name for people to read, in the order
// given; an id the workspace no longer has shows as itself.
func deptNames(ids []string, names map[string]string) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = cmp.Or(names[id], id)
	}
	return strings.Join(out, ", ")
}

func (c *Console) membersPage(w http.ResponseWriter, rq *request) error {
	q := rq.URL.Query()
	v := membersView{Role: q.Get("role"), Dept: q.Get("department"), Query: strings.TrimSpace(q.Get("q")), After: q.Get("after")}
	names, roles, err := c.roleNames(rq)
	if err != nil {
		return err
	}
	v.Roles = roles
	if v.Departments, err = c.cfg.Admin.Departments(rq.Context(), rq.ws); err != nil {
		return err
	}
	v.DeptNames = namesOf(v.Departments)
	ms, err := c.cfg.Admin.Members(rq.Context(), rq.ws, rq.actor(), admin.MemberFilter{Role: v.Role, Department: v.Dept, Query: v.Query,
		After: v.After, Limit: membersPerPage + 1})
	if err != nil {
		return err
	}
	if len(ms) > membersPerPage {
		ms = ms[:membersPerPage]
		v.Next = ms[len(ms)-1].UserID
	}
	for _, m := range ms {
		v.Members = append(v.Members, memberRow{Member: m, RoleNames: names})
	}
	if rq.Header.Get("HX-Request") == "true" && rq.Header.Get("HX-Target") == "member-list" {
		return c.partial(w, rq, "members", "member-list", v)
	}
	return c.render(w, rq, http.StatusOK, "members", "members", v)
}

// addMember creates a member by hand; platforms usually sync members
// through the API, but an admin may add one (M1, M2).
func (c *Console) addMember(w http.ResponseWriter, rq *request) error {
	if err := rq.ParseForm(); err != nil {
		return err
	}
	in := admin.MemberInput{UserID: strings.TrimSpace(rq.PostFormValue("user_id")), Name: strings.TrimSpace(rq.PostFormValue("name")),
		Email: strings.TrimSpace(rq.PostFormValue("email")), Kind: policy.Audience(rq.PostFormValue("kind"))}
	if d := rq.PostFormValue("department"); d != "" {
		in.DepartmentIDs = []string{d}
	}
	if r := rq.PostFormValue("role"); r != "" {
		in.RoleIDs = []string{r}
	}
	switch _, err := c.cfg.Admin.Member(rq.Context(), rq.ws, rq.actor(), in.UserID); {
	case err == nil:
		return policy.Errorf(policy.CodeNameTaken, "a member with user id %q already exists", in.UserID)
	case policy.ErrorCode(err) != policy.CodeNotFound:
		return err
	}
	m, _, err := c.cfg.Admin.UpsertMember(rq.Context(), rq.ws, rq.write(""), in)
	if err != nil {
		return err
	}
	c.setFlash(w, rq.Request, "ok", "Member "+m.Name+" added.")
	redirect(w, rq.Request, wsPath(rq.ws, "members", m.UserID))
	return nil
}

type memberView struct {
	Member    admin.Member
	RoleNames map[string]string
	DeptNames map[string]string
	// Manages is set when the session may change this member (X3: in the
	// span of its settings_roles_edit); the page has no controls otherwise.
	Manages bool
	Default admin.Role
	// Assignable are roles of the member's audience it does not hold.
	Assignable  []admin.Role
	Grants      []directGrant
	Effective   []effectiveRow
	Permissions []string // every permission key, for the grant picker
	Revision    int64
}

type directGrant struct {
	Key       string
	Level     policy.Level
	Redundant bool
	When      string    // a conditional direct grant's condition (G1)
	ExpiresAt time.Time // T1; zero: no expiry
}

// parseUntil reads an expiry field of the console's forms (T1): empty
// for no expiry, else a datetime-local value, read as UTC, or RFC 3339.
func parseUntil(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, policy.Errorf(policy.CodeInvalidArgument, "%q is not a date and time (UTC), like 2026-12-31T18:00", s)
}

// setRoleExpiry sets, extends or removes (an empty until) the expiry of
// one of a member's roles (T1, T3): a grant, so X3a applies.
func (c *Console) setRoleExpiry(w http.ResponseWriter, rq *request) error {
	user, role := rq.PathValue("user"), rq.PathValue("role")
	until, err := parseUntil(rq.PostFormValue("until"))
	if err != nil {
		return err
	}
	m, err := c.cfg.Admin.Member(rq.Context(), rq.ws, rq.actor(), user)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(m.Roles))
	expires := map[string]time.Time{}
	for _, a := range m.Roles {
		ids = append(ids, a.RoleID)
		if !a.ExpiresAt.IsZero() {
			expires[a.RoleID] = a.ExpiresAt
		}
	}
	if until.IsZero() {
		delete(expires, role)
	} else {
		expires[role] = until
	}
	if _, _, err := c.cfg.Admin.SetMemberRolesUntil(rq.Context(), rq.ws, rq.write(""), user, ids, expires); err != nil {
		return err
	}
	msg := "The role no longer expires."
	if !until.IsZero() {
		msg = "The role now expires " + until.UTC().Format("2006-01-02 15:04:05 UTC") + "."
	}
	c.setFlash(w, rq.Request, "ok", msg)
	redirect(w, rq.Request, wsPath(rq.ws, "members", user))
	return nil
}

// setGrantExpiry sets, extends or removes (an empty until) the expiry of
// one of a member's direct grants (T1, T3): a grant, so X3a applies. The
// other grants keep their level, condition and expiry.
func (c *Console) setGrantExpiry(w http.ResponseWriter, rq *request) error {
	user, perm := rq.PathValue("user"), rq.PathValue("perm")
	until, err := parseUntil(rq.PostFormValue("until"))
	if err != nil {
		return err
	}
	m, err := c.cfg.Admin.Member(rq.Context(), rq.ws, rq.actor(), user)
	if err != nil {
		return err
	}
	if _, ok := m.Grants[perm]; !ok {
		return policy.Errorf(policy.CodeNotFound, "%s has no direct grant of %q", user, perm)
	}
	expires := map[string]time.Time{}
	for k, at := range m.GrantExpiry {
		expires[k] = at
	}
	if until.IsZero() {
		delete(expires, perm)
	} else {
		expires[perm] = until
	}
	if _, _, _, err := c.cfg.Admin.SetDirectGrantsWith(rq.Context(), rq.ws, rq.write(rq.PostFormValue("reason")), user, m.Grants, m.When, expires); err != nil {
		return err
	}
	msg := "The grant of " + perm + " no longer expires."
	if !until.IsZero() {
		msg = "The grant of " + perm + " now expires " + until.UTC().Format("2006-01-02 15:04:05 UTC") + "."
	}
	c.setFlash(w, rq.Request, "ok", msg)
	redirect(w, rq.Request, wsPath(rq.ws, "members", user))
	return nil
}

type effectiveRow struct {
	Key       string
	Level     policy.Level
	DecidedBy string
	Sources   []string
	// Conditions are the conditional grants that reach above the member's
	// unconditional level (G1, G5): the row is "custom" when there is one.
	Conditions []effectiveCondition
}

// effectiveCondition is one conditional grant shown in a member's
// effective permissions.
type effectiveCondition struct {
	Level        policy.Level
	When, Source string
}

func (c *Console) memberPage(w http.ResponseWriter, rq *request) error {
	v, err := c.memberView(rq, rq.PathValue("user"))
	if err != nil {
		return err
	}
	return c.render(w, rq, http.StatusOK, "member", "members", v)
}

func (c *Console) memberView(rq *request, user string) (memberView, error) {
	m, err := c.cfg.Admin.Member(rq.Context(), rq.ws, rq.actor(), user)
	if err != nil {
		return memberView{}, err
	}
	names, roles, err := c.roleNames(rq)
	if err != nil {
		return memberView{}, err
	}
	v := memberView{Member: m, RoleNames: names, Manages: rq.can(admin.AreaPeopleEdit) && rq.auth.Manages(&m)}
	if v.DeptNames, err = c.deptNames(rq); err != nil {
		return memberView{}, err
	}
	held := map[string]bool{}
	for _, a := range m.Roles {
		held[a.RoleID] = true
	}
	for _, r := range roles {
		if r.Default {
			v.Default = r
		}
		if r.Audience == m.Kind && !held[r.ID] {
			v.Assignable = append(v.Assignable, r)
		}
	}
	for _, p := range rq.cat.Permissions() {
		if p.Module.Kind != policy.Relation && !(m.Kind == policy.Client && p.Module.InternalOnly) {
			v.Permissions = append(v.Permissions, p.Key)
		}
	}
	snap, err := c.cfg.Engine.Snapshot(rq.ws)
	if err != nil {
		return memberView{}, err
	}
	v.Revision = snap.Revision()
	redundant := snap.Redundant(user)
	for _, k := range sortedKeys(m.Grants) {
		v.Grants = append(v.Grants, directGrant{Key: k, Level: m.Grants[k], Redundant: slices.Contains(redundant, k), When: m.When[k], ExpiresAt: m.GrantExpiry[k]})
	}
	// Effective levels with their sources, from the snapshot decisions use
	// (M3, M5, C6, W4).
	perms, _ := snap.EffectivePermissions(user)
	for _, ep := range perms {
		row := effectiveRow{Key: ep.Permission, Level: ep.Level, DecidedBy: ep.DecidedBy}
		for _, rt := range ep.Roles {
			src := fmt.Sprintf("%s r%d: %s (%s", rt.Name, rt.Revision, levelLabel(rt.Level), rt.Source)
			if rt.From != "" && rt.From != ep.Permission {
				src += " from " + rt.From
			}
			row.Sources = append(row.Sources, src+")")
		}
		if d := ep.Direct; d != nil {
			src := "direct grant: " + levelLabel(d.Level)
			if d.Redundant {
				src += " (redundant)"
			}
			row.Sources = append(row.Sources, src)
		}
		if ep.Owner {
			row.Sources = append(row.Sources, "workspace owner: everything (W4)")
		}
		if row.Conditions, err = effectiveConditions(snap, user, ep.Permission, names); err != nil {
			return memberView{}, err
		}
		v.Effective = append(v.Effective, row)
	}
	return v, nil
}

func (c *Console) assignRole(w http.ResponseWriter, rq *request) error {
	user, role := rq.PathValue("user"), rq.PostFormValue("role")
	if role == "" {
		return policy.Errorf(policy.CodeInvalidArgument, "choose a role to assign")
	}
	until, err := parseUntil(rq.PostFormValue("until"))
	if err != nil {
		return err
	}
	if _, err := c.cfg.Admin.AddRoleMembersUntil(rq.Context(), rq.ws, rq.write(""), role, []string{user}, until); err != nil {
		return err
	}
	name := role
	if r, err := c.cfg.Admin.Role(rq.Context(), rq.ws, role); err == nil {
		name = r.Name
	}
	c.setFlash(w, rq.Request, "ok", "Assigned "+name+". The member's sessions must re-authenticate (A1).")
	redirect(w, rq.Request, wsPath(rq.ws, "members", user))
	return nil
}

// removeRole takes a role from a member with M4's rules: the last role
// other than the default gives way to the default role; the default role
// itself cannot be a member's last.
func (c *Console) removeRole(w http.ResponseWriter, rq *request) error {
	user, role := rq.PathValue("user"), rq.PathValue("role")
	before, err := c.cfg.Admin.Member(rq.Context(), rq.ws, rq.actor(), user)
	if err != nil {
		return err
	}
	names, _, err := c.roleNames(rq)
	if err != nil {
		return err
	}
	if _, err := c.cfg.Admin.RemoveRoleMember(rq.Context(), rq.ws, rq.write(""), role, user); err != nil {
		return err
	}
	after, err := c.cfg.Admin.Member(rq.Context(), rq.ws, rq.actor(), user)
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("Removed %s from %s.", names[role], before.Name)
	for _, a := range after.Roles {
		if !slices.ContainsFunc(before.Roles, func(b admin.Assignment) bool { return b.RoleID == a.RoleID }) {
			msg = fmt.Sprintf("%s was the last role of %s, so %s now has the default role, %s (M4).", names[role], before.Name, before.Name, names[a.RoleID])
		}
	}
	c.setFlash(w, rq.Request, "ok", msg)
	redirect(w, rq.Request, wsPath(rq.ws, "members", user))
	return nil
}

// setGrants changes one direct grant (M5): add or change with op=set, or
// remove with op=remove:<key>. The member's whole set is written at once.
func (c *Console) setGrants(w http.ResponseWriter, rq *request) error {
	user := rq.PathValue("user")
	m, err := c.cfg.Admin.Member(rq.Context(), rq.ws, rq.actor(), user)
	if err != nil {
		return err
	}
	g := m.Grants.Clone()
	if g == nil {
		g = policy.Grants{}
	}
	when := m.When.Clone() // conditions stay with the grants this edit leaves alone (G1)
	if when == nil {
		when = policy.Conditions{}
	}
	op := rq.PostFormValue("op")
	switch {
	case op == "set":
		key := strings.TrimSpace(rq.PostFormValue("permission"))
		if _, err := rq.cat.PermissionByKey(key); err != nil {
			return err
		}
		l, err := policy.ParseLevel(rq.PostFormValue("level"))
		if err != nil {
			return err
		}
		if l == policy.LevelNone {
			delete(g, key)
		} else {
			g[key] = l
		}
		delete(when, key)
		if src := strings.TrimSpace(rq.PostFormValue("when")); src != "" && l != policy.LevelNone {
			when[key] = src // G1: validated by the write
		}
	case strings.HasPrefix(op, "remove:"):
		delete(g, strings.TrimPrefix(op, "remove:"))
		delete(when, strings.TrimPrefix(op, "remove:"))
	default:
		return policy.Errorf(policy.CodeInvalidArgument, "unknown action %q", op)
	}
	_, redundant, _, err := c.cfg.Admin.SetDirectGrantsWhen(rq.Context(), rq.ws, rq.write(strings.TrimSpace(rq.PostFormValue("reason"))), user, g, when)
	if err != nil {
		return err
	}
	msg := "Direct grants saved."
	if len(redundant) > 0 {
		msg += " Redundant (the member's roles already give as much, M5): " + strings.Join(redundant, ", ") + "."
	}
	c.setFlash(w, rq.Request, "ok", msg)
	redirect(w, rq.Request, wsPath(rq.ws, "members", user))
	return nil
}

// effectiveConditions lists the conditional grants through which a member
// holds perm above what its unconditional grants give (G1, G5), naming
// their role or "direct grant"; nil when the level is unconditional.
func effectiveConditions(snap *policy.Snapshot, user, perm string, roleNames map[string]string) ([]effectiveCondition, error) {
	ex, err := snap.Explain(user, perm, nil)
	if err != nil {
		return nil, err
	}
	var out []effectiveCondition
	for _, ct := range ex.Conditions {
		if ct.Redundant {
			continue // an unconditional grant reaches as far (G2)
		}
		src := ct.Source
		if id, ok := strings.CutPrefix(src, "role "); ok {
			id, rev, _ := strings.Cut(id, "@")
			if n := roleNames[id]; n != "" {
				id = n
			}
			src = id + " r" + rev
		}
		if ct.From != perm {
			src += " from " + ct.From
		}
		out = append(out, effectiveCondition{Level: ct.Level, When: ct.When, Source: src})
	}
	return out, nil
}
