package web

import (
	"errors"
	"fmt"
	"html"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// roleView is the role editor: details, the matrix over a draft, and the
// state of the role's revisions.
type roleView struct {
	Role   admin.Role
	Matrix matrix
	// Base is the revision the draft was loaded from (R7).
	Base int64
	// Changes counts draft grants that differ from the saved revision.
	Changes int
	// Behind counts members still on an older revision after a Save
	// without apply (R6).
	Behind    int
	Revisions []admin.RoleRevision
	Orphaned  []string
	Members   []admin.Member
	// Saved are the role's grants as saved, for the "apply to everyone"
	// review.
	Saved []grantField
	// Problem is a refused editor action, shown above the matrix.
	Problem string
	// DeptNames names departments in the members table.
	DeptNames map[string]string
}

func (c *Console) rolePage(w http.ResponseWriter, rq *request) error {
	r, err := c.cfg.Admin.Role(rq.Context(), rq.ws, rq.PathValue("role"))
	if err != nil {
		return err
	}
	v, err := c.roleView(rq, r, r.Grants.Clone(), r.When.Clone(), nil)
	if err != nil {
		return err
	}
	return c.render(w, rq, http.StatusOK, "role", "roles", v)
}

func (c *Console) roleView(rq *request, r admin.Role, draft policy.Grants, when policy.Conditions, open map[string]bool) (roleView, error) {
	v := roleView{Role: r, Base: r.Revision, Orphaned: rq.cat.Orphaned(r.Grants)}
	known := policy.Grants{}
	for k, l := range draft {
		if _, ok := rq.cat.Lookup(k); ok {
			known[k] = l
		}
	}
	saved := policy.Grants{}
	for k, l := range r.Grants {
		if _, ok := rq.cat.Lookup(k); ok {
			saved[k] = l
		}
	}
	v.Matrix = buildMatrix(rq.cat, r.Audience, known, open, ceilingFor(rq, r))
	v.Matrix.ReadOnly = !rq.can(admin.AreaRolesEdit)
	markCustom(&v.Matrix, when, wsPath(rq.ws, "roles", r.ID, "condition"))
	// Orphaned grants (C7) are not drafts' business: they neither count as
	// changes nor can be edited here.
	v.Changes = len(admin.DiffConditions(admin.DiffGrants(saved, known),
		admin.RoleRevision{Grants: saved, When: r.When}, admin.RoleRevision{Grants: known, When: when}))
	v.Saved = sortedGrantsWhen(saved, r.When)
	revs, err := c.cfg.Admin.RoleRevisions(rq.Context(), rq.ws, r.ID)
	if err != nil {
		return roleView{}, err
	}
	for i := len(revs) - 1; i >= 0 && len(v.Revisions) < 10; i-- {
		v.Revisions = append(v.Revisions, revs[i])
	}
	if !rq.can(admin.AreaPeopleRead) {
		return v, nil // the role's members are not the session's to see (X3)
	}
	if v.DeptNames, err = c.deptNames(rq); err != nil {
		return roleView{}, err
	}
	members, err := c.cfg.Admin.Members(rq.Context(), rq.ws, rq.actor(), admin.MemberFilter{Role: r.ID, Limit: 1000})
	if err != nil {
		return roleView{}, err
	}
	for _, m := range members {
		for _, a := range m.Roles {
			if a.RoleID == r.ID && a.Revision < r.Revision {
				v.Behind++
			}
		}
	}
	if len(members) > 20 {
		members = members[:20]
	}
	v.Members = members
	return v, nil
}

// ceilingFor is what the session may grant in role r (X3a.1): nil for
// owners and keys, who are not limited.
func ceilingFor(rq *request, r admin.Role) *ceiling {
	if rq.auth.Owner() {
		return nil
	}
	saved := policy.Grants{}
	for k, l := range r.Grants {
		if _, ok := rq.cat.Lookup(k); ok {
			saved[k] = l
		}
	}
	return &ceiling{own: rq.auth.Level, saved: rq.cat.Resolve(saved, r.Audience)}
}

// draftGrants reads the draft carried by the editor's hidden fields
// ("g" = "key=level").
// draftConditions reads the conditions of the draft's grants ("w" =
// "key=condition"); conditions of grants the draft no longer has above
// none are dropped.
func draftConditions(r *http.Request, g policy.Grants) policy.Conditions {
	var when policy.Conditions
	for _, kv := range r.PostForm["w"] {
		k, src, ok := strings.Cut(kv, "=")
		if !ok || g[k] == policy.LevelNone || strings.TrimSpace(src) == "" {
			continue
		}
		if when == nil {
			when = policy.Conditions{}
		}
		when[k] = src
	}
	return when
}

// markCustom records the draft's conditions in the matrix: the hidden
// fields that carry them, and the cells they make "custom".
func markCustom(m *matrix, when policy.Conditions, validateURL string) {
	for i := range m.Grants {
		m.Grants[i].When = when[m.Grants[i].Key]
	}
	for si := range m.Sections {
		for ri := range m.Sections[si].Rows {
			for ci := range m.Sections[si].Rows[ri].Cells {
				c := &m.Sections[si].Rows[ri].Cells[ci]
				if c.Explicit {
					c.When = when[c.Key]
				} else if c.From != "" {
					c.InheritedWhen = when[c.From] // G1, C6: the parent's condition flows down with its level
				}
				c.ValidateURL = validateURL
			}
		}
	}
}

func draftGrants(r *http.Request, cat *policy.Catalog) (policy.Grants, error) {
	g := policy.Grants{}
	for _, kv := range r.PostForm["g"] {
		k, lv, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, policy.Errorf(policy.CodeInvalidArgument, "malformed grant field %q", kv)
		}
		l, err := policy.ParseLevel(lv)
		if err != nil {
			return nil, err
		}
		if _, err := cat.PermissionByKey(k); err != nil {
			return nil, err
		}
		g[k] = l
	}
	return g, nil
}

