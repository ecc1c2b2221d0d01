package sqlstore

import (
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// Load implements admin.Store.
func (s *Store) Load(ctx context.Context, ws string) (*admin.Dataset, error) {
	var d *admin.Dataset
	err := s.db.Read(ctx, func(tx Tx) error {
		q := &sel{one: ws}
		if err := s.loadSel(ctx, tx, q, `id = ?`, ws); err != nil || len(q.sets) == 0 {
			return err
		}
		d = q.sets[0]
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", ws, err)
	}
	if d == nil {
		return nil, notFound(ws)
	}
	return d, nil
}

// LoadRange implements admin.BulkLoader: the workspaces whose ids follow
// after, up to limit of them in id order, each exactly as Load returns it,
// read in one transaction with one ordered query per table (about a dozen
// queries for the whole range, where Load takes as many per workspace).
// An empty answer means there are no more.
func (s *Store) LoadRange(ctx context.Context, after string, limit int) ([]*admin.Dataset, error) {
	if limit <= 0 {
		limit = 500
	}
	var out []*admin.Dataset
	err := s.db.Read(ctx, func(tx Tx) error {
		q := &sel{after: after}
		if err := s.loadSel(ctx, tx, q, `id > ? ORDER BY id LIMIT ?`, after, limit); err != nil {
			return err
		}
		out = q.sets
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load workspaces after %q: %w", after, err)
	}
	return out, nil
}

// roleGrants interns the parsed grants of role revisions by their stored
// text, node-wide: every workspace holds the same predefined roles, and
// parsing their grants into maps of their own cost ~16 KB a workspace.
// Parsed grants are never changed in place (a write clones before it
// edits, see model), so sharing them cannot carry one workspace's edit
// into another. At most maxInterned texts are kept; past that, grants are
// parsed afresh.
var roleGrants = struct {
	sync.Mutex
	m map[string]parsedGrants
}{m: map[string]parsedGrants{}}

const maxInterned = 4096

type parsedGrants struct {
	g    policy.Grants
	when policy.Conditions
}

func parseRoleGrants(text string) (policy.Grants, policy.Conditions, error) {
	roleGrants.Lock()
	p, ok := roleGrants.m[text]
	roleGrants.Unlock()
	if ok {
		return p.g, p.when, nil
	}
	return parseAndKeepGrants(text)
}

// parseRoleGrantsBytes is parseRoleGrants of a borrowed column: the text
// is copied only when it is new.
func parseRoleGrantsBytes(b []byte) (policy.Grants, policy.Conditions, error) {
	roleGrants.Lock()
	p, ok := roleGrants.m[string(b)]
	roleGrants.Unlock()
	if ok {
		return p.g, p.when, nil
	}
	return parseAndKeepGrants(string(b))
}

// parseAndKeepGrants parses grants text that roleGrants did not hold, and
// keeps them there while it has room.
func parseAndKeepGrants(text string) (policy.Grants, policy.Conditions, error) {
	g, when, err := parseGrants(text)
	if err != nil {
		return nil, nil, err
	}
	roleGrants.Lock()
	if len(roleGrants.m) < maxInterned {
		roleGrants.m[text] = parsedGrants{g, when}
	}
	roleGrants.Unlock()
	return g, when, nil
}

// sel is the workspaces one read loads: one (Load), or an id range
// (after, last] (LoadRange). Every table's query selects them with
// where(column) and args, and orders its rows by workspace first.
type sel struct {
	one         string
	after, last string
	sets        []*admin.Dataset
	byID        map[string]*admin.Dataset
	// names interns the strings that repeat across members and
	// workspaces (role and department ids, assigned-by names), so a
	// million members do not hold a million copies of "sales_rep".
	names map[string]string
	// lagging holds the applied revision of each role whose assignees
	// follow another revision than its newest (a saved, unapplied edit):
	// an assignment read without a revision follows it (see
	// followedRevision).
	lagging map[roleOf]int64
}

func (q *sel) where(col string) string {
	if q.one != "" {
		return col + " = ?"
	}
	return "(" + col + " > ? AND " + col + " <= ?)"
}

func (q *sel) args(more ...any) []any {
	if q.one != "" {
		return append([]any{q.one}, more...)
	}
	return append([]any{q.after, q.last}, more...)
}

// get returns the dataset of workspace ws, nil if the read has none.
func (q *sel) get(ws string) *admin.Dataset {
	if q.one != "" {
		if len(q.sets) == 0 || ws != q.one {
			return nil
		}
		return q.sets[0]
	}
	return q.byID[ws]
}

// getBytes is get for a borrowed workspace id.
func (q *sel) getBytes(ws []byte) *admin.Dataset {
	if q.one != "" {
		if len(q.sets) == 0 || string(ws) != q.one {
			return nil
		}
		return q.sets[0]
	}
	return q.byID[string(ws)]
}

// internBytes is intern for a borrowed column: it allocates only the
// first copy.
func (q *sel) internBytes(b []byte) string {
	if v, ok := q.names[string(b)]; ok {
		return v
	}
	return q.intern(string(b))
}

// borrow returns a new Borrowed scan target of the store's dialect.
func (s *Store) borrow() Borrowed {
	if s.d.Borrow != nil {
		return s.d.Borrow()
	}
	return new(RawBytes)
}

// intern returns one copy of s per read.
func (q *sel) intern(s string) string {
	if v, ok := q.names[s]; ok {
		return v
	}
	if q.names == nil {
		q.names = map[string]string{}
	}
	q.names[s] = s
	return s
}

// loadSel reads the workspaces rows matching cond, then everything else
// of theirs.
func (s *Store) loadSel(ctx context.Context, tx Tx, q *sel, cond string, args ...any) error {
	if err := s.loadWorkspaces(ctx, tx, q, cond, args...); err != nil || len(q.sets) == 0 {
		return err
	}
	if q.one == "" {
		q.last = q.sets[len(q.sets)-1].Workspace.ID
	}
	for _, load := range []func(context.Context, Tx, *sel) error{
		s.loadRoles, s.loadRevisions, s.loadDepartments, s.loadObjects, s.loadKeys, s.loadAliases, s.loadGateway, s.loadSoDRules, s.loadReviews, s.loadMembers,
	} {
		if err := load(ctx, tx, q); err != nil {
			return err
		}
	}
	return q.roleGrants()
}

// roleGrants gives each role the grants of its newest revision, which
// loadRevisions read with the others: reading them again with the roles
// (a join) doubled what a node's start-up reads, the grants of every
// role of every workspace being most of it.
func (q *sel) roleGrants() error {
	for _, d := range q.sets {
		var at map[policy.RoleRef]int // for the few workspaces with many revisions
		if len(d.Revisions) > 32 {
			at = make(map[policy.RoleRef]int, len(d.Revisions))
			for i, rv := range d.Revisions {
				at[policy.RoleRef{RoleID: rv.RoleID, Revision: rv.Revision}] = i
			}
		}
		for i := range d.Roles {
			r := &d.Roles[i]
			j, ok := at[policy.RoleRef{RoleID: r.ID, Revision: r.Revision}]
			if at == nil {
				j = slices.IndexFunc(d.Revisions, func(rv admin.RoleRevision) bool { return rv.RoleID == r.ID && rv.Revision == r.Revision })
				ok = j >= 0
			}
			if !ok {
				return fmt.Errorf("workspace %s: role %s has no revision %d", d.Workspace.ID, r.ID, r.Revision)
			}
			r.Grants, r.When = d.Revisions[j].Grants, d.Revisions[j].When
		}
	}
	return nil
}

// grouped gathers one table's rows for the workspaces of a read, which
// arrive grouped by workspace, then gives each workspace a clipped window
// of one exactly sized array: the workspace's own slice, grown row by row,
// cost a node's start-up an allocation and a copy per doubling per table
// per workspace, and left up to twice the room it needed, which the model
// keeps (kilobytes a workspace on a node of many small ones).
//
// The gathering slices are taken from scratch and returned to it, so that
// the reads of a start-up grow them a few times, not each read.
type grouped[T any] struct {
	scratch *sync.Pool // of *groupRows[T]
	g       *groupRows[T]
}

type groupRows[T any] struct {
	rows   []T
	owners []*admin.Dataset
}

// Scratch for grouped, one pool per row type.
var (
	roleScratch     = sync.Pool{New: func() any { return new(groupRows[admin.Role]) }}
	revisionScratch = sync.Pool{New: func() any { return new(groupRows[admin.RoleRevision]) }}
	deptScratch     = sync.Pool{New: func() any { return new(groupRows[admin.Department]) }}
	keyScratch      = sync.Pool{New: func() any { return new(groupRows[admin.APIKey]) }}
)

// rows returns the rows added so far.
func (g *grouped[T]) rows() []T {
	if g.g == nil {
		return nil
	}
	return g.g.rows
}

func (g *grouped[T]) add(d *admin.Dataset, v T) {
	if g.g == nil {
		g.g = g.scratch.Get().(*groupRows[T])
	}
	g.g.rows = append(g.g.rows, v)
	g.g.owners = append(g.g.owners, d)
}

// finish hands each workspace its rows through set.
func (g *grouped[T]) finish(set func(*admin.Dataset, []T)) {
	if g.g == nil {
		return
	}
	rows, owners := g.g.rows, g.g.owners
	all := append(make([]T, 0, len(rows)), rows...)
	for i := 0; i < len(all); {
		j := i + 1
		for j < len(all) && owners[j] == owners[i] {
			j++
		}
		set(owners[i], all[i:j:j])
		i = j
	}
	clear(rows) // the pool must not keep a read's strings and datasets alive
	clear(owners)
	g.g.rows, g.g.owners = rows[:0], owners[:0]
	g.scratch.Put(g.g)
	g.g = nil
}

func (s *Store) loadWorkspaces(ctx context.Context, tx Tx, q *sel, cond string, args ...any) error {
	rows, err := s.query(ctx, tx, `SELECT id, name, plan, revision, audit_seq, audit_hash, created_at, updated_at FROM workspaces WHERE `+cond, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		d := &admin.Dataset{}
		var w admin.Workspace
		var plan string
		var created, updated int64
		if err := rows.Scan(&w.ID, &w.Name, &plan, &w.Revision, &d.AuditHead.Seq, &d.AuditHead.Hash, &created, &updated); err != nil {
			return err
		}
		w.Plan, w.CreatedAt, w.UpdatedAt = admin.Plan(plan), fromMicros(created), fromMicros(updated)
		d.Workspace = w
		q.sets = append(q.sets, d)
	}
	if q.one == "" {
		q.byID = make(map[string]*admin.Dataset, len(q.sets))
		for _, d := range q.sets {
			q.byID[d.Workspace.ID] = d
		}
	}
	return rows.Err()
}

// roleColumns are the columns scanRole reads, of roles r joined with
// their newest revision rv; roleRowColumns are those of r alone.
const (
	roleRowColumns = `r.id, r.name, r.description, r.audience, r.predefined, r.is_default, r.revision, r.created_at, r.updated_at`
	roleColumns    = roleRowColumns + `, rv.grants`
)

// roleJoin joins roles r with their newest revision rv.
const roleJoin = `roles r JOIN role_revisions rv ON rv.workspace_id = r.workspace_id AND rv.role_id = r.id AND rv.revision = r.revision`

// scanRole reads a row of roleColumns after the lead columns.
func scanRole(rows Rows, lead ...any) (admin.Role, error) {
	return newRoleScanner(lead...).scan(rows)
}

// A scanner holds the scan targets of one query's rows, made once: passed
// to Scan as interfaces they escape, and a node's start-up reads millions
// of rows.
type roleScanner struct {
	r                admin.Role
	aud, grants      string
	created, updated int64
	dest             []any
}

func newRoleScanner(lead ...any) *roleScanner {
	s := &roleScanner{}
	s.dest = append(lead, &s.r.ID, &s.r.Name, &s.r.Description, &s.aud, &s.r.Predefined, &s.r.Default, &s.r.Revision, &s.created, &s.updated, &s.grants)
	return s
}

func (s *roleScanner) scan(rows Rows) (admin.Role, error) {
	if err := rows.Scan(s.dest...); err != nil {
		return admin.Role{}, err
	}
	r := s.r
	r.Audience, r.CreatedAt, r.UpdatedAt = policy.Audience(s.aud), fromMicros(s.created), fromMicros(s.updated)
	var err error
	r.Grants, r.When, err = parseRoleGrants(s.grants)
	return r, err
}

func (s *Store) loadRoles(ctx context.Context, tx Tx, q *sel) error {
	ws, id, name, desc, aud := s.borrow(), s.borrow(), s.borrow(), s.borrow(), s.borrow()
	var r admin.Role
	var created, updated, applied int64
	dest := []any{ws.Target(), id.Target(), name.Target(), desc.Target(), aud.Target(), &r.Predefined, &r.Default, &r.Revision, &created, &updated, &applied}
	g := grouped[admin.Role]{scratch: &roleScratch}
	err := s.eachRow(ctx, tx, func(rows Rows) error {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if d := q.getBytes(ws.Bytes()); d != nil {
			role := r // its grants are its newest revision's: see roleGrants
			role.ID, role.Name, role.Description = q.internBytes(id.Bytes()), q.internBytes(name.Bytes()), q.internBytes(desc.Bytes())
			role.Audience, role.CreatedAt, role.UpdatedAt = policy.Audience(q.internBytes(aud.Bytes())), fromMicros(created), fromMicros(updated)
			g.add(d, role)
			if applied != role.Revision {
				if q.lagging == nil {
					q.lagging = map[roleOf]int64{}
				}
				q.lagging[roleOf{d.Workspace.ID, role.ID}] = applied
			}
		}
		return nil
	}, `SELECT r.workspace_id, `+roleRowColumns+`, r.applied_revision FROM roles r WHERE `+q.where("r.workspace_id")+` ORDER BY r.workspace_id, r.id`, q.args()...)
	g.finish(func(d *admin.Dataset, rs []admin.Role) { d.Roles = rs })
	return err
}

const revisionColumns = `role_id, revision, grants, author, reason, applied, restored, created_at`

func scanRevision(rows Rows, lead ...any) (admin.RoleRevision, error) {
	return newRevisionScanner(lead...).scan(rows)
}

type revisionScanner struct {
	rv      admin.RoleRevision
	grants  string
	created int64
	dest    []any
}

func newRevisionScanner(lead ...any) *revisionScanner {
	s := &revisionScanner{}
	s.dest = append(lead, &s.rv.RoleID, &s.rv.Revision, &s.grants, &s.rv.Author, &s.rv.Reason, &s.rv.Applied, &s.rv.Restored, &s.created)
	return s
}

func (s *revisionScanner) scan(rows Rows) (admin.RoleRevision, error) {
	if err := rows.Scan(s.dest...); err != nil {
		return admin.RoleRevision{}, err
	}
	rv := s.rv
	rv.CreatedAt = fromMicros(s.created)
	var err error
	rv.Grants, rv.When, err = parseRoleGrants(s.grants)
	return rv, err
}

// loadRevisions loads each role's newest and applied revisions and every
// revision an assignment or a department role is pinned to; older ones
// stay in the database for R6a. The roles' revisions are one merge join
// of two ordered index scans; the pinned ones, few, a second query, each
// workspace's added after its roles' revisions. Filtering every revision
// with EXISTS subqueries instead probed the roles once per revision, and
// at 100,000 workspaces those probes were the largest part of a start-up's
// database time (see BENCHMARKS.md).
func (s *Store) loadRevisions(ctx context.Context, tx Tx, q *sel) error {
	pinned := map[*admin.Dataset][]admin.RoleRevision{}
	err := s.scanRevisions(ctx, tx, q, `SELECT `+rvColumns+` FROM (
			SELECT workspace_id, role_id, revision FROM assignments WHERE `+q.where("workspace_id")+` AND revision IS NOT NULL
			UNION SELECT workspace_id, role_id, revision FROM department_roles WHERE `+q.where("workspace_id")+`) p
		JOIN role_revisions rv ON rv.workspace_id = p.workspace_id AND rv.role_id = p.role_id AND rv.revision = p.revision
		ORDER BY rv.workspace_id`, slices.Concat(q.args(), q.args()), func(d *admin.Dataset, r admin.RoleRevision) {
		pinned[d] = append(pinned[d], r)
	})
	if err != nil {
		return err
	}
	g := grouped[admin.RoleRevision]{scratch: &revisionScratch}
	defer g.finish(func(d *admin.Dataset, rs []admin.RoleRevision) { d.Revisions = rs })
	// addPinned adds d's pinned revisions that its roles' revisions, the
	// rows from first on, do not hold already.
	addPinned := func(d *admin.Dataset, first int) {
		added := false
		for _, r := range pinned[d] {
			if !slices.ContainsFunc(g.rows()[first:], func(o admin.RoleRevision) bool { return o.RoleID == r.RoleID && o.Revision == r.Revision }) {
				g.add(d, r)
				added = true
			}
		}
		if added { // in order, as the roles' revisions come
			slices.SortFunc(g.rows()[first:], func(a, b admin.RoleRevision) int {
				return cmp.Or(strings.Compare(a.RoleID, b.RoleID), cmp.Compare(a.Revision, b.Revision))
			})
		}
		delete(pinned, d)
	}
	var cur *admin.Dataset
	first := 0
	err = s.scanRevisions(ctx, tx, q, `SELECT `+rvColumns+` FROM roles r JOIN role_revisions rv
			ON rv.workspace_id = r.workspace_id AND rv.role_id = r.id AND (rv.revision = r.revision OR rv.revision = r.applied_revision)
		WHERE `+q.where("r.workspace_id")+` AND `+q.where("rv.workspace_id")+`
		ORDER BY rv.workspace_id, rv.role_id, rv.revision`, slices.Concat(q.args(), q.args()), func(d *admin.Dataset, r admin.RoleRevision) {
		if d != cur {
			addPinned(cur, first)
			cur, first = d, len(g.rows())
		}
		g.add(d, r)
	})
	if err != nil {
		return err
	}
	addPinned(cur, first)
	// Pinned revisions of a workspace the join gave no row: none can be
	// (a pinned revision's role has its newest revision), but a read
	// keeps what it read.
	for d := range pinned {
		addPinned(d, len(g.rows()))
	}
	return nil
}

// rvColumns are the columns of a role revision read by scanRevisions.
var rvColumns = "rv.workspace_id, rv." + strings.ReplaceAll(revisionColumns, ", ", ", rv.")

// scanRevisions runs query, which selects rvColumns, and calls add with
// each revision and the dataset it belongs to.
func (s *Store) scanRevisions(ctx context.Context, tx Tx, q *sel, query string, args []any, add func(*admin.Dataset, admin.RoleRevision)) error {
	rows, err := s.query(ctx, tx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	ws, role, grants, author, reason := s.borrow(), s.borrow(), s.borrow(), s.borrow(), s.borrow()
	var rv admin.RoleRevision
	var created int64
	dest := []any{ws.Target(), role.Target(), &rv.Revision, grants.Target(), author.Target(), reason.Target(), &rv.Applied, &rv.Restored, &created}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		d := q.getBytes(ws.Bytes())
		if d == nil {
			continue
		}
		r := rv
		r.RoleID, r.Author, r.Reason = q.internBytes(role.Bytes()), q.internBytes(author.Bytes()), q.internBytes(reason.Bytes())
		r.CreatedAt = fromMicros(created)
		var err error
		if r.Grants, r.When, err = parseRoleGrantsBytes(grants.Bytes()); err != nil {
			return err
		}
		add(d, r)
	}
	return rows.Err()
}

func (s *Store) loadDepartments(ctx context.Context, tx Tx, q *sel) error {
	rows, err := s.query(ctx, tx, `SELECT workspace_id, id, name, parent_id, include_subdepartments FROM departments WHERE `+q.where("workspace_id")+` ORDER BY workspace_id, id`, q.args()...)
	if err != nil {
		return err
	}
	// Scan targets made once per query, not per row: passed to Scan as
	// interfaces they escape, and a node loads millions of rows.
	ws, id, name, parent := s.borrow(), s.borrow(), s.borrow(), s.borrow()
	var sub bool
	dest := []any{ws.Target(), id.Target(), name.Target(), parent.Target(), &sub}
	g := grouped[admin.Department]{scratch: &deptScratch}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return err
		}
		if d := q.getBytes(ws.Bytes()); d != nil {
			g.add(d, admin.Department{ID: q.internBytes(id.Bytes()), Name: q.internBytes(name.Bytes()),
				ParentID: q.internBytes(parent.Bytes()), IncludeSubdepartments: sub})
		}
	}
	// Before the department roles, which the walk finds in these slices.
	g.finish(func(d *admin.Dataset, ds []admin.Department) { d.Departments = ds })
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = s.query(ctx, tx, `SELECT workspace_id, department_id, role_id, revision, assigned_at, assigned_by, expires_at FROM department_roles
		WHERE `+q.where("workspace_id")+` ORDER BY workspace_id, department_id, role_id`, q.args()...)
	if err != nil {
		return err
	}
	defer rows.Close()
	dep, role, by := s.borrow(), s.borrow(), s.borrow()
	var a admin.Assignment
	var at, exp int64
	dest = []any{ws.Target(), dep.Target(), role.Target(), &a.Revision, &at, by.Target(), &exp}
	c := departmentsWalk(q)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if dp := c.find(ws.Bytes(), dep.Bytes()); dp != nil {
			held := a
			held.AssignedAt, held.ExpiresAt = fromMicros(at), fromMicros(exp)
			held.RoleID, held.AssignedBy = q.internBytes(role.Bytes()), q.internBytes(by.Bytes())
			dp.Roles = append(dp.Roles, held)
		}
	}
	return rows.Err()
}

