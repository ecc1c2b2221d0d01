package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

type rolesView struct {
	Roles     []admin.Role
	Query     string
	Audience  string
	Templates []templateView
	Limit     planLimit
	// Form and FormError keep the new-role form's input when it failed.
	Form      roleForm
	FormError string
}

// templateView is a template with what it needs to be created from.
type templateView struct {
	policy.Template
	// Powerful lists its delete and export grants: creating from it needs
	// a reason (X4).
	Powerful []string
}

type roleForm struct {
	Name, Description, Audience, Template, Reason string
}

// planLimit explains the plan's custom role limit (W2, W3) before anyone
// hits it.
type planLimit struct {
	Plan      admin.Plan
	Limit     int // -1 unlimited
	Custom    int
	CanCreate bool
	Message   string
}

func (c *Console) planLimit(rq *request) (planLimit, error) {
	all, err := c.cfg.Admin.Roles(rq.Context(), rq.ws, "", "")
	if err != nil {
		return planLimit{}, err
	}
	l := planLimit{Plan: rq.space.Plan, Limit: rq.space.Plan.CustomRoleLimit()}
	for _, r := range all {
		if !r.Predefined {
			l.Custom++
		}
	}
	l.CanCreate = l.Limit < 0 || l.Custom < l.Limit
	switch {
	case l.Limit < 0:
		l.Message = fmt.Sprintf("The %s plan allows unlimited custom roles.", l.Plan)
	case l.Limit == 0:
		l.Message = fmt.Sprintf("The %s plan has only its predefined roles; custom roles (new, duplicated or from a template) need the standard or professional plan.", l.Plan)
	case l.CanCreate:
		l.Message = fmt.Sprintf("The %s plan allows %d custom roles; %d used.", l.Plan, l.Limit, l.Custom)
	default:
		l.Message = fmt.Sprintf("The %s plan allows %d custom roles and all %d are used: delete one or upgrade to professional to create or duplicate more. Existing roles keep working.", l.Plan, l.Limit, l.Custom)
	}
	return l, nil
}

func (c *Console) rolesPage(w http.ResponseWriter, rq *request) error {
	v, err := c.rolesView(rq)
	if err != nil {
		return err
	}
	if rq.Header.Get("HX-Request") == "true" && rq.Header.Get("HX-Target") == "role-list" {
		return c.partial(w, rq, "roles", "role-list", v)
	}
	return c.render(w, rq, http.StatusOK, "roles", "roles", v)
}

func (c *Console) rolesView(rq *request) (rolesView, error) {
	q := strings.TrimSpace(rq.URL.Query().Get("q"))
	aud := rq.URL.Query().Get("audience")
	if aud != string(policy.Internal) && aud != string(policy.Client) {
		aud = ""
	}
	roles, err := c.cfg.Admin.Roles(rq.Context(), rq.ws, q, policy.Audience(aud))
	if err != nil {
		return rolesView{}, err
	}
	lim, err := c.planLimit(rq)
	if err != nil {
		return rolesView{}, err
	}
	v := rolesView{Roles: roles, Query: q, Audience: aud, Limit: lim}
	for _, t := range policy.Templates() {
		v.Templates = append(v.Templates, templateView{Template: t, Powerful: admin.PowerfulRaises(rq.cat, t.Audience, nil, t.Grants)})
	}
	return v, nil
}

