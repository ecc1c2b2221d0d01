package web

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// The permission matrix: the catalog's module tree as rows, actions as
// columns, one level control per cell. The draft being edited is a grant
// set carried in the page's form, so the server computes every cell (C2,
// C4, C5, C6, M6, R10) from the same catalog code that validates a save.

// matrix is the whole editor grid for one draft.
type matrix struct {
	Audience policy.Audience
	Sections []section
	// Grants are the draft's explicit grants, sorted, for the hidden
	// fields that carry the draft between requests.
	Grants []grantField
	// Adjusted lists what a change lowered to keep C4 (a lowered view
	// lowers the edit, delete… that need it).
	Adjusted []string
	// ReadOnly draws the levels without controls: the session may read
	// roles but not change them (X6).
	ReadOnly bool
	// Limited is set when an acting member edits: levels above its own
	// are disabled (X3a), and so is Allow everything.
	Limited bool
}

// ceiling is what an acting member who is no owner may grant (X3a.1):
// nothing that raises a permission above its own effective level. Raises
// are measured from the role as saved, as admin measures them on save:
// a level the role already had is not a raise.
type ceiling struct {
	own   func(key string) policy.Level
	saved policy.Vector
}

// column is an action column's heading: custom actions (C3) are explained
// where they appear, since their names ("skip_cr") say little.
type column struct {
	Action, Label, Description string
	Custom                     bool
}

type grantField struct {
	Key   string
	Level policy.Level
	When  string // the grant's condition (G1), "" for none
}

// section is one top-level module (a group, or a module without one) and
// everything below it: one collapsible table.
type section struct {
	ID, Name, Description string
	Columns               []string
	Heads                 []column
	Rows                  []row
	Relation              bool
	// Open keeps the section expanded: it holds explicit grants, or it
	// was just edited.
	Open bool
}

type row struct {
	ID, Name, Description string
	Depth                 int
	Cells                 []cell
	// Relation modules are not granted by roles (R10); Rules explains
	// what each relation allows instead.
	Relation bool
	Rules    string
	// Search is the text the filter box matches: names, ids, permission
	// keys and descriptions.
	Search string
}

// cell is one (module, action): blank when the module does not support the
// action (C2).
type cell struct {
	Blank       bool
	Key         string // the permission, e.g. leads_edit
	Label       string // "Leads: edit"
	Description string
	Level       policy.Level
	LevelLabel  string
	Explicit    bool
	// From is the ancestor permission an inherited level comes from (C6).
	From string
	// CanInherit is set when clearing the cell would inherit from a parent.
	CanInherit bool
	Options    []option
	// Next is the value a click sets: the next allowed level, cycling;
	// Op is the editor action that sets it.
	Next, Op string
	// Locked explains a cell that cannot be changed at all (M6).
	Locked string
	// Forbidden explains the options C4 forbids, for screen readers.
	Forbidden string
	// When is the condition of the cell's own grant: a "custom" cell
	// (G1, G5), edited in place; ValidateURL answers it as it is typed.
	When, ValidateURL string
	// InheritedWhen is the condition of the ancestor grant an inherited
	// level comes from (From): the cell is custom too, edited at From.
	InheritedWhen string
}

// option is one level a cell can take.
type option struct {
	Value   string // a level, or "inherit"
	Label   string
	Short   string // the letter on the button
	Op      string // the editor action that sets it
	Current bool
	Allowed bool
	Reason  string // why not allowed
	level   policy.Level
}

// standardActions order the columns; custom actions follow in catalog
// order (C3).
var standardActions = []string{"view", "create", "edit", "delete", "export"}

const inherit = "inherit"

// levelsOf lists the levels a permission can take (C5).
func levelsOf(p *policy.Permission) []policy.Level {
	if p.Scoped {
		return []policy.Level{policy.LevelNone, policy.LevelOwn, policy.LevelDepartment, policy.LevelSubdepartments, policy.LevelAll}
	}
	return []policy.Level{policy.LevelNone, policy.LevelAll}
}

