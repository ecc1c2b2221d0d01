package client_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/client"
	"github.com/gatehouse-authz/gatehouse/internal/apitest"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// TestPagination checks the cursor-paged lists page by page and through
// their iterators: every item once, in order, nothing left out.
func TestPagination(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{})
	w := newWorld(t, env, "acme")
	ctx := context.Background()
	const extra = 250
	var in []client.MemberInput
	for i := range extra {
		in = append(in, client.MemberInput{UserID: fmt.Sprintf("m%03d", i), Name: "Member", Email: "m@acme.example",
			Kind: policy.Internal, DepartmentIDs: []string{"west"}, RoleIDs: []string{"contacts_all"}})
	}
	if _, _, err := w.admin.ImportMembers(ctx, w.ws, in); err != nil {
		t.Fatal(err)
	}
	var wantAll []string
	for _, m := range members {
		wantAll = append(wantAll, m.UserID)
	}
	for _, m := range in {
		wantAll = append(wantAll, m.UserID)
	}
	slices.Sort(wantAll)
	wantWest := []string{"fay"}
	for _, m := range in {
		wantWest = append(wantWest, m.UserID)
	}
	slices.Sort(wantWest)

	collect := func(t *testing.T, seq func(yield func(string, error) bool)) []string {
		var out []string
		for id, err := range seq {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, id)
		}
		return out
	}
	tests := []struct {
		name  string
		want  []string
		pages int // pages with limit 100, read one by one
		page  func(cursor string) ([]string, string, error)
		all   func(yield func(string, error) bool)
	}{
		{
			name: "members", want: wantAll, pages: 3,
			page: func(cursor string) ([]string, string, error) {
				p, err := w.admin.Members(ctx, w.ws, client.MemberQuery{Cursor: cursor, Limit: 100})
				if err != nil {
					return nil, "", err
				}
				return userIDs(p.Items), p.NextCursor, nil
			},
			all: func(yield func(string, error) bool) {
				for m, err := range w.admin.AllMembers(ctx, w.ws, client.MemberQuery{Limit: 7}) {
					if !yield(m.UserID, err) {
						return
					}
				}
			},
		},
		{
			name: "role members in a department", want: wantWest, pages: 3,
			page: func(cursor string) ([]string, string, error) {
				p, err := w.admin.Members(ctx, w.ws, client.MemberQuery{Department: "west", Cursor: cursor, Limit: 100})
				if err != nil {
					return nil, "", err
				}
				return userIDs(p.Items), p.NextCursor, nil
			},
			all: func(yield func(string, error) bool) {
				for m, err := range w.admin.AllRoleMembers(ctx, w.ws, "contacts_all", client.MemberQuery{Department: "west", Limit: 13}) {
					if m.UserID == "fay" {
						t.Error("fay does not hold contacts_all")
					}
					if !yield(m.UserID, err) {
						return
					}
				}
				yield("fay", nil) // the one member of west who does not
			},
		},
		{
			name: "who-can", want: whoCanAll(wantAll), pages: 3,
			page: func(cursor string) ([]string, string, error) {
				p, err := w.check.WhoCan(ctx, w.ws, client.WhoCanQuery{Permission: "contacts_view", Level: policy.LevelAll, Cursor: cursor, Limit: 100})
				if err != nil {
					return nil, "", err
				}
				return whoIDs(p.Items), p.NextCursor, nil
			},
			all: func(yield func(string, error) bool) {
				for it, err := range w.check.AllWhoCan(ctx, w.ws, client.WhoCanQuery{Permission: "contacts_view", Level: policy.LevelAll, Limit: 9}) {
					if !yield(it.UserID, err) {
						return
					}
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			cursor, n := "", 0
			for {
				items, next, err := tt.page(cursor)
				if err != nil {
					t.Fatal(err)
				}
				got, n = append(got, items...), n+1
				if next == "" {
					break
				}
				cursor = next
			}
			if n != tt.pages || !slices.Equal(got, tt.want) {
				t.Fatalf("%d pages of %d items, want %d pages of %d:\n got %v\nwant %v", n, len(got), tt.pages, len(tt.want), got, tt.want)
			}
			all := collect(t, tt.all)
			slices.Sort(all)
			if !slices.Equal(all, tt.want) {
				t.Fatalf("iterator: %d items, want %d:\n got %v\nwant %v", len(all), len(tt.want), all, tt.want)
			}
		})
	}

	t.Run("audit", func(t *testing.T) {
		var seqs []int64
		for e, err := range w.admin.AllAudit(ctx, w.ws, client.AuditQuery{Limit: 4}) {
			if err != nil {
				t.Fatal(err)
			}
			seqs = append(seqs, e.Seq)
		}
		if len(seqs) < 10 {
			t.Fatalf("%d audit entries", len(seqs))
		}
		for i, s := range seqs {
			if s != int64(i+1) {
				t.Fatalf("audit seqs %v: not 1, 2, 3, …", seqs)
			}
		}
		p, err := w.admin.Audit(ctx, w.ws, client.AuditQuery{Limit: 4})
		if err != nil || len(p.Items) != 4 || p.NextCursor == "" {
			t.Fatalf("first page %+v, %v", p, err)
		}
	})

	t.Run("breaking out stops fetching", func(t *testing.T) {
		n := 0
		for _, err := range w.admin.AllMembers(ctx, w.ws, client.MemberQuery{Limit: 2}) {
			if err != nil {
				t.Fatal(err)
			}
			if n++; n == 3 {
				break
			}
		}
	})

	t.Run("an error ends the sequence", func(t *testing.T) {
		var errs int
		for _, err := range w.check.AllMembers(ctx, w.ws, client.MemberQuery{}) {
			if client.ErrorCode(err) != policy.CodeForbidden {
				t.Fatalf("err %v, want forbidden", err)
			}
			errs++
		}
		if errs != 1 {
			t.Fatalf("%d errors", errs)
		}
	})
}

