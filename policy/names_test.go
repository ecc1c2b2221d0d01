package policy_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// emailWorld is a workspace of n members u0… whose emails sort in another
// order than the members (so that an unsorted index misses), with every
// tenth member without an email and members 50 to 52, 150 to 152… sharing
// one per hundred.
func emailWorld(n int) policy.State {
	st := policy.State{Workspace: "w", Revision: 1, Catalog: policy.DefaultCatalog(),
		Roles: []policy.RoleRevision{{RoleID: "employee", Revision: 1, Audience: policy.Internal,
			Grants: policy.Grants{"contacts_view": policy.LevelOwn}}}}
	for i := range n {
		m := policy.Member{UserID: fmt.Sprintf("u%d", i), Kind: policy.Internal,
			Roles: []policy.RoleRef{{RoleID: "employee", Revision: 1}}}
		switch {
		case i%10 == 3:
		case i%100 >= 50 && i%100 <= 52:
			m.Email = fmt.Sprintf("dup%d@x.test", i/100)
		default:
			m.Email = fmt.Sprintf("e%05d@x.test", i*7919%n)
		}
		st.Members = append(st.Members, m)
	}
	return st
}

// applyDelta is st after d, as Compile would be given it.
func applyDelta(st policy.State, d policy.Delta) policy.State {
	st.Revision = d.Revision
	st.Members = slices.DeleteFunc(slices.Clone(st.Members), func(m policy.Member) bool {
		return slices.Contains(d.Removed, m.UserID)
	})
	for _, m := range d.Members {
		if i := slices.IndexFunc(st.Members, func(o policy.Member) bool { return o.UserID == m.UserID }); i >= 0 {
			st.Members[i] = m
		} else {
			st.Members = append(st.Members, m)
		}
	}
	return st
}

// withEmail is st's member id with email e and all else kept: an update
// that changes nothing but the email.
func withEmail(st policy.State, id, e string) policy.Member {
	i := slices.IndexFunc(st.Members, func(m policy.Member) bool { return m.UserID == id })
	m := st.Members[i]
	m.Email = e
	return m
}

// emailOf is the email of st's member id.
func emailOf(st policy.State, id string) string {
	i := slices.IndexFunc(st.Members, func(m policy.Member) bool { return m.UserID == id })
	return st.Members[i].Email
}