func (s *Store) loadObjects(ctx context.Context, tx Tx, q *sel) error {
	rows, err := s.query(ctx, tx, `SELECT workspace_id, id, name, description FROM smart_objects WHERE `+q.where("workspace_id")+` ORDER BY workspace_id, id`, q.args()...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var ws string
		var o admin.SmartObject
		if err := rows.Scan(&ws, &o.ID, &o.Name, &o.Description); err != nil {
			return err
		}
		if d := q.get(ws); d != nil {
			d.Objects = append(d.Objects, o)
		}
	}
	return rows.Err()
}

func (s *Store) loadKeys(ctx context.Context, tx Tx, q *sel) error {
	rows, err := s.query(ctx, tx, `SELECT workspace_id, id, scope, name, hash, created_at, created_by FROM api_keys WHERE `+q.where("workspace_id")+` ORDER BY workspace_id, id`, q.args()...)
	if err != nil {
		return err
	}
	defer rows.Close()
	g := grouped[admin.APIKey]{scratch: &keyScratch}
	defer g.finish(func(d *admin.Dataset, ks []admin.APIKey) { d.Keys = ks })
	for rows.Next() {
		var k admin.APIKey
		var scope, hash string
		var created int64
		if err := rows.Scan(&k.Workspace, &k.ID, &scope, &k.Name, &hash, &created, &k.CreatedBy); err != nil {
			return err
		}
		if k.Hash, err = hex.DecodeString(hash); err != nil {
			return fmt.Errorf("key %s: %w", k.ID, err)
		}
		k.Scope, k.CreatedAt = admin.KeyScope(scope), fromMicros(created)
		if d := q.get(k.Workspace); d != nil {
			k.Workspace = d.Workspace.ID
			g.add(d, k)
		}
	}
	return rows.Err()
}

