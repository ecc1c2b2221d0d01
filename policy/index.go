package policy

import (
	"hash/maphash"
	"math/bits"
)

// userIndex maps user ids to member indexes. It is an open-addressing table
// of 8-byte slots, (32-bit hash fingerprint << 32 | index+1), probed
// linearly at a load of at most one half.
//
// A Go map would do, but the check path is bound by cache misses, not by
// instructions: with 100,000 members a lookup in a map[string]int32 touches a
// control word, a slot and the key's bytes in scattered memory. Here a hit
// touches one slot and then the member record, which the check reads
// anyway, and the key bytes, which live in one arena; a fingerprint mismatch
// skips the string compare entirely.
type userIndex struct {
	seed  maphash.Seed
	slots []uint64
	mask  uint64
}

func newUserIndex(n int) userIndex {
	size := uint64(1) << bits.Len64(uint64(2*n+1))
	return userIndex{seed: maphash.MakeSeed(), slots: make([]uint64, size), mask: size - 1}
}

// insert adds key at member index i; the caller guarantees keys are unique.
func (t *userIndex) insert(key string, i int32) {
	h := maphash.String(t.seed, key)
	for p := h & t.mask; ; p = (p + 1) & t.mask {
		if t.slots[p] == 0 {
			t.slots[p] = h&^0xffffffff | uint64(uint32(i)+1)
			return
		}
	}
}

// lookup returns the index of key among members, if present. It does not
// allocate.
func (t *userIndex) lookup(members []member, key string) (int32, bool) {
	h := maphash.String(t.seed, key)
	fp := h &^ 0xffffffff
	for p := h & t.mask; ; p = (p + 1) & t.mask {
		s := t.slots[p]
		if s == 0 {
			return 0, false
		}
		if s&^0xffffffff == fp {
			i := int32(uint32(s) - 1)
			if members[i].userID == key {
				return i, true
			}
		}
	}
}
