package web

import (
	"net/http"
	"strings"

	"github.com/gatehouse-authz/gatehouse/admin"
)

type workspacesView struct {
	Workspaces []admin.Workspace
	Plans      []planView
}

// planView is a plan with what it allows (W2), for pickers and the
// settings page.
type planView struct {
	Plan        admin.Plan
	Predefined  int
	CustomLimit int // -1 unlimited
	Current     bool
	// Consequence says what switching to the plan would do (W3).
	Consequence string
}

func plansView(current admin.Plan) []planView {
	var out []planView
	for _, p := range admin.Plans() {
		out = append(out, planView{Plan: p, Predefined: len(p.PredefinedRoles()), CustomLimit: p.CustomRoleLimit(), Current: p == current})
	}
	return out
}

// workspacesPage is the deployment admin's workspace picker.
func (c *Console) workspacesPage(w http.ResponseWriter, rq *request) error {
	ids, err := c.cfg.Admin.Workspaces(rq.Context())
	if err != nil {
		return err
	}
	v := workspacesView{Plans: plansView(admin.PlanStandard)}
	for _, id := range ids {
		ws, err := c.cfg.Admin.Workspace(rq.Context(), id)
		if err != nil {
			return err
		}
		v.Workspaces = append(v.Workspaces, ws)
	}
	return c.render(w, rq, http.StatusOK, "workspaces", "workspaces", v)
}

func (c *Console) createWorkspace(w http.ResponseWriter, rq *request) error {
	ws, err := c.cfg.Admin.CreateWorkspace(rq.Context(), admin.WorkspaceInput{
		ID: strings.TrimSpace(rq.PostFormValue("id")), Name: strings.TrimSpace(rq.PostFormValue("name")),
		Plan: admin.Plan(rq.PostFormValue("plan"))})
	if err != nil {
		return err
	}
	c.setFlash(w, rq.Request, "ok", "Workspace "+ws.Name+" created with the "+string(ws.Plan)+" plan's predefined roles.")
	redirect(w, rq.Request, wsPath(ws.ID, "roles"))
	return nil
}

func (c *Console) workspaceHome(w http.ResponseWriter, rq *request) error {
	redirect(w, rq.Request, wsPath(rq.ws, "roles"))
	return nil
}