// whoCanAll is who holds contacts_view at all in newWorld plus the
// imported members: dan (contacts_all), joe (owner) and them.
func whoCanAll(all []string) []string {
	var out []string
	for _, id := range all {
		if id == "dan" || id == "joe" || id[0] == 'm' && len(id) == 4 {
			out = append(out, id)
		}
	}
	return out
}

// TestPagination_WholeListsReadEveryPage: the methods that return a whole
// list (Departments, Roles, …) follow next_cursor past the server's
// largest page (1,000), so no item is silently left out.
func TestPagination_WholeListsReadEveryPage(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{})
	w := newWorld(t, env, "acme")
	ctx := context.Background()
	before, err := w.admin.Departments(ctx, w.ws)
	if err != nil {
		t.Fatal(err)
	}
	policyYAML, err := w.admin.ExportPolicy(ctx, w.ws)
	if err != nil {
		t.Fatal(err)
	}
	const extra = 1100
	var b strings.Builder
	b.Write(policyYAML)
	if !strings.Contains(string(policyYAML), "\ndepartments:\n") {
		b.WriteString("departments:\n")
	}
	for i := range extra {
		fmt.Fprintf(&b, "  - id: bulk%04d\n    name: Bulk %d\n", i, i)
	}
	// Departments come last in an export, so appending extends the list.
	if _, err := w.admin.ImportPolicy(ctx, w.ws, []byte(b.String()), "bulk"); err != nil {
		t.Fatal(err)
	}
	got, err := w.admin.Departments(ctx, w.ws)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(before)+extra {
		t.Fatalf("Departments: %d, want %d", len(got), len(before)+extra)
	}
	if !slices.IsSortedFunc(got, func(a, b client.Department) int { return strings.Compare(a.ID, b.ID) }) {
		t.Error("Departments: not in id order across pages")
	}
}
