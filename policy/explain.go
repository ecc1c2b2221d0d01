package policy

import "fmt"

// Explanation is the full trace of a decision (D6), structured so that a UI
// can render it and a person can act on it.
type Explanation struct {
	User       string   `json:"user"`
	Permission string   `json:"permission"`
	Module     string   `json:"module"`
	Action     string   `json:"action"`
	Member     bool     `json:"member"`
	Owner      bool     `json:"owner"` // workspace owner (W4)
	Kind       Audience `json:"kind,omitempty"`
	// Roles lists every role the member holds, at the revision it holds.
	Roles []RoleTrace `json:"roles"`
	// Direct is the member's direct grant reaching the permission, if any.
	Direct *GrantTrace `json:"direct,omitempty"`
	// DecidedBy names the source of the effective level.
	DecidedBy string `json:"decided_by"`
	Level     Level  `json:"level"`
	// Requires lists the permissions this one depends on (C4) and the
	// member's level of each.
	Requires []Requirement `json:"requires,omitempty"`
	// Scope is the evaluation against the record, when one was given.
	Scope *ScopeTrace `json:"scope,omitempty"`
	// Conditions lists every conditional grant reaching the permission,
	// its value on the record and whether it decided (G5).
	Conditions []ConditionTrace `json:"conditions,omitempty"`
	// Redundant lists the member's direct grants that add nothing (M5).
	Redundant []string `json:"redundant_grants,omitempty"`
	Decision  Decision `json:"decision"`
	// Hints are next steps for a denied decision, after s3's checklist.
	Hints []string `json:"hints,omitempty"`
}

// RoleTrace is what one role revision contributes.
type RoleTrace struct {
	RoleID   string `json:"role_id"`
	Name     string `json:"name"`
	Revision int64  `json:"revision"`
	Level    Level  `json:"level"`
	// Source is "explicit", "inherited", "relation", "predefined" or "none".
	Source string `json:"source"`
	// From is the grant that gave the level: the permission itself when
	// explicit, the ancestor module's permission when inherited (C6).
	From     string   `json:"from,omitempty"`
	Orphaned []string `json:"orphaned_grants,omitempty"`
}

// GrantTrace is what the member's direct grants contribute (M5).
type GrantTrace struct {
	Level     Level  `json:"level"`
	From      string `json:"from"`
	Redundant bool   `json:"redundant"`
}

// Requirement is one C4 dependency of the explained permission.
type Requirement struct {
	Permission string `json:"permission"`
	Level      Level  `json:"level"`
	Satisfied  bool   `json:"satisfied"`
}

// ScopeTrace is how the level was applied to the record (D2, R10).
type ScopeTrace struct {
	Record Resource `json:"record"`
	Steps  []string `json:"steps"`
}

// Explain returns the trace behind CheckRecord(user, permission, r). Its
// Decision is exactly what CheckRecord returns. An unknown permission is an
// unknown_permission error with suggestions (C1).
func (s *Snapshot) Explain(user, permission string, r *Resource) (*Explanation, error) {
	return s.ExplainContext(user, permission, r, nil)
}

// ExplainContext is Explain with a request context for grant conditions
// (G1, G5).
func (s *Snapshot) ExplainContext(user, permission string, r *Resource, ctx Context) (*Explanation, error) {
	perm, err := s.cat.PermissionByKey(permission)
	if err != nil {
		return nil, err
	}
	d, _ := s.CheckContext(user, permission, r, ctx)
	e := &Explanation{User: user, Permission: perm.Key, Module: perm.Module.ID, Action: perm.Action,
		Roles: []RoleTrace{}, Decision: d, Level: d.Level}
	mi, ok := s.byUser.lookup(s, user)
	if !ok {
		e.DecidedBy = "not a member"
		e.Hints = append(e.Hints, fmt.Sprintf("%q is not a member of workspace %q: check the user id and the workspace", user, s.workspace))
		return e, nil
	}
	m := s.members.at(int(mi))
	a := &s.accesses[m.access]
	vec := s.accessVector(a)
	e.Member, e.Owner, e.Kind = true, a.owner, m.kind()
	best := LevelNone
	for _, ri := range a.roles {
		cr := &s.roles[ri]
		t := RoleTrace{RoleID: cr.RoleID, Name: cr.Name, Revision: cr.Revision, Level: cr.vec[perm.ID],
			Source: "none", Orphaned: cr.orphaned}
		switch {
		case perm.Module.Kind == Relation && t.Level == LevelAll:
			t.Source = "predefined"
		case perm.Module.Kind == Relation && t.Level > LevelNone:
			t.Source = "relation"
		default:
			if src := s.cat.origin(cr.Grants, perm); src == perm {
				t.Source, t.From = "explicit", src.Key
			} else if src != nil {
				t.Source, t.From = "inherited", src.Key
			}
		}
		if t.Level > best {
			best, e.DecidedBy = t.Level, fmt.Sprintf("role %q (%s@%d)", cr.Name, cr.RoleID, cr.Revision)
		}
		e.Roles = append(e.Roles, t)
	}
	if a.owner && (m.kind() != Client || !perm.Module.InternalOnly) {
		e.DecidedBy = "workspace owner"
	}
	if src := s.cat.origin(a.directGrants(), perm); src != nil {
		dl := s.cat.resolve(a.direct.grants, m.kind())[perm.ID]
		e.Direct = &GrantTrace{Level: dl, From: src.Key, Redundant: dl <= a.direct.base[perm.ID]}
		if !e.Direct.Redundant && !a.owner {
			e.DecidedBy = "direct grant " + src.Key
		}
	}
	if e.DecidedBy == "" {
		e.DecidedBy = "no grant"
	}
	for _, q := range perm.Requires {
		e.Requires = append(e.Requires, Requirement{Permission: q.Key, Level: vec[q.ID],
			Satisfied: DependencyOK(perm, vec[perm.ID], q, vec[q.ID])})
	}
	e.Redundant = s.redundant(a)
	if s.hasConditional(a, perm.ID) {
		e.Conditions = s.conditionTraces(user, mi, perm.ID, a, r, ctx, d)
		if d.Conditional && d.Allowed {
			for _, c := range e.Conditions {
				if c.Decided {
					e.DecidedBy = "conditional grant " + c.From + " of " + c.Source
				}
			}
		}
	}
	if r != nil {
		e.Scope = s.scopeTrace(user, mi, perm, vec[perm.ID], r)
	}
	if !d.Allowed {
		e.Hints = s.hints(e, perm)
	}
	return e, nil
}

