package admin

import (
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// The model keeps its members only as snapshot records: a member must come
// back from its record exactly as it went in, nil and empty alike, or a
// read after a write would differ from the write's answer.
func TestM1_MemberRecordRoundTrips(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 4, 10, 11, 12, 345678000, time.UTC)
	nanos := time.Date(2026, 12, 4, 10, 11, 12, 345678901, time.UTC)
	far := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	full := &Member{UserID: "u-1", Name: "Ana Gómez", Email: "ana@example.com", Kind: policy.Internal, Owner: true,
		DepartmentIDs: []string{"sales", "sales-east"},
		Roles: []Assignment{
			{RoleID: "admin", Revision: 3, AssignedAt: at, AssignedBy: "user:boss"},
			{RoleID: "sales", Revision: 1, AssignedAt: nanos, ExpiresAt: far},
			{RoleID: "temp", Revision: 1 << 40, AssignedAt: at.Add(-48 * time.Hour), ExpiresAt: at.Add(time.Hour)},
		},
		Grants:      policy.Grants{"deals.view": policy.LevelAll, "deals.edit": policy.LevelOwn},
		When:        policy.Conditions{"deals.edit": `record.amount < 1000`},
		GrantExpiry: map[string]time.Time{"deals.view": at.Add(24 * time.Hour)},
		Epoch:       42, CreatedAt: at, UpdatedAt: nanos}
	cases := map[string]*Member{
		"every field": full,
		"zero":        {UserID: "z"},
		"empty, not nil": {UserID: "e", DepartmentIDs: []string{}, Roles: []Assignment{}, Grants: policy.Grants{},
			When: policy.Conditions{}, GrantExpiry: map[string]time.Time{}},
		"client":             {UserID: "c", Kind: policy.Client, Roles: []Assignment{{RoleID: "client", Revision: 1, AssignedAt: at}}, CreatedAt: at, UpdatedAt: at},
		"another kind":       {UserID: "k", Kind: "partner", CreatedAt: at, UpdatedAt: at.Add(-time.Second)},
		"before created":     {UserID: "b", Roles: []Assignment{{RoleID: "r", Revision: 1, AssignedAt: at}}, CreatedAt: at.Add(time.Hour), UpdatedAt: at.Add(time.Hour)},
		"created zero":       {UserID: "cz", Roles: []Assignment{{RoleID: "r", Revision: 1, AssignedAt: at}}, UpdatedAt: at},
		"assigned at zero":   {UserID: "az", Roles: []Assignment{{RoleID: "r", Revision: 1}}, CreatedAt: at, UpdatedAt: at},
		"negative revision":  {UserID: "n", Roles: []Assignment{{RoleID: "r", Revision: -7}}},
		"before 1970":        {UserID: "old", CreatedAt: time.Date(1901, 1, 1, 0, 0, 0, 1, time.UTC), UpdatedAt: at},
		"unicode and binary": {UserID: "ü", Name: "\x00\xff名前", DepartmentIDs: []string{""}, Grants: policy.Grants{"": policy.LevelNone}},
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeMember(policy.MemberRecord{UserID: m.UserID, Email: m.Email, Epoch: m.Epoch, Data: encodeMember(m)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Fatalf("round trip:\n got %#v\nwant %#v", got, m)
			}
		})
	}
	if n := len(encodeMember(full)); n > 200 {
		t.Errorf("the record of a full member is %d bytes; it was meant to be compact", n)
	}
}

// A record that does not decode is reported, never a panic or a huge
// allocation (a length is bounded by the bytes left).
func TestMemberRecord_MalformedIsAnError(t *testing.T) {
	t.Parallel()
	good := encodeMember(&Member{UserID: "u", Name: "N", Roles: []Assignment{{RoleID: "r", Revision: 1}}})
	for _, data := range []string{"", good[:len(good)-1], good + "x", "\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"} {
		if _, err := decodeMember(policy.MemberRecord{UserID: "u", Data: data}, nil); err == nil {
			t.Errorf("decode %q: no error", data)
		}
	}
}

// FuzzMemberRecord decodes any bytes without panicking, and re-encodes
// what decodes to a record that decodes to the same member.
func FuzzMemberRecord(f *testing.F) {
	f.Add(encodeMember(&Member{UserID: "u", Name: "N", Kind: policy.Client, DepartmentIDs: []string{"d"},
		Roles:  []Assignment{{RoleID: "r", Revision: 2, AssignedBy: "x", ExpiresAt: time.Unix(1e9, 5).UTC()}},
		Grants: policy.Grants{"a.b": policy.LevelAll}, When: policy.Conditions{"a.b": "true"},
		GrantExpiry: map[string]time.Time{"a.b": time.Unix(2e9, 0).UTC()}}))
	f.Add("")
	f.Fuzz(func(t *testing.T, data string) {
		m, err := decodeMember(policy.MemberRecord{UserID: "u", Data: data}, nil)
		if err != nil {
			return
		}
		again, err := decodeMember(policy.MemberRecord{UserID: "u", Data: encodeMember(m)}, nil)
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if !reflect.DeepEqual(again, m) {
			t.Fatalf("re-encoded:\n got %#v\nwant %#v", again, m)
		}
	})
}

// encodeMember returns m's record, as a compile makes it (memberCompiler).
func encodeMember(m *Member) string {
	return string(appendMember(nil, m, nil))
}
