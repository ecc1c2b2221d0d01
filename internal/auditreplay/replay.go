// Package auditreplay rebuilds a workspace's roles and assignments from
// its audit log alone, to hold the log to X4: every committed revision
// has at least one entry, and replaying the entries' before and after
// reproduces the role revisions and assignments the database holds. The
// store conformance suite (store/storetest) and the stress test's
// invariant checker (internal/stress) use it.
//
// It imports admin for its types only; it must never import a store.
package auditreplay

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gatehouse-authz/gatehouse/admin"
)

// Role is a role as the audit log tells it: its newest revision and that
// revision's grants (permission → level name).
type Role struct {
	Revision int64
	Grants   map[string]string
}

// Replay is the state the audit entries applied so far describe.
type Replay struct {
	// Revision is the workspace revision of the last entry applied.
	Revision int64
	Roles    map[string]Role
	// Members maps a user id to the revision it holds of each role.
	Members map[string]map[string]int64
}

// New returns the replay of an empty log.
func New() *Replay {
	return &Replay{Roles: map[string]Role{}, Members: map[string]map[string]int64{}}
}

// roleJSON is the part of a role.create / role.update entry's after that
// the replay reads.
type roleJSON struct {
	Revision int64             `json:"revision"`
	Grants   map[string]string `json:"grants"`
}

type rolesJSON struct {
	Roles []struct {
		RoleID   string `json:"role_id"`
		Revision int64  `json:"revision"`
	} `json:"roles"`
}

// Apply applies the next entry of the log. It fails when the entry skips
// a revision (that revision was committed without an entry), when it is
// an action the replay does not know (teach it here), or when its before
// or after cannot be read.
func (r *Replay) Apply(e admin.AuditEntry) error {
	if e.Revision != r.Revision && e.Revision != r.Revision+1 {
		return fmt.Errorf("entry %d (%s %s) is at revision %d after entries of revision %d: revisions %d–%d have no audit entry",
			e.Seq, e.Action, e.Target, e.Revision, r.Revision, r.Revision+1, e.Revision-1)
	}
	r.Revision = e.Revision
	kind, id, _ := strings.Cut(e.Target, ":")
	fail := func(err error) error {
		return fmt.Errorf("entry %d (%s %s): %v: before %s, after %s", e.Seq, e.Action, e.Target, err, e.Before, e.After)
	}
	switch e.Action {
	case "workspace.create", "workspace.update", "key.create", "key.revoke",
		"department.put", "department.delete", "object.put", "object.delete", "member.grants",
		"department.roles", "department.expire",
		"sod.put", "sod.delete", "sod.exception", "review.open", "review.update", "review.decide",
		"review.close", "review.closed", "review.refused":
		// No role revision or assignment changes by these alone: department
		// roles (M9) are not member assignments, and a review's revocations
		// are member.roles and member.grants entries of their own.
	case "role.create", "role.update":
		var ro roleJSON
		if err := json.Unmarshal(e.After, &ro); err != nil || kind != "role" || ro.Revision < 1 {
			return fail(fmt.Errorf("not a role: %v", err))
		}
		if ro.Grants == nil {
			ro.Grants = map[string]string{}
		}
		r.Roles[id] = Role(ro)
	case "role.apply":
		var ap struct {
			Revision int64 `json:"revision"`
			Members  int   `json:"members"`
		}
		if err := json.Unmarshal(e.After, &ap); err != nil || ap.Revision < 1 {
			return fail(fmt.Errorf("no revision: %v", err))
		}
		moved := 0
		for _, held := range r.Members {
			if rev, ok := held[id]; ok && rev != ap.Revision {
				held[id] = ap.Revision
				moved++
			}
		}
		if moved != ap.Members {
			return fail(fmt.Errorf("moves %d members, the replayed log has %d on other revisions", ap.Members, moved))
		}
	case "role.delete":
		var re struct {
			ReassignedTo string `json:"reassigned_to"`
		}
		if len(e.After) > 0 {
			if err := json.Unmarshal(e.After, &re); err != nil {
				return fail(err)
			}
		}
		to, ok := r.Roles[re.ReassignedTo]
		if re.ReassignedTo != "" && !ok {
			return fail(fmt.Errorf("reassigned to role %q, which the log never created", re.ReassignedTo))
		}
		for _, held := range r.Members {
			if _, ok := held[id]; !ok {
				continue
			}
			delete(held, id)
			if re.ReassignedTo == "" {
				return fail(fmt.Errorf("members still hold the role and none are reassigned"))
			}
			if _, ok := held[re.ReassignedTo]; !ok {
				held[re.ReassignedTo] = to.Revision
			}
		}
		delete(r.Roles, id)
	case "member.upsert", "member.roles", "member.expire":
		// A member holding roles through departments may hold none of its
		// own (M2, M9).
		var m rolesJSON
		if err := json.Unmarshal(e.After, &m); err != nil || kind != "member" {
			return fail(fmt.Errorf("no roles: %v", err))
		}
		held := make(map[string]int64, len(m.Roles))
		for _, a := range m.Roles {
			held[a.RoleID] = a.Revision
		}
		r.Members[id] = held
	case "member.remove":
		delete(r.Members, id)
	default:
		return fmt.Errorf("entry %d: action %q is unknown to the audit replay (internal/auditreplay): teach it what the action changes", e.Seq, e.Action)
	}
	return nil
}

// Compare reports how the replayed state differs from a stored dataset
// of the same revision: nil when the roles (newest revisions and their
// grants) and every member's assignments agree.
func (r *Replay) Compare(d *admin.Dataset) error {
	var diffs []string
	if d.Workspace.Revision != r.Revision {
		diffs = append(diffs, fmt.Sprintf("the workspace is at revision %d, its audit log ends at revision %d", d.Workspace.Revision, r.Revision))
	}
	stored := map[string]bool{}
	for _, ro := range d.Roles {
		stored[ro.ID] = true
		got, ok := r.Roles[ro.ID]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("role %s is stored but the log never created it", ro.ID))
			continue
		}
		grants := map[string]string{}
		if b, err := json.Marshal(ro.Grants); err == nil {
			json.Unmarshal(b, &grants)
		}
		if got.Revision != ro.Revision || !maps.Equal(got.Grants, grants) {
			diffs = append(diffs, fmt.Sprintf("role %s: stored revision %d %v, the log gives revision %d %v", ro.ID, ro.Revision, grants, got.Revision, got.Grants))
		}
	}
	for id := range r.Roles {
		if !stored[id] {
			diffs = append(diffs, fmt.Sprintf("role %s: the log has it, the database does not", id))
		}
	}
	members := map[string]bool{}
	for _, m := range d.Members {
		members[m.UserID] = true
		held := map[string]int64{}
		for _, a := range m.Roles {
			held[a.RoleID] = a.Revision
		}
		if got, ok := r.Members[m.UserID]; !ok || !maps.Equal(got, held) {
			diffs = append(diffs, fmt.Sprintf("member %s: stored assignments %v, the log gives %v", m.UserID, held, got))
		}
	}
	for u := range r.Members {
		if !members[u] {
			diffs = append(diffs, fmt.Sprintf("member %s: the log has it, the database does not", u))
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	slices.Sort(diffs)
	if len(diffs) > 10 {
		diffs = append(diffs[:10], fmt.Sprintf("and %d more", len(diffs)-10))
	}
	return fmt.Errorf("the audit log does not reproduce the database: %s", strings.Join(diffs, "; "))
}
