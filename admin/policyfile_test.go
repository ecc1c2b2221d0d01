package admin

import (
	"reflect"
	"testing"
)

// FuzzParsePolicy: the policy-file parser never panics, and a file it
// accepts survives a marshal round trip unchanged.
func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte("version: 1\nroles:\n  - {id: sales, name: Sales, audience: internal, grants: {leads_view: all}}\n"))
	f.Add([]byte("version: 1\nobjects:\n  - {id: vehicles, name: Vehicles}\nroles: []\ndepartments:\n  - {id: a, name: A}\n  - {id: b, name: B, parent: a}\n"))
	f.Add([]byte("version: 2\n"))
	f.Add([]byte("version: 1\nroles:\n  - {id: x, grants: {leads_view: everything}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePolicy(data)
		if err != nil {
			return
		}
		again, err := ParsePolicy(p.Marshal())
		if err != nil {
			t.Fatalf("a parsed file does not parse after marshalling: %v", err)
		}
		if !reflect.DeepEqual(p, again) {
			t.Fatalf("round trip changed the file:\n%+v\n%+v", p, again)
		}
	})
}

// TestR1_NameKey: role names compare normalized, fully case folded,
// with spaces collapsed and look-alike letters of other scripts taken as
// the Latin ones.
func TestR1_NameKey(t *testing.T) {
	t.Parallel()
	same := [][2]string{{"Sales", "SALES"}, {"Straße", "STRASSE"}, {"Ǆemal", "ǆemal"}, {"e\u0301", "é"},
		{"Sales", "S\u0430les"}, {"ADMIN", "\u0410DMIN"}, {"Boss", "\u0392\u03bf\u0455\u0455"}, {"Sales", "Ｓａｌｅｓ"},
		{"Sales manager", "Sales  manager"}, {"Sales manager", "Sales\u00a0manager"}, {"Ops", "\u041e\u0440s"}}
	for _, p := range same {
		if nameKey(p[0]) != nameKey(p[1]) {
			t.Errorf("%q and %q should collide", p[0], p[1])
		}
	}
	for _, p := range [][2]string{{"Sales", "Sale"}, {"Sales", "Salès"}, {"Продажи", "Sales"}, {"Role 1", "Role 2"}} {
		if nameKey(p[0]) == nameKey(p[1]) {
			t.Errorf("%q and %q should not collide", p[0], p[1])
		}
	}
}

func TestRoleIDSlug(t *testing.T) {
	t.Parallel()
	cases := map[string]string{"Sales team": "sales_team", "  Ops / EU  ": "ops_eu", "Ünïcode": "n_code", "42 Club": "42_club", "": ""}
	for in, want := range cases {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestX4_HashCoversEveryField: changing any field of an audit entry
// changes its hash.
func TestX4_HashCoversEveryField(t *testing.T) {
	t.Parallel()
	base := AuditEntry{Seq: 3, Revision: 7, Actor: "a", Action: "role.update", Target: "role:x",
		Before: []byte(`{"a":1}`), After: []byte(`{"a":2}`), Reason: "r", PrevHash: "p"}
	h := hashEntry(&base)
	mutations := []func(e *AuditEntry){
		func(e *AuditEntry) { e.Seq++ }, func(e *AuditEntry) { e.Revision++ }, func(e *AuditEntry) { e.Actor = "b" },
		func(e *AuditEntry) { e.Action = "role.delete" }, func(e *AuditEntry) { e.Target = "role:y" },
		func(e *AuditEntry) { e.Before = []byte(`{"a":3}`) }, func(e *AuditEntry) { e.After = nil },
		func(e *AuditEntry) { e.Reason = "" }, func(e *AuditEntry) { e.PrevHash = "q" },
		func(e *AuditEntry) { e.Time = e.Time.Add(1e3) },
		// Moving bytes between adjacent fields must not keep the hash.
		func(e *AuditEntry) { e.Actor, e.Action = "arole.update", "" },
	}
	for i, m := range mutations {
		e := base
		m(&e)
		if hashEntry(&e) == h {
			t.Errorf("mutation %d kept the hash", i)
		}
	}
}
