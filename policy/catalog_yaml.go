package policy

import (
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The catalog YAML schema (version 1):
//
//	version: 1
//	actions:                 # standard actions, usable by name in any module
//	  view: {scoped: true, description: "See {module}"}
//	  edit: {scoped: true, requires: [view], description: "Change {module}"}
//	modules:
//	  - id: crm              # lowercase snake case, unique across the tree
//	    name: CRM
//	    description: Customer records
//	    internal_only: false # inherited by descendants (M6)
//	    actions: [view, edit, {name: skip_cr, scoped: false, requires: [edit]}]
//	    children: [...]
//	  - id: tasks
//	    kind: relation       # R10: decided by relations, not by roles
//	    actions: [view, edit, delete]
//	    relations: {creator: [view, edit, delete], observer: [view]}
//	    predefined_roles: {head: {view: all}}
//
// A module without `actions` gets the actions all its children share, or,
// for a leaf, every standard action. "{module}" in a description is replaced
// by the module's name.

// ParseCatalog parses and validates a catalog YAML document. name is used in
// error messages ("catalog.yaml:12: …"). On failure it returns an
// invalid_argument *Error whose message names every problem with its line,
// and whose Details["problems"] lists them.
func ParseCatalog(name string, data []byte) (*Catalog, error) {
	p := &problems{src: name}
	doc := parseCatalogDoc(data, p)
	if err := p.err("catalog"); err != nil {
		return nil, err
	}
	c := buildCatalog(doc.actions, doc.modules, nil, p)
	if err := p.err("catalog"); err != nil {
		return nil, err
	}
	return c, nil
}

// problem is one thing wrong with a source document, at a line (0: none).
type problem struct {
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

// problems collects every problem of a document, so that one load reports
// all of them rather than the first.
type problems struct {
	src  string
	list []problem
}

func (p *problems) add(line int, format string, args ...any) {
	p.list = append(p.list, problem{Line: line, Message: fmt.Sprintf(format, args...)})
}

func (p *problems) err(what string) error {
	if len(p.list) == 0 {
		return nil
	}
	sort.SliceStable(p.list, func(i, j int) bool { return p.list[i].Line < p.list[j].Line })
	var b strings.Builder
	fmt.Fprintf(&b, "invalid %s", what)
	for _, pr := range p.list {
		b.WriteString("\n  ")
		switch {
		case pr.Line > 0 && p.src != "":
			fmt.Fprintf(&b, "%s:%d: ", p.src, pr.Line)
		case pr.Line > 0:
			fmt.Fprintf(&b, "line %d: ", pr.Line)
		}
		b.WriteString(pr.Message)
	}
	return &Error{Code: CodeInvalidArgument, Message: b.String(),
		Details: map[string]any{"problems": append([]problem(nil), p.list...)}}
}

type catalogDoc struct {
	actions map[string]*actionDef
	modules []*moduleDef
}

type moduleDef struct {
	id, name, description string
	kind                  ModuleKind
	internalOnly          bool
	smartObject           bool
	actions               []*actionDef // nil: derived (see the schema above)
	relations             map[string][]string
	predefined            map[string]map[string]Level
	children              []*moduleDef
	line                  int
}

type actionDef struct {
	name        string
	scoped      bool
	requires    []string
	description string
	line        int
}

func (a *actionDef) clone() *actionDef {
	c := *a
	c.requires = append([]string(nil), a.requires...)
	return &c
}

func parseCatalogDoc(data []byte, p *problems) *catalogDoc {
	doc := &catalogDoc{actions: standardActions()}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		p.add(0, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		return doc
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 {
		p.add(0, "the document is empty")
		return doc
	}
	top := fields(root.Content[0], p, "catalog", "version", "actions", "modules")
	if v := top["version"]; v == nil {
		p.add(root.Content[0].Line, "missing version: 1")
	} else if v.Value != "1" {
		p.add(v.Line, "unsupported version %q: this Gatehouse reads version 1", v.Value)
	}
	if n := top["actions"]; n != nil {
		doc.actions = map[string]*actionDef{}
		for _, kv := range pairs(n, p, "actions") {
			a := parseActionFields(kv.val, p, kv.key.Value)
			a.line = kv.key.Line
			doc.actions[a.name] = a
		}
	}
	if n := top["modules"]; n == nil {
		p.add(root.Content[0].Line, "missing modules")
	} else {
		doc.modules = parseModules(n, doc.actions, p)
	}
	return doc
}

func parseModules(n *yaml.Node, std map[string]*actionDef, p *problems) []*moduleDef {
	if n.Kind != yaml.SequenceNode {
		p.add(n.Line, "modules must be a list")
		return nil
	}
	var out []*moduleDef
	for _, mn := range n.Content {
		mn = deref(mn)
		f := fields(mn, p, "module", "id", "name", "description", "kind", "internal_only",
			"actions", "children", "relations", "predefined_roles")
		m := &moduleDef{line: mn.Line, id: str(f["id"], p), name: str(f["name"], p),
			description: str(f["description"], p), internalOnly: boolean(f["internal_only"], p)}
		if m.id == "" {
			p.add(mn.Line, "module without id")
		}
		if k := f["kind"]; k != nil {
			switch k.Value {
			case "scoped":
			case "relation":
				m.kind = Relation
			default:
				p.add(k.Line, "module %q: unknown kind %q (use scoped or relation)", m.id, k.Value)
			}
		}
		if an := f["actions"]; an != nil {
			m.actions = []*actionDef{}
			if an.Kind != yaml.SequenceNode {
				p.add(an.Line, "module %q: actions must be a list", m.id)
			}
			for _, item := range an.Content {
				item = deref(item)
				m.actions = append(m.actions, parseActionItem(item, std, m.id, p))
			}
		}
		if r := f["relations"]; r != nil {
			m.relations = map[string][]string{}
			for _, kv := range pairs(r, p, "relations") {
				m.relations[kv.key.Value] = strs(kv.val, p)
			}
		}
		if r := f["predefined_roles"]; r != nil {
			m.predefined = map[string]map[string]Level{}
			for _, kv := range pairs(r, p, "predefined_roles") {
				lv := map[string]Level{}
				for _, al := range pairs(kv.val, p, "predefined_roles."+kv.key.Value) {
					l, err := ParseLevel(al.val.Value)
					if err != nil {
						p.add(al.val.Line, "module %q: %s", m.id, err.Error())
					}
					lv[al.key.Value] = l
				}
				m.predefined[kv.key.Value] = lv
			}
		}
		if c := f["children"]; c != nil {
			m.children = parseModules(c, std, p)
		}
		out = append(out, m)
	}
	return out
}

func parseActionItem(n *yaml.Node, std map[string]*actionDef, module string, p *problems) *actionDef {
	if n.Kind == yaml.ScalarNode {
		a, ok := std[n.Value]
		if !ok {
			p.add(n.Line, "module %q: %q is not a standard action; define it as {name: %s, scoped: …, requires: […]}", module, n.Value, n.Value)
			return &actionDef{name: n.Value, line: n.Line}
		}
		c := a.clone()
		c.line = n.Line
		return c
	}
	f := fields(n, p, "action", "name", "scoped", "requires", "description")
	name := str(f["name"], p)
	a := &actionDef{name: name}
	if s, ok := std[name]; ok {
		a = s.clone()
	}
	if name == "" {
		p.add(n.Line, "module %q: action without name", module)
	}
	mergeActionFields(a, n, p)
	a.line = n.Line
	return a
}

func parseActionFields(n *yaml.Node, p *problems, name string) *actionDef {
	a := &actionDef{name: name, line: n.Line}
	mergeActionFields(a, n, p)
	return a
}

// mergeActionFields applies scoped, requires and description from n onto a;
// the name key is accepted and ignored here (the caller read it).
func mergeActionFields(a *actionDef, n *yaml.Node, p *problems) {
	f := fields(n, p, "action", "name", "scoped", "requires", "description")
	if v := f["scoped"]; v != nil {
		a.scoped = boolean(v, p)
	}
	if v := f["requires"]; v != nil {
		a.requires = strs(v, p)
	}
	if v := f["description"]; v != nil {
		a.description = str(v, p)
	}
}

// deref follows a YAML alias (*name) to the node it names.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

type keyVal struct{ key, val *yaml.Node }

// pairs returns a mapping's entries in order, reporting duplicate keys.
func pairs(n *yaml.Node, p *problems, what string) []keyVal {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		p.add(n.Line, "%s must be a mapping", what)
		return nil
	}
	seen := map[string]int{}
	var out []keyVal
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if first, dup := seen[k.Value]; dup {
			p.add(k.Line, "%s: duplicate key %q (first at line %d)", what, k.Value, first)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, keyVal{k, deref(n.Content[i+1])})
	}
	return out
}

// fields returns a mapping's values by key, reporting keys not in allowed:
// a typo in a catalog must not silently drop a setting.
func fields(n *yaml.Node, p *problems, what string, allowed ...string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	for _, kv := range pairs(n, p, what) {
		kv.val = deref(kv.val)
		ok := false
		for _, a := range allowed {
			ok = ok || a == kv.key.Value
		}
		if !ok {
			p.add(kv.key.Line, "%s: unknown field %q (known: %s)", what, kv.key.Value, strings.Join(allowed, ", "))
			continue
		}
		out[kv.key.Value] = kv.val
	}
	return out
}

func str(n *yaml.Node, p *problems) string {
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		p.add(n.Line, "expected a string")
		return ""
	}
	return n.Value
}

func boolean(n *yaml.Node, p *problems) bool {
	if n == nil {
		return false
	}
	switch n.Value {
	case "true":
		return true
	case "false":
		return false
	}
	p.add(n.Line, "expected true or false, got %q", n.Value)
	return false
}

func strs(n *yaml.Node, p *problems) []string {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		p.add(n.Line, "expected a list")
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for _, c := range n.Content {
		out = append(out, str(c, p))
	}
	return out
}

// standardActions are the actions of C3 and their dependencies (C4), used
// when a catalog does not define its own.
func standardActions() map[string]*actionDef {
	return map[string]*actionDef{
		"view":   {name: "view", scoped: true, description: "See {module}"},
		"create": {name: "create", requires: []string{"view"}, description: "Create {module}"},
		"edit":   {name: "edit", scoped: true, requires: []string{"view"}, description: "Change {module}"},
		"delete": {name: "delete", scoped: true, requires: []string{"edit"}, description: "Delete {module}"},
		"export": {name: "export", scoped: true, requires: []string{"view"}, description: "Export {module}"},
	}
}

// standardOrder is the column order of C3's standard actions.
var standardOrder = []string{"view", "create", "edit", "delete", "export"}
