package policy

import "sort"

// PermID is a permission's dense index in its catalog: 0 … NumPermissions-1.
// Ids are assigned once, when a catalog is built, in module preorder, so a
// parent module's permissions always come before its descendants'. Ids are
// meaningful only within the catalog that assigned them.
type PermID int32

// ModuleKind says how a module's access is decided.
type ModuleKind uint8

const (
	// Scoped modules are decided by role grants and levels.
	Scoped ModuleKind = iota
	// Relation modules are decided by the member's relation to the record
	// (R10); roles cannot configure them.
	Relation
)

// String returns "scoped" or "relation".
func (k ModuleKind) String() string {
	if k == Relation {
		return "relation"
	}
	return "scoped"
}

// The four relations of R10, in the order the API lists them.
const (
	RelCreator     = "creator"
	RelResponsible = "responsible"
	RelParticipant = "participant"
	RelObserver    = "observer"
)

// relationNames lists the relations a relation module may define (R10).
var relationNames = [...]string{RelCreator, RelResponsible, RelParticipant, RelObserver}

// Module is one node of the catalog tree: a group, a module, an object or a
// channel. Modules belong to their Catalog and must not be modified.
type Module struct {
	ID          string
	Name        string
	Description string
	Kind        ModuleKind
	// InternalOnly modules can never be granted to client roles (M6). The
	// flag is inherited by every descendant.
	InternalOnly bool
	// SmartObject is set on a workspace's own object types (C9).
	SmartObject bool
	Parent      *Module
	Children    []*Module
	Permissions []*Permission
	// Relations maps each relation (creator, responsible, …) to the actions
	// it allows on a relation module's records (R10).
	Relations map[string][]string
	// PredefinedRoles gives fixed levels on a relation module to predefined
	// roles, by role id: R10's "Head sees all tasks".
	PredefinedRoles map[string]map[string]Level
	// Line is where the module was defined in its YAML source (0 if none).
	Line int
}

// Permission is one action of one module: the unit that roles grant.
type Permission struct {
	ID          PermID
	Key         string // "<module>_<action>", e.g. "contacts_view"
	Action      string
	Module      *Module
	Scoped      bool // takes all five levels; otherwise only none and all (C5)
	Requires    []*Permission
	Description string
	// relations is the set of R10 relations that allow this action on a
	// relation module's records, as a bit mask over relationNames.
	relations uint8
	// parent is the same action on the nearest ancestor module that supports
	// it: the permission whose grant flows down to this one (C6), or nil.
	parent *Permission
}

// Allows reports whether the permission can take level l (C5).
func (p *Permission) Allows(l Level) bool {
	return l.Valid() && (p.Scoped || l == LevelNone || l == LevelAll)
}

// InheritsFrom returns the permission whose grant flows down to p when p has
// no explicit grant (C6), or nil at the top of the tree.
func (p *Permission) InheritsFrom() *Permission { return p.parent }

// Catalog is a validated, immutable permission vocabulary: the module tree
// and every permission, with dense ids. It is safe for concurrent use.
type Catalog struct {
	roots     []*Module
	modules   []*Module // preorder
	byModule  map[string]*Module
	perms     []*Permission
	byKey     map[string]PermID
	relations []PermID // permissions of relation modules
	defs      []*moduleDef
	actions   map[string]*actionDef
	objects   []SmartObject
	base      *Catalog // the deployment catalog a workspace catalog extends
}

// Base returns the deployment catalog that WithObjects extended to make c,
// or c itself.
func (c *Catalog) Base() *Catalog {
	if c.base != nil {
		return c.base
	}
	return c
}

// Modules returns the top-level modules, in catalog order.
func (c *Catalog) Modules() []*Module { return c.roots }

// Module returns the module with the given id.
func (c *Catalog) Module(id string) (*Module, bool) {
	m, ok := c.byModule[id]
	return m, ok
}

// AllModules returns every module in preorder (a parent before its children).
func (c *Catalog) AllModules() []*Module { return c.modules }

// NumPermissions is the number of permissions; ids run from 0 to it, exclusive.
func (c *Catalog) NumPermissions() int { return len(c.perms) }

// Permission returns the permission with the given id. It panics on an id
// that this catalog did not assign.
func (c *Catalog) Permission(id PermID) *Permission { return c.perms[id] }

// Permissions returns every permission, indexed by id.
func (c *Catalog) Permissions() []*Permission { return c.perms }

// Lookup resolves a permission key to its id. Keys are case-sensitive (C1).
// It does not allocate.
func (c *Catalog) Lookup(key string) (PermID, bool) {
	id, ok := c.byKey[key]
	return id, ok
}

// PermissionByKey is Lookup with C1's error: an unknown key gives an
// unknown_permission error carrying up to three suggestions.
func (c *Catalog) PermissionByKey(key string) (*Permission, error) {
	if id, ok := c.byKey[key]; ok {
		return c.perms[id], nil
	}
	return nil, c.unknownPermission(key)
}

// Objects returns the workspace smart objects this catalog was extended
// with (C9), sorted by id.
func (c *Catalog) Objects() []SmartObject { return c.objects }

func (c *Catalog) unknownPermission(key string) *Error {
	sug := c.Suggest(key)
	msg := "unknown permission " + quote(key)
	if len(sug) > 0 {
		msg += "; did you mean " + joinQuoted(sug) + "?"
	}
	return &Error{Code: CodeUnknownPermission, Message: msg,
		Details: map[string]any{"permission": key, "suggestions": sug}}
}

// sortedKeys returns m's keys in order, for deterministic output.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
