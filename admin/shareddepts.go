package admin

import (
	"strings"
	"sync"
)

// sharedDepts holds workspaces' department maps node-wide by content:
// workspaces created from one template have the same org tree, and each
// would otherwise hold a few kilobytes of rows and index. A model's
// department map is never written once built (a write clones it, see
// newView, and merge replaces it), so sharing cannot carry one
// workspace's change into another. Trees with department roles (M9) are
// the workspace's own and not shared. At most maxSharedTrees maps are
// kept, each of at most maxSharedTreeSize departments.
var sharedDepts = struct {
	sync.Mutex
	m map[string]map[string]*Department
}{m: map[string]map[string]*Department{}}

const (
	maxSharedTrees    = 1024
	maxSharedTreeSize = 1024
)

// deptsOf returns the department map of ds, shared with other workspaces
// with the same departments when it can be.
func deptsOf(ds []Department) map[string]*Department {
	key, ok := deptsKey(ds)
	if ok {
		sharedDepts.Lock()
		m := sharedDepts.m[key]
		sharedDepts.Unlock()
		if m != nil {
			return m
		}
	}
	m := make(map[string]*Department, len(ds))
	for i := range ds {
		m[ds[i].ID] = &ds[i]
	}
	if ok {
		sharedDepts.Lock()
		if len(sharedDepts.m) < maxSharedTrees {
			sharedDepts.m[key] = m
		}
		sharedDepts.Unlock()
	}
	return m
}

// deptsKey is the content of ds as a map key, or false when ds is not
// shared: too large, or with department roles.
func deptsKey(ds []Department) (string, bool) {
	if len(ds) > maxSharedTreeSize {
		return "", false
	}
	n := 0
	for i := range ds {
		n += len(ds[i].ID) + len(ds[i].Name) + len(ds[i].ParentID) + 4
	}
	var b strings.Builder
	b.Grow(n)
	for i := range ds {
		d := &ds[i]
		if len(d.Roles) > 0 {
			return "", false
		}
		b.WriteString(d.ID)
		b.WriteByte(0)
		b.WriteString(d.Name)
		b.WriteByte(0)
		b.WriteString(d.ParentID)
		if d.IncludeSubdepartments {
			b.WriteByte(1)
		}
		b.WriteByte(0)
	}
	return b.String(), true
}