// draftRole applies one matrix action to the draft and answers the
// redrawn matrix. Nothing is written. A refused action (a level a cell
// cannot take, a key the catalog no longer has) is shown above the matrix,
// which keeps the last good draft, so the person loses nothing.
func (c *Console) draftRole(w http.ResponseWriter, rq *request) error {
	if err := rq.ParseForm(); err != nil {
		return err
	}
	r, err := c.cfg.Admin.Role(rq.Context(), rq.ws, rq.PathValue("role"))
	if err != nil {
		return err
	}
	open := map[string]bool{}
	for _, id := range rq.PostForm["open"] {
		open[id] = true
	}
	base, _ := strconv.ParseInt(rq.PostFormValue("base"), 10, 64)
	g, err := draftGrants(rq.Request, rq.cat)
	var when policy.Conditions
	var adjusted []string
	if err == nil {
		when = draftConditions(rq.Request, g)
		next, nextWhen := g.Clone(), when.Clone()
		if nextWhen == nil {
			nextWhen = policy.Conditions{}
		}
		if adjusted, err = c.applyDraftOp(rq, r, next, nextWhen, open); err == nil {
			g, when = next, nextWhen
			for k := range when {
				if g[k] == policy.LevelNone {
					delete(when, k) // a grant set to none or inherit loses its condition
				}
			}
		}
	} else {
		g, when = r.Grants.Clone(), r.When.Clone() // the draft itself is unreadable: start again from the saved role
		base = r.Revision
	}
	v, verr := c.roleView(rq, r, g, when, open)
	if verr != nil {
		return verr
	}
	v.Base = base
	v.Matrix.Adjusted = adjusted
	if err != nil {
		v.Problem = c.message(err)
	}
	if rq.Header.Get("HX-Request") != "true" {
		return c.render(w, rq, http.StatusOK, "role", "roles", v)
	}
	return c.partial(w, rq, "role", "matrix", v)
}

