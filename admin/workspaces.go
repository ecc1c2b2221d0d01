package admin

import (
	"context"
	"fmt"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// WorkspaceInput creates a workspace.
type WorkspaceInput struct {
	ID   string
	Name string
	Plan Plan
}

// CreateWorkspace creates a workspace with its plan's predefined roles
// (W2): Employee as the default role. It returns name_taken if the id is
// in use, invalid_argument for a bad id, name or plan.
func (s *Service) CreateWorkspace(ctx context.Context, in WorkspaceInput) (Workspace, error) {
	if err := checkID("workspace", in.ID); err != nil {
		return Workspace{}, err
	}
	name, err := cleanName("workspace", in.Name, 200)
	if err != nil {
		return Workspace{}, err
	}
	if in.Plan == "" {
		in.Plan = PlanFree
	}
	rules, err := in.Plan.rules()
	if err != nil {
		return Workspace{}, err
	}
	now := s.now().UTC()
	m, err := newModel(s.catalog, &Dataset{Workspace: Workspace{ID: in.ID, Name: name, Plan: in.Plan, CreatedAt: now, UpdatedAt: now}}, s.now, s.followMin)
	if err != nil {
		return Workspace{}, err
	}
	v := newView(m, now, Actor{Deployment: true})
	v.auth = Authority{actor: v.actor, unlimited: true, owner: true}
	v.auditKey = s.audit.signer
	v.action, v.reason = "workspace.create", "workspace created on plan "+string(in.Plan)
	v.wsDirty = true
	for _, id := range rules.predefined {
		v.addPredefined(id)
	}
	v.record("workspace.create", "workspace:"+in.ID, nil, workspaceJSON(v.ws))
	c, err := v.finish()
	if err != nil {
		return Workspace{}, err
	}
	c.Base = 0
	if err := s.store.Commit(ctx, c); err != nil {
		if err == ErrStale {
			return Workspace{}, policy.Errorf(policy.CodeNameTaken, "workspace %q already exists", in.ID)
		}
		return Workspace{}, fmt.Errorf("create workspace %s: %w", in.ID, err)
	}
	v.merge()
	sp := &space{m: m}
	if err := m.advance(nil, v.members, nil, s.log); err != nil {
		// Committed, but not compiled: a bug. The space is not served;
		// its first use loads it from the store.
		return Workspace{}, err
	}
	s.mu.Lock()
	s.spaces[in.ID] = sp
	s.mu.Unlock()
	sp.write.Lock()
	defer sp.write.Unlock()
	sp.pubMu.Lock()
	defer sp.pubMu.Unlock()
	s.publish(sp)
	return m.ws, nil
}

// addPredefined adds a predefined role at revision 1.
func (v *view) addPredefined(id string) {
	def := predefinedRoles()[id]
	r := &Role{ID: id, Name: def.Name, Description: def.Description, Audience: policy.Internal,
		Predefined: true, Default: id == RoleEmployee, Revision: 1, CreatedAt: v.now}
	g := predefinedGrants(v.cat, id)
	v.putRole(r)
	v.addRevision(r, RoleRevision{Revision: 1, Grants: g, Applied: true, Reason: v.reason})
	v.record("role.create", "role:"+id, nil, roleJSON(r, g, nil))
}

// Workspace returns a workspace. not_found if it does not exist.
func (s *Service) Workspace(ctx context.Context, id string) (Workspace, error) {
	var ws Workspace
	err := s.read(ctx, id, func(m *model) error { ws = m.ws; return nil })
	return ws, err
}

// Workspaces returns the ids of every workspace.
func (s *Service) Workspaces(ctx context.Context) ([]string, error) {
	return s.store.Workspaces(ctx)
}

// WorkspaceUpdate changes a workspace; nil fields stay.
type WorkspaceUpdate struct {
	Name *string
	Plan *Plan
}

// UpdateWorkspace renames a workspace (owners, X3) or changes its plan
// (the deployment admin key only: W2 is billing) (W3): an upgrade
// adds the plan's missing predefined roles; a downgrade deletes nothing,
// roles over the new limit keep working, and no custom role can be created
// until the count is under it.
func (s *Service) UpdateWorkspace(ctx context.Context, id string, w Write, in WorkspaceUpdate) (Workspace, error) {
	v, err := s.update(ctx, id, w, "workspace.update", func(v *view) error {
		before := workspaceJSON(v.ws)
		if in.Name != nil {
			name, err := cleanName("workspace", *in.Name, 200)
			if err != nil {
				return err
			}
			if name != v.ws.Name {
				v.ws.Name, v.wsDirty = name, true
			}
		}
		if in.Plan != nil && *in.Plan != v.ws.Plan {
			if err := v.auth.Can(AreaPlan); err != nil {
				return err
			}
			rules, err := in.Plan.rules()
			if err != nil {
				return err
			}
			v.ws.Plan, v.wsDirty = *in.Plan, true
			if v.reason == "" {
				v.reason = "plan changed to " + string(*in.Plan)
			}
			for _, rid := range rules.predefined {
				if _, ok := v.roles[rid]; !ok {
					v.addPredefined(rid)
				}
			}
		}
		if v.wsDirty {
			v.record("workspace.update", "workspace:"+v.ws.ID, before, workspaceJSON(v.ws))
		}
		return nil
	})
	if err != nil {
		return Workspace{}, err
	}
	return v.ws, nil
}

// workspaceJSON is a workspace as the audit log shows it.
func workspaceJSON(ws Workspace) map[string]any {
	return map[string]any{"id": ws.ID, "name": ws.Name, "plan": ws.Plan}
}