// buildMatrix lays out the draft g of a role of audience aud over cat.
// open names sections to show expanded besides those with grants. lim,
// when not nil, disables the levels an acting member may not grant.
func buildMatrix(cat *policy.Catalog, aud policy.Audience, g policy.Grants, open map[string]bool, lim *ceiling) matrix {
	resolved := cat.Resolve(g, aud)
	m := matrix{Audience: aud, Limited: lim != nil}
	m.Grants = sortedGrants(g)
	for _, top := range cat.Modules() {
		s := section{ID: top.ID, Name: top.Name, Description: top.Description, Relation: top.Kind == policy.Relation, Open: open[top.ID]}
		s.Columns = columns(top)
		s.Heads = heads(top, s.Columns)
		var walk func(md *policy.Module, depth int)
		walk = func(md *policy.Module, depth int) {
			r := row{ID: md.ID, Name: md.Name, Description: md.Description, Depth: depth, Relation: md.Kind == policy.Relation}
			search := []string{md.ID, md.Name, md.Description}
			if r.Relation {
				r.Rules = relationRules(md)
			}
			for _, a := range s.Columns {
				p, ok := md.Permission(a)
				if !ok {
					r.Cells = append(r.Cells, cell{Blank: true})
					continue
				}
				search = append(search, p.Key, p.Description)
				c := buildCell(cat, aud, g, resolved, p, lim)
				if c.Explicit {
					s.Open = true
				}
				r.Cells = append(r.Cells, c)
			}
			r.Search = strings.ToLower(strings.Join(search, " "))
			s.Rows = append(s.Rows, r)
			for _, ch := range md.Children {
				walk(ch, depth+1)
			}
		}
		walk(top, 0)
		m.Sections = append(m.Sections, s)
	}
	return m
}

// columns are the actions of a module and its descendants: the standard
// ones first, then custom actions in the order the catalog lists them.
func columns(top *policy.Module) []string {
	seen := map[string]bool{}
	var custom []string
	var walk func(md *policy.Module)
	walk = func(md *policy.Module) {
		for _, p := range md.Permissions {
			if !seen[p.Action] {
				seen[p.Action] = true
				if !slices.Contains(standardActions, p.Action) {
					custom = append(custom, p.Action)
				}
			}
		}
		for _, ch := range md.Children {
			walk(ch)
		}
	}
	walk(top)
	var out []string
	for _, a := range standardActions {
		if seen[a] {
			out = append(out, a)
		}
	}
	return append(out, custom...)
}

// heads describes a section's columns: a custom action takes the
// description of its first permission in the section.
func heads(top *policy.Module, cols []string) []column {
	out := make([]column, len(cols))
	for i, a := range cols {
		out[i] = column{Action: a, Label: actionLabel(a), Custom: !slices.Contains(standardActions, a)}
		if !out[i].Custom {
			continue
		}
		var find func(md *policy.Module) bool
		find = func(md *policy.Module) bool {
			if p, ok := md.Permission(a); ok && p.Description != "" {
				out[i].Description = p.Description
				return true
			}
			return slices.ContainsFunc(md.Children, find)
		}
		find(top)
	}
	return out
}