// applyDraftOp applies the editor action named by the form's op to g.
func (c *Console) applyDraftOp(rq *request, r admin.Role, g policy.Grants, when policy.Conditions, open map[string]bool) ([]string, error) {
	op := rq.PostFormValue("op")
	switch {
	case op == "custom" || strings.HasPrefix(op, "custom:"):
		// G1: make a cell custom (a level and a condition), change its
		// condition in place, or (an empty condition) make it plain again.
		key := strings.TrimPrefix(op, "custom:")
		if op == "custom" {
			key = strings.TrimSpace(rq.PostFormValue("custom-key"))
		}
		p, err := rq.cat.PermissionByKey(key)
		if err != nil {
			return nil, err
		}
		src := strings.TrimSpace(rq.PostFormValue("cond-" + key))
		if op == "custom" {
			src = strings.TrimSpace(rq.PostFormValue("custom-when"))
		}
		if lv := rq.PostFormValue("custom-level"); op == "custom" && lv != "" {
			if lim := ceilingFor(rq, r); lim != nil {
				if ok, why := lim.allows(rq.cat, r.Audience, g, rq.cat.Resolve(g, r.Audience), p, lv); !ok {
					return nil, &policy.Error{Code: policy.CodePrivilegeEscalation, Message: why}
				}
			}
			if _, err := setLevel(rq.cat, r.Audience, g, key, lv); err != nil {
				return nil, err
			}
		}
		if src == "" {
			delete(when, key)
		} else {
			if g[key] == policy.LevelNone {
				return nil, policy.Errorf(policy.CodeInvalidCondition, "%s: give the grant a level above none before its condition", key)
			}
			if _, err := policy.CompileCondition(src); err != nil {
				return nil, err
			}
			when[key] = src
		}
		top := p.Module
		for top.Parent != nil {
			top = top.Parent
		}
		open[top.ID] = true
		return nil, nil
	case op == "allow-all":
		if ceilingFor(rq, r) != nil {
			return nil, &policy.Error{Code: policy.CodePrivilegeEscalation,
				Message: "you cannot grant more than you have (X3a): set the levels one by one, up to your own"}
		}
		clear(g)
		maps.Copy(g, rq.cat.AllowAll(r.Audience)) // R8
	case op == "deny-all":
		clear(g)
	case op == "discard":
		clear(g)
		maps.Copy(g, r.Grants)
		clear(when)
		maps.Copy(when, r.When)
	case strings.HasPrefix(op, "set:"):
		key, value, _ := strings.Cut(strings.TrimPrefix(op, "set:"), "=")
		if lim := ceilingFor(rq, r); lim != nil {
			// The same rule the disabled buttons show, for a crafted op.
			p, err := rq.cat.PermissionByKey(key)
			if err != nil {
				return nil, err
			}
			if ok, why := lim.allows(rq.cat, r.Audience, g, rq.cat.Resolve(g, r.Audience), p, value); !ok {
				return nil, &policy.Error{Code: policy.CodePrivilegeEscalation, Message: why}
			}
		}
		adjusted, err := setLevel(rq.cat, r.Audience, g, key, value)
		if err != nil {
			return nil, err
		}
		p, _ := rq.cat.PermissionByKey(key)
		top := p.Module
		for top.Parent != nil {
			top = top.Parent
		}
		open[top.ID] = true
		return adjusted, nil
	default:
		return nil, policy.Errorf(policy.CodeInvalidArgument, "unknown editor action %q", op)
	}
	return nil, nil
}

// reviewView is the dialog shown before a save: what changes, for whom,
// and whether a reason is needed (P1, R6, X4).
type reviewView struct {
	Role    admin.Role
	Apply   bool
	Base    int64
	Grants  []grantField
	Changes []admin.GrantChange
	Impact  admin.Impact
	// Behind counts members on older revisions that an apply also moves.
	Behind int
	// Powerful lists raised delete/export permissions: a reason is
	// required (X4).
	Powerful []string
	Reason   string
	Problem  string
	Conflict *conflictView
}

