package admin

import (
	"bytes"
	_ "embed"
	"fmt"
	"slices"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// Predefined role ids (DESIGN §3): stable across workspaces.
const (
	RoleEmployee     = "employee"
	RoleManager      = "manager"
	RoleHead         = "head"
	RoleSalesHead    = "sales_head"
	RoleSalesManager = "sales_manager"
	RoleHR           = "hr"
)

// planRules is what a plan allows (W2).
type planRules struct {
	predefined  []string
	customRoles int // -1: unlimited
}

var plans = map[Plan]planRules{
	PlanFree:         {predefined: []string{RoleEmployee, RoleManager}, customRoles: 0},
	PlanStandard:     {predefined: []string{RoleEmployee, RoleHead, RoleSalesHead, RoleSalesManager, RoleHR}, customRoles: 1},
	PlanProfessional: {predefined: []string{RoleEmployee, RoleHead, RoleSalesHead, RoleSalesManager, RoleHR}, customRoles: -1},
}

func (p Plan) rules() (planRules, error) {
	r, ok := plans[p]
	if !ok {
		return planRules{}, policy.Errorf(policy.CodeInvalidArgument, "unknown plan %q; use free, standard or professional", p)
	}
	return r, nil
}

// predefinedRole is one entry of predefined.yaml.
type predefinedRole struct {
	ID          string        `yaml:"id"`
	Name        string        `yaml:"name"`
	Description string        `yaml:"description"`
	Grants      policy.Grants `yaml:"grants"`
}

//go:embed predefined.yaml
var predefinedYAML []byte

var predefinedRoles = sync.OnceValue(func() map[string]predefinedRole {
	var doc struct {
		Roles []predefinedRole `yaml:"roles"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(predefinedYAML))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		panic(fmt.Sprintf("admin: embedded predefined.yaml: %v", err))
	}
	out := map[string]predefinedRole{}
	for _, r := range doc.Roles {
		out[r.ID] = r
	}
	return out
})

// predefinedGrants returns a predefined role's grants restricted to the
// keys cat knows, so a deployment with its own catalog still gets valid
// roles.
func predefinedGrants(cat *policy.Catalog, id string) policy.Grants {
	g := policy.Grants{}
	for k, l := range predefinedRoles()[id].Grants {
		if _, ok := cat.Lookup(k); ok {
			g[k] = l
		}
	}
	return g
}

// Plans lists the plans, smallest first (W2).
func Plans() []Plan { return []Plan{PlanFree, PlanStandard, PlanProfessional} }

// PredefinedRoles lists the ids of the predefined roles a plan gives (W2).
func (p Plan) PredefinedRoles() []string {
	r, _ := p.rules()
	return slices.Clone(r.predefined)
}

// CustomRoleLimit is how many custom roles a plan allows; -1 is unlimited
// (W2).
func (p Plan) CustomRoleLimit() int {
	r, err := p.rules()
	if err != nil {
		return 0
	}
	return r.customRoles
}

// PredefinedRoleName is the name a predefined role is created with, or the
// id when it is not a predefined role.
func PredefinedRoleName(id string) string {
	if r, ok := predefinedRoles()[id]; ok {
		return r.Name
	}
	return id
}
