package policy

// Compacted returns s compacted (see compact.go), leaving s as it was:
// tests compare it with a compile of the same state.
func (s *Snapshot) Compacted() *Snapshot {
	ns := *s
	ns.compact()
	return &ns
}
