package policy

import "iter"

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
	return MemberRecord{UserID: s.userID(i), Email: m.email, Epoch: m.epoch, Data: m.data}
}
