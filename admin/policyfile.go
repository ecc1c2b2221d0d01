package admin

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// PolicyFile is a workspace's policy as code: its smart objects, roles
// and departments. ExportPolicy writes it as YAML; ImportPolicy makes a
// workspace match it.
type PolicyFile struct {
	Version     int            `yaml:"version"`
	Objects     []PolicyObject `yaml:"objects,omitempty"`
	Roles       []PolicyRole   `yaml:"roles"`
	Departments []PolicyDept   `yaml:"departments,omitempty"`
	// ActionAliases are the workspace's action aliases (Z2); a file
	// without the key leaves them as they are.
	ActionAliases *map[string]string `yaml:"action_aliases,omitempty"`
	// GatewayRoutes are the routes a gateway asks about, in order; a file
	// without the key leaves them as they are.
	GatewayRoutes *[]PolicyRoute `yaml:"gateway_routes,omitempty"`
	// SoDRules are the workspace's separation-of-duties rules (S1); a file
	// without the key leaves them as they are. Exceptions are about
	// members, not policy: a file neither carries nor changes them.
	SoDRules *[]PolicySoDRule `yaml:"sod_rules,omitempty"`
}

// PolicySoDRule is a separation-of-duties rule in a policy file: either
// conflicts (sets of permission keys) or roles (sets of role ids).
type PolicySoDRule struct {
	ID          string     `yaml:"id"`
	Name        string     `yaml:"name"`
	Description string     `yaml:"description,omitempty"`
	Conflicts   [][]string `yaml:"conflicts,omitempty"`
	Roles       [][]string `yaml:"roles,omitempty"`
}

// PolicyRoute is a gateway route in a policy file.
type PolicyRoute struct {
	Method     string `yaml:"method"`
	Path       string `yaml:"path"`
	Permission string `yaml:"permission"`
	Owner      string `yaml:"owner,omitempty"`
	Department string `yaml:"department,omitempty"`
}

// PolicyObject is a smart object type in a policy file.
type PolicyObject struct {
	ID          string `yaml:"id"`
	Name        string `yaml:"name"`
	Description string `yaml:"description,omitempty"`
}

// PolicyRole is a role in a policy file.
type PolicyRole struct {
	ID          string          `yaml:"id"`
	Name        string          `yaml:"name"`
	Description string          `yaml:"description,omitempty"`
	Audience    policy.Audience `yaml:"audience"`
	Predefined  bool            `yaml:"predefined,omitempty"`
	// Grants are level names, or {level, when} for a conditional grant (G1).
	Grants policy.GrantValues `yaml:"grants"`
}

// PolicyDept is a department in a policy file.
type PolicyDept struct {
	ID     string `yaml:"id"`
	Name   string `yaml:"name"`
	Parent string `yaml:"parent,omitempty"`
	// Roles are held by the department's members (M9), and by its
	// sub-departments' when IncludeSubdepartments.
	Roles                 []string `yaml:"roles,omitempty"`
	IncludeSubdepartments bool     `yaml:"include_subdepartments,omitempty"`
	// RoleExpiresAt is when each of Roles expires (T1); a role it does
	// not name does not expire.
	RoleExpiresAt map[string]time.Time `yaml:"role_expires_at,omitempty"`
}

