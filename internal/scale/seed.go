// Package scale measures Gatehouse at deployment size: many workspaces
// with many members on one node, loaded from PostgreSQL.
//
// Seed fills a fresh PostgreSQL schema with N workspaces of M members each,
// fast enough for a million members: one template workspace is made
// through the admin operations (so its roles, revisions, departments,
// changelog and audit chain are exactly what the service writes), then
// cloned with SQL, and the members, their departments and assignments are
// generated set-based with generate_series. TestScale (GATEHOUSE_SCALE=1)
// seeds, starts a node on the result and reports start-up time, heap per
// member and check latency.
//
// Nothing but tests and operators' measurements import this package.
package scale

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
	"github.com/gatehouse-authz/gatehouse/store/postgres"
)

// The shape of every seeded workspace. All of them are clones of one
// template, so they share roles, revisions and departments; members differ.
const (
	// Plan is the seeded workspaces' plan: the five predefined roles of
	// W2 and unlimited custom roles.
	Plan = admin.PlanProfessional
	// ClientEvery makes every ClientEvery-th member (position
	// ClientEvery-1, 2*ClientEvery-1, …) a client holding the client role.
	ClientEvery = 20
	// DirectEvery gives every DirectEvery-th member (position
	// DirectEvery/2, …) a direct grant (M5); it is an internal member.
	DirectEvery = 100
	// OldRevisionEvery keeps about one holder in OldRevisionEvery of a role
	// with a newer, unapplied revision on the older one (R6 "save").
	OldRevisionEvery = 4
)

// DirectGrant is the direct grant of every DirectEvery-th member.
const DirectGrant = `{"reports_view":"all"}`

// WorkspaceID returns the id of the n-th seeded workspace, from 0; the
// 0-th is the template the others are cloned from.
func WorkspaceID(n int) string { return fmt.Sprintf("ws-%04d", n) }

// UserID returns the user id of member i (from 0) of workspace n when each
// workspace has perWS members. User ids are unique across workspaces, as a
// host platform's user ids usually are.
func UserID(n, i, perWS int) string { return fmt.Sprintf("u%07d", n*perWS+i) }

// departments is the template's tree: three divisions of three
// departments of two teams each, 30 in all (as in crm-medium).
func departments() []admin.PolicyDept {
	var ds []admin.PolicyDept
	for a := 1; a <= 3; a++ {
		div := fmt.Sprintf("d%d", a)
		ds = append(ds, admin.PolicyDept{ID: div, Name: fmt.Sprintf("Division %d", a)})
		for b := 1; b <= 3; b++ {
			dep := fmt.Sprintf("%s-%d", div, b)
			ds = append(ds, admin.PolicyDept{ID: dep, Name: fmt.Sprintf("Department %d.%d", a, b), Parent: div})
			for c := 1; c <= 2; c++ {
				ds = append(ds, admin.PolicyDept{ID: fmt.Sprintf("%s-%d", dep, c), Name: fmt.Sprintf("Team %d.%d.%d", a, b, c), Parent: dep})
			}
		}
	}
	return ds
}

// logStep, when set, receives how long each step of Seed took.
var logStep func(step string, d time.Duration)

// step runs fn as a named step of Seed.
func step(name string, fn func() error) error {
	start := time.Now()
	err := fn()
	if logStep != nil && err == nil {
		logStep(name, time.Since(start))
	}
	return err
}

// Seed fills the fresh PostgreSQL database or schema at dsn (migrating it;
// a search_path parameter in the URL selects the schema) with workspaces
// workspaces of membersPerWS members each:
//
//   - the template, WorkspaceID(0), through the admin operations: created on
//     Plan, a policy import adding the five role templates of R9 as custom
//     roles (four internal, one client) and 30 departments, and an
//     unapplied edit of the sales role, so that it has two revisions;
//   - the other workspaces as SQL copies of the template's rows, with the
//     workspace id replaced and each copy's audit chain re-hashed;
//   - in every workspace, members UserID(n, 0…membersPerWS-1, …): member 0
//     an owner; every ClientEvery-th a client with the client role; the
//     others internal with 1–3 internal roles (pseudo-random, by user), a
//     few of the sales holders on its older revision; each in one team or
//     department; every DirectEvery-th with DirectGrant.
//
// Members are written directly, as a bulk load or a restored backup
// would: they have no audit entries or changelog rows of their own, and
// the workspace revision stays the template's. Everything the service
// checks on load holds: every member has at least one assignment, to a
// role revision that exists, of its own audience; departments exist; the
// workspace's revision and audit head match its changelog and chain.
//
// Seed ends with VACUUM ANALYZE, so that a measurement right after it sees
// the tables as a long-running database would.
func Seed(ctx context.Context, dsn string, workspaces, membersPerWS int) error {
	if workspaces < 1 || membersPerWS < 1 {
		return fmt.Errorf("scale: need at least one workspace and one member, got %d × %d", workspaces, membersPerWS)
	}
	if err := step("template", func() error { return seedTemplate(ctx, dsn) }); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("scale: connect: %w", err)
	}
	defer conn.Close(context.Background())
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if err := step("clone", func() error { return cloneTemplate(ctx, tx, workspaces) }); err != nil {
			return err
		}
		return seedMembers(ctx, tx, membersPerWS)
	})
	if err != nil {
		return fmt.Errorf("scale: %w", err)
	}
	err = step("vacuum", func() error {
		_, err := conn.Exec(ctx, "VACUUM (ANALYZE) workspaces, roles, role_revisions, departments, members, member_departments, assignments, audit, changes")
		return err
	})
	if err != nil {
		return fmt.Errorf("scale: vacuum: %w", err)
	}
	return nil
}