func buildCell(cat *policy.Catalog, aud policy.Audience, g policy.Grants, resolved policy.Vector, p *policy.Permission, lim *ceiling) cell {
	c := cell{Key: p.Key, Label: p.Module.Name + ": " + actionLabel(p.Action), Description: p.Description, Level: resolved[p.ID]}
	c.LevelLabel = levelLabel(c.Level)
	_, c.Explicit = g[p.Key]
	if !c.Explicit {
		for q := p.InheritsFrom(); q != nil; q = q.InheritsFrom() {
			if _, ok := g[q.Key]; ok {
				c.From = q.Key
				break
			}
		}
	}
	c.CanInherit = p.InheritsFrom() != nil
	if p.Module.Kind == policy.Relation {
		c.Locked = "Access to " + p.Module.Name + " follows each member's relation to the record (R10); roles do not grant it."
		return c
	}
	if aud == policy.Client && p.Module.InternalOnly {
		c.Locked = p.Module.Name + " is internal only: client roles can never grant it (M6)."
		return c
	}
	var forbidden []string
	if c.CanInherit {
		inherited := c.Level
		if c.Explicit {
			without := maps.Clone(g)
			delete(without, p.Key)
			inherited = cat.Resolve(without, aud)[p.ID]
		}
		c.Options = append(c.Options, option{Value: inherit, Label: "Inherit", level: inherited, Current: !c.Explicit, Allowed: true})
	}
	for _, l := range levelsOf(p) {
		o := option{Value: l.String(), Label: levelLabel(l), level: l, Current: c.Explicit && g[p.Key] == l || !c.Explicit && !c.CanInherit && l == c.Level, Allowed: true}
		for _, q := range p.Requires {
			if !policy.DependencyOK(p, l, q, resolved[q.ID]) {
				o.Allowed = false
				o.Reason = fmt.Sprintf("%s needs %s: %s at %s or more; it is %s (C4)", levelLabel(l), q.Module.Name, actionLabel(q.Action), levelLabel(minNeeded(p, l, q)), levelLabel(resolved[q.ID]))
				break
			}
		}
		if o.Allowed && lim != nil {
			o.Allowed, o.Reason = lim.allows(cat, aud, g, resolved, p, o.Value)
		}
		if !o.Allowed {
			forbidden = append(forbidden, o.Reason)
		}
		c.Options = append(c.Options, o)
	}
	if lim != nil && c.CanInherit && c.Explicit {
		// Inheriting can raise too: a child set below its group's level.
		o := &c.Options[0]
		if o.Allowed, o.Reason = lim.allows(cat, aud, g, resolved, p, inherit); !o.Allowed {
			forbidden = append(forbidden, o.Reason)
		}
	}
	for i := range c.Options {
		o := &c.Options[i]
		o.Short, o.Op = o.Label[:1], "set:"+p.Key+"="+o.Value
	}
	c.Next = nextOption(c.Options)
	c.Op = "set:" + p.Key + "=" + c.Next
	if len(forbidden) > 0 {
		c.Forbidden = "Not available: " + strings.Join(forbidden, "; ")
	}
	return c
}

// allows reports whether setting p to value (a level or inherit) in the
// draft g, whose levels are resolved, keeps every level it changes within
// the acting member's own or at most what the saved role had (X3a.1), and
// if not, why. Only raises are looked at: a lower level never escalates.
func (lim *ceiling) allows(cat *policy.Catalog, aud policy.Audience, g policy.Grants, resolved policy.Vector, p *policy.Permission, value string) (bool, string) {
	if value != inherit {
		l, _ := policy.ParseLevel(value)
		if l <= resolved[p.ID] {
			return true, ""
		}
		if own := lim.own(p.Key); l > own && l > lim.saved[p.ID] {
			return false, fmt.Sprintf("%s is above your own level (%s) of %s: %s (X3a)", levelLabel(l), levelLabel(own), p.Module.Name, actionLabel(p.Action))
		}
	}
	next := maps.Clone(g)
	if value == inherit {
		delete(next, p.Key)
	} else {
		l, _ := policy.ParseLevel(value)
		next[p.Key] = l
	}
	after := cat.Resolve(next, aud)
	for _, q := range cat.Permissions() {
		l := after[q.ID]
		if l <= resolved[q.ID] || l <= lim.saved[q.ID] {
			continue
		}
		if own := lim.own(q.Key); l > own {
			if q == p {
				return false, fmt.Sprintf("%s would be %s, above your own level (%s) (X3a)", p.Key, levelLabel(l), levelLabel(own))
			}
			return false, fmt.Sprintf("%s would give %s: %s %s, above your own level (%s) (X3a)", levelLabel(l), q.Module.Name, actionLabel(q.Action), levelLabel(l), levelLabel(own))
		}
	}
	return true, ""
}