// TestZ2_MemberByEmail_SortedIndex: MemberByEmail finds, in workspaces
// above smallScan, every member by its email and nobody by an email no
// member has, after a Compile and after updates that change, clear, move
// onto another member's or take back emails, remove members (of a shared
// email, all but one, whichever the index holds first) and add members;
// also in a workspace compiled small that grows past smallScan by updates.
// Every snapshot of a chain keeps answering as it did.
func TestZ2_MemberByEmail_SortedIndex(t *testing.T) {
	t.Parallel()
	type stage struct {
		name  string
		delta func(st policy.State) policy.Delta // nil: the compiled state
		// probes are emails and the members one of which each must find
		// (none: not found), beyond every email of the stage's state.
		probes map[string][]string
	}
	big := emailWorld(1_500) // two pages of members
	e700, e702, e704 := emailOf(big, "u700"), emailOf(big, "u702"), emailOf(big, "u704")
	small := emailWorld(100)
	cases := []struct {
		name   string
		st     policy.State
		stages []stage
	}{
		{"large", big, []stage{
			{name: "compiled", probes: map[string][]string{
				"": nil, "a@x.test": nil, "zzz@x.test": nil, "e00000@x.tesu": nil, "e00001": nil,
				"dup0@x.test": {"u50", "u51", "u52"}, e700: {"u700"},
			}},
			{name: "changed", delta: func(st policy.State) policy.Delta {
				d := policy.Delta{Revision: 2,
					Members: []policy.Member{
						withEmail(st, "u700", "moved@x.test"),
						withEmail(st, "u701", ""),
						withEmail(st, "u703", e704), // now shared
						withEmail(st, "u350", "away350@x.test"), withEmail(st, "u351", ""),
						withEmail(st, "u451", "away451@x.test"), withEmail(st, "u452", ""),
						{UserID: "n1", Kind: policy.Internal, Email: "new@x.test"},
						{UserID: "n2", Kind: policy.Internal, Email: e702},
					},
					// Of each shared email, one member stays: the first,
					// second or third the index holds.
					Removed: []string{"u702", "u50", "u51", "u151", "u152", "u250", "u252"},
				}
				// Email-only changes spread over the index, each moving a
				// member elsewhere in email order or out of it.
				for i := 5; i < 1_500; i += 37 {
					if id := fmt.Sprintf("u%d", i); !slices.ContainsFunc(d.Members, func(m policy.Member) bool { return m.UserID == id }) {
						d.Members = append(d.Members, withEmail(st, id, []string{"", "0" + emailOf(st, id), "~" + emailOf(st, id)}[i%3]))
					}
				}
				return d
			}, probes: map[string][]string{
				e700: nil, "moved@x.test": {"u700"}, e702: {"n2"}, e704: {"u703", "u704"}, "new@x.test": {"n1"},
				"dup0@x.test": {"u52"}, "dup1@x.test": {"u150"}, "dup2@x.test": {"u251"},
				"dup3@x.test": {"u352"}, "dup4@x.test": {"u450"}, "away350@x.test": {"u350"},
			}},
			{name: "changed back", delta: func(st policy.State) policy.Delta {
				return policy.Delta{Revision: 3, Members: []policy.Member{
					withEmail(st, "u700", "moved2@x.test"),
					withEmail(st, "u701", "moved@x.test"),
					{UserID: "u702", Kind: policy.Internal, Email: e702}, // back, at a new place
					withEmail(st, "u350", "dup3@x.test"),
				}, Removed: []string{"n2", "u352"}}
			}, probes: map[string][]string{
				"moved@x.test": {"u701"}, "moved2@x.test": {"u700"}, e702: {"u702"}, "dup3@x.test": {"u350"},
			}},
		}},
		{"grown past scanning", small, []stage{
			{name: "compiled", probes: map[string][]string{"": nil, "dup0@x.test": {"u50", "u51", "u52"}}},
			{name: "grown", delta: func(st policy.State) policy.Delta {
				d := policy.Delta{Revision: 2, Removed: []string{"u51"}, Members: []policy.Member{
					withEmail(st, "u7", "moved@x.test"), withEmail(st, "u50", "away@x.test")}}
				for i := range 100 {
					d.Members = append(d.Members, policy.Member{UserID: fmt.Sprintf("n%d", i), Kind: policy.Internal,
						Email: fmt.Sprintf("n%02d@x.test", (i*37)%100)})
				}
				return d
			}, probes: map[string][]string{"dup0@x.test": {"u52"}, "moved@x.test": {"u7"}, "n00@x.test": {"n0"}}},
			{name: "changed", delta: func(st policy.State) policy.Delta {
				return policy.Delta{Revision: 3, Removed: []string{"u52", "n3"}, Members: []policy.Member{
					withEmail(st, "u8", "dup0@x.test"), withEmail(st, "n1", "n1-moved@x.test"),
					withEmail(st, "u9", emailOf(st, "n1")), withEmail(st, "u10", "")}}
			}, probes: map[string][]string{"dup0@x.test": {"u8"}, "n1-moved@x.test": {"n1"}}},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			type kept struct {
				name   string
				snap   *policy.Snapshot
				st     policy.State
				probes map[string][]string
			}
			var chain []kept
			st := c.st
			var snap *policy.Snapshot
			for _, sg := range c.stages {
				var err error
				if sg.delta == nil {
					snap, err = policy.Compile(st)
				} else {
					d := sg.delta(st)
					st = applyDelta(st, d)
					snap, err = snap.Update(d)
				}
				if err != nil {
					t.Fatalf("%s: %v", sg.name, err)
				}
				chain = append(chain, kept{sg.name, snap, st, sg.probes})
			}
			// Every email any stage knows, asked of every snapshot: one
			// stage's stale emails are another's not-found cases.
			var emails []string
			for _, k := range chain {
				for _, m := range k.st.Members {
					emails = append(emails, m.Email)
				}
				for e := range k.probes {
					emails = append(emails, e)
				}
			}
			slices.Sort(emails)
			emails = slices.Compact(emails)
			for _, k := range chain {
				want := map[string][]string{}
				for _, m := range k.st.Members {
					if m.Email != "" {
						want[m.Email] = append(want[m.Email], m.UserID)
					}
				}
				for e, ids := range k.probes {
					if !slices.Equal(want[e], ids) {
						t.Fatalf("%s: the table expects %q of %s, the state has %q", k.name, ids, e, want[e])
					}
				}
				for _, e := range emails {
					got, ok := k.snap.MemberByEmail(e)
					switch {
					case len(want[e]) == 0 && ok:
						t.Errorf("%s: MemberByEmail(%q) = %q, want not found", k.name, e, got)
					case len(want[e]) > 0 && !slices.Contains(want[e], got):
						t.Errorf("%s: MemberByEmail(%q) = %q %v, want one of %q", k.name, e, got, ok, want[e])
					}
				}
			}
		})
	}
}

// Two members given one email by updates both stay findable by it: when
// the one an update named last is removed, or changes its email, the
// other is still the email's member (Z2). The additions once kept only
// the last member given each email.
func TestZ2_MemberByEmail_SharedThroughUpdates(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		later func(st policy.State) policy.Delta // after u5, then u7, were given the email
	}{
		{"the last given is removed", func(policy.State) policy.Delta {
			return policy.Delta{Revision: 4, Removed: []string{"u7"}}
		}},
		{"the last given changes its email", func(st policy.State) policy.Delta {
			return policy.Delta{Revision: 4, Members: []policy.Member{withEmail(st, "u7", "moved@x.test")}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := emailWorld(300)
			s, err := policy.Compile(st)
			if err != nil {
				t.Fatal(err)
			}
			for i, u := range []string{"u5", "u7"} {
				d := policy.Delta{Revision: int64(i + 2), Members: []policy.Member{withEmail(st, u, "shared@x.test")}}
				if s, err = s.Update(d); err != nil {
					t.Fatal(err)
				}
				st = applyDelta(st, d)
			}
			if u, ok := s.MemberByEmail("shared@x.test"); !ok || (u != "u5" && u != "u7") {
				t.Fatalf("MemberByEmail(shared) = %q %v, want u5 or u7", u, ok)
			}
			d := tc.later(st)
			if s, err = s.Update(d); err != nil {
				t.Fatal(err)
			}
			if u, ok := s.MemberByEmail("shared@x.test"); !ok || u != "u5" {
				t.Fatalf("MemberByEmail(shared) = %q %v, want u5", u, ok)
			}
		})
	}
}
