package web

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gatehouse-authz/gatehouse/policy"
)

func findCell(t *testing.T, m matrix, key string) cell {
	t.Helper()
	for _, s := range m.Sections {
		for _, r := range s.Rows {
			for _, c := range r.Cells {
				if c.Key == key {
					return c
				}
			}
		}
	}
	t.Fatalf("no cell %s", key)
	return cell{}
}

func findRow(t *testing.T, m matrix, module string) (section, row) {
	t.Helper()
	for _, s := range m.Sections {
		for _, r := range s.Rows {
			if r.ID == module {
				return s, r
			}
		}
	}
	t.Fatalf("no row %s", module)
	return section{}, row{}
}

func allowed(c cell) []string {
	var out []string
	for _, o := range c.Options {
		if o.Allowed {
			out = append(out, o.Value)
		}
	}
	return out
}

func TestMatrix_C2_UnsupportedActionsAreBlank(t *testing.T) {
	cat := policy.DefaultCatalog()
	m := buildMatrix(cat, policy.Internal, policy.Grants{}, nil, nil)
	s, r := findRow(t, m, "calls") // view, edit, export only
	for i, a := range s.Columns {
		blank := r.Cells[i].Blank
		want := a != "view" && a != "edit" && a != "export"
		if blank != want {
			t.Errorf("calls/%s: blank = %v, want %v", a, blank, want)
		}
	}
	if !slices.Contains(s.Columns, "skip_cr") {
		t.Errorf("custom action skip_cr missing from the CRM columns %v (C3)", s.Columns)
	}
}

func TestMatrix_C4_ForbiddenOptionsDisabledWithReason(t *testing.T) {
	cat := policy.DefaultCatalog()
	m := buildMatrix(cat, policy.Internal, policy.Grants{"leads_view": policy.LevelDepartment}, nil, nil)
	c := findCell(t, m, "leads_edit")
	if got, want := allowed(c), []string{"inherit", "none", "own", "department"}; !slices.Equal(got, want) {
		t.Fatalf("leads_edit options = %v, want %v", got, want)
	}
	for _, o := range c.Options {
		if !o.Allowed && o.Reason == "" {
			t.Errorf("option %s is disabled without a reason", o.Value)
		}
	}
	if c.Forbidden == "" {
		t.Error("no screen-reader text for the forbidden options")
	}
	// An unscoped action needs some level of what it requires.
	m = buildMatrix(cat, policy.Internal, policy.Grants{}, nil, nil)
	if got := allowed(findCell(t, m, "leads_create")); slices.Contains(got, "all") {
		t.Errorf("leads_create may not be all without leads_view: %v", got)
	}
}

func TestMatrix_C6_InheritedShownApartFromExplicit(t *testing.T) {
	cat := policy.DefaultCatalog()
	m := buildMatrix(cat, policy.Internal, policy.Grants{"crm_view": policy.LevelAll, "deals_view": policy.LevelNone}, nil, nil)
	leads := findCell(t, m, "leads_view")
	if leads.Explicit || leads.From != "crm_view" || leads.Level != policy.LevelAll {
		t.Errorf("leads_view = %+v, want all inherited from crm_view", leads)
	}
	deals := findCell(t, m, "deals_view")
	if !deals.Explicit || deals.Level != policy.LevelNone {
		t.Errorf("deals_view = %+v, want an explicit none overriding the group", deals)
	}
	if sec, _ := findRow(t, m, "crm"); !sec.Open {
		t.Error("a section with explicit grants starts open")
	}
}

func TestMatrix_M6_R10_LockedCells(t *testing.T) {
	cat := policy.DefaultCatalog()
	m := buildMatrix(cat, policy.Client, policy.Grants{}, nil, nil)
	if c := findCell(t, m, "settings_roles_view"); c.Locked == "" || len(c.Options) != 0 {
		t.Errorf("client role: settings_roles_view must be locked (M6): %+v", c)
	}
	if c := findCell(t, m, "tasks_view"); c.Locked == "" {
		t.Errorf("tasks_view must be locked: relation module (R10): %+v", c)
	}
}

