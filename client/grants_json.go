package client

import (
	"encoding/json"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// On the wire a grant set is one map of grant values: a level string, or
// {"level", "when"} for a conditional grant (G1). The client's types keep
// levels and conditions apart, as policy does.

// UnmarshalJSON reads a role, splitting its grant values.
func (r *Role) UnmarshalJSON(b []byte) error {
	type plain Role
	x := struct {
		*plain
		Grants policy.GrantValues `json:"grants"`
	}{plain: (*plain)(r)}
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	r.Grants, r.When = x.Grants.Split()
	return nil
}

// UnmarshalJSON reads a member, splitting its grant values.
func (m *Member) UnmarshalJSON(b []byte) error {
	type plain Member
	x := struct {
		*plain
		Grants policy.GrantValues `json:"grants"`
	}{plain: (*plain)(m)}
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	m.Grants, m.When = x.Grants.Split()
	return nil
}

// UnmarshalJSON reads a member and its redundant grants (Member's own
// UnmarshalJSON would otherwise be promoted and drop Redundant).
func (m *MemberGrants) UnmarshalJSON(b []byte) error {
	if err := m.Member.UnmarshalJSON(b); err != nil {
		return err
	}
	var x struct {
		Redundant []string `json:"redundant"`
	}
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	m.Redundant = x.Redundant
	return nil
}

// MarshalJSON writes a role to create, joining grants and conditions.
func (in RoleInput) MarshalJSON() ([]byte, error) {
	type plain RoleInput
	return json.Marshal(struct {
		plain
		Grants policy.GrantValues `json:"grants,omitempty"`
	}{plain(in), policy.JoinGrants(in.Grants, in.When)})
}

// MarshalJSON writes a role edit, joining grants and conditions; nil
// Grants leave the role's grants as they are.
func (in RoleUpdate) MarshalJSON() ([]byte, error) {
	type plain RoleUpdate
	return json.Marshal(struct {
		plain
		Grants policy.GrantValues `json:"grants,omitzero"`
	}{plain(in), policy.JoinGrants(in.Grants, in.When)})
}