// seedTemplate makes the template workspace through the admin operations,
// in a database that must have no workspace yet.
func seedTemplate(ctx context.Context, dsn string) error {
	st, err := postgres.Open(ctx, dsn)
	if err != nil {
		return fmt.Errorf("scale: %w", err)
	}
	defer st.Close()
	ids, err := st.Workspaces(ctx)
	if err != nil {
		return fmt.Errorf("scale: %w", err)
	}
	if len(ids) > 0 {
		return fmt.Errorf("scale: the database already has %d workspaces; Seed needs a fresh one", len(ids))
	}
	svc := admin.New(st, admin.Options{})
	ws := WorkspaceID(0)
	if _, err := svc.CreateWorkspace(ctx, admin.WorkspaceInput{ID: ws, Name: "Workspace " + ws, Plan: Plan}); err != nil {
		return fmt.Errorf("scale: template: %w", err)
	}
	f := admin.PolicyFile{Version: 1, Departments: departments()}
	for _, t := range policy.Templates() {
		f.Roles = append(f.Roles, admin.PolicyRole{ID: t.ID, Name: t.Name, Description: t.Description, Audience: t.Audience, Grants: policy.JoinGrants(t.Grants, nil)})
	}
	w := admin.Write{Reason: "scale seed"}
	if _, err := svc.ImportPolicy(ctx, ws, w, f.Marshal()); err != nil {
		return fmt.Errorf("scale: template policy: %w", err)
	}
	sales, err := svc.Role(ctx, ws, "sales")
	if err != nil {
		return fmt.Errorf("scale: template: %w", err)
	}
	sales.Grants["deals_view"], sales.Grants["deals_edit"] = policy.LevelDepartment, policy.LevelOwn
	apply := false
	if _, _, err := svc.UpdateRole(ctx, ws, w, "sales", admin.RoleUpdate{Grants: sales.Grants, Apply: &apply}); err != nil {
		return fmt.Errorf("scale: template sales edit: %w", err)
	}
	return nil
}

// workspaceTables are the tables with a workspace_id column that Seed
// knows how to fill. A table a later migration adds must be taught to
// cloneTemplate (or to seedMembers) before Seed runs again.
var workspaceTables = []string{"api_keys", "assignments", "audit", "audit_reasons", "changes", "departments", "member_departments",
	"members", "role_revisions", "roles", "smart_objects", "usage"}

// templateEmpty are the tables with a workspace_id column that the
// template leaves empty (no aliases, gateway routes, department roles,
// separation-of-duties rules or reviews), so there is nothing to copy;
// cloneTemplate checks that they are.
var templateEmpty = []string{"action_aliases", "department_roles", "gateway_routes", "review_items", "reviews", "sod_rules"}