// conflictView explains a revision conflict (R7).
type conflictView struct {
	Yours, Now int64
	Changes    []admin.GrantChange // what the other edit changed
	Author     string
}

func (c *Console) reviewRole(w http.ResponseWriter, rq *request) error {
	v, err := c.review(rq)
	if err != nil {
		return err
	}
	return c.partial(w, rq, "role", "review", v)
}

func (c *Console) review(rq *request) (reviewView, error) {
	if err := rq.ParseForm(); err != nil {
		return reviewView{}, err
	}
	r, err := c.cfg.Admin.Role(rq.Context(), rq.ws, rq.PathValue("role"))
	if err != nil {
		return reviewView{}, err
	}
	g, err := draftGrants(rq.Request, rq.cat)
	if err != nil {
		return reviewView{}, err
	}
	when := draftConditions(rq.Request, g)
	base, _ := strconv.ParseInt(rq.PostFormValue("base"), 10, 64)
	v := reviewView{Role: r, Apply: rq.PostFormValue("apply") == "1", Base: base, Reason: rq.PostFormValue("reason")}
	v.Grants = sortedGrantsWhen(g, when)
	if base != r.Revision {
		v.Conflict, err = c.conflict(rq, r, base)
		return v, err
	}
	v.Changes = admin.DiffConditions(admin.DiffGrants(r.Grants, g),
		admin.RoleRevision{Grants: r.Grants, When: r.When}, admin.RoleRevision{Grants: g, When: when})
	if err := rq.cat.ValidateGrants(g, r.Audience); err != nil {
		v.Problem = c.message(err)
		return v, nil
	}
	if err := rq.cat.ValidateConditions(g, when); err != nil {
		v.Problem = c.message(err)
		return v, nil
	}
	v.Powerful = admin.PowerfulRaises(rq.cat, r.Audience, r.Grants, g)
	if v.Apply {
		if v.Impact, err = c.cfg.Admin.PreviewRoleWhen(rq.Context(), rq.ws, r.ID, g, when, admin.ImpactPage{Limit: 50}); err != nil {
			v.Problem = c.message(err)
			return v, nil
		}
		members, err := c.cfg.Admin.Members(rq.Context(), rq.ws, rq.actor(), admin.MemberFilter{Role: r.ID, Limit: 1000})
		if err != nil {
			return v, err
		}
		for _, m := range members {
			for _, a := range m.Roles {
				if a.RoleID == r.ID && a.Revision < r.Revision {
					v.Behind++
				}
			}
		}
	}
	return v, nil
}

func (c *Console) conflict(rq *request, r admin.Role, base int64) (*conflictView, error) {
	cv := &conflictView{Yours: base, Now: r.Revision}
	if base > 0 && base < r.Revision {
		old, err := c.cfg.Admin.RoleRevision(rq.Context(), rq.ws, r.ID, base)
		if err == nil {
			cv.Changes = admin.DiffGrants(old.Revision.Grants, r.Grants)
		}
		revs, err := c.cfg.Admin.RoleRevisions(rq.Context(), rq.ws, r.ID)
		if err == nil && len(revs) > 0 {
			cv.Author = revs[len(revs)-1].Author
		}
	}
	return cv, nil
}

