package policy

import (
	"regexp"
	"sort"
	"strings"
)

// identRE is the shape of module ids and action names: lowercase snake case (C1).
var identRE = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// SmartObjectsGroup is the id of the catalog group that holds a workspace's
// own object types (C9).
const SmartObjectsGroup = "smart_objects"

// buildCatalog turns module definitions into a Catalog, reporting every
// problem to p. The definitions are not modified.
func buildCatalog(std map[string]*actionDef, defs []*moduleDef, objects []SmartObject, p *problems) *Catalog {
	c := &Catalog{byModule: map[string]*Module{}, byKey: map[string]PermID{},
		defs: defs, actions: std, objects: objects}
	firstLine := map[string]int{}
	modOf := map[*moduleDef]*Module{}
	var walk func(defs []*moduleDef, parent *Module) []*Module
	walk = func(defs []*moduleDef, parent *Module) []*Module {
		var out []*Module
		for _, d := range defs {
			m := &Module{ID: d.id, Name: d.name, Description: d.description, Kind: d.kind,
				InternalOnly: d.internalOnly, SmartObject: d.smartObject, Parent: parent,
				Relations: d.relations, PredefinedRoles: d.predefined, Line: d.line}
			if m.Name == "" {
				m.Name = humanize(d.id)
			}
			if parent != nil && parent.InternalOnly {
				m.InternalOnly = true
			}
			switch {
			case !identRE.MatchString(d.id):
				p.add(d.line, "module id %q must be lowercase snake case (like payment_methods)", d.id)
			case firstLine[d.id] != 0:
				p.add(d.line, "duplicate module id %q (first defined at line %d)", d.id, firstLine[d.id])
				continue
			}
			if d.description == "" {
				p.add(d.line, "module %q needs a description (C8)", d.id)
			}
			firstLine[d.id] = max(d.line, 1)
			c.byModule[d.id] = m
			modOf[d] = m
			c.modules = append(c.modules, m)
			m.Children = walk(d.children, m)
			out = append(out, m)
		}
		return out
	}
	c.roots = walk(defs, nil)

	// Actions are resolved bottom-up (a parent's default depends on its
	// children) but permission ids are assigned top-down, in preorder.
	acts := map[*Module][]*actionDef{}
	var resolve func(defs []*moduleDef)
	resolve = func(defs []*moduleDef) {
		for _, d := range defs {
			resolve(d.children)
			if m := modOf[d]; m != nil {
				acts[m] = moduleActions(d, std, acts, modOf, p)
			}
		}
	}
	resolve(defs)

	keyLine := map[string]string{}
	for _, m := range c.modules {
		checkModule(m, acts[m], p)
		for _, a := range acts[m] {
			key := m.ID + "_" + a.name
			if other, dup := keyLine[key]; dup {
				p.add(a.line, "permission key %q of module %q collides with %s", key, m.ID, other)
				continue
			}
			keyLine[key] = "module " + quote(m.ID) + " action " + quote(a.name)
			perm := &Permission{ID: PermID(len(c.perms)), Key: key, Action: a.name, Module: m,
				Scoped: a.scoped, Description: strings.ReplaceAll(a.description, "{module}", m.Name)}
			if perm.Description == "" {
				perm.Description = humanize(a.name) + " " + m.Name
			}
			c.byKey[key] = perm.ID
			c.perms = append(c.perms, perm)
			m.Permissions = append(m.Permissions, perm)
			if m.Kind == Relation {
				c.relations = append(c.relations, perm.ID)
				for i, rel := range relationNames {
					if contains(m.Relations[rel], a.name) {
						perm.relations |= 1 << i
					}
				}
			}
		}
	}
	for _, m := range c.modules {
		for i, perm := range m.Permissions {
			for _, r := range acts[m][i].requires {
				if rp := m.permission(r); rp != nil {
					perm.Requires = append(perm.Requires, rp)
				}
			}
			if m.Kind == Relation {
				continue
			}
			for anc := m.Parent; anc != nil && perm.parent == nil; anc = anc.Parent {
				perm.parent = anc.permission(perm.Action)
			}
			if perm.parent != nil && perm.parent.Scoped != perm.Scoped {
				p.add(acts[m][i].line, "module %q: action %q must be scoped like %q of %q, which it inherits from (C6)",
					m.ID, perm.Action, perm.Action, perm.parent.Module.ID)
			}
		}
	}
	return c
}

// permission returns the module's permission for an action, or nil.
func (m *Module) permission(action string) *Permission {
	for _, p := range m.Permissions {
		if p.Action == action {
			return p
		}
	}
	return nil
}

// Permission returns the module's permission for an action.
func (m *Module) Permission(action string) (*Permission, bool) {
	p := m.permission(action)
	return p, p != nil
}

