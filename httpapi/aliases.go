package httpapi

import (
	"net/http"
)

type aliasesJSON struct {
	ActionAliases map[string]string `json:"action_aliases"`
}

// getActionAliases answers a workspace's action aliases (Z2).
func (s *Server) getActionAliases(w http.ResponseWriter, r *http.Request, c *call) error {
	a, err := s.cfg.Admin.ActionAliases(r.Context(), c.ws)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, aliasesJSON{ActionAliases: a})
	return nil
}

// putActionAliases replaces a workspace's action aliases (Z2): the body
// maps each alias to a permission key.
func (s *Server) putActionAliases(w http.ResponseWriter, r *http.Request, c *call) error {
	var in map[string]string
	if err := decode(w, r, &in); err != nil {
		return err
	}
	a, rev, err := s.cfg.Admin.SetActionAliases(r.Context(), c.ws, c.write, in)
	if err != nil {
		return err
	}
	writeWritten(w, http.StatusOK, aliasesJSON{ActionAliases: a}, rev)
	return nil
}
