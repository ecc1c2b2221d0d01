package httpapi

import (
	"net/http"

	"github.com/gatehouse-authz/gatehouse/admin"
)

type createWorkspaceRequest struct {
	ID   string     `json:"id"`
	Name string     `json:"name"`
	Plan admin.Plan `json:"plan"`
}

func (s *Server) createWorkspace(w http.ResponseWriter, r *http.Request, _ *call) error {
	var in createWorkspaceRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	ws, err := s.cfg.Admin.CreateWorkspace(r.Context(), admin.WorkspaceInput{ID: in.ID, Name: in.Name, Plan: in.Plan})
	if err != nil {
		return err
	}
	writeWritten(w, http.StatusCreated, toWorkspace(ws), ws.Revision)
	return nil
}

func (s *Server) listWorkspaces(w http.ResponseWriter, r *http.Request, _ *call) error {
	ids, err := s.cfg.Admin.Workspaces(r.Context())
	if err != nil {
		return err
	}
	pg, err := pageIDs(r, "workspaces", ids)
	if err != nil {
		return err
	}
	out := page[workspaceJSON]{Items: []workspaceJSON{}, NextCursor: pg.NextCursor}
	for _, id := range pg.Items {
		ws, err := s.cfg.Admin.Workspace(r.Context(), id)
		if err != nil {
			continue // deleted meanwhile
		}
		out.Items = append(out.Items, toWorkspace(ws))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getWorkspace(w http.ResponseWriter, r *http.Request, c *call) error {
	ws, err := s.cfg.Admin.Workspace(r.Context(), c.ws)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toWorkspace(ws))
	return nil
}

type updateWorkspaceRequest struct {
	Name *string     `json:"name"`
	Plan *admin.Plan `json:"plan"`
}

func (s *Server) updateWorkspace(w http.ResponseWriter, r *http.Request, c *call) error {
	var in updateWorkspaceRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	ws, err := s.cfg.Admin.UpdateWorkspace(r.Context(), c.ws, c.write, admin.WorkspaceUpdate{Name: in.Name, Plan: in.Plan})
	if err != nil {
		return err
	}
	writeWritten(w, http.StatusOK, toWorkspace(ws), ws.Revision)
	return nil
}

type createKeyRequest struct {
	Scope admin.KeyScope `json:"scope"`
	Name  string         `json:"name"`
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request, c *call) error {
	var in createKeyRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	k, token, rev, err := s.cfg.Admin.CreateKey(r.Context(), c.ws, c.write, in.Scope, in.Name)
	if err != nil {
		return err
	}
	out := toKey(k)
	out.Key = token
	w.Header().Set("Cache-Control", "no-store")
	writeWritten(w, http.StatusCreated, out, rev)
	return nil
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request, c *call) error {
	keys, err := s.cfg.Admin.Keys(r.Context(), c.ws)
	if err != nil {
		return err
	}
	items := make([]keyJSON, 0, len(keys))
	for _, k := range keys {
		items = append(items, toKey(k))
	}
	// Oldest first, as created.
	out, err := paginate(r, "keys", items, func(x keyJSON) string {
		return x.CreatedAt.UTC().Format("2006-01-02T15:04:05.000000000Z") + "\x00" + x.ID
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request, c *call) error {
	rev, err := s.cfg.Admin.RevokeKey(r.Context(), c.ws, c.write, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeWritten(w, http.StatusOK, nil, rev)
	return nil
}
