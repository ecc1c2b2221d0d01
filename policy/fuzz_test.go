package policy_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-authz/gatehouse/internal/policyref"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// FuzzParseCatalog: the loader never panics, and whatever it accepts is a
// well-formed catalog: dense ids, consistent lookups, requires within the
// module, inheritance pointing up the tree.
func FuzzParseCatalog(f *testing.F) {
	f.Add(policy.DefaultCatalogYAML())
	f.Add([]byte("version: 1\nmodules:\n  - {id: a, description: A, children: [{id: b, description: B}]}\n"))
	f.Add([]byte("version: 1\nmodules:\n  - {id: t, kind: relation, description: T, actions: [{name: view}], relations: {creator: [view]}}\n"))
	f.Add([]byte("version: 1\nactions:\n  x: {requires: [x]}\nmodules:\n  - {id: a, description: A, actions: [x]}\n"))
	f.Add([]byte("version: 1\nmodules: &m [*m]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := policy.ParseCatalog("fuzz.yaml", data)
		if err != nil {
			if policy.ErrorCode(err) != policy.CodeInvalidArgument {
				t.Fatalf("error with code %s: %v", policy.ErrorCode(err), err)
			}
			return
		}
		for i, p := range c.Permissions() {
			if int(p.ID) != i {
				t.Fatalf("id %d at %d", p.ID, i)
			}
			if id, ok := c.Lookup(p.Key); !ok || id != p.ID {
				t.Fatalf("lookup %s", p.Key)
			}
			for _, q := range p.Requires {
				if q.Module != p.Module || q == p {
					t.Fatalf("%s requires %s", p.Key, q.Key)
				}
			}
			if par := p.InheritsFrom(); par != nil && (par.ID >= p.ID || par.Action != p.Action || par.Scoped != p.Scoped) {
				t.Fatalf("%s inherits from %s", p.Key, par.Key)
			}
		}
	})
}

// parseGrantLines reads "key=level" lines; the fuzzer mutates them.
func parseGrantLines(s string) policy.Grants {
	g := policy.Grants{}
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		if l, err := policy.ParseLevel(v); err == nil {
			g[k] = l
		} else if len(v) == 1 {
			g[k] = policy.Level(v[0] % 8) // out-of-range levels too
		}
	}
	return g
}

// FuzzValidateGrants: validation never panics, and every set it accepts
// resolves to levels that satisfy C4, C5 and M6.
func FuzzValidateGrants(f *testing.F) {
	f.Add("leads_view=all\nleads_edit=own", false)
	f.Add("crm_view=all\ncrm_edit=all\nleads_view=none", false)
	f.Add("contact_view=all\nleads_create=own", true)
	f.Add("billing_view=all\ntasks_view=all\nwallet_refill=all", true)
	f.Add("channels_view=subdepartments\nchannels_reply=department\nmailbox_support_view=own", false)
	c := policy.DefaultCatalog()
	f.Fuzz(func(t *testing.T, lines string, client bool) {
		aud := policy.Internal
		if client {
			aud = policy.Client
		}
		g := parseGrantLines(lines)
		err := c.ValidateGrants(g, aud)
		if err != nil {
			switch policy.ErrorCode(err) {
			case policy.CodeUnknownPermission, policy.CodeInvalidArgument, policy.CodeAudienceMismatch, policy.CodeDependencyViolation:
			default:
				t.Fatalf("unexpected code: %v", err)
			}
			return
		}
		v := c.Resolve(g, aud)
		for _, p := range c.Permissions() {
			if !p.Allows(v[p.ID]) {
				t.Fatalf("accepted %v, but %s resolves to %s (C5)", g, p.Key, v[p.ID])
			}
			if aud == policy.Client && p.Module.InternalOnly && v[p.ID] != policy.LevelNone {
				t.Fatalf("accepted %v, but client reaches %s (M6)", g, p.Key)
			}
			for _, q := range p.Requires {
				if !policy.DependencyOK(p, v[p.ID], q, v[q.ID]) {
					t.Fatalf("accepted %v, but %s=%s breaks %s=%s (C4)", g, p.Key, v[p.ID], q.Key, v[q.ID])
				}
			}
		}
	})
}

// FuzzCompileAndCheck: random worlds from a fuzzed seed agree with the
// reference model; this is the policy core's fuzz target.
func FuzzCompileAndCheck(f *testing.F) {
	for _, s := range []uint64{1, 2, 3, 42, 1 << 40} {
		f.Add(s, uint8(0), uint8(0))
	}
	f.Fuzz(func(t *testing.T, seed uint64, u, p uint8) {
		w := randomWorld(t, seed)
		s, err := policy.Compile(w.st)
		if err != nil {
			t.Fatal(err)
		}
		ref := policyref.New(w.cat, w.st)
		user := w.users[int(u)%len(w.users)]
		perm := w.cat.Permissions()[int(p)%w.cat.NumPermissions()]
		d, _ := s.Check(user, perm.Key)
		if d.Level != ref.Level(user, perm.Key) {
			t.Fatalf("seed %d %s %s: %s, reference %s", seed, user, perm.Key, d.Level, ref.Level(user, perm.Key))
		}
	})
}