// saveRole writes the draft as a new revision, applied or not (R6), based
// on the revision the editor loaded (R7), with the reason X4 may need.
func (c *Console) saveRole(w http.ResponseWriter, rq *request) error {
	v, err := c.review(rq)
	if err != nil {
		return err
	}
	if v.Conflict != nil || v.Problem != "" {
		return c.partial(w, rq, "role", "review", v)
	}
	g, _ := draftGrants(rq.Request, rq.cat)
	when := draftConditions(rq.Request, g)
	apply := v.Apply
	r, rev, err := c.cfg.Admin.UpdateRole(rq.Context(), rq.ws, rq.write(strings.TrimSpace(v.Reason)), v.Role.ID,
		admin.RoleUpdate{Grants: g, When: when, Apply: &apply, IfRevision: v.Base})
	var pe *policy.Error
	switch {
	case errors.As(err, &pe) && pe.Code == policy.CodeRevisionConflict:
		now, _ := c.cfg.Admin.Role(rq.Context(), rq.ws, v.Role.ID)
		if v.Conflict, err = c.conflict(rq, now, v.Base); err != nil {
			return err
		}
		return c.partial(w, rq, "role", "review", v)
	case err != nil:
		v.Problem = c.message(err)
		return c.partial(w, rq, "role", "review", v)
	}
	var msg string
	switch {
	case r.Revision == v.Base && apply:
		msg = fmt.Sprintf("No grant changed; every member of %s is now on revision %d.", r.Name, r.Revision)
	case r.Revision == v.Base:
		msg = "No grant changed: nothing was saved."
	case apply:
		msg = fmt.Sprintf("Saved revision %d of %s and applied it to every member (workspace revision %d).", r.Revision, r.Name, rev)
	default:
		msg = fmt.Sprintf("Saved revision %d of %s. Current members keep the revision they have; members assigned from now on get revision %d.", r.Revision, r.Name, r.Revision)
	}
	c.setFlash(w, rq.Request, "ok", msg)
	redirect(w, rq.Request, wsPath(rq.ws, "roles", r.ID))
	return nil
}

// updateRoleDetails renames a role or changes its description: not a
// grant edit, so no new revision (R6).
func (c *Console) updateRoleDetails(w http.ResponseWriter, rq *request) error {
	name, desc := strings.TrimSpace(rq.PostFormValue("name")), rq.PostFormValue("description")
	r, _, err := c.cfg.Admin.UpdateRole(rq.Context(), rq.ws, rq.write(""), rq.PathValue("role"),
		admin.RoleUpdate{Name: &name, Description: &desc})
	if err != nil {
		return err
	}
	c.setFlash(w, rq.Request, "ok", "Saved the name and description of "+r.Name+".")
	redirect(w, rq.Request, wsPath(rq.ws, "roles", r.ID))
	return nil
}

func sortedKeys(g policy.Grants) []string { return slices.Sorted(maps.Keys(g)) }

// sortedGrantsWhen is sortedGrants with each grant's condition (G1).
func sortedGrantsWhen(g policy.Grants, when policy.Conditions) []grantField {
	out := sortedGrants(g)
	for i := range out {
		out[i].When = when[out[i].Key]
	}
	return out
}

// validateCondition answers the console's condition field as it is typed
// (G1, G5): the server compiles it and says whether it is valid, or where
// and why not. Nothing is written.
func (c *Console) validateCondition(w http.ResponseWriter, rq *request) error {
	if err := rq.ParseForm(); err != nil {
		return err
	}
	field := rq.PostFormValue("field") // the input being typed in: custom-when, cond-<key>, or a direct grant's when
	if field != "custom-when" && field != "when" && !strings.HasPrefix(field, "cond-") {
		field = "custom-when"
	}
	src := strings.TrimSpace(rq.PostFormValue(field))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if src == "" {
		_, err := io.WriteString(w, `<span class="muted">No condition: the grant applies to every record its level reaches.</span>`)
		return err
	}
	if _, err := policy.CompileCondition(src); err != nil {
		_, err = io.WriteString(w, `<span class="problem" role="alert">`+html.EscapeString(c.message(err))+`</span>`)
		return err
	}
	_, err := io.WriteString(w, `<span class="ok">Valid condition.</span>`)
	return err
}

func sortedGrants(g policy.Grants) []grantField {
	out := make([]grantField, 0, len(g))
	for _, k := range sortedKeys(g) {
		out = append(out, grantField{Key: k, Level: g[k]})
	}
	return out
}
