package postgres_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/internal/pgtest"
	"github.com/gatehouse-authz/gatehouse/policy"
	"github.com/gatehouse-authz/gatehouse/store/postgres"
)

// keysFixture is a workspace w with departments sales and ops, a role whose
// revisions 1 and 2 exist, a role nobody holds, member a (in sales, following the role) and
// member b (in sales, pinned to revision 1), written through the service;
// conn talks to the store's schema directly, as a tool or a bug would.
type keysFixture struct {
	conn  *pgx.Conn
	dsn   string
	role  string
	other string // a role nobody holds, at revision 1
}

func newKeysFixture(t *testing.T) keysFixture {
	t.Helper()
	ctx := context.Background()
	_, dsn := pgtest.Schema(t, server(t), "t", t.Cleanup)
	s, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	svc := admin.New(s, admin.Options{})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = svc.CreateWorkspace(ctx, admin.WorkspaceInput{ID: "w", Name: "W", Plan: admin.PlanProfessional})
	must(err)
	for _, d := range []string{"sales", "ops"} {
		_, _, err = svc.PutDepartment(ctx, "w", admin.Write{}, admin.Department{ID: d, Name: d})
		must(err)
	}
	r, _, err := svc.CreateRole(ctx, "w", admin.Write{}, admin.RoleInput{Name: "Rep", Grants: policy.Grants{"deals_view": policy.LevelOwn}})
	must(err)
	other, _, err := svc.CreateRole(ctx, "w", admin.Write{}, admin.RoleInput{Name: "Other"})
	must(err)
	for _, u := range []string{"a", "b"} {
		_, _, err = svc.UpsertMember(ctx, "w", admin.Write{}, admin.MemberInput{UserID: u, DepartmentIDs: []string{"sales"}, RoleIDs: []string{r.ID}})
		must(err)
	}
	apply := false
	_, _, err = svc.UpdateRole(ctx, "w", admin.Write{}, r.ID, admin.RoleUpdate{Grants: policy.Grants{"deals_view": policy.LevelAll}, Apply: &apply})
	must(err)
	conn, err := pgx.Connect(ctx, dsn)
	must(err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(ctx, `UPDATE assignments SET revision = 1 WHERE user_id = 'b'`); err != nil {
		t.Fatal(err)
	}
	return keysFixture{conn: conn, dsn: dsn, role: r.ID, other: other.ID}
}

func (f keysFixture) count(t *testing.T, query string) int64 {
	t.Helper()
	var n int64
	if err := f.conn.QueryRow(context.Background(), query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// TestStatementKeys_KeysHoldAsForeignKeys: migration 00012 checks the keys
// of members, member_departments, assignments and audit once per
// statement instead of by row-level foreign keys. Every write a foreign
// key refused must still fail with foreign_key_violation, by INSERT,
// UPDATE or COPY (the import's path), and write nothing; what it allowed
// must still pass.
func TestStatementKeys_KeysHoldAsForeignKeys(t *testing.T) {
	f := newKeysFixture(t)
	ctx := context.Background()
	member := func(ws, u string) string {
		return `INSERT INTO members (workspace_id, user_id, name, email, kind, owner, grants, epoch, created_at, updated_at)
			VALUES ('` + ws + `', '` + u + `', '', '', 'internal', false, '{}', 1, 0, 0)`
	}
	assignment := func(u, role, rev string) string {
		return `INSERT INTO assignments (workspace_id, user_id, role_id, revision, assigned_at, assigned_by)
			VALUES ('w', '` + u + `', '` + role + `', ` + rev + `, 0, '')`
	}
	refused := []struct{ name, query, why string }{
		{"MemberOfMissingWorkspace", member("nope", "x"), "insert into members: workspace"},
		{"AuditOfMissingWorkspace", `INSERT INTO audit (workspace_id, seq, time, revision, actor, action, target, before, after, reason, prev_hash, hash)
			VALUES ('nope', 1, 0, 1, '', '', '', '', '', '', '', '')`, "insert into audit: workspace"},
		{"LinkOfMissingMember", `INSERT INTO member_departments VALUES ('w', 'ghost', 'sales')`, "member_departments: member"},
		{"LinkToMissingDepartment", `INSERT INTO member_departments VALUES ('w', 'a', 'nowhere')`, "member_departments: department"},
		{"LinkMovedToMissingDepartment", `UPDATE member_departments SET department_id = 'nowhere' WHERE user_id = 'a'`, "member_departments: department"},
		{"AssignmentOfMissingMember", assignment("ghost", f.role, "NULL"), "assignments: member"},
		{"AssignmentOfMissingRole", assignment("a", "no_role", "NULL"), "assignments: role does"},
		{"AssignmentPinnedToMissingRevision", assignment("a", f.other, "99"), "assignments: role revision"},
		{"AssignmentMovedToMissingRevision", `UPDATE assignments SET revision = 99 WHERE user_id = 'b'`, "assignments: role revision"},
		{"OneBadRowAfterAGoodOne", `INSERT INTO member_departments VALUES ('w', 'a', 'ops'), ('w', 'b', 'nowhere')`, "member_departments: department"},
		// 00014 checks each distinct parent once: a missing one among
		// repeated good ones is still found.
		{"MissingMemberAmongRepeatedRoles", `INSERT INTO assignments (workspace_id, user_id, role_id, revision, assigned_at, assigned_by)
			VALUES ('w', 'a', '` + f.other + `', NULL, 0, ''), ('w', 'ghost', '` + f.other + `', NULL, 0, '')`, "assignments: member"},
		{"MissingRoleAmongRepeatedMembers", `INSERT INTO assignments (workspace_id, user_id, role_id, revision, assigned_at, assigned_by)
			VALUES ('w', 'a', '` + f.other + `', NULL, 0, ''), ('w', 'a', 'no_role', NULL, 0, '')`, "assignments: role does"},
		{"MissingDepartmentAmongRepeatedOnes", `INSERT INTO member_departments VALUES ('w', 'a', 'ops'), ('w', 'b', 'ops'), ('w', 'b', 'nowhere')`, "member_departments: department"},
		{"DeleteHeldRole", `DELETE FROM roles WHERE id = '` + f.role + `'`, "assignments hold the r"}, // its revisions cascade first
		{"DeleteHeldRevision", `DELETE FROM role_revisions WHERE role_id = '` + f.role + `' AND revision = 1`, "assignments hold the revision"},
		{"MemberKeyChanges", `UPDATE members SET user_id = 'a2' WHERE user_id = 'a'`, "update members: keys"},
		{"WorkspaceKeyChanges", `UPDATE workspaces SET id = 'w2' WHERE id = 'w'`, "update workspaces: keys"},
		{"DepartmentKeyChanges", `UPDATE departments SET id = 'sales2' WHERE id = 'sales'`, "update departments: keys"},
		{"RoleKeyChanges", `UPDATE roles SET id = 'r2' WHERE id = '` + f.role + `'`, "update roles: keys"},
		{"RevisionKeyChanges", `UPDATE role_revisions SET revision = 7 WHERE role_id = '` + f.role + `' AND revision = 2`, "update role_revisions: keys"},
	}
	before := f.count(t, `SELECT count(*) FROM members`) + 100*f.count(t, `SELECT count(*) FROM member_departments`) +
		10000*f.count(t, `SELECT count(*) FROM assignments`) + 1000000*f.count(t, `SELECT count(*) FROM roles`)
	for _, tc := range refused {
		t.Run("Refused_"+tc.name, func(t *testing.T) {
			_, err := f.conn.Exec(ctx, tc.query)
			if pe := (*pgconn.PgError)(nil); !errors.As(err, &pe) || pe.Code != "23503" || !strings.Contains(pe.Message, tc.why) {
				t.Fatalf("got %v, want foreign_key_violation (23503) saying %q", err, tc.why)
			}
		})
	}
	t.Run("Refused_CopyWithOneBadRow", func(t *testing.T) {
		rows := [][]any{{"w", "a", "ops"}, {"w", "b", "nowhere"}}
		_, err := f.conn.CopyFrom(ctx, pgx.Identifier{"member_departments"}, []string{"workspace_id", "user_id", "department_id"}, pgx.CopyFromRows(rows))
		if pe := (*pgconn.PgError)(nil); !errors.As(err, &pe) || pe.Code != "23503" || !strings.Contains(pe.Message, "member_departments: department") {
			t.Fatalf("got %v, want foreign_key_violation (23503) for the department", err)
		}
	})
	after := f.count(t, `SELECT count(*) FROM members`) + 100*f.count(t, `SELECT count(*) FROM member_departments`) +
		10000*f.count(t, `SELECT count(*) FROM assignments`) + 1000000*f.count(t, `SELECT count(*) FROM roles`)
	if after != before {
		t.Fatalf("refused statements changed the rows: %d, was %d", after, before)
	}

	allowed := []string{
		member("w", "c"),
		`INSERT INTO member_departments VALUES ('w', 'c', 'sales')`,
		assignment("c", f.role, "NULL"), // a follower: no revision to check
		assignment("c", f.other, "1"),   // pinned to a revision that exists
		`UPDATE assignments SET revision = 2 WHERE user_id = 'b'`,
		`UPDATE members SET epoch = epoch + 1, name = 'A' WHERE user_id = 'a'`,
		`UPDATE roles SET applied_revision = 2 WHERE id = '` + f.role + `'`,
	}
	for _, q := range allowed {
		if _, err := f.conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestStatementKeys_DeletesCascadeAsForeignKeys: deleting a member,
// department or workspace deletes the rows that pointed to it, as the ON
// DELETE CASCADE of the foreign keys did; a role nobody holds deletes.
func TestStatementKeys_DeletesCascadeAsForeignKeys(t *testing.T) {
	f := newKeysFixture(t)
	ctx := context.Background()
	exec := func(q string) {
		t.Helper()
		if _, err := f.conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`DELETE FROM members WHERE user_id = 'a'`)
	if n := f.count(t, `SELECT count(*) FROM member_departments WHERE user_id = 'a'`) + f.count(t, `SELECT count(*) FROM assignments WHERE user_id = 'a'`); n != 0 {
		t.Errorf("a deleted member left %d links and assignments", n)
	}
	if n := f.count(t, `SELECT count(*) FROM assignments WHERE user_id = 'b'`); n != 1 {
		t.Errorf("deleting a took b's assignments: %d left, want 1", n)
	}
	exec(`DELETE FROM departments WHERE id = 'sales'`)
	if n := f.count(t, `SELECT count(*) FROM member_departments`); n != 0 {
		t.Errorf("a deleted department left %d links", n)
	}
	exec(`DELETE FROM assignments WHERE role_id = '` + f.role + `'`)
	exec(`DELETE FROM roles WHERE id = '` + f.role + `'`) // held by nobody now
	if n := f.count(t, `SELECT count(*) FROM role_revisions WHERE role_id = '`+f.role+`'`); n != 0 {
		t.Errorf("a deleted role left %d revisions", n)
	}
	exec(`DELETE FROM workspaces WHERE id = 'w'`)
	for _, table := range []string{"members", "member_departments", "assignments", "audit", "roles", "changes"} {
		if n := f.count(t, `SELECT count(*) FROM `+table); n != 0 {
			t.Errorf("a deleted workspace left %d rows in %s", n, table)
		}
	}
}

// TestMigration12_DownRestoresForeignKeys: taken down to 00011, the
// schema has its seven foreign keys back and no statement trigger, and
// the data passes them; up again, the triggers replace them.
func TestMigration12_DownRestoresForeignKeys(t *testing.T) {
	f := newKeysFixture(t)
	ctx := context.Background()
	pool, err := pgx.ParseConfig(f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, os.DirFS("migrations"))
	if err != nil {
		t.Fatal(err)
	}
	keys := func() (fks, triggers int64) {
		t.Helper()
		fks = f.count(t, `SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND connamespace = current_schema()::regnamespace
			AND conrelid::regclass::text IN ('members', 'member_departments', 'assignments', 'audit')`)
		triggers = f.count(t, `SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
			WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal`)
		return fks, triggers
	}
	if fks, triggers := keys(); fks != 0 || triggers != 16 {
		t.Fatalf("at 00012: %d foreign keys and %d triggers, want 0 and 16", fks, triggers)
	}
	if _, err := p.DownTo(ctx, 11); err != nil { // through 00014, 00013 and 00012
		t.Fatal(err)
	}
	if fks, triggers := keys(); fks != 7 || triggers != 0 {
		t.Fatalf("at 00011: %d foreign keys and %d triggers, want 7 and 0", fks, triggers)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if fks, triggers := keys(); fks != 0 || triggers != 16 {
		t.Fatalf("up again: %d foreign keys and %d triggers, want 0 and 16", fks, triggers)
	}
}

// TestMigration13_MembersKeepRoomForEpochBumps: members' pages keep a
// fifth free (migration 00013), so that an applied edit's epoch bumps
// update rows in place of their page; down removes the setting.
func TestMigration13_MembersKeepRoomForEpochBumps(t *testing.T) {
	f := newKeysFixture(t)
	ctx := context.Background()
	opts := func() string {
		t.Helper()
		var o string
		if err := f.conn.QueryRow(ctx, `SELECT coalesce(array_to_string(reloptions, ','), '') FROM pg_class
			WHERE oid = 'members'::regclass`).Scan(&o); err != nil {
			t.Fatal(err)
		}
		return o
	}
	if got := opts(); got != "fillfactor=80" {
		t.Fatalf("members options %q, want fillfactor=80", got)
	}
	cfg, err := pgx.ParseConfig(f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, os.DirFS("migrations"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 12); err != nil {
		t.Fatal(err)
	}
	if got := opts(); got != "" {
		t.Fatalf("at 00012 members options %q, want none", got)
	}
}

// TestStatementKeys_PlannedWithIndexes: the key checks plan with
// sequential scans off. Right after a bulk insert a table has no
// statistics, and a plan that scans it once per checked row made a
// seed of a million department links run for minutes: the checks must
// probe the parents' keys, as a foreign key does.
func TestStatementKeys_PlannedWithIndexes(t *testing.T) {
	f := newKeysFixture(t)
	n := f.count(t, `SELECT count(*) FROM pg_proc WHERE pronamespace = current_schema()::regnamespace
		AND proname LIKE 'gatehouse\_%' AND proname <> 'gatehouse_key_unchanged'`)
	off := f.count(t, `SELECT count(*) FROM pg_proc WHERE pronamespace = current_schema()::regnamespace
		AND proname LIKE 'gatehouse\_%' AND 'enable_seqscan=off' = ANY (proconfig)`)
	if n != 8 || off != n {
		t.Fatalf("%d of %d key functions plan with sequential scans off, want all of 8", off, n)
	}
}
