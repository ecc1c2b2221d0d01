package httpapi

import (
	"net/http"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

type catalogJSON struct {
	Modules []moduleJSON `json:"modules"`
}

type moduleJSON struct {
	ID           string       `json:"id"`
	Name         string       `json:"name"`
	Description  string       `json:"description"`
	Kind         string       `json:"kind"`
	InternalOnly bool         `json:"internal_only"`
	SmartObject  bool         `json:"smart_object"`
	Actions      []actionJSON `json:"actions"`
	Children     []moduleJSON `json:"children"`
}

type actionJSON struct {
	Name        string   `json:"name"`
	Permission  string   `json:"permission"`
	Scoped      bool     `json:"scoped"`
	Requires    []string `json:"requires"`
	Description string   `json:"description"`
}

func toModule(m *policy.Module, perms []*policy.Permission, deep bool) moduleJSON {
	out := moduleJSON{ID: m.ID, Name: m.Name, Description: m.Description, Kind: m.Kind.String(),
		InternalOnly: m.InternalOnly, SmartObject: m.SmartObject, Actions: []actionJSON{}, Children: []moduleJSON{}}
	for _, p := range perms {
		a := actionJSON{Name: p.Action, Permission: p.Key, Scoped: p.Scoped, Description: p.Description, Requires: []string{}}
		for _, q := range p.Requires {
			if q.Module == p.Module {
				a.Requires = append(a.Requires, q.Action)
			} else {
				a.Requires = append(a.Requires, q.Key)
			}
		}
		out.Actions = append(out.Actions, a)
	}
	if deep {
		for _, c := range m.Children {
			out.Children = append(out.Children, toModule(c, c.Permissions, true))
		}
	}
	return out
}

// catalogOf renders a catalog: the whole tree, or with q the modules that
// match a search (C8), each with its matching permissions.
func catalogOf(cat *policy.Catalog, q string) catalogJSON {
	out := catalogJSON{Modules: []moduleJSON{}}
	if q == "" {
		for _, m := range cat.Modules() {
			out.Modules = append(out.Modules, toModule(m, m.Permissions, true))
		}
		return out
	}
	for _, r := range cat.Search(q) {
		out.Modules = append(out.Modules, toModule(r.Module, r.Permissions, false))
	}
	return out
}

func (s *Server) getCatalog(w http.ResponseWriter, r *http.Request, _ *call) error {
	writeJSON(w, http.StatusOK, catalogOf(s.cfg.Admin.Catalog(), r.URL.Query().Get("q")))
	return nil
}

func (s *Server) getWorkspaceCatalog(w http.ResponseWriter, r *http.Request, c *call) error {
	cat, err := s.cfg.Admin.WorkspaceCatalog(r.Context(), c.ws)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, catalogOf(cat, r.URL.Query().Get("q")))
	return nil
}

type templateJSON struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Audience    policy.Audience `json:"audience"`
	Grants      policy.Grants   `json:"grants"`
}

func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request, _ *call) error {
	items := []templateJSON{}
	for _, t := range policy.Templates() {
		items = append(items, templateJSON{ID: t.ID, Name: t.Name, Description: t.Description, Audience: t.Audience, Grants: aboveNone(t.Grants)})
	}
	out, err := paginate(r, "templates", items, func(x templateJSON) string { return x.ID })
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type objectRequest struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

type objectJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

func (s *Server) putObject(w http.ResponseWriter, r *http.Request, c *call) error {
	var in objectRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	o, rev, err := s.cfg.Admin.PutObject(r.Context(), c.ws, c.write, admin.SmartObject{ID: r.PathValue("id"), Name: in.Name, Description: in.Description})
	if err != nil {
		return err
	}
	writeWritten(w, http.StatusOK, objectJSON{ID: o.ID, Name: o.Name, Description: o.Description}, rev)
	return nil
}

func (s *Server) deleteObject(w http.ResponseWriter, r *http.Request, c *call) error {
	force, err := boolParam(r, "force")
	if err != nil {
		return err
	}
	rev, err := s.cfg.Admin.DeleteObject(r.Context(), c.ws, c.write, r.PathValue("id"), force)
	if err != nil {
		return err
	}
	writeWritten(w, http.StatusOK, nil, rev)
	return nil
}
