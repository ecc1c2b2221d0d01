package policy

import "time"

// Usage is the use of one permission through one role (U1): what the
// engine counts on the check path and the admin service stores. It is
// plain data here, below both, so the read path does not import the
// write path.
type Usage struct {
	Permission string
	RoleID     string
	Count      int64
	LastUsed   time.Time
}