func (s *Store) loadAliases(ctx context.Context, tx Tx, q *sel) error {
	rows, err := s.query(ctx, tx, `SELECT workspace_id, alias, permission FROM action_aliases WHERE `+q.where("workspace_id"), q.args()...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var ws, alias, perm string
		if err := rows.Scan(&ws, &alias, &perm); err != nil {
			return err
		}
		d := q.get(ws)
		if d == nil {
			continue
		}
		if d.Aliases == nil {
			d.Aliases = map[string]string{}
		}
		d.Aliases[alias] = perm
	}
	return rows.Err()
}

func (s *Store) loadGateway(ctx context.Context, tx Tx, q *sel) error {
	rows, err := s.query(ctx, tx, `SELECT workspace_id, method, path, permission, owner_param, department_param FROM gateway_routes WHERE `+q.where("workspace_id")+` ORDER BY workspace_id, position`, q.args()...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var ws string
		var r policy.GatewayRoute
		if err := rows.Scan(&ws, &r.Method, &r.Path, &r.Permission, &r.Owner, &r.Department); err != nil {
			return err
		}
		if d := q.get(ws); d != nil {
			d.GatewayRoutes = append(d.GatewayRoutes, r)
		}
	}
	return rows.Err()
}

const memberColumns = `user_id, name, email, kind, owner, grants, epoch, created_at, updated_at, grant_expiry`

