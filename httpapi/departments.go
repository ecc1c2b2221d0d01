package httpapi

import (
	"net/http"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

func (s *Server) listDepartments(w http.ResponseWriter, r *http.Request, c *call) error {
	ds, err := s.cfg.Admin.Departments(r.Context(), c.ws)
	if err != nil {
		return err
	}
	items := make([]departmentJSON, 0, len(ds))
	for _, d := range ds {
		items = append(items, toDepartment(d))
	}
	out, err := paginate(r, "departments", items, func(x departmentJSON) string { return x.ID })
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getDepartment(w http.ResponseWriter, r *http.Request, c *call) error {
	ds, err := s.cfg.Admin.Departments(r.Context(), c.ws)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	for _, d := range ds {
		if d.ID == id {
			writeJSON(w, http.StatusOK, toDepartment(d))
			return nil
		}
	}
	return &policy.Error{Code: policy.CodeNotFound, Message: "no department " + quote(id) + " in this workspace",
		Details: map[string]any{"department_id": id}}
}

type departmentRequest struct {
	Name     string `json:"name"`
	ParentID string `json:"parent_id"`
	// RoleIDs, when present, are the department's roles (M9).
	RoleIDs               []string `json:"role_ids"`
	IncludeSubdepartments *bool    `json:"include_subdepartments"`
	// ExpiresAt, when present, is when each role expires (T1).
	ExpiresAt map[string]*time.Time `json:"expires_at"`
}

func (s *Server) putDepartment(w http.ResponseWriter, r *http.Request, c *call) error {
	var in departmentRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	var roles *admin.DepartmentRolesInput
	if in.RoleIDs != nil || in.IncludeSubdepartments != nil || in.ExpiresAt != nil {
		roles = &admin.DepartmentRolesInput{RoleIDs: in.RoleIDs, IncludeSubdepartments: in.IncludeSubdepartments}
		if in.ExpiresAt != nil {
			roles.ExpiresAt = make(map[string]time.Time, len(in.ExpiresAt))
			for id, t := range in.ExpiresAt {
				roles.ExpiresAt[id] = derefTime(t)
			}
		}
	}
	d, rev, err := s.cfg.Admin.PutDepartmentWithRoles(r.Context(), c.ws, c.write, admin.Department{ID: r.PathValue("id"), Name: in.Name, ParentID: in.ParentID}, roles)
	if err != nil {
		return err
	}
	writeWritten(w, http.StatusOK, toDepartment(d), rev)
	return nil
}

func (s *Server) deleteDepartment(w http.ResponseWriter, r *http.Request, c *call) error {
	rev, err := s.cfg.Admin.DeleteDepartment(r.Context(), c.ws, c.write, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeWritten(w, http.StatusOK, nil, rev)
	return nil
}
