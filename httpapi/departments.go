package httpapi

import (
	"net/http"

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
		items = append(items, departmentJSON(d))
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
			writeJSON(w, http.StatusOK, departmentJSON(d))
			return nil
		}
	}
	return &policy.Error{Code: policy.CodeNotFound, Message: "no department " + quote(id) + " in this workspace",
		Details: map[string]any{"department_id": id}}
}

type departmentRequest struct {
	Name     string `json:"name"`
	ParentID string `json:"parent_id"`
}

func (s *Server) putDepartment(w http.ResponseWriter, r *http.Request, c *call) error {
	var in departmentRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	d, rev, err := s.cfg.Admin.PutDepartment(r.Context(), c.ws, c.write, admin.Department{ID: r.PathValue("id"), Name: in.Name, ParentID: in.ParentID})
	if err != nil {
		return err
	}
	writeWritten(w, http.StatusOK, departmentJSON(d), rev)
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