func scanMember(rows Rows, lead ...any) (admin.Member, error) {
	return newMemberScanner(lead...).scan(rows)
}

type memberScanner struct {
	m                    admin.Member
	kind, grants, expiry string
	created, updated     int64
	dest                 []any
}

func newMemberScanner(lead ...any) *memberScanner {
	s := &memberScanner{}
	s.dest = append(lead, &s.m.UserID, &s.m.Name, &s.m.Email, &s.kind, &s.m.Owner, &s.grants, &s.m.Epoch, &s.created, &s.updated, &s.expiry)
	return s
}

func (s *memberScanner) scan(rows Rows) (admin.Member, error) {
	if err := rows.Scan(s.dest...); err != nil {
		return admin.Member{}, err
	}
	m := s.m
	m.Kind, m.CreatedAt, m.UpdatedAt = policy.Audience(s.kind), fromMicros(s.created), fromMicros(s.updated)
	var err error
	if m.Grants, m.When, err = parseGrants(s.grants); err != nil {
		return m, err
	}
	m.GrantExpiry, err = parseExpiry(s.expiry)
	return m, err
}

// loadMembers reads every member, then their departments and assignments
// in two ordered scans: three queries, however many members and
// workspaces. Each workspace's member slice is sized exactly (the model
// keeps it), and repeating strings are interned.
func (s *Store) loadMembers(ctx context.Context, tx Tx, q *sel) error {
	rows, err := s.query(ctx, tx, `SELECT workspace_id, `+memberColumns+` FROM members WHERE `+q.where("workspace_id")+` ORDER BY workspace_id, user_id`, q.args()...)
	if err != nil {
		return err
	}
	// Rows come grouped by workspace: each group is gathered in run, a
	// scratch slice reused across groups, then copied into a slice of
	// exactly its size (the model keeps it).
	var (
		run []admin.Member
		cur string
	)
	flush := func() {
		if d := q.get(cur); d != nil && len(run) > 0 {
			d.Members = append(make([]admin.Member, 0, len(run)), run...)
		}
		clear(run)
		run = run[:0]
	}
	ws := s.borrow()
	sc := newMemberScanner(ws.Target())
	for rows.Next() {
		m, err := sc.scan(rows)
		if err != nil {
			rows.Close()
			return err
		}
		m.Kind = policy.Audience(q.intern(string(m.Kind)))
		if string(ws.Bytes()) != cur {
			flush()
			cur = string(ws.Bytes())
		}
		run = append(run, m)
	}
	flush()
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = s.query(ctx, tx, `SELECT workspace_id, user_id, department_id FROM member_departments WHERE `+q.where("workspace_id")+` ORDER BY workspace_id, user_id, department_id`, q.args()...)
	if err != nil {
		return err
	}
	deps := arena[string]{set: func(m *admin.Member, v []string) { m.DepartmentIDs = v }}
	c := membersWalk(q)
	u, dep := s.borrow(), s.borrow()
	dest := []any{ws.Target(), u.Target(), dep.Target()}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return err
		}
		if string(ws.Bytes()) != c.ws {
			deps.flush()
		}
		if m := c.find(ws.Bytes(), u.Bytes()); m != nil {
			deps.add(m, q.internBytes(dep.Bytes()))
		}
	}
	deps.flush()
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// An assignment without a revision follows its role (read as 0).
	rows, err = s.query(ctx, tx, `SELECT workspace_id, user_id, role_id, COALESCE(revision, 0), assigned_at, assigned_by, expires_at FROM assignments WHERE `+q.where("workspace_id")+` ORDER BY workspace_id, user_id, role_id`, q.args()...)
	if err != nil {
		return err
	}
	defer rows.Close()
	roles := arena[admin.Assignment]{set: func(m *admin.Member, v []admin.Assignment) { m.Roles = v }}
	c = membersWalk(q)
	role, by := s.borrow(), s.borrow()
	var a admin.Assignment
	var at, exp int64
	var d *admin.Dataset // c's, for the assignments that follow their role
	var follow followers
	dest = []any{ws.Target(), u.Target(), role.Target(), &a.Revision, &at, by.Target(), &exp}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if string(ws.Bytes()) != c.ws {
			roles.flush()
		}
		if m := c.find(ws.Bytes(), u.Bytes()); m != nil {
			held := a
			held.AssignedAt, held.ExpiresAt = fromMicros(at), fromMicros(exp)
			held.RoleID, held.AssignedBy = q.internBytes(role.Bytes()), q.internBytes(by.Bytes())
			if held.Revision == 0 {
				if d == nil || d.Workspace.ID != c.ws {
					d = q.get(c.ws)
				}
				var err error
				if held.Revision, err = follow.revision(q, d, held.RoleID); err != nil {
					return err
				}
			}
			roles.add(m, held)
		}
	}
	roles.flush()
	return rows.Err()
}

