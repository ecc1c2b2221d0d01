package policy

import "strings"

// SearchResult is a module that matched a catalog search, with the
// permissions of it that matched. A module that matched by its own name or
// description lists every permission.
type SearchResult struct {
	Module      *Module
	Permissions []*Permission
}

// Search finds modules and permissions whose id, key, name or description
// contains every word of q, ignoring case (C8). An empty query matches
// everything. Results are in catalog order.
func (c *Catalog) Search(q string) []SearchResult {
	words := strings.Fields(strings.ToLower(q))
	matches := func(texts ...string) bool {
		hay := strings.ToLower(strings.Join(texts, " "))
		for _, w := range words {
			if !strings.Contains(hay, w) {
				return false
			}
		}
		return true
	}
	var out []SearchResult
	for _, m := range c.modules {
		group := ""
		if m.Parent != nil {
			group = m.Parent.Name
		}
		if matches(m.ID, m.Name, m.Description, group) {
			out = append(out, SearchResult{Module: m, Permissions: m.Permissions})
			continue
		}
		var ps []*Permission
		for _, p := range m.Permissions {
			if matches(p.Key, p.Action, p.Description, m.Name, group) {
				ps = append(ps, p)
			}
		}
		if len(ps) > 0 {
			out = append(out, SearchResult{Module: m, Permissions: ps})
		}
	}
	return out
}
