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
// touches one slot, the 16-byte hot member record (which the check reads
// anyway) and the key bytes in the id arena; a fingerprint mismatch skips
// the record and the compare entirely.
type userIndex struct {
	seed  maphash.Seed
	slots []uint64
}

// newUserIndex sizes the table for n keys at a load of at most 1/2, with no
// rounding to a power of two: the table is part of what a check must find
// in cache, so it is kept as small as probing allows.
func newUserIndex(n int) userIndex {
	return userIndex{seed: maphash.MakeSeed(), slots: make([]uint64, 2*n+1)}
}

// home maps a hash to its first slot: the high bits of hash × size, a range
// reduction without a division.
func (t *userIndex) home(h uint64) uint64 {
	hi, _ := bits.Mul64(h, uint64(len(t.slots)))
	return hi
}

// insert adds key at member index i; the caller guarantees keys are unique.
func (t *userIndex) insert(key string, i int32) {
	h := maphash.String(t.seed, key)
	for p := t.home(h); ; p = t.step(p) {
		if t.slots[p] == 0 {
			t.slots[p] = h&^0xffffffff | uint64(uint32(i)+1)
			return
		}
	}
}

// lookup returns the index of key among s's members, if present. It does
// not allocate.
func (t *userIndex) lookup(s *Snapshot, key string) (int32, bool) {
	h := maphash.String(t.seed, key)
	fp := h &^ 0xffffffff
	for p := t.home(h); ; p = t.step(p) {
		slot := t.slots[p]
		if slot == 0 {
			return 0, false
		}
		if slot&^0xffffffff == fp {
			i := int32(uint32(slot) - 1)
			h := &s.hot[i]
			if int(h.idLen) == len(key) && s.ids[h.idOff:h.idOff+uint32(h.idLen)] == key {
				return i, true
			}
		}
	}
}

// step is linear probing with wrap-around.
func (t *userIndex) step(p uint64) uint64 {
	if p++; p == uint64(len(t.slots)) {
		return 0
	}
	return p
}