// cloneTemplate copies the template's rows to workspaces 1…n-1 and leaves
// a temporary table scale_ws (n, id) of every workspace, the template
// included, for seedMembers.
func cloneTemplate(ctx context.Context, tx pgx.Tx, n int) error {
	tmpl := WorkspaceID(0)
	var unknown []string
	rows, err := tx.Query(ctx, `SELECT table_name::text FROM information_schema.columns
		WHERE table_schema = current_schema() AND column_name = 'workspace_id' AND NOT (table_name = ANY($1)) ORDER BY 1`,
		append(slices.Clone(workspaceTables), templateEmpty...))
	if err == nil {
		unknown, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		return fmt.Errorf("tables: %w", err)
	}
	if len(unknown) > 0 {
		return fmt.Errorf("tables %v hold workspace data that Seed does not copy; update internal/scale", unknown)
	}
	for _, t := range templateEmpty {
		var rows int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{t}.Sanitize()+` WHERE workspace_id = $1`, tmpl).Scan(&rows); err != nil {
			return fmt.Errorf("%s: %w", t, err)
		}
		if rows > 0 {
			return fmt.Errorf("the template has rows in %s, which Seed does not copy; update internal/scale", t)
		}
	}
	if _, err := tx.Exec(ctx, `CREATE TEMPORARY TABLE scale_ws (n INT PRIMARY KEY, id TEXT NOT NULL) ON COMMIT DROP`); err != nil {
		return err
	}
	wsRows := make([][]any, n)
	for i := range n {
		wsRows[i] = []any{i, WorkspaceID(i)}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"scale_ws"}, []string{"n", "id"}, pgx.CopyFromRows(wsRows)); err != nil {
		return fmt.Errorf("workspace ids: %w", err)
	}
	if n == 1 {
		return nil
	}

	var name, plan string
	var revision, created, updated int64
	if err := tx.QueryRow(ctx, `SELECT name, plan, revision, created_at, updated_at FROM workspaces WHERE id = $1`, tmpl).
		Scan(&name, &plan, &revision, &created, &updated); err != nil {
		return fmt.Errorf("template: %w", err)
	}
	chain, err := readAudit(ctx, tx, tmpl)
	if err != nil {
		return err
	}
	clones := make([][]any, 0, n-1)
	audit := make([][]any, 0, (n-1)*len(chain))
	for i := 1; i < n; i++ {
		id := WorkspaceID(i)
		entries := rechain(chain, tmpl, id)
		head := auditHead(entries)
		clones = append(clones, []any{id, strings.ReplaceAll(name, tmpl, id), plan, revision, head.Seq, head.Hash, created, updated})
		for _, e := range entries {
			audit = append(audit, e.row(id))
		}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"workspaces"},
		[]string{"id", "name", "plan", "revision", "audit_seq", "audit_hash", "created_at", "updated_at"}, pgx.CopyFromRows(clones)); err != nil {
		return fmt.Errorf("workspaces: %w", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"audit"}, auditColumns, pgx.CopyFromRows(audit)); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	var keys int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM api_keys WHERE workspace_id = $1`, tmpl).Scan(&keys); err != nil {
		return err
	}
	if keys > 0 {
		return errors.New("the template has API keys, whose ids cannot be copied")
	}
	for _, q := range []string{
		`INSERT INTO roles (workspace_id, id, name, description, audience, predefined, is_default, revision, applied_revision, created_at, updated_at)
			SELECT w.id, r.id, r.name, r.description, r.audience, r.predefined, r.is_default, r.revision, r.applied_revision, r.created_at, r.updated_at
			FROM roles r CROSS JOIN scale_ws w WHERE r.workspace_id = $1 AND w.n > 0`,
		`INSERT INTO role_revisions (workspace_id, role_id, revision, grants, author, reason, applied, restored, created_at)
			SELECT w.id, r.role_id, r.revision, r.grants, r.author, r.reason, r.applied, r.restored, r.created_at
			FROM role_revisions r CROSS JOIN scale_ws w WHERE r.workspace_id = $1 AND w.n > 0`,
		`INSERT INTO departments (workspace_id, id, name, parent_id)
			SELECT w.id, d.id, d.name, d.parent_id FROM departments d CROSS JOIN scale_ws w WHERE d.workspace_id = $1 AND w.n > 0`,
		`INSERT INTO smart_objects (workspace_id, id, name, description)
			SELECT w.id, o.id, o.name, o.description FROM smart_objects o CROSS JOIN scale_ws w WHERE o.workspace_id = $1 AND w.n > 0`,
		`INSERT INTO changes (workspace_id, revision, time, action, targets, epochs)
			SELECT w.id, c.revision, c.time, c.action, replace(c.targets, $1, w.id), replace(c.epochs, $1, w.id)
			FROM changes c CROSS JOIN scale_ws w WHERE c.workspace_id = $1 AND w.n > 0`,
	} {
		if _, err := tx.Exec(ctx, q, tmpl); err != nil {
			return fmt.Errorf("%s: %w", firstWords(q), err)
		}
	}
	return nil
}

// bulkTables are the tables seedMembers fills, empty until then.
var bulkTables = []string{"members", "member_departments", "assignments"}

// memberRows is a FROM clause with one row per member of every workspace in
// scale_ws, in primary-key order: w.id, the workspace, and m.g (the
// member's position in it, from 0), m.uid (UserID) and m.h, a
// multiplicative hash of the global member number, which picks roles and
// departments. $1 is the members per workspace.
const memberRows = `scale_ws w
	CROSS JOIN LATERAL generate_series(w.n::bigint * $1::int, w.n::bigint * $1::int + $1::int - 1) gid
	CROSS JOIN LATERAL (SELECT gid - w.n::bigint * $1::int AS g,
		'u' || lpad(gid::text, greatest(7, length(gid::text)), '0') AS uid,
		(gid * 2654435761) % 4294967296 AS h) m`

// seedMembers generates every workspace's members, departments and
// assignments from the template's roles and departments, one statement
// per table. Like a bulk load in PostgreSQL's "Populating a Database", it
// drops the tables' keys and indexes first and builds them again after,
// which checks the same constraints at a fraction of the row-by-row cost.
func seedMembers(ctx context.Context, tx pgx.Tx, perWS int) error {
	tmpl := WorkspaceID(0)
	now := time.Now().UnixMicro()
	var internal, depts, existing int
	var clientRole string
	var clientRev, clientApplied int64
	if err := tx.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM roles WHERE workspace_id = $1 AND audience = 'internal'),
			(SELECT count(*) FROM departments WHERE workspace_id = $1),
			(SELECT count(*) FROM members),
			coalesce((SELECT min(id) FROM roles WHERE workspace_id = $1 AND audience = 'client'), '')`, tmpl).
		Scan(&internal, &depts, &existing, &clientRole); err != nil {
		return fmt.Errorf("template: %w", err)
	}
	if internal == 0 || depts == 0 {
		return fmt.Errorf("the template has %d internal roles and %d departments; it needs both", internal, depts)
	}
	if existing > 0 {
		return fmt.Errorf("the database already has %d members", existing)
	}
	if clientRole != "" {
		if err := tx.QueryRow(ctx, `SELECT revision, applied_revision FROM roles WHERE workspace_id = $1 AND id = $2`, tmpl, clientRole).Scan(&clientRev, &clientApplied); err != nil {
			return fmt.Errorf("client role: %w", err)
		}
	}
	rebuild, err := dropKeys(ctx, tx)
	if err != nil {
		return err
	}
	exec := func(name, q string, args ...any) error {
		return step(name, func() error {
			if _, err := tx.Exec(ctx, q, args...); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			return nil
		})
	}
	// A client member (M6) holds the client role; the workspace has no
	// clients if the template has no client role ($2).
	isClient := fmt.Sprintf("(m.g %% %d = %d AND $2::bool)", ClientEvery, ClientEvery-1)
	hasDirect := fmt.Sprintf("(m.g %% %d = %d AND NOT %s)", DirectEvery, DirectEvery/2, isClient)
	if err := exec("members", `INSERT INTO members (workspace_id, user_id, name, email, kind, owner, grants, epoch, created_at, updated_at)
		SELECT w.id, m.uid, 'Member ' || m.uid, m.uid || '@example.com',
			CASE WHEN `+isClient+` THEN 'client' ELSE 'internal' END, m.g = 0,
			CASE WHEN `+hasDirect+` THEN $3 ELSE '{}' END, 1, $4::bigint, $4::bigint
		FROM `+memberRows, perWS, clientRole != "", DirectGrant, now); err != nil {
		return err
	}
	if err := exec("member departments", `INSERT INTO member_departments (workspace_id, user_id, department_id)
		SELECT w.id, m.uid, d.ids[1 + (m.h / 3) % $3::int]
		FROM (SELECT array_agg(id ORDER BY id) AS ids FROM departments WHERE workspace_id = $2) d CROSS JOIN `+memberRows,
		perWS, tmpl, depts); err != nil {
		return err
	}
	// An internal member holds 1–3 consecutive internal roles, in the
	// order of their ids (distinct, as k runs over distinct roles); about
	// one holder in OldRevisionEvery of a role whose newest revision was
	// not applied is on the revision before. An assignment on its role's
	// applied revision follows it (revision NULL), as every apply leaves
	// them.
	if err := exec("assignments", `INSERT INTO assignments (workspace_id, user_id, role_id, revision, assigned_at, assigned_by)
		SELECT w.id, m.uid,
			CASE WHEN `+isClient+` THEN $6::text ELSE r.ids[k] END,
			NULLIF(CASE WHEN `+isClient+` THEN $7::bigint
				WHEN r.olds[k] IS NOT NULL AND (m.h / 7) % `+fmt.Sprint(OldRevisionEvery)+` = 0 THEN r.olds[k]
				ELSE r.revs[k] END,
				CASE WHEN `+isClient+` THEN $8::bigint ELSE r.applied[k] END),
			$4::bigint, ''
		FROM (SELECT array_agg(id ORDER BY id) AS ids, array_agg(revision ORDER BY id) AS revs,
				array_agg(applied_revision ORDER BY id) AS applied,
				array_agg((SELECT max(v.revision) FROM role_revisions v
					WHERE v.workspace_id = rl.workspace_id AND v.role_id = rl.id AND v.revision < rl.revision) ORDER BY id) AS olds
			FROM roles rl WHERE workspace_id = $3 AND audience = 'internal') r
		CROSS JOIN `+memberRows+`
		CROSS JOIN LATERAL generate_series(0, CASE WHEN `+isClient+` THEN 0 ELSE least($5::int, 1 + (m.h / 65536) % 3) - 1 END) j
		CROSS JOIN LATERAL (SELECT 1 + (m.h % $5::int + j) % $5::int AS k) x`,
		perWS, clientRole != "", tmpl, now, internal, clientRole, clientRev, clientApplied); err != nil {
		return err
	}
	return step("keys", rebuild)
}