// createRole creates a custom role, blank or from a template (R9). A
// refusal (a name taken, the plan's limit, a missing reason) comes back on
// the same page with what was typed.
func (c *Console) createRole(w http.ResponseWriter, rq *request) error {
	f := roleForm{Name: strings.TrimSpace(rq.PostFormValue("name")), Description: rq.PostFormValue("description"),
		Audience: rq.PostFormValue("audience"), Template: rq.PostFormValue("template"), Reason: strings.TrimSpace(rq.PostFormValue("reason"))}
	in := admin.RoleInput{Name: f.Name, Description: f.Description, Audience: policy.Audience(f.Audience), Template: f.Template}
	if in.Template != "" {
		// The template decides the audience (readonly_client is a client
		// role); the form's audience applies to blank roles.
		in.Audience = ""
	}
	r, _, err := c.cfg.Admin.CreateRole(rq.Context(), rq.ws, rq.write(f.Reason), in)
	var pe *policy.Error
	if errors.As(err, &pe) {
		v, verr := c.rolesView(rq)
		if verr != nil {
			return verr
		}
		v.Form, v.FormError = f, pe.Message
		// 200, not 422: a browser logs every 4xx page load as a console error,
		// and this is a form shown again, not a failure of the page.
		return c.render(w, rq, http.StatusOK, "roles", "roles", v)
	}
	if err != nil {
		return err
	}
	c.setFlash(w, rq.Request, "ok", "Role "+r.Name+" created. Adjust its permissions below, then save.")
	redirect(w, rq.Request, wsPath(rq.ws, "roles", r.ID))
	return nil
}

func (c *Console) duplicateRole(w http.ResponseWriter, rq *request) error {
	r, _, err := c.cfg.Admin.DuplicateRole(rq.Context(), rq.ws, rq.write(""), rq.PathValue("role"), "")
	if err != nil {
		return err
	}
	c.setFlash(w, rq.Request, "ok", "Duplicated as "+r.Name+": same grants, audience and description, no members.")
	redirect(w, rq.Request, wsPath(rq.ws, "roles", r.ID))
	return nil
}

type deleteView struct {
	Role    admin.Role
	Targets []admin.Role // roles of the same audience the members may move to (R5)
}

// deleteRoleDialog asks how to delete a role: how many members it has and
// which role they move to (R5).
func (c *Console) deleteRoleDialog(w http.ResponseWriter, rq *request) error {
	r, err := c.cfg.Admin.Role(rq.Context(), rq.ws, rq.PathValue("role"))
	if err != nil {
		return err
	}
	all, err := c.cfg.Admin.Roles(rq.Context(), rq.ws, "", r.Audience)
	if err != nil {
		return err
	}
	v := deleteView{Role: r}
	for _, t := range all {
		if t.ID != r.ID {
			v.Targets = append(v.Targets, t)
		}
	}
	if rq.Header.Get("HX-Request") == "true" {
		return c.partial(w, rq, "delete", "dialog", v)
	}
	return c.render(w, rq, http.StatusOK, "delete", "roles", v)
}

func (c *Console) deleteRole(w http.ResponseWriter, rq *request) error {
	id := rq.PathValue("role")
	r, err := c.cfg.Admin.Role(rq.Context(), rq.ws, id)
	if err != nil {
		return err
	}
	to := rq.PostFormValue("reassign_to")
	if _, err := c.cfg.Admin.DeleteRole(rq.Context(), rq.ws, rq.write(rq.PostFormValue("reason")), id, to); err != nil {
		return err
	}
	msg := "Role " + r.Name + " deleted."
	if r.MemberCount > 0 && to != "" {
		t, err := c.cfg.Admin.Role(rq.Context(), rq.ws, to)
		if err == nil {
			msg = fmt.Sprintf("Role %s deleted; its %s moved to %s.", r.Name, plural(r.MemberCount, "member", "members"), t.Name)
		}
	}
	c.setFlash(w, rq.Request, "ok", msg)
	redirect(w, rq.Request, wsPath(rq.ws, "roles"))
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// deletable and duplicable say whether a role offers those actions: the
// default role, Employee and Head are never deleted (R2, R3), Head is never
// duplicated (R4).
func deletable(r admin.Role) bool {
	return !r.Default && r.ID != admin.RoleEmployee && r.ID != admin.RoleHead
}
func duplicable(r admin.Role) bool { return r.ID != admin.RoleHead }
