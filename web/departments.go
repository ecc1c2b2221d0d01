package web

import (
	"net/http"
	"strings"

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
}

type departmentsView struct {
	Roots []*deptNode
	All   []admin.Department
}

func (c *Console) departmentsPage(w http.ResponseWriter, rq *request) error {
	ds, err := c.cfg.Admin.Departments(rq.Context(), rq.ws)
	if err != nil {
		return err
	}
	return c.render(w, rq, http.StatusOK, "departments", "departments", departmentsView{Roots: deptTree(ds), All: ds})
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

func (c *Console) deleteDepartment(w http.ResponseWriter, rq *request) error {
	id := rq.PathValue("id")
	if _, err := c.cfg.Admin.DeleteDepartment(rq.Context(), rq.ws, rq.write(""), id); err != nil {
		return err
	}
	c.setFlash(w, rq.Request, "ok", "Department "+id+" deleted: its sub-departments moved to its parent and its members left it.")
	redirect(w, rq.Request, wsPath(rq.ws, "departments"))
	return nil
}