// walk finds the rows of one table (members, departments), which the
// database returned ordered by workspace and id, for rows of another table
// in the same order: a walk along the datasets' slices, not a map of every
// row of the read.
type walk[T any] struct {
	q     *sel
	items func(*admin.Dataset) []T
	id    func(*T) string
	ws    string
	cur   []T
	i     int
}

func membersWalk(q *sel) walk[admin.Member] {
	return walk[admin.Member]{q: q, items: func(d *admin.Dataset) []admin.Member { return d.Members },
		id: func(m *admin.Member) string { return m.UserID }}
}

func departmentsWalk(q *sel) walk[admin.Department] {
	return walk[admin.Department]{q: q, items: func(d *admin.Dataset) []admin.Department { return d.Departments },
		id: func(d *admin.Department) string { return d.ID }}
}

// find returns workspace ws's row with id, nil if the read has none; both
// are borrowed columns.
func (c *walk[T]) find(ws, id []byte) *T {
	if string(ws) != c.ws {
		c.ws, c.cur, c.i = string(ws), nil, 0
		if d := c.q.get(c.ws); d != nil {
			c.cur = c.items(d)
		}
	}
	for j := c.i; j < len(c.cur); j++ {
		if c.id(&c.cur[j]) == string(id) {
			c.i = j
			return &c.cur[j]
		}
	}
	for j := range c.i { // not in order (never, with one collation): look from the start
		if c.id(&c.cur[j]) == string(id) {
			return &c.cur[j]
		}
	}
	return nil
}