// minNeeded is the lowest level of q that lets p take l (C4).
func minNeeded(p *policy.Permission, l policy.Level, q *policy.Permission) policy.Level {
	if p.Scoped && q.Scoped {
		return l
	}
	if q.Scoped {
		return policy.LevelOwn
	}
	return policy.LevelAll
}

// nextOption is what a click on a cell sets: the next allowed option
// after the current one, wrapping around, that shows a different level (a
// click on an inherited None goes to Own, not to an explicit None).
func nextOption(opts []option) string {
	cur := slices.IndexFunc(opts, func(o option) bool { return o.Current })
	if cur < 0 {
		cur = 0
	}
	for i := 1; i < len(opts); i++ {
		o := opts[(cur+i)%len(opts)]
		if o.Allowed && o.level != opts[cur].level {
			return o.Value
		}
	}
	return opts[cur].Value
}

// actionLabel is how an action reads as a column: "skip_cr" is "Skip CR"
// (a short word after the first is an abbreviation).
func actionLabel(a string) string {
	words := strings.Split(a, "_")
	for i, w := range words {
		switch {
		case w == "":
		case i == 0:
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		case len(w) <= 2:
			words[i] = strings.ToUpper(w)
		}
	}
	return strings.Join(words, " ")
}

func relationRules(md *policy.Module) string {
	var parts []string
	for _, rel := range []string{policy.RelCreator, policy.RelResponsible, policy.RelParticipant, policy.RelObserver} {
		if acts, ok := md.Relations[rel]; ok {
			parts = append(parts, rel+": "+strings.Join(acts, ", "))
		}
	}
	return strings.Join(parts, " · ")
}

// setLevel applies one cell change to draft g and then lowers, as
// explicit grants, every level that the change left above what it requires
// (C4): lowering a view lowers the edit and delete built on it. It returns
// the adjustments, for the person to see.
func setLevel(cat *policy.Catalog, aud policy.Audience, g policy.Grants, key, value string) ([]string, error) {
	p, err := cat.PermissionByKey(key)
	if err != nil {
		return nil, err
	}
	switch value {
	case inherit:
		delete(g, key)
	default:
		l, err := policy.ParseLevel(value)
		if err != nil || !p.Allows(l) {
			return nil, policy.Errorf(policy.CodeInvalidArgument, "%s cannot take the level %q (C5)", key, value)
		}
		if l == policy.LevelNone && p.InheritsFrom() == nil {
			delete(g, key) // unset is none at the top of the tree
		} else {
			g[key] = l
		}
	}
	return settle(cat, aud, g), nil
}

// settle lowers levels that break C4 until none does. Each pass only
// lowers, so it ends; the catalog's dependencies are acyclic.
func settle(cat *policy.Catalog, aud policy.Audience, g policy.Grants) []string {
	var adjusted []string
	for range cat.NumPermissions() + 1 {
		resolved := cat.Resolve(g, aud)
		changed := false
		for _, p := range cat.Permissions() {
			if p.Module.Kind == policy.Relation {
				continue // not granted by roles (R10)
			}
			lp := resolved[p.ID]
			best := lp
			for _, q := range p.Requires {
				for best > policy.LevelNone && !policy.DependencyOK(p, best, q, resolved[q.ID]) {
					best = lower(p, best)
				}
			}
			if best != lp {
				g[p.Key] = best
				adjusted = append(adjusted, fmt.Sprintf("%s: %s lowered to %s", p.Module.Name, actionLabel(p.Action), levelLabel(best)))
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	return adjusted
}

// lower is the next level below l that p can take.
func lower(p *policy.Permission, l policy.Level) policy.Level {
	for l > policy.LevelNone {
		l--
		if p.Allows(l) {
			return l
		}
	}
	return policy.LevelNone
}
