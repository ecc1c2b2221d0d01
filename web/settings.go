package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gatehouse-authz/gatehouse/admin"
)

type settingsView struct {
	Plans       []planView
	CustomRoles int
	Keys        []admin.APIKey
	// NewKey is a key just created: shown this once (X2).
	NewKey string
}

func (c *Console) settingsPage(w http.ResponseWriter, rq *request) error {
	v, err := c.settingsData(rq)
	if err != nil {
		return err
	}
	return c.render(w, rq, http.StatusOK, "settings", "settings", v)
}

// updateSettings renames the workspace or changes its plan (W3: a change
// of plan never deletes roles or assignments).
func (c *Console) updateSettings(w http.ResponseWriter, rq *request) error {
	var in admin.WorkspaceUpdate
	if name := strings.TrimSpace(rq.PostFormValue("name")); name != "" && name != rq.space.Name {
		in.Name = &name
	}
	if p := admin.Plan(rq.PostFormValue("plan")); p != "" && p != rq.space.Plan {
		in.Plan = &p
	}
	if in.Name == nil && in.Plan == nil {
		c.setFlash(w, rq.Request, "ok", "Nothing to save: the name and plan are unchanged.")
		redirect(w, rq.Request, wsPath(rq.ws, "settings"))
		return nil
	}
	ws, err := c.cfg.Admin.UpdateWorkspace(rq.Context(), rq.ws, rq.write(rq.PostFormValue("reason")), in)
	if err != nil {
		return err
	}
	msg := "Settings saved."
	if in.Plan != nil {
		msg = "Plan changed to " + string(ws.Plan) + ". No role or assignment was deleted."
	}
	c.setFlash(w, rq.Request, "ok", msg)
	redirect(w, rq.Request, wsPath(rq.ws, "settings"))
	return nil
}

func (c *Console) createKey(w http.ResponseWriter, rq *request) error {
	scope := admin.KeyScope(rq.PostFormValue("scope"))
	_, token, _, err := c.cfg.Admin.CreateKey(rq.Context(), rq.ws, rq.write(""), scope, strings.TrimSpace(rq.PostFormValue("name")))
	if err != nil {
		return err
	}
	// The token is rendered straight into this answer, never into a cookie
	// or a URL, and is not kept anywhere.
	v, err := c.settingsData(rq)
	if err != nil {
		return err
	}
	v.NewKey = token
	return c.render(w, rq, http.StatusOK, "settings", "settings", v)
}

func (c *Console) settingsData(rq *request) (settingsView, error) {
	roles, err := c.cfg.Admin.Roles(rq.Context(), rq.ws, "", "")
	if err != nil {
		return settingsView{}, err
	}
	keys, err := c.cfg.Admin.Keys(rq.Context(), rq.ws)
	if err != nil {
		return settingsView{}, err
	}
	v := settingsView{Plans: plansView(rq.space.Plan), Keys: keys}
	have := map[string]bool{}
	for _, r := range roles {
		have[r.ID] = true
		if !r.Predefined {
			v.CustomRoles++
		}
	}
	for i := range v.Plans {
		v.Plans[i].Consequence = planConsequence(v.Plans[i], have, v.CustomRoles)
	}
	return v, nil
}

func (c *Console) revokeKey(w http.ResponseWriter, rq *request) error {
	id := rq.PathValue("id")
	if !rq.sess.Deployment && id == rq.sess.KeyID {
		c.setFlash(w, rq.Request, "error", "This is the key you signed in with; sign in with another admin key to revoke it.")
		redirect(w, rq.Request, wsPath(rq.ws, "settings"))
		return nil
	}
	if _, err := c.cfg.Admin.RevokeKey(rq.Context(), rq.ws, rq.write(""), id); err != nil {
		return err
	}
	c.setFlash(w, rq.Request, "ok", "Key "+id+" revoked: requests made with it now fail.")
	redirect(w, rq.Request, wsPath(rq.ws, "settings"))
	return nil
}

// planConsequence says what moving to a plan would do (W3), before the
// admin chooses it.
func planConsequence(p planView, have map[string]bool, custom int) string {
	if p.Current {
		return "Current plan."
	}
	var parts []string
	var add []string
	for _, id := range p.Plan.PredefinedRoles() {
		if !have[id] {
			add = append(add, admin.PredefinedRoleName(id))
		}
	}
	if len(add) > 0 {
		parts = append(parts, "Adds the predefined roles "+strings.Join(add, ", ")+".")
	}
	switch {
	case p.CustomLimit < 0:
		parts = append(parts, "Unlimited custom roles.")
	case p.CustomLimit == 0 && custom > 0:
		parts = append(parts, fmt.Sprintf("The plan has no custom roles: your %d keep working and keep their members, but none can be created or duplicated.", custom))
	case p.CustomLimit == 0:
		parts = append(parts, "No custom roles: only the predefined ones.")
	case custom > p.CustomLimit:
		parts = append(parts, fmt.Sprintf("Your %d custom roles keep working and keep their members, but no new custom role can be created until you are under the limit of %d (delete %d).",
			custom, p.CustomLimit, custom-p.CustomLimit+1))
	case custom == p.CustomLimit:
		parts = append(parts, fmt.Sprintf("You would be at the limit of %d custom roles: no new one could be created.", p.CustomLimit))
	default:
		parts = append(parts, "Room for "+plural(p.CustomLimit-custom, "more custom role.", "more custom roles."))
	}
	parts = append(parts, "No role or assignment is ever deleted by a plan change.")
	return strings.Join(parts, " ")
}
