package policy

import (
	"sort"
	"unicode/utf8"
)

// SmartObject is a workspace's own object type (C9). It becomes a module
// under the smart_objects group with the standard actions, and then behaves
// like any catalog module: levels, dependencies and inheritance from
// smart_objects_* grants.
type SmartObject struct {
	ID          string
	Name        string
	Description string
}

// Validate checks an object type's own fields: a snake-case id, a name of 1
// to 100 characters and a description of at most 500.
func (o SmartObject) Validate() error {
	switch n := utf8.RuneCountInString(o.Name); {
	case !identRE.MatchString(o.ID) || len(o.ID) > 64:
		return Errorf(CodeInvalidArgument, "smart object id %q must be lowercase snake case of at most 64 characters (like service_requests)", o.ID)
	case n < 1 || n > 100 || !utf8.ValidString(o.Name):
		return Errorf(CodeInvalidArgument, "smart object name must be 1 to 100 characters")
	case utf8.RuneCountInString(o.Description) > 500 || !utf8.ValidString(o.Description):
		return Errorf(CodeInvalidArgument, "smart object description must be at most 500 characters")
	}
	return nil
}

// WithObjects returns the catalog of one workspace: this deployment catalog
// plus the workspace's smart objects as children of the smart_objects group.
// Permission ids of the result are its own. With no objects it returns c
// itself, so workspaces without smart objects share one catalog.
//
// It returns invalid_argument when an object is malformed, when its id is
// taken by a catalog module or another object, or when its permission keys
// collide with existing ones; not_found when this catalog has no
// smart_objects group.
func (c *Catalog) WithObjects(objs []SmartObject) (*Catalog, error) {
	if len(objs) == 0 {
		return c, nil
	}
	if len(c.objects) > 0 {
		return nil, Errorf(CodeInternal, "WithObjects called on a workspace catalog")
	}
	objs = append([]SmartObject(nil), objs...)
	sort.Slice(objs, func(i, j int) bool { return objs[i].ID < objs[j].ID })
	for i, o := range objs {
		if err := o.Validate(); err != nil {
			return nil, err
		}
		if _, taken := c.byModule[o.ID]; taken {
			return nil, Errorf(CodeInvalidArgument, "smart object id %q is taken by a catalog module", o.ID)
		}
		if i > 0 && objs[i-1].ID == o.ID {
			return nil, Errorf(CodeInvalidArgument, "duplicate smart object id %q", o.ID)
		}
	}
	defs, found := withObjectDefs(c.defs, objs)
	if !found {
		return nil, Errorf(CodeNotFound, "the catalog has no %s group for smart objects", SmartObjectsGroup)
	}
	p := &problems{}
	out := buildCatalog(c.actions, defs, objs, p)
	if err := p.err("smart objects"); err != nil {
		return nil, err
	}
	out.base = c
	return out, nil
}

// withObjectDefs copies the path down to the smart_objects group and appends
// the objects there, leaving the deployment catalog's definitions untouched.
func withObjectDefs(defs []*moduleDef, objs []SmartObject) ([]*moduleDef, bool) {
	out := make([]*moduleDef, len(defs))
	copy(out, defs)
	for i, d := range defs {
		if d.id == SmartObjectsGroup {
			g := *d
			g.children = append([]*moduleDef(nil), d.children...)
			for _, o := range objs {
				g.children = append(g.children, &moduleDef{id: o.ID, name: o.Name,
					description: o.Description, smartObject: true})
			}
			if g.description == "" {
				g.description = "Object types defined by this workspace"
			}
			out[i] = &g
			return out, true
		}
		if kids, ok := withObjectDefs(d.children, objs); ok {
			g := *d
			g.children = kids
			out[i] = &g
			return out, true
		}
	}
	return out, false
}
