package policy

import (
	"fmt"
	"strings"
)

// Department is a node of a workspace's org tree. ParentID is "" for a root.
type Department struct {
	ID       string
	Name     string
	ParentID string
}

// deptNode is a department in a compiled tree. [in, out) is the interval of
// preorder positions of its subtree, so "d lies in the subtree of a" is two
// integer comparisons: in(a) <= in(d) < out(a).
type deptNode struct {
	id      string
	parent  int32
	in, out int32
}

// deptTree is the compiled org tree of a snapshot.
type deptTree struct {
	nodes []deptNode
	byID  map[string]int32
}

// sharedDeptTrees holds compiled org trees node-wide by their departments'
// ids and parents, in order: workspaces created from one template have the
// same tree, and each would otherwise hold a few kilobytes of nodes and
// index. A compiled tree is never written (a department change compiles
// the snapshot afresh), so sharing cannot carry one workspace's change
// into another. At most maxDeptTrees are kept, each of at most
// maxSharedDepts departments; past that, a snapshot builds its own.
var sharedDeptTrees = newInternTable[string, deptTree](maxDeptTrees)

const (
	maxDeptTrees   = 1024
	maxSharedDepts = 1024
)

// sharedDeptTree returns the shared tree of ds, building and sharing it
// when it is the first.
func sharedDeptTree(ds []Department) (deptTree, error) {
	if len(ds) == 0 || len(ds) > maxSharedDepts {
		return buildDeptTree(ds)
	}
	n := 0
	for _, d := range ds {
		n += len(d.ID) + len(d.ParentID) + 2
	}
	var b strings.Builder
	b.Grow(n)
	for _, d := range ds {
		b.WriteString(d.ID)
		b.WriteByte(0)
		b.WriteString(d.ParentID)
		b.WriteByte(0)
	}
	key := b.String()
	if t, ok := sharedDeptTrees.lookup(key); ok {
		return t, nil
	}
	t, err := buildDeptTree(ds)
	if err != nil {
		return t, err
	}
	return sharedDeptTrees.share(key, t), nil
}

// buildDeptTree indexes departments; it rejects duplicate ids, unknown
// parents and cycles with invalid_argument.
func buildDeptTree(ds []Department) (deptTree, error) {
	t := deptTree{nodes: make([]deptNode, len(ds)), byID: make(map[string]int32, len(ds))}
	for i, d := range ds {
		if d.ID == "" {
			return t, Errorf(CodeInvalidArgument, "department without id")
		}
		if _, dup := t.byID[d.ID]; dup {
			return t, Errorf(CodeInvalidArgument, "duplicate department id %q", d.ID)
		}
		t.byID[d.ID] = int32(i)
		t.nodes[i] = deptNode{id: d.ID, parent: -1}
	}
	children := make([][]int32, len(ds))
	var roots []int32
	for i, d := range ds {
		if d.ParentID == "" {
			roots = append(roots, int32(i))
			continue
		}
		p, ok := t.byID[d.ParentID]
		if !ok {
			return t, Errorf(CodeInvalidArgument, "department %q has unknown parent %q", d.ID, d.ParentID)
		}
		t.nodes[i].parent = p
		children[p] = append(children[p], int32(i))
	}
	// Iterative preorder numbering; a node never reached from a root is on a
	// cycle.
	pos := int32(0)
	type frame struct{ node, next int32 }
	for _, r := range roots {
		stack := []frame{{r, 0}}
		t.nodes[r].in = pos
		pos++
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			if int(f.next) < len(children[f.node]) {
				c := children[f.node][f.next]
				f.next++
				t.nodes[c].in = pos
				pos++
				stack = append(stack, frame{c, 0})
				continue
			}
			t.nodes[f.node].out = pos
			stack = stack[:len(stack)-1]
		}
	}
	if int(pos) != len(ds) {
		for i := range t.nodes {
			if t.nodes[i].out == 0 {
				return t, Errorf(CodeInvalidArgument, "department %q is in a cycle of parents", t.nodes[i].id)
			}
		}
		return t, fmt.Errorf("policy: department tree numbering is inconsistent")
	}
	return t, nil
}

// within reports whether department d is a or lies below it.
func (t *deptTree) within(d, a int32) bool {
	return t.nodes[a].in <= t.nodes[d].in && t.nodes[d].in < t.nodes[a].out
}
