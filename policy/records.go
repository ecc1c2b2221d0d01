package policy

import (
	"encoding/binary"
	"iter"
	"strings"
)

// MemberRecord is what a snapshot keeps of a member besides its compiled
// access: its ids, its epoch and the caller's opaque data (Member.Data).
// Its strings share the snapshot's memory.
type MemberRecord struct {
	UserID string
	Email  string
	Epoch  int64
	Data   string
}

// Member returns the record of member user, and false for a non-member.
func (s *Snapshot) Member(user string) (MemberRecord, bool) {
	i, ok := s.byUser.lookup(s, user)
	if !ok {
		return MemberRecord{}, false
	}
	return s.record(i), true
}

// Members yields the record of every member, in no particular order.
func (s *Snapshot) Members() iter.Seq[MemberRecord] {
	return func(yield func(MemberRecord) bool) {
		for i := range s.members.len() {
			if s.members.at(i).gone {
				continue
			}
			if !yield(s.record(int32(i))) {
				return
			}
		}
	}
}

func (s *Snapshot) record(i int32) MemberRecord {
	m := s.members.at(int(i))
	email, data := splitRecord(m.rec)
	return MemberRecord{UserID: s.userID(i), Email: email, Epoch: m.epoch, Data: data}
}

// packRecord lays out a member's email and data in one string: the
// email's length as a uvarint, the email, the data.
func packRecord(email, data string) string {
	if email == "" && data == "" {
		return ""
	}
	var n [binary.MaxVarintLen64]byte
	k := binary.PutUvarint(n[:], uint64(len(email)))
	var b strings.Builder
	b.Grow(k + len(email) + len(data))
	b.Write(n[:k])
	b.WriteString(email)
	b.WriteString(data)
	return b.String()
}

// splitRecord returns the email and data packRecord laid out in rec.
func splitRecord(rec string) (email, data string) {
	var n, shift uint
	for i := 0; i < len(rec); i++ {
		c := rec[i]
		n |= uint(c&0x7f) << shift
		if c < 0x80 {
			rec = rec[i+1:]
			return rec[:n], rec[n:]
		}
		shift += 7
	}
	return "", ""
}

// email returns the member's email.
func (m *member) email() string {
	e, _ := splitRecord(m.rec)
	return e
}