// dropKeys drops the primary keys, indexes and foreign keys of bulkTables
// (and foreign keys into them), returning a function that creates them
// again, as the migrations define them and under the same names, which
// also checks every row against them.
func dropKeys(ctx context.Context, tx pgx.Tx) (rebuild func() error, err error) {
	rows, err := tx.Query(ctx, `SELECT format('%I', t.relname), format('%I', c.conname), c.contype::text, pg_get_constraintdef(c.oid)
		FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
		WHERE t.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) AND c.contype IN ('p', 'u', 'f')
			AND (t.relname = ANY($1) OR c.confrelid IN (SELECT oid FROM pg_class WHERE relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) AND relname = ANY($1)))
		ORDER BY c.contype = 'f', t.relname, c.conname`, bulkTables)
	if err != nil {
		return nil, fmt.Errorf("constraints: %w", err)
	}
	type constraint struct{ Table, Name, Kind, Def string }
	cons, err := pgx.CollectRows(rows, pgx.RowToStructByPos[constraint])
	if err != nil {
		return nil, fmt.Errorf("constraints: %w", err)
	}
	rows, err = tx.Query(ctx, `SELECT format('%I', i.relname), pg_get_indexdef(x.indexrelid)
		FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
		WHERE t.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) AND t.relname = ANY($1)
			AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
		ORDER BY i.relname`, bulkTables)
	if err != nil {
		return nil, fmt.Errorf("indexes: %w", err)
	}
	type index struct{ Name, Def string }
	idxs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[index])
	if err != nil {
		return nil, fmt.Errorf("indexes: %w", err)
	}
	// Foreign keys go first and come back last.
	for i := len(cons) - 1; i >= 0; i-- {
		if _, err := tx.Exec(ctx, `ALTER TABLE `+cons[i].Table+` DROP CONSTRAINT `+cons[i].Name); err != nil {
			return nil, fmt.Errorf("drop %s: %w", cons[i].Name, err)
		}
	}
	for _, x := range idxs {
		if _, err := tx.Exec(ctx, `DROP INDEX `+x.Name); err != nil {
			return nil, fmt.Errorf("drop %s: %w", x.Name, err)
		}
	}
	return func() error {
		if _, err := tx.Exec(ctx, `SET LOCAL maintenance_work_mem = '256MB'`); err != nil {
			return err
		}
		for _, c := range cons {
			if c.Kind == "f" {
				continue
			}
			if _, err := tx.Exec(ctx, `ALTER TABLE `+c.Table+` ADD CONSTRAINT `+c.Name+` `+c.Def); err != nil {
				return fmt.Errorf("add %s: %w", c.Name, err)
			}
		}
		for _, x := range idxs {
			if _, err := tx.Exec(ctx, x.Def); err != nil {
				return fmt.Errorf("create %s: %w", x.Name, err)
			}
		}
		for _, c := range cons {
			if c.Kind != "f" {
				continue
			}
			if _, err := tx.Exec(ctx, `ALTER TABLE `+c.Table+` ADD CONSTRAINT `+c.Name+` `+c.Def); err != nil {
				return fmt.Errorf("add %s: %w", c.Name, err)
			}
		}
		return nil
	}, nil
}

// firstWords names a statement in an error without its whole text.
func firstWords(q string) string {
	f := strings.Fields(q)
	return strings.Join(f[:min(len(f), 3)], " ")
}
