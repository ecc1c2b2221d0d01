package policy

import (
	"hash/maphash"
	"math/bits"
	"slices"
)

// userIndex maps user ids to member indexes. It is an open-addressing table
// of 8-byte slots, (32-bit hash fingerprint << 32 | index+1), probed
// linearly at a load of at most one half.
//
// A Go map would do, but the check path is bound by cache misses, not by
// instructions: with 100,000 members a lookup in a map[string]int32 touches a
// control word, a slot and the key's bytes in scattered memory. Here a hit
// touches one slot, the 16-byte hot member record (which the check reads
// anyway) and the key bytes in the id arena; a fingerprint mismatch skips
// the record and the compare entirely.
//
// A snapshot's index is never written once published. Members an Update
// adds go into a second, small table of the same kind (recent), which the
// next Update copies whole; when it outgrows maxRecent the index is built
// again over every member. A check of a member in the main table, which
// is nearly every member, reads only the main table.
type userIndex struct {
	seed   maphash.Seed
	slots  []uint64
	recent []uint64 // members from index first on; nil when none
	first  int32
}

// maxRecent bounds the members in an index's recent table. It balances a
// write adding members, which copies the recent table (16 to 32 bytes a
// member in it: ~12 KB on average at 1,024), against the rebuild of the
// main table it postpones (16 bytes a member of the workspace: 1.6 MB at
// 100,000, ~1.6 KB a member added). Copying the index on every write cost
// the whole 1.6 MB each time.
const maxRecent = 1024

// newUserIndex sizes the table for n keys at a load of at most 1/2, with no
// rounding to a power of two: the table is part of what a check must find
// in cache, so it is kept as small as probing allows.
func newUserIndex(n int) userIndex {
	return userIndex{seed: maphash.MakeSeed(), slots: make([]uint64, 2*n+1)}
}

// indexMembers builds s's index over its members that are not gone.
func (s *Snapshot) indexMembers() {
	n := s.hot.len()
	s.byUser = newUserIndex(n - s.gone)
	for i := range n {
		if !s.members.at(i).gone {
			s.byUser.insert(s.byUser.slots, s.userID(int32(i)), int32(i))
		}
	}
	s.byUser.first = int32(n)
}

// addMembers indexes the members s gained since from, the length of the
// snapshot s derives from, in a copy of the recent table, or builds the
// index again when the recent table would outgrow maxRecent.
func (s *Snapshot) addMembers(from int) {
	n := s.hot.len()
	if n == from {
		return
	}
	if n-int(s.byUser.first) > maxRecent {
		s.indexMembers()
		return
	}
	lo := int(s.byUser.first)
	if 2*(n-lo) < len(s.byUser.recent) { // room at a load of one half
		s.byUser.recent = slices.Clone(s.byUser.recent)
	} else {
		s.byUser.recent = make([]uint64, 4*(n-lo)+1)
		from = lo
	}
	for i := from; i < n; i++ {
		if !s.members.at(i).gone {
			s.byUser.insert(s.byUser.recent, s.userID(int32(i)), int32(i))
		}
	}
}

// home maps a hash to its first slot in a table of n slots: the high bits
// of hash × n, a range reduction without a division.
func home(h uint64, n int) uint64 {
	hi, _ := bits.Mul64(h, uint64(n))
	return hi
}

// insert adds key at member index i to table slots, the main or the recent
// table; the caller guarantees keys are unique.
func (t *userIndex) insert(slots []uint64, key string, i int32) {
	h := maphash.String(t.seed, key)
	for p := home(h, len(slots)); ; p = step(p, len(slots)) {
		if slots[p] == 0 {
			slots[p] = h&^0xffffffff | uint64(uint32(i)+1)
			return
		}
	}
}

// lookup returns the index of key among s's members, if present. It does
// not allocate.
func (t *userIndex) lookup(s *Snapshot, key string) (int32, bool) {
	h := maphash.String(t.seed, key)
	// The main table's probe is probe written out: as a call it cost
	// every check a few nanoseconds.
	fp := h &^ 0xffffffff
	for p := home(h, len(t.slots)); ; p = step(p, len(t.slots)) {
		slot := t.slots[p]
		if slot == 0 {
			break
		}
		if slot&^0xffffffff == fp {
			i := int32(uint32(slot) - 1)
			h := s.hot.at(int(i))
			if int(h.idLen) == len(key) && s.idPage(i)[h.idOff:h.idOff+uint32(h.idLen)] == key {
				return i, true
			}
		}
	}
	if t.recent == nil {
		return 0, false
	}
	return probe(s, t.recent, h, key)
}

// probe looks key, of hash h, up in table slots.
func probe(s *Snapshot, slots []uint64, h uint64, key string) (int32, bool) {
	fp := h &^ 0xffffffff
	for p := home(h, len(slots)); ; p = step(p, len(slots)) {
		slot := slots[p]
		if slot == 0 {
			return 0, false
		}
		if slot&^0xffffffff == fp {
			i := int32(uint32(slot) - 1)
			if s.userID(i) == key {
				return i, true
			}
		}
	}
}

// step is linear probing with wrap-around in a table of n slots.
func step(p uint64, n int) uint64 {
	if p++; p == uint64(n) {
		return 0
	}
	return p
}