// moduleActions returns a module's actions: its own list, or for a module
// without one the actions its (non-relation) children share, or every
// standard action for a leaf.
func moduleActions(d *moduleDef, std map[string]*actionDef, acts map[*Module][]*actionDef, modOf map[*moduleDef]*Module, p *problems) []*actionDef {
	if d.actions != nil {
		return d.actions
	}
	var kids []*Module
	for _, cd := range d.children {
		if m := modOf[cd]; m != nil && m.Kind != Relation {
			kids = append(kids, m)
		}
	}
	if len(kids) == 0 {
		var out []*actionDef
		for _, name := range orderedActionNames(std) {
			a := std[name].clone()
			a.line = d.line
			out = append(out, a)
		}
		return out
	}
	var out []*actionDef
	for _, a := range acts[kids[0]] {
		shared, agree := true, true
		for _, k := range kids[1:] {
			ka := findAction(acts[k], a.name)
			shared = shared && ka != nil
			agree = agree && (ka == nil || ka.scoped == a.scoped)
		}
		if shared && !agree {
			p.add(d.line, "module %q: children disagree whether %q is scoped; declare the module's actions", d.id, a.name)
		}
		if shared {
			c := a.clone()
			c.line = d.line
			out = append(out, c)
		}
	}
	// A shared action may require one the children do not all share.
	for _, a := range out {
		kept := a.requires[:0]
		for _, r := range a.requires {
			if findAction(out, r) != nil {
				kept = append(kept, r)
			}
		}
		a.requires = kept
	}
	if len(out) == 0 {
		p.add(d.line, "module %q: its children share no action; declare its actions", d.id)
	}
	return out
}

func findAction(as []*actionDef, name string) *actionDef {
	for _, a := range as {
		if a.name == name {
			return a
		}
	}
	return nil
}

// orderedActionNames lists standard actions in C3's column order, then any
// others a catalog defines, alphabetically.
func orderedActionNames(std map[string]*actionDef) []string {
	var out []string
	for _, n := range standardOrder {
		if std[n] != nil {
			out = append(out, n)
		}
	}
	var rest []string
	for n := range std {
		if !contains(standardOrder, n) {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// checkModule reports action-level problems: bad names, duplicates, unknown
// requires, dependency cycles (C4) and the rules of relation modules (R10).
func checkModule(m *Module, acts []*actionDef, p *problems) {
	seen := map[string]bool{}
	for _, a := range acts {
		if !identRE.MatchString(a.name) {
			p.add(a.line, "module %q: action name %q must be lowercase snake case", m.ID, a.name)
		}
		if seen[a.name] {
			p.add(a.line, "module %q: duplicate action %q", m.ID, a.name)
		}
		seen[a.name] = true
	}
	for _, a := range acts {
		for _, r := range a.requires {
			if !seen[r] {
				p.add(a.line, "module %q: action %q requires unknown action %q", m.ID, a.name, r)
			}
		}
	}
	// Cycle detection over the requires graph: a permission that
	// (transitively) requires itself could never be granted.
	state := map[string]int{} // 0 new, 1 on the stack, 2 done
	var visit func(name string, path []string) bool
	visit = func(name string, path []string) bool {
		switch state[name] {
		case 1:
			p.add(findAction(acts, name).line, "module %q: dependency cycle %s", m.ID, strings.Join(append(path, name), " → "))
			return true
		case 2:
			return false
		}
		state[name] = 1
		if a := findAction(acts, name); a != nil {
			for _, r := range a.requires {
				if seen[r] && visit(r, append(path, name)) {
					state[name] = 2
					return true
				}
			}
		}
		state[name] = 2
		return false
	}
	for _, a := range acts {
		visit(a.name, nil)
	}

	if m.Kind != Relation {
		if m.Relations != nil || m.PredefinedRoles != nil {
			p.add(m.Line, "module %q: relations and predefined_roles are only for kind: relation", m.ID)
		}
		return
	}
	if len(m.Children) > 0 {
		p.add(m.Line, "relation module %q cannot have children", m.ID)
	}
	for _, a := range acts {
		if a.scoped {
			p.add(a.line, "relation module %q: action %q cannot be scoped; its reach comes from relations (R10)", m.ID, a.name)
		}
	}
	if len(m.Relations) == 0 {
		p.add(m.Line, "relation module %q: define relations (creator, responsible, participant, observer)", m.ID)
	}
	for _, rel := range sortedKeys(m.Relations) {
		if !contains(relationNames[:], rel) {
			p.add(m.Line, "relation module %q: unknown relation %q (use creator, responsible, participant or observer)", m.ID, rel)
		}
		allowed := m.Relations[rel]
		for _, an := range allowed {
			a := findAction(acts, an)
			if a == nil {
				p.add(m.Line, "relation module %q: relation %q allows unknown action %q", m.ID, rel, an)
				continue
			}
			for _, r := range a.requires {
				if !contains(allowed, r) {
					p.add(m.Line, "relation module %q: relation %q allows %q but not %q, which it requires (C4)", m.ID, rel, an, r)
				}
			}
		}
	}
	for _, role := range sortedKeys(m.PredefinedRoles) {
		for _, an := range sortedKeys(m.PredefinedRoles[role]) {
			if findAction(acts, an) == nil {
				p.add(m.Line, "relation module %q: predefined role %q names unknown action %q", m.ID, role, an)
			} else if l := m.PredefinedRoles[role][an]; l != LevelNone && l != LevelAll {
				p.add(m.Line, "relation module %q: predefined role %q: %s takes none or all", m.ID, role, an)
			}
		}
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// humanize turns "payment_methods" into "Payment methods".
func humanize(id string) string {
	s := strings.ReplaceAll(id, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
