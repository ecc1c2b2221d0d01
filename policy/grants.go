package policy

import (
	"fmt"
	"sort"
	"strings"
)

// Grants maps permission keys to levels: the explicit grants of a role
// revision or a member's direct grants. An unset key means LevelNone.
type Grants map[string]Level

// Clone returns a copy of g.
func (g Grants) Clone() Grants {
	out := make(Grants, len(g))
	for k, v := range g {
		out[k] = v
	}
	return out
}

// Audience says who a role is for, and what kind a member is (M1, M6).
type Audience string

// The two audiences.
const (
	Internal Audience = "internal"
	Client   Audience = "client"
)

// Valid reports whether a is internal or client.
func (a Audience) Valid() bool { return a == Internal || a == Client }

// Violation is one reason a grant set is rejected.
type Violation struct {
	Code       Code   `json:"code"`
	Permission string `json:"permission"`
	Level      string `json:"level,omitempty"`
	// Requires and RequiredLevel name the other side of a C4 pair.
	Requires      string `json:"requires,omitempty"`
	RequiredLevel string `json:"required_level,omitempty"`
	// InheritedFrom names the grant a level came from when it was not
	// explicit (C6), so a person can see which grant to change.
	InheritedFrom string   `json:"inherited_from,omitempty"`
	Suggestions   []string `json:"suggestions,omitempty"`
	Message       string   `json:"message"`
}

// codeRank orders violation codes: the error's code is the most basic
// problem, since a dependency cannot be judged on an unknown key.
var codeRank = map[Code]int{CodeUnknownPermission: 0, CodeInvalidArgument: 1, CodeAudienceMismatch: 2, CodeDependencyViolation: 3}

// violationsError returns nil for no violations, or an *Error whose code is
// that of the most basic violation and whose Details["violations"] lists all.
func violationsError(what string, vs []Violation) error {
	if len(vs) == 0 {
		return nil
	}
	sort.SliceStable(vs, func(i, j int) bool {
		if codeRank[vs[i].Code] != codeRank[vs[j].Code] {
			return codeRank[vs[i].Code] < codeRank[vs[j].Code]
		}
		return vs[i].Permission < vs[j].Permission
	})
	var b strings.Builder
	fmt.Fprintf(&b, "%s rejected: ", what)
	for i, v := range vs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(v.Message)
	}
	return &Error{Code: vs[0].Code, Message: b.String(), Details: map[string]any{"violations": vs}}
}

// ValidateGrants checks a role's grant set and returns every violation at
// once: unknown keys with suggestions (C1), levels an unscoped action cannot
// take (C5), grants on relation modules (R10), internal-only modules in a
// client role (M6), and every dependency broken after inheritance (C4, C6).
// It returns nil when the set is valid.
func (c *Catalog) ValidateGrants(g Grants, audience Audience) error {
	vs := c.checkKeys(g, audience)
	if len(vs) == 0 {
		vs = c.checkDependencies(c.resolve(g, audience), g)
	}
	return violationsError("grants", vs)
}

// checkKeys reports per-key problems: everything but C4.
func (c *Catalog) checkKeys(g Grants, audience Audience) []Violation {
	var vs []Violation
	for _, key := range sortedKeys(g) {
		l := g[key]
		id, ok := c.byKey[key]
		if !ok {
			e := c.unknownPermission(key)
			vs = append(vs, Violation{Code: CodeUnknownPermission, Permission: key,
				Suggestions: e.Details["suggestions"].([]string), Message: e.Message})
			continue
		}
		p := c.perms[id]
		switch {
		case !l.Valid():
			vs = append(vs, Violation{Code: CodeInvalidArgument, Permission: key,
				Message: fmt.Sprintf("%s: invalid level %d", key, l)})
		case p.Module.Kind == Relation:
			vs = append(vs, Violation{Code: CodeInvalidArgument, Permission: key, Level: l.String(),
				Message: fmt.Sprintf("%s cannot be granted: access to %s follows each member's relation to the record (R10)", key, p.Module.Name)})
		case !p.Allows(l):
			vs = append(vs, Violation{Code: CodeInvalidArgument, Permission: key, Level: l.String(),
				Message: fmt.Sprintf("%s takes only none or all, not %s (C5)", key, l)})
		case audience == Client && p.Module.InternalOnly && l > LevelNone:
			vs = append(vs, Violation{Code: CodeAudienceMismatch, Permission: key, Level: l.String(),
				Message: fmt.Sprintf("%s is internal only and cannot be granted to clients (M6)", key)})
		}
	}
	return vs
}

// DependencyOK reports whether permission p at level lp is allowed next to
// its required permission q at level lq (C4). Between two scoped actions the
// level may not exceed the required one (edit own needs view own or more).
// When either side is unscoped, any grant of p needs some grant of q:
// create (all) needs view at any level above none.
func DependencyOK(p *Permission, lp Level, q *Permission, lq Level) bool {
	if lp == LevelNone {
		return true
	}
	if p.Scoped && q.Scoped {
		return lp <= lq
	}
	return lq > LevelNone
}

// checkDependencies reports every C4 pair that v breaks. explicit are the
// grants being validated, so a violation can say which of them an inherited
// level came from.
func (c *Catalog) checkDependencies(v Vector, explicit Grants) []Violation {
	var vs []Violation
	for _, p := range c.perms {
		lp := v[p.ID]
		for _, q := range p.Requires {
			if lq := v[q.ID]; !DependencyOK(p, lp, q, lq) {
				viol := Violation{Code: CodeDependencyViolation, Permission: p.Key, Level: lp.String(),
					Requires: q.Key, RequiredLevel: lq.String()}
				if src := c.origin(explicit, p); src != nil && src != p {
					viol.InheritedFrom = src.Key
				}
				from := ""
				if viol.InheritedFrom != "" {
					from = " (inherited from " + viol.InheritedFrom + ")"
				}
				viol.Message = fmt.Sprintf("%s at %s%s requires %s at %s or higher, which is %s (C4)",
					p.Key, lp, from, q.Key, needed(p, lp, q), lq)
				vs = append(vs, viol)
			}
		}
	}
	return vs
}

// needed names the lowest level of q that DependencyOK accepts for p at lp.
func needed(p *Permission, lp Level, q *Permission) Level {
	if p.Scoped && q.Scoped {
		return lp
	}
	if q.Scoped {
		return LevelOwn
	}
	return LevelAll
}

// origin returns the permission whose explicit grant in g decides p's level
// under inheritance (C6): p itself, its nearest ancestor with a grant, or
// nil when nothing in g reaches p.
func (c *Catalog) origin(g Grants, p *Permission) *Permission {
	for q := p; q != nil; q = q.parent {
		if _, ok := g[q.Key]; ok {
			return q
		}
	}
	return nil
}
