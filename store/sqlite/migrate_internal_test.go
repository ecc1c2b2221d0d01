package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// TestMigration11_R6_DownAndUpKeepEveryAssignment: migration 00011 (an
// assignment without a revision follows its role's applied one) rebuilds
// the assignments table. Taking a database with followers and pinned
// assignments back to 00010 must give every row the revision it held,
// and migrating it up again must load exactly what it loaded before.
func TestMigration11_R6_DownAndUpKeepEveryAssignment(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "g.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	svc := admin.New(s, admin.Options{})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = svc.CreateWorkspace(ctx, admin.WorkspaceInput{ID: "w", Name: "W", Plan: admin.PlanProfessional})
	must(err)
	r, _, err := svc.CreateRole(ctx, "w", admin.Write{}, admin.RoleInput{Name: "Rep", Grants: policy.Grants{"deals_view": policy.LevelOwn}})
	must(err)
	for _, u := range []string{"a", "b"} {
		_, _, err = svc.UpsertMember(ctx, "w", admin.Write{}, admin.MemberInput{UserID: u, RoleIDs: []string{r.ID}})
		must(err)
	}
	apply := false
	_, _, err = svc.UpdateRole(ctx, "w", admin.Write{}, r.ID, admin.RoleUpdate{Grants: policy.Grants{"deals_view": policy.LevelAll}}) // 2, applied
	must(err)
	_, _, err = svc.UpdateRole(ctx, "w", admin.Write{}, r.ID, admin.RoleUpdate{Grants: policy.Grants{"deals_view": policy.LevelDepartment}, Apply: &apply}) // 3, saved
	must(err)
	_, _, err = svc.UpsertMember(ctx, "w", admin.Write{}, admin.MemberInput{UserID: "late", RoleIDs: []string{r.ID}})
	must(err)
	before, err := s.Load(ctx, "w")
	must(err)
	must(s.Close())

	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	must(err)
	sub, err := fs.Sub(migrations, "migrations")
	must(err)
	p, err := goose.NewProvider(goose.DialectSQLite3, db, sub)
	must(err)
	_, err = p.DownTo(ctx, 10)
	must(err)
	rows, err := db.QueryContext(ctx, `SELECT user_id, revision FROM assignments WHERE role_id = ? ORDER BY user_id`, r.ID)
	must(err)
	got := map[string]int64{}
	for rows.Next() {
		var u string
		var rev int64
		must(rows.Scan(&u, &rev))
		got[u] = rev
	}
	must(rows.Err())
	if want := map[string]int64{"a": 2, "b": 2, "late": 3}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("at migration 10 the assignments hold %v, want %v", got, want)
	}
	must(db.Close())

	s, err = Open(ctx, path)
	must(err)
	defer s.Close()
	after, err := s.Load(ctx, "w")
	must(err)
	if fmt.Sprint(after.Members) != fmt.Sprint(before.Members) {
		t.Errorf("after migrating down and up the members load as\n%v\nwant\n%v", after.Members, before.Members)
	}
	var pinned int64
	must(s.write.QueryRowContext(ctx, `SELECT count(*) FROM assignments WHERE role_id = ? AND revision IS NOT NULL`, r.ID).Scan(&pinned))
	// A database at 00010 does not say which revision was applied: the
	// migration takes the newest, so late follows it and a and b are
	// pinned to theirs.
	if pinned != 2 {
		t.Errorf("%d assignments pinned after migrating up, want 2 (a and b, on the applied revision before the save)", pinned)
	}
}