func (s *Snapshot) scopeTrace(user string, mi int32, perm *Permission, l Level, r *Resource) *ScopeTrace {
	m := s.members.at(int(mi))
	t := &ScopeTrace{Record: *r}
	add := func(f string, args ...any) { t.Steps = append(t.Steps, fmt.Sprintf(f, args...)) }
	switch {
	case l == LevelNone:
		add("level none reaches no record")
	case l == LevelAll:
		add("level all reaches every record")
	case perm.relations != 0:
		for i, name := range relationNames {
			if perm.relations&(1<<i) != 0 {
				add("%s allows %s: %s is %s", name, perm.Action, user, yesNo(contains(r.Relations.list(i), user), "listed", "not listed"))
			}
		}
	default:
		add("owner is %q: %s", r.OwnerID, yesNo(r.OwnerID == user, "the member owns the record", "not the member"))
		add("relations.responsible %s %s", yesNo(contains(r.Relations.Responsible, user), "includes", "does not include"), user)
		if l < LevelDepartment {
			add("level own reaches only records the member owns or is responsible for")
			break
		}
		mine := s.deptIDs(s.memberDepts(m))
		if r.DepartmentID != "" {
			add("record department %q; member departments %v; level %s", r.DepartmentID, mine, l)
		} else if oi, ok := s.byUser.lookup(s, r.OwnerID); ok {
			add("record has no department: using its owner's departments %v; member departments %v; level %s",
				s.deptIDs(s.memberDepts(s.members.at(int(oi)))), mine, l)
		} else {
			add("record has no department and its owner %q is not a member: no department to match", r.OwnerID)
		}
		add("result: %s", s.scope(user, mi, l, r))
	}
	return t
}

func (s *Snapshot) hints(e *Explanation, perm *Permission) []string {
	var h []string
	switch {
	case !e.Member:
	case e.Level == LevelNone && perm.Module.Kind == Relation:
		h = append(h, fmt.Sprintf("%s follows relations to the record; no relation of this member allows %s", perm.Module.Name, perm.Action))
	case e.Level == LevelNone:
		h = append(h, fmt.Sprintf("none of the member's roles grants %s or a module above it: grant it on a role, or add a direct grant", perm.Key))
		for _, t := range e.Roles {
			if t.Source == "explicit" {
				h = append(h, fmt.Sprintf("role %q sets %s to none explicitly, which overrides grants on parent modules (C6)", t.Name, perm.Key))
			}
		}
	default:
		h = append(h, fmt.Sprintf("the member's level %s does not reach this record: raise the level, or check the record's owner and department", e.Level))
	}
	if e.Member && e.Kind == Client && perm.Module.InternalOnly {
		h = append(h, perm.Key+" is internal only: client members can never hold it (M6)")
	}
	return h
}

func yesNo(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

// Redundant returns a member's direct grants that add nothing over its
// roles: at or below the level the roles already give (M5). They are kept,
// and reported.
func (s *Snapshot) Redundant(user string) []string {
	i, ok := s.byUser.lookup(s, user)
	if !ok {
		return nil
	}
	return s.redundant(&s.accesses[s.members.at(int(i)).access])
}

func (s *Snapshot) redundant(a *access) []string {
	if a.direct == nil {
		return nil
	}
	return s.cat.redundantGrants(a.direct.grants, a.direct.base)
}