// ExportPolicy renders a workspace's policy as YAML, sorted so that the
// same policy always exports to the same bytes.
func (s *Service) ExportPolicy(ctx context.Context, ws string) ([]byte, error) {
	f := PolicyFile{Version: 1}
	err := s.read(ctx, ws, func(m *model) error {
		for _, o := range sortedObjects(m.objects) {
			f.Objects = append(f.Objects, PolicyObject(o))
		}
		for _, r := range m.roles {
			rv := m.revs[policy.RoleRef{RoleID: r.ID, Revision: r.Revision}]
			g := policy.JoinGrants(rv.Grants, rv.When)
			if g == nil {
				g = policy.GrantValues{}
			}
			f.Roles = append(f.Roles, PolicyRole{ID: r.ID, Name: r.Name, Description: r.Description,
				Audience: r.Audience, Predefined: r.Predefined, Grants: g})
		}
		now := m.now()
		for _, d := range m.depts {
			pd := PolicyDept{ID: d.ID, Name: d.Name, Parent: d.ParentID, IncludeSubdepartments: d.IncludeSubdepartments}
			for _, a := range d.Roles {
				if expired(a.ExpiresAt, now) {
					continue
				}
				pd.Roles = append(pd.Roles, a.RoleID)
				if !a.ExpiresAt.IsZero() {
					if pd.RoleExpiresAt == nil {
						pd.RoleExpiresAt = map[string]time.Time{}
					}
					pd.RoleExpiresAt[a.RoleID] = a.ExpiresAt
				}
			}
			f.Departments = append(f.Departments, pd)
		}
		if len(m.aliases) > 0 {
			a := maps.Clone(m.aliases)
			f.ActionAliases = &a
		}
		if len(m.gateway) > 0 {
			rs := make([]PolicyRoute, len(m.gateway))
			for i, r := range m.gateway {
				rs[i] = PolicyRoute(r)
			}
			f.GatewayRoutes = &rs
		}
		if len(m.sod) > 0 {
			rs := make([]PolicySoDRule, len(m.sod))
			for i, r := range m.sod {
				rs[i] = PolicySoDRule{ID: r.ID, Name: r.Name, Description: r.Description, Conflicts: r.Permissions, Roles: r.Roles}
			}
			f.SoDRules = &rs
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(f.Roles, func(a, b PolicyRole) int { return cmpString(a.ID, b.ID) })
	slices.SortFunc(f.Departments, func(a, b PolicyDept) int { return cmpString(a.ID, b.ID) })
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# Gatehouse policy of workspace %s. Import it with PUT /v1/workspaces/%s/policy.\n", ws, ws)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("export policy of %s: %w", ws, err)
	}
	return buf.Bytes(), enc.Close()
}

// ParsePolicy parses a policy file strictly: unknown fields and a version
// other than 1 are invalid_argument, with the line.
func ParsePolicy(data []byte) (*PolicyFile, error) {
	var f PolicyFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, policy.Errorf(policy.CodeInvalidArgument, "policy file: %v", err)
	}
	if f.Version != 1 {
		return nil, policy.Errorf(policy.CodeInvalidArgument, "policy file: version must be 1, got %d", f.Version)
	}
	// One form for "none": no empty lists, and every role has a grant map.
	if len(f.Objects) == 0 {
		f.Objects = nil
	}
	if len(f.Roles) == 0 {
		f.Roles = nil
	}
	if len(f.Departments) == 0 {
		f.Departments = nil
	}
	for i := range f.Roles {
		if f.Roles[i].Grants == nil {
			f.Roles[i].Grants = policy.GrantValues{}
		}
	}
	return &f, nil
}

// ImportPolicy makes a workspace's policy match a policy file, all or
// nothing, in one transaction:
//   - smart objects in the file are created or renamed (absent ones stay);
//   - roles in the file are created (custom, with the file's id) or
//     updated, a grant change being a new applied revision; custom roles
//     absent from the file are deleted, which fails with role_in_use if
//     they have members; predefined roles absent from the file stay;
//   - departments match the file exactly: absent ones are deleted.
//
// Every rule of the individual operations applies (R1, W2, C4, M6, X3,
// X4). Importing a file the workspace already matches changes nothing:
// no revision, no audit entry.
func (s *Service) ImportPolicy(ctx context.Context, ws string, w Write, data []byte) (int64, error) {
	f, err := ParsePolicy(data)
	if err != nil {
		return 0, err
	}
	v, err := s.update(ctx, ws, w, "policy.import", func(v *view) error { return v.importPolicy(f) })
	if err != nil {
		return 0, err
	}
	return v.ws.Revision, nil
}

func (v *view) importPolicy(f *PolicyFile) error {
	for i, o := range f.Objects {
		so := SmartObject(o)
		if err := so.Validate(); err != nil {
			return prefixError(fmt.Sprintf("objects[%d]", i), err)
		}
		if old, ok := v.objects[so.ID]; !ok || old != so {
			v.objects[so.ID] = so
			v.objsPut = append(v.objsPut, so.ID)
			v.record("object.put", "object:"+so.ID, nil, so)
		}
	}
	if len(v.objsPut) > 0 {
		if err := v.setCatalog(); err != nil {
			return err
		}
	}
	if err := v.importDepartments(f.Departments); err != nil {
		return err
	}
	if f.ActionAliases != nil {
		if err := v.setAliases(*f.ActionAliases); err != nil {
			return prefixError("action_aliases", err)
		}
	}
	if f.GatewayRoutes != nil {
		rs := make([]policy.GatewayRoute, len(*f.GatewayRoutes))
		for i, r := range *f.GatewayRoutes {
			rs[i] = policy.GatewayRoute(r)
		}
		if err := v.setGateway(rs); err != nil {
			return prefixError("gateway_routes", err)
		}
	}
	inFile := map[string]bool{}
	for i, pr := range f.Roles {
		where := fmt.Sprintf("roles[%d] (%s)", i, pr.ID)
		if inFile[pr.ID] {
			return policy.Errorf(policy.CodeInvalidArgument, "%s: role id appears twice", where)
		}
		inFile[pr.ID] = true
		if pr.Grants == nil {
			pr.Grants = policy.GrantValues{}
		}
		if err := v.importRole(pr); err != nil {
			return prefixError(where, err)
		}
	}
	// Department roles (M9), once the file's roles exist.
	for i, d := range f.Departments {
		in := DepartmentRolesInput{RoleIDs: d.Roles, IncludeSubdepartments: &d.IncludeSubdepartments, ExpiresAt: d.RoleExpiresAt}
		if in.RoleIDs == nil {
			in.RoleIDs = []string{}
		}
		if in.ExpiresAt == nil {
			in.ExpiresAt = map[string]time.Time{}
		}
		if err := v.setDepartmentRoles(d.ID, in); err != nil {
			return prefixError(fmt.Sprintf("departments[%d] (%s)", i, d.ID), err)
		}
	}
	var gone []string
	for id, r := range v.roles {
		if !inFile[id] && !r.Predefined {
			gone = append(gone, id)
		}
	}
	slices.Sort(gone)
	for _, id := range gone {
		r := v.roles[id]
		if n := v.holderCount(id); n > 0 {
			return &policy.Error{Code: policy.CodeRoleInUse,
				Message: fmt.Sprintf("the file leaves out role %q, which still has %d members; move them to another role first or keep the role in the file", r.Name, n),
				Details: map[string]any{"role_id": id, "member_count": n}}
		}
		v.record("role.delete", "role:"+id, roleJSON(r, v.newest(r).Grants, v.newest(r).When), nil)
		v.deleteRole(id)
	}
	if f.SoDRules != nil {
		return v.importSoDRules(*f.SoDRules)
	}
	return nil
}

// importSoDRules makes the workspace's SoD rules those of the file, after
// its roles (a rule may name a role the file creates). A rule keeps its
// exceptions.
func (v *view) importSoDRules(rules []PolicySoDRule) error {
	inFile := map[string]bool{}
	for i, pr := range rules {
		where := fmt.Sprintf("sod_rules[%d] (%s)", i, pr.ID)
		if inFile[pr.ID] {
			return policy.Errorf(policy.CodeInvalidArgument, "%s: rule id appears twice", where)
		}
		inFile[pr.ID] = true
		r := SoDRule{ID: pr.ID, Name: pr.Name, Description: pr.Description, Permissions: pr.Conflicts, Roles: pr.Roles}
		if old := slices.IndexFunc(v.sod, func(x SoDRule) bool { return x.ID == pr.ID }); old >= 0 {
			r.Exceptions = v.sod[old].Exceptions
		}
		if _, err := v.putSoDRule(r); err != nil {
			return prefixError(where, err)
		}
	}
	for _, r := range slices.Clone(v.sod) {
		if !inFile[r.ID] {
			i := slices.IndexFunc(v.sod, func(x SoDRule) bool { return x.ID == r.ID })
			v.record("sod.delete", "sod_rule:"+r.ID, sodAudit(&v.sod[i]), nil)
			v.sod = slices.Delete(slices.Clone(v.sod), i, i+1)
			v.sodPut, v.sodCompiled = true, nil
		}
	}
	return nil
}

func (v *view) importRole(pr PolicyRole) error {
	grants, when := pr.Grants.Split()
	r := v.roles[pr.ID]
	if r == nil {
		if _, reserved := predefinedRoles()[pr.ID]; reserved || pr.Predefined {
			return policy.Errorf(policy.CodeInvalidArgument, "predefined role %q is not part of this workspace's plan", pr.ID)
		}
		if err := checkID("role", pr.ID); err != nil {
			return err
		}
		if pr.Audience == "" {
			pr.Audience = policy.Internal
		}
		if !pr.Audience.Valid() {
			return policy.Errorf(policy.CodeInvalidArgument, "audience %q must be internal or client", pr.Audience)
		}
		if err := v.checkPlanLimit(); err != nil {
			return err
		}
		_, err := v.newRole(pr.ID, pr.Name, pr.Description, pr.Audience, grants, when)
		return err
	}
	if pr.Audience != "" && pr.Audience != r.Audience {
		return policy.Errorf(policy.CodeInvalidArgument, "role %q is %s; a role's audience cannot change", r.Name, r.Audience)
	}
	if pr.Predefined != r.Predefined {
		return policy.Errorf(policy.CodeInvalidArgument, "role %q: predefined is %v in the workspace", r.Name, r.Predefined)
	}
	// A grant change is a new applied revision; a role whose grants the
	// file leaves as they are is not applied: re-importing an exported
	// policy must not move members off a revision saved without apply.
	apply := !maps.Equal(grants, v.newest(r).Grants) || !maps.Equal(when, v.newest(r).When)
	return v.updateRole(pr.ID, RoleUpdate{Name: &pr.Name, Description: &pr.Description, Grants: grants, When: when, Apply: &apply})
}

// importDepartments makes the department tree match ds, in time linear
// in the size of the tree: the file's tree is checked whole first (known
// parents, no cycle, at most MaxDepartmentDepth levels), then departments
// are put parents first, so each is checked against its final ancestors,
// and those the file leaves out are deleted in one pass.
func (v *view) importDepartments(ds []PolicyDept) error {
	byID := make(map[string]*PolicyDept, len(ds))
	for i := range ds {
		d := &ds[i]
		if _, dup := byID[d.ID]; dup {
			return policy.Errorf(policy.CodeInvalidArgument, "departments[%d]: department %q appears twice", i, d.ID)
		}
		byID[d.ID] = d
	}
	// The level of every department in the file, each walk up stopping at
	// a department whose level is known: every department is walked once.
	level := make(map[string]int, len(ds))
	var path []string
	for _, d := range ds {
		path = path[:0]
		onPath := map[string]bool{}
		id, base := d.ID, 0
		for id != "" {
			if l, ok := level[id]; ok {
				base = l
				break
			}
			if onPath[id] {
				return policy.Errorf(policy.CodeInvalidArgument, "departments: %q is its own ancestor", id)
			}
			onPath[id] = true
			path = append(path, id)
			if len(path) > MaxDepartmentDepth {
				return tooDeep(d.ID, len(path))
			}
			p := byID[id].Parent
			if p != "" && byID[p] == nil {
				return policy.Errorf(policy.CodeInvalidArgument, "departments: parent %q of %q is not in the file", p, id)
			}
			id = p
		}
		for i := len(path) - 1; i >= 0; i-- {
			base++
			if base > MaxDepartmentDepth {
				return tooDeep(path[i], base)
			}
			level[path[i]] = base
		}
	}
	order := make([]*PolicyDept, len(ds))
	for i := range ds {
		order[i] = &ds[i]
	}
	slices.SortStableFunc(order, func(a, b *PolicyDept) int { return level[a.ID] - level[b.ID] })
	for _, d := range order {
		if err := v.putDepartment(Department{ID: d.ID, Name: d.Name, ParentID: d.Parent}, true); err != nil {
			return err
		}
	}
	gone := map[string]bool{}
	for id := range v.depts {
		if byID[id] == nil {
			gone[id] = true
		}
	}
	v.removeDepartments(gone)
	return nil
}

// removeDepartments deletes the departments of gone, none of which is the
// parent of a department that stays, in one pass over the tree and one
// over the members: members leave them, and the members of the
// departments above them, whose subdepartments level no longer reaches
// them, get their epochs moved (A1).
func (v *view) removeDepartments(gone map[string]bool) {
	if len(gone) == 0 {
		return
	}
	above := map[string]bool{} // departments that stay, above one that goes
	walked := map[string]bool{}
	for id := range gone {
		for a := v.depts[id].ParentID; a != "" && !walked[a] && v.depts[a] != nil; a = v.depts[a].ParentID {
			walked[a] = true
			if !gone[a] {
				above[a] = true
			}
		}
	}
	for u, m := range v.base.allMembers() {
		leaves := false
		for _, d := range m.DepartmentIDs {
			leaves = leaves || gone[d]
			if above[d] {
				v.forced[u] = true
			}
		}
		if leaves {
			c := v.member(u).clone()
			c.DepartmentIDs = slices.DeleteFunc(c.DepartmentIDs, func(x string) bool { return gone[x] })
			if len(c.DepartmentIDs) == 0 {
				c.DepartmentIDs = nil
			}
			v.putMember(c)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(gone)) {
		v.record("department.delete", "department:"+id, *v.depts[id], nil)
		v.deleteDept(id)
	}
}

// Marshal renders f as YAML, as ImportPolicy reads it.
func (f PolicyFile) Marshal() []byte {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		panic("admin: policy file does not marshal: " + err.Error())
	}
	enc.Close()
	return buf.Bytes()
}
