package admin

import (
	"slices"
	"testing"
)

// TestFollow_DeltaRule: which changelog rows a follower applies as a
// delta, and what it re-reads for them; everything else reloads.
func TestFollow_DeltaRule(t *testing.T) {
	ch := func(rev int64, action string, targets []string, epochs ...string) Change {
		return Change{Revision: rev, Action: action, Targets: targets, Epochs: epochs}
	}
	many := make([]Change, maxDeltaChanges+1)
	for i := range many {
		many[i] = ch(int64(11+i), "member.upsert", []string{"member:u"})
	}
	tests := []struct {
		name         string
		rev          int64
		changes      []Change
		ok           bool
		users, roles []string
	}{
		{"nothing new", 10, nil, true, nil, nil},
		{"member writes name their members and moved epochs", 12, []Change{
			ch(11, "member.upsert", []string{"member:b"}, "b"),
			ch(12, "member.roles", []string{"member:a"}, "a", "c")}, true, []string{"a", "b", "c"}, nil},
		{"a save and apply re-reads the role's holders", 11, []Change{
			ch(11, "role.update", []string{"role:sales"}, "u1")}, true, []string{"u1"}, []string{"sales"}},
		{"an expiry commit of members", 11, []Change{
			ch(11, "member.expire", []string{"member:x", "member:y"}, "x", "y")}, true, []string{"x", "y"}, nil},
		{"a department target reloads (M9, record scopes)", 11, []Change{
			ch(11, "member.expire", []string{"member:x", "department:d1"})}, false, nil, nil},
		{"a department write reloads", 11, []Change{ch(11, "department.put", []string{"department:d1"})}, false, nil, nil},
		{"a smart object reloads (C9)", 11, []Change{ch(11, "object.put", []string{"object:o"})}, false, nil, nil},
		{"a key reloads", 11, []Change{ch(11, "key.create", []string{"key:k1"})}, false, nil, nil},
		{"a deleted role reloads", 11, []Change{ch(11, "role.delete", []string{"role:r"})}, false, nil, nil},
		{"an SoD exception names a member but reloads (S3)", 11, []Change{ch(11, "sod.put", []string{"member:u"})}, false, nil, nil},
		{"a review decision reloads (V2)", 11, []Change{ch(11, "review.decide", []string{"member:u"})}, false, nil, nil},
		{"a gap in the changelog reloads", 12, []Change{ch(12, "member.upsert", []string{"member:u"})}, false, nil, nil},
		{"rows missing reload", 12, []Change{ch(11, "member.upsert", []string{"member:u"})}, false, nil, nil},
		{"too far behind reloads", 10 + int64(len(many)), many, false, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			users, roles, ok := pickPart(10)(tc.rev, tc.changes)
			if ok != tc.ok || !slices.Equal(users, tc.users) || !slices.Equal(roles, tc.roles) {
				t.Errorf("pick = %v %v %v, want %v %v %v", users, roles, ok, tc.users, tc.roles, tc.ok)
			}
		})
	}
}
