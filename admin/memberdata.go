package admin

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// A workspace's members are kept once, in its snapshot: the model keeps
// no member of its own (see model.member). Each member's record is the
// snapshot's Member.Data, encoded here: every field of Member but those
// the snapshot keeps itself (UserID, Email, Epoch) and DepartmentRoles,
// which reads fill in and the model never holds.
//
// The encoding is a byte string of varints and length-prefixed strings,
// about 100 bytes for a typical member where its Member, assignments and
// map entry took about 450. It lives only in memory, so it needs no
// version. Decoding slices its strings out of the record, so a decoded
// member allocates its struct and slices, not its strings.

// Bits of a record's flags: whether each slice or map is nil (a nil and an
// empty one must decode as they were stored), the owner bit, and the kind.
const (
	recOwner = 1 << iota
	recDepartmentsNil
	recRolesNil
	recGrantsNil
	recWhenNil
	recExpiryNil
	recKindShift = 6 // two bits: kindCodes
)

// kindCodes are the kinds a record names by code; any other is stored as a
// string after the flags (code 3).
var kindCodes = [...]policy.Audience{"", policy.Internal, policy.Client}

// zeroSec is the Unix second of the zero time: times are stored as seconds
// past it, so that the zero time takes one byte.
const zeroSec = -62135596800

// follows is, by role id, the revision a record's assignment of the role
// holds when it stores revision 0: the revision most of the role's
// holders are on. An apply of the role (R6) that moves them all moves the
// model's follows, not their records (see view.delta), so that a
// 10,000-member role is applied without re-encoding 10,000 records. A
// record means what it says only with the follows of the model whose
// snapshot holds it; nil follows none.
type follows map[string]int64

// FollowMin is the default of Options.FollowMin: the fewest members of a
// workspace, or holders of a role moved by an apply, for which the model
// keeps follows. Below it an apply is cheap anyway, and the many small
// workspaces of a node pay nothing for them.
const FollowMin = 256

