package admin

import (
	"context"
	"fmt"
	"slices"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// Departments returns a workspace's departments, sorted by id; ParentID
// links them into a tree.
func (s *Service) Departments(ctx context.Context, ws string) ([]Department, error) {
	var out []Department
	err := s.read(ctx, ws, func(m *model) error {
		for _, d := range m.depts {
			out = append(out, *d)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b Department) int { return cmpString(a.ID, b.ID) })
	return out, err
}

// PutDepartment creates or updates a department. Moving a department
// under itself or one of its descendants is invalid_argument. A move
// changes which records the members of its old and new ancestors reach,
// so their epochs move (A1).
func (s *Service) PutDepartment(ctx context.Context, ws string, w Write, d Department) (Department, int64, error) {
	v, err := s.update(ctx, ws, w, "department.put", func(v *view) error { return v.putDepartment(d) })
	if err != nil {
		return Department{}, 0, err
	}
	return *v.depts[d.ID], v.ws.Revision, nil
}

// MaxDepartmentDepth is how many levels the department tree may have: a
// root is at level 1. Every write that builds the tree holds it (a PUT, a
// move, a policy import), so walks up the tree cost at most this many
// steps.
const MaxDepartmentDepth = 64

func tooDeep(id string, depth int) error {
	return &policy.Error{Code: policy.CodeInvalidArgument,
		Message: fmt.Sprintf("department %q would be at level %d of the tree; departments nest at most %d levels deep", id, depth, MaxDepartmentDepth),
		Details: map[string]any{"department_id": id, "limit": MaxDepartmentDepth}}
}

// putDepartment creates or updates d. A move of an existing department
// checks that its subtree stays within MaxDepartmentDepth unless
// subtreeChecked (a policy import checks the file's whole tree first).
func (v *view) putDepartment(d Department, subtreeChecked ...bool) error {
	if err := checkID("department", d.ID); err != nil {
		return err
	}
	name, err := cleanName("department", d.Name, 200)
	if err != nil {
		return err
	}
	d.Name = name
	old := v.depts[d.ID]
	if d.ParentID != "" {
		if v.depts[d.ParentID] == nil {
			return &policy.Error{Code: policy.CodeInvalidArgument, Message: fmt.Sprintf("no parent department %q in this workspace", d.ParentID),
				Details: map[string]any{"parent_id": d.ParentID}}
		}
		// The walk up is the cycle check and the depth of d's new place,
		// bounded by the depth limit the tree holds.
		depth := 1
		for a := d.ParentID; a != ""; a = v.depts[a].ParentID {
			if a == d.ID {
				return &policy.Error{Code: policy.CodeInvalidArgument,
					Message: fmt.Sprintf("department %q cannot move under %q: that is itself or one of its own sub-departments", d.ID, d.ParentID),
					Details: map[string]any{"department_id": d.ID, "parent_id": d.ParentID}}
			}
			if depth++; depth > MaxDepartmentDepth {
				return tooDeep(d.ID, depth)
			}
		}
		if old != nil && old.ParentID != d.ParentID && len(subtreeChecked) == 0 {
			if below := v.height(d.ID); depth+below > MaxDepartmentDepth {
				return tooDeep(d.ID, depth) // its deepest sub-department would be too deep
			}
		}
	}
	v.addressedDepts = append(v.addressedDepts, d.ID)
	d.Roles, d.IncludeSubdepartments = nil, false // set by setDepartmentRoles (M9)
	if old != nil {
		d.Roles, d.IncludeSubdepartments = old.Roles, old.IncludeSubdepartments
	}
	if old != nil && deptEqual(old, &d) {
		return nil
	}
	if old != nil && old.ParentID != d.ParentID {
		v.forceAncestors(old.ParentID)
		v.forceAncestors(d.ParentID)
	}
	v.putDept(&d)
	var before any
	if old != nil {
		before = *old
	}
	v.record("department.put", "department:"+d.ID, before, d)
	return nil
}

// height is how many levels lie below department id: 0 for a leaf. One
// pass over the tree, each walk up at most MaxDepartmentDepth long.
func (v *view) height(id string) int {
	h := 0
	for _, d := range v.depts {
		n := 0
		for a := d.ID; a != "" && n <= MaxDepartmentDepth; a, n = v.depts[a].ParentID, n+1 {
			if a == id {
				h = max(h, n)
				break
			}
			if v.depts[a] == nil {
				break
			}
		}
	}
	return h
}

// forceAncestors marks the members of department id and its ancestors for
// an epoch bump: the subtrees their subdepartments level reaches changed.
func (v *view) forceAncestors(id string) {
	if id == "" {
		return
	}
	chain := map[string]bool{}
	for a := id; a != ""; a = v.depts[a].ParentID {
		chain[a] = true
	}
	for u, m := range v.base.allMembers() {
		for _, d := range m.DepartmentIDs {
			if chain[d] {
				v.forced[u] = true
				break
			}
		}
	}
}

// DeleteDepartment deletes a department: its sub-departments move to its
// parent, and its members leave it (their epochs move, A1).
func (s *Service) DeleteDepartment(ctx context.Context, ws string, w Write, id string) (int64, error) {
	v, err := s.update(ctx, ws, w, "department.delete", func(v *view) error {
		d := v.depts[id]
		if d == nil {
			return &policy.Error{Code: policy.CodeNotFound, Message: fmt.Sprintf("no department %q in this workspace", id),
				Details: map[string]any{"department_id": id}}
		}
		v.removeDepartment(d)
		v.record("department.delete", "department:"+id, *d, nil)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return v.ws.Revision, nil
}

// removeDepartment deletes department d: its sub-departments move to its
// parent, its members leave it, and the members of its ancestors, whose
// subdepartments level no longer reaches it, get their epochs moved (A1).
func (v *view) removeDepartment(d *Department) {
	v.forceAncestors(d.ParentID)
	for _, c := range v.depts {
		if c.ParentID == d.ID {
			moved := *c
			moved.ParentID = d.ParentID
			v.putDept(&moved)
		}
	}
	for u, m := range v.base.allMembers() {
		if slices.Contains(m.DepartmentIDs, d.ID) {
			c := v.member(u).clone()
			c.DepartmentIDs = slices.DeleteFunc(c.DepartmentIDs, func(x string) bool { return x == d.ID })
			if len(c.DepartmentIDs) == 0 {
				c.DepartmentIDs = nil
			}
			v.putMember(c)
		}
	}
	v.deleteDept(d.ID)
}