func TestMatrix_ClickCyclesThroughAllowedLevels(t *testing.T) {
	cat := policy.DefaultCatalog()
	g := policy.Grants{"leads_view": policy.LevelDepartment}
	var seen []string
	for range 6 {
		c := findCell(t, buildMatrix(cat, policy.Internal, g, nil, nil), "leads_edit")
		seen = append(seen, c.Next)
		if _, err := setLevel(cat, policy.Internal, g, "leads_edit", c.Next); err != nil {
			t.Fatal(err)
		}
	}
	// inherited none → own → department → (all is forbidden) inherit → …
	want := []string{"own", "department", "inherit", "own", "department", "inherit"}
	if !slices.Equal(seen, want) {
		t.Fatalf("cycle = %v, want %v", seen, want)
	}
}

func TestSetLevel_C4_LoweringCascades(t *testing.T) {
	cat := policy.DefaultCatalog()
	g := policy.Grants{"leads_view": policy.LevelAll, "leads_edit": policy.LevelAll, "leads_delete": policy.LevelAll, "leads_create": policy.LevelAll}
	adj, err := setLevel(cat, policy.Internal, g, "leads_view", "own")
	if err != nil {
		t.Fatal(err)
	}
	if g["leads_edit"] != policy.LevelOwn || g["leads_delete"] != policy.LevelOwn || g["leads_create"] != policy.LevelAll {
		t.Fatalf("after lowering view: %v", g)
	}
	if len(adj) != 2 {
		t.Errorf("adjustments = %v", adj)
	}
	if err := cat.ValidateGrants(g, policy.Internal); err != nil {
		t.Fatal(err)
	}
	if _, err := setLevel(cat, policy.Internal, g, "leads_create", "own"); err == nil {
		t.Error("C5: an unscoped action cannot be set to own")
	}
	if _, err := setLevel(cat, policy.Internal, g, "lead_view", "own"); policy.ErrorCode(err) != policy.CodeUnknownPermission {
		t.Errorf("C1: unknown key = %v", err)
	}
}

// TestSetLevel_AlwaysLeavesAValidDraft: whatever a person clicks, the draft
// the editor holds satisfies every rule a save checks (C4, C5, M6, R10).
func TestSetLevel_AlwaysLeavesAValidDraft(t *testing.T) {
	cat := policy.DefaultCatalog()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, aud := range []policy.Audience{policy.Internal, policy.Client} {
		g := policy.Grants{}
		for i := range 3000 {
			m := buildMatrix(cat, aud, g, nil, nil)
			var cells []cell
			for _, s := range m.Sections {
				for _, r := range s.Rows {
					for _, c := range r.Cells {
						if !c.Blank && c.Locked == "" {
							cells = append(cells, c)
						}
					}
				}
			}
			c := cells[rng.IntN(len(cells))]
			opts := allowed(c)
			v := opts[rng.IntN(len(opts))]
			if rng.IntN(3) == 0 {
				v = c.Next
			}
			if _, err := setLevel(cat, aud, g, c.Key, v); err != nil {
				t.Fatalf("step %d: set %s=%s: %v", i, c.Key, v, err)
			}
			if err := cat.ValidateGrants(g, aud); err != nil {
				t.Fatalf("step %d (%s): set %s=%s left an invalid draft: %v", i, aud, c.Key, v, err)
			}
		}
	}
}

// TestMatrix_G1_C6_InheritedCellShowsParentCondition: a cell inheriting
// from a conditional grant (C6) is custom too, with the parent's
// condition; an explicit grant below it is not, and a cell set here keeps
// its own condition.
func TestMatrix_G1_C6_InheritedCellShowsParentCondition(t *testing.T) {
	cat := policy.DefaultCatalog()
	const when = "record.amount < 5"
	m := buildMatrix(cat, policy.Internal, policy.Grants{"crm_view": policy.LevelAll, "deals_view": policy.LevelOwn}, nil, nil)
	markCustom(&m, policy.Conditions{"crm_view": when}, "/validate")
	for _, tc := range []struct {
		key, when, inherited string
	}{
		{"crm_view", when, ""},
		{"leads_view", "", when},
		{"deals_view", "", ""},
	} {
		c := findCell(t, m, tc.key)
		if c.When != tc.when || c.InheritedWhen != tc.inherited {
			t.Errorf("%s: when %q inherited %q, want %q and %q", tc.key, c.When, c.InheritedWhen, tc.when, tc.inherited)
		}
	}
}