// appendMember appends m's record to b: a compile of many members encodes
// them in one scratch buffer, each record then costing one allocation.
// An assignment on its role's revision in f stores revision 0.
func appendMember(b []byte, m *Member, f follows) []byte {
	flags := 0
	if m.Owner {
		flags |= recOwner
	}
	if m.DepartmentIDs == nil {
		flags |= recDepartmentsNil
	}
	if m.Roles == nil {
		flags |= recRolesNil
	}
	if m.Grants == nil {
		flags |= recGrantsNil
	}
	if m.When == nil {
		flags |= recWhenNil
	}
	if m.GrantExpiry == nil {
		flags |= recExpiryNil
	}
	kind := 3
	for i, k := range kindCodes {
		if m.Kind == k {
			kind = i
		}
	}
	b = append(b, byte(flags|kind<<recKindShift))
	if kind == 3 {
		b = appendString(b, string(m.Kind))
	}
	b = appendString(b, m.Name)
	b = appendTime(b, m.CreatedAt)
	b = appendSince(b, m.UpdatedAt, m.CreatedAt)
	b = binary.AppendUvarint(b, uint64(len(m.DepartmentIDs)))
	for _, d := range m.DepartmentIDs {
		b = appendString(b, d)
	}
	b = binary.AppendUvarint(b, uint64(len(m.Roles)))
	for _, a := range m.Roles {
		b = appendString(b, a.RoleID)
		rev := a.Revision
		if f != nil && f[a.RoleID] == rev {
			rev = 0 // revisions start at 1
		}
		b = binary.AppendVarint(b, rev)
		b = appendSince(b, a.AssignedAt, m.CreatedAt)
		b = appendString(b, a.AssignedBy)
		b = appendTime(b, a.ExpiresAt)
	}
	b = binary.AppendUvarint(b, uint64(len(m.Grants)))
	for k, l := range m.Grants {
		b = appendString(b, k)
		b = append(b, byte(l))
	}
	b = binary.AppendUvarint(b, uint64(len(m.When)))
	for k, c := range m.When {
		b = appendString(b, k)
		b = appendString(b, c)
	}
	b = binary.AppendUvarint(b, uint64(len(m.GrantExpiry)))
	for k, t := range m.GrantExpiry {
		b = appendString(b, k)
		b = appendTime(b, t)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// appendTime stores t's instant; times are UTC in the model (writes take
// the clock's UTC time, the stores read UTC).
func appendTime(b []byte, t time.Time) []byte {
	return appendNanos(binary.AppendUvarint(b, uint64(t.Unix()-zeroSec)), t.Nanosecond())
}

// appendSince stores t as an offset from base: an assignment made when its
// member was created, or a member never updated, takes two bytes.
func appendSince(b []byte, t, base time.Time) []byte {
	return appendNanos(binary.AppendVarint(b, t.Unix()-base.Unix()), t.Nanosecond())
}

// appendNanos stores a time's nanoseconds, in microseconds when it has no
// finer part, as the stores' times have not.
func appendNanos(b []byte, ns int) []byte {
	if ns%1000 == 0 {
		return binary.AppendUvarint(b, uint64(ns/1000)<<1)
	}
	return binary.AppendUvarint(b, uint64(ns)<<1|1)
}

// errRecord reports a record that does not decode: a bug, since records
// are only ever made by appendMember.
var errRecord = errors.New("malformed member record")

// decodeMember returns the member a snapshot's record holds, read with
// the follows of the model holding the snapshot.
func decodeMember(r policy.MemberRecord, f follows) (*Member, error) {
	d := recordReader{s: r.Data}
	// The user id is a slice of a page of the snapshot's ids, which a
	// kept id (a map key, a review item) would keep alive past the page's
	// replacement by a later snapshot: a page is ~1,000 ids.
	m := &Member{UserID: strings.Clone(r.UserID), Email: r.Email, Epoch: r.Epoch}
	flags := int(d.byte())
	m.Owner = flags&recOwner != 0
	if kind := flags >> recKindShift; kind < len(kindCodes) {
		m.Kind = kindCodes[kind]
	} else {
		m.Kind = policy.Audience(d.string())
	}
	m.Name = d.string()
	m.CreatedAt = d.time()
	m.UpdatedAt = d.since(m.CreatedAt)
	if n := d.count(); n > 0 || flags&recDepartmentsNil == 0 {
		m.DepartmentIDs = make([]string, n)
		for i := range m.DepartmentIDs {
			m.DepartmentIDs[i] = d.string()
		}
	}
	if n := d.count(); n > 0 || flags&recRolesNil == 0 {
		m.Roles = make([]Assignment, n)
		for i := range m.Roles {
			a := &m.Roles[i]
			a.RoleID = d.string()
			if a.Revision = d.varint(); a.Revision == 0 {
				rev, ok := f[a.RoleID]
				if !ok {
					return nil, fmt.Errorf("%w: member %s follows role %s, which the model does not", errRecord, r.UserID, a.RoleID)
				}
				a.Revision = rev
			}
			a.AssignedAt = d.since(m.CreatedAt)
			a.AssignedBy = d.string()
			a.ExpiresAt = d.time()
		}
	}
	if n := d.count(); n > 0 || flags&recGrantsNil == 0 {
		m.Grants = make(policy.Grants, n)
		for range n {
			k := d.string()
			m.Grants[k] = policy.Level(d.byte())
		}
	}
	if n := d.count(); n > 0 || flags&recWhenNil == 0 {
		m.When = make(policy.Conditions, n)
		for range n {
			k := d.string()
			m.When[k] = d.string()
		}
	}
	if n := d.count(); n > 0 || flags&recExpiryNil == 0 {
		m.GrantExpiry = make(map[string]time.Time, n)
		for range n {
			k := d.string()
			m.GrantExpiry[k] = d.time()
		}
	}
	if d.err == nil && d.s != "" {
		d.err = errRecord
	}
	if d.err != nil {
		return nil, fmt.Errorf("member %s: %w", r.UserID, d.err)
	}
	return m, nil
}

// recordReader reads a record; after its first error every read returns
// zero values and err says what went wrong.
type recordReader struct {
	s   string
	err error
}

func (r *recordReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	var v uint64
	for i := 0; i < len(r.s) && i < binary.MaxVarintLen64; i++ {
		c := r.s[i]
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			r.s = r.s[i+1:]
			return v
		}
	}
	r.err = errRecord
	return 0
}

func (r *recordReader) varint() int64 {
	u := r.uvarint()
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

func (r *recordReader) byte() byte {
	if r.err != nil || r.s == "" {
		r.err = errRecord
		return 0
	}
	c := r.s[0]
	r.s = r.s[1:]
	return c
}

// count reads a length, which cannot exceed the bytes left: a malformed
// record must not make a decoder allocate gigabytes.
func (r *recordReader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.s)) {
		r.err = errRecord
		return 0
	}
	return int(n)
}

func (r *recordReader) string() string {
	n := r.count()
	if r.err != nil {
		return ""
	}
	s := r.s[:n]
	r.s = r.s[n:]
	return s
}

func (r *recordReader) nanos() int64 {
	v := r.uvarint()
	if v&1 == 0 {
		return int64(v>>1) * 1000
	}
	return int64(v >> 1)
}

func (r *recordReader) time() time.Time {
	sec := int64(r.uvarint()) + zeroSec
	ns := r.nanos()
	if r.err != nil || (sec == zeroSec && ns == 0) {
		return time.Time{}
	}
	return time.Unix(sec, ns).UTC()
}

func (r *recordReader) since(base time.Time) time.Time {
	sec := r.varint() + base.Unix()
	ns := r.nanos()
	if r.err != nil || (sec == zeroSec && ns == 0) {
		return time.Time{}
	}
	return time.Unix(sec, ns).UTC()
}
