package web

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// deptNode is a department with its sub-departments, for the tree.
type deptNode struct {
	admin.Department
	Children []*deptNode
	// Parents are the departments it may move under: not itself, not one
	// of its descendants.
	Parents []admin.Department
	// Manages is set when the session may change the department (X3: it
	// lies in the span of its settings_roles_edit).
	Manages bool
}

type departmentsView struct {
	Roots []*deptNode
	// Parents are the departments a new one may go under; TopLevel says
	// whether it may be a root (settings_roles_edit at all).
	Parents  []admin.Department
	Edit     bool
	TopLevel bool
	// Roles are the roles a department may give (M9); RoleNames names
	// them for the tree.
	Roles     []admin.Role
	RoleNames map[string]string
}

func (c *Console) departmentsPage(w http.ResponseWriter, rq *request) error {
	ds, err := c.cfg.Admin.Departments(rq.Context(), rq.ws)
	if err != nil {
		return err
	}
	v := departmentsView{Roots: deptTree(ds), Edit: rq.can(admin.AreaPeopleEdit)}
	if v.RoleNames, v.Roles, err = c.roleNames(rq); err != nil {
		return err
	}
	if v.Edit {
		v.TopLevel = rq.auth.Owner() || rq.auth.Level("settings_roles_edit") == policy.LevelAll
		for _, d := range ds {
			if rq.auth.ManagesDepartment(d.ID) {
				v.Parents = append(v.Parents, d)
			}
		}
		var mark func(ns []*deptNode)
		mark = func(ns []*deptNode) {
			for _, n := range ns {
				n.Manages = rq.auth.ManagesDepartment(n.ID)
				if !v.TopLevel {
					n.Parents = slices.DeleteFunc(n.Parents, func(d admin.Department) bool { return !rq.auth.ManagesDepartment(d.ID) && d.ID != n.ParentID })
				}
				mark(n.Children)
			}
		}
		mark(v.Roots)
	}
	return c.render(w, rq, http.StatusOK, "departments", "departments", v)
}

func deptTree(ds []admin.Department) []*deptNode {
	nodes := map[string]*deptNode{}
	for _, d := range ds {
		nodes[d.ID] = &deptNode{Department: d}
	}
	var roots []*deptNode
	for _, d := range ds {
		n := nodes[d.ID]
		if p, ok := nodes[d.ParentID]; ok {
			p.Children = append(p.Children, n)
		} else {
			roots = append(roots, n)
		}
	}
	var below func(n *deptNode, set map[string]bool)
	below = func(n *deptNode, set map[string]bool) {
		set[n.ID] = true
		for _, ch := range n.Children {
			below(ch, set)
		}
	}
	for _, n := range nodes {
		excluded := map[string]bool{}
		below(n, excluded)
		for _, d := range ds {
			if !excluded[d.ID] {
				n.Parents = append(n.Parents, d)
			}
		}
	}
	return roots
}

// putDepartment adds, renames or moves a department; a move under itself
// or a descendant is refused by admin.
func (c *Console) putDepartment(w http.ResponseWriter, rq *request) error {
	d := admin.Department{ID: strings.TrimSpace(rq.PostFormValue("id")), Name: strings.TrimSpace(rq.PostFormValue("name")),
		ParentID: rq.PostFormValue("parent_id")}
	existing, err := c.cfg.Admin.Departments(rq.Context(), rq.ws)
	if err != nil {
		return err
	}
	found := false
	for _, e := range existing {
		if e.ID == d.ID {
			found = true
			if rq.PostFormValue("op") == "add" {
				return policy.Errorf(policy.CodeNameTaken, "a department with id %q already exists", d.ID)
			}
		}
	}
	if rq.PostFormValue("op") == "roles" {
		return c.putDepartmentRoles(w, rq, d, existing)
	}
	if _, _, err := c.cfg.Admin.PutDepartment(rq.Context(), rq.ws, rq.write(""), d); err != nil {
		return err
	}
	msg := "Department " + d.Name + " saved."
	if !found {
		msg = "Department " + d.Name + " added."
	}
	c.setFlash(w, rq.Request, "ok", msg)
	redirect(w, rq.Request, wsPath(rq.ws, "departments"))
	return nil
}

// putDepartmentRoles sets the roles a department gives its members (M9),
// with or without its sub-departments, optionally until an instant (T1).
func (c *Console) putDepartmentRoles(w http.ResponseWriter, rq *request, d admin.Department, existing []admin.Department) error {
	i := slices.IndexFunc(existing, func(e admin.Department) bool { return e.ID == d.ID })
	if i < 0 {
		return policy.Errorf(policy.CodeNotFound, "no department %q in this workspace", d.ID)
	}
	d.Name, d.ParentID = existing[i].Name, existing[i].ParentID
	in := admin.DepartmentRolesInput{RoleIDs: rq.PostForm["role"], ExpiresAt: map[string]time.Time{}}
	if in.RoleIDs == nil {
		in.RoleIDs = []string{}
	}
	sub := rq.PostFormValue("include_subdepartments") == "1"
	in.IncludeSubdepartments = &sub
	// Each role has its own expiry, in the field until-<role id>: empty
	// for none (removing one it had), absent to keep the one it has.
	for _, id := range in.RoleIDs {
		var cur time.Time
		if j := slices.IndexFunc(existing[i].Roles, func(a admin.Assignment) bool { return a.RoleID == id }); j >= 0 {
			cur = existing[i].Roles[j].ExpiresAt
		}
		field, sent := rq.PostForm["until-"+id]
		if !sent || len(field) == 0 {
			if !cur.IsZero() {
				in.ExpiresAt[id] = cur
			}
			continue
		}
		until, err := parseUntil(field[0])
		if err != nil {
			return err
		}
		switch {
		case until.IsZero():
		case !cur.IsZero() && until.Equal(cur.UTC().Truncate(time.Second)):
			in.ExpiresAt[id] = cur // shown to the second: unchanged
		default:
			in.ExpiresAt[id] = until
		}
	}
	if _, _, err := c.cfg.Admin.PutDepartmentWithRoles(rq.Context(), rq.ws, rq.write(""), d, &in); err != nil {
		return err
	}
	c.setFlash(w, rq.Request, "ok", "The roles of "+d.Name+" are saved: its members hold them while they are in it (M9).")
	redirect(w, rq.Request, wsPath(rq.ws, "departments"))
	return nil
}

func (c *Console) deleteDepartment(w http.ResponseWriter, rq *request) error {
	id := rq.PathValue("id")
	if _, err := c.cfg.Admin.DeleteDepartment(rq.Context(), rq.ws, rq.write(""), id); err != nil {
		return err
	}
	c.setFlash(w, rq.Request, "ok", "Department "+id+" deleted: its sub-departments moved to its parent and its members left it.")
	redirect(w, rq.Request, wsPath(rq.ws, "departments"))
	return nil
}