// arena gathers one workspace's per-member rows (assignments, department
// ids), which arrive grouped by member, and gives each member a clipped
// window of one exactly sized array: one allocation per workspace instead
// of a growing slice per member. A member's slice is never appended to in
// place (writes clone members, and the window's capacity ends where it
// does), so members sharing the array cannot see each other's changes.
type arena[T any] struct {
	set    func(*admin.Member, []T)
	vals   []T
	owners []*admin.Member
}

func (a *arena[T]) add(m *admin.Member, v T) {
	a.vals = append(a.vals, v)
	a.owners = append(a.owners, m)
}

func (a *arena[T]) flush() {
	if len(a.vals) == 0 {
		return
	}
	all := append(make([]T, 0, len(a.vals)), a.vals...)
	for i := 0; i < len(all); {
		j := i + 1
		for j < len(all) && a.owners[j] == a.owners[i] {
			j++
		}
		a.set(a.owners[i], all[i:j:j])
		i = j
	}
	clear(a.vals)
	clear(a.owners)
	a.vals, a.owners = a.vals[:0], a.owners[:0]
}

// fillMembers adds departments and assignments to members sorted by user
// id. With a JSON list in only, it reads just those members' rows.
func (s *Store) fillMembers(ctx context.Context, tx Tx, ws string, members []admin.Member, only string) error {
	index := make(map[string]int, len(members))
	for i := range members {
		index[members[i].UserID] = i
	}
	filter := ""
	args := []any{ws}
	if only != "" {
		filter = ` AND user_id IN JSON_STRINGS(?)`
		args = append(args, only)
	}
	rows, err := s.query(ctx, tx, `SELECT user_id, department_id FROM member_departments WHERE workspace_id = ?`+filter+` ORDER BY user_id, department_id`, args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var u, dep string
		if err := rows.Scan(&u, &dep); err != nil {
			rows.Close()
			return err
		}
		if i, ok := index[u]; ok {
			members[i].DepartmentIDs = append(members[i].DepartmentIDs, dep)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = s.query(ctx, tx, `SELECT a.user_id, a.role_id, COALESCE(a.revision, r.applied_revision), a.assigned_at, a.assigned_by, a.expires_at
		FROM assignments a JOIN roles r ON r.workspace_id = a.workspace_id AND r.id = a.role_id
		WHERE a.workspace_id = ?`+filter+` ORDER BY a.user_id, a.role_id`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var u string
		var a admin.Assignment
		var at, exp int64
		if err := rows.Scan(&u, &a.RoleID, &a.Revision, &at, &a.AssignedBy, &exp); err != nil {
			return err
		}
		a.AssignedAt, a.ExpiresAt = fromMicros(at), fromMicros(exp)
		if i, ok := index[u]; ok {
			members[i].Roles = append(members[i].Roles, a)
		}
	}
	return rows.Err()
}
