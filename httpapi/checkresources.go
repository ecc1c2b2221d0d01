package httpapi

import (
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// checkResourcesRequest asks about one user and many records at once, each
// with several permissions (as Cerbos' CheckResources): what a host's list
// page needs to show or hide each row's buttons, in one call.
type checkResourcesRequest struct {
	User        string `json:"user"`
	Session     string `json:"session"`
	MinRevision int64  `json:"min_revision"`
	// Permissions are asked on every record that names none of its own.
	Permissions []string            `json:"permissions"`
	Resources   []checkResourceItem `json:"resources"`
}

type checkResourceItem struct {
	// ID is the host's id of the record, echoed; Gatehouse reads nothing
	// else from it.
	ID          string           `json:"id"`
	Resource    *policy.Resource `json:"resource"`
	Permissions []string         `json:"permissions"`
}

type checkResourcesJSON struct {
	Results  []checkResourceResultJSON `json:"results"`
	Revision int64                     `json:"revision"`
}

type checkResourceResultJSON struct {
	ID          string               `json:"id"`
	Permissions map[string]checkJSON `json:"permissions"`
}

// checkResources decides, for one user (or session) at one revision,
// every permission asked on every record (D2, D4): up to MaxBatch
// decisions in all. An unknown permission fails the whole call (C1): it is
// the caller's mistake, the same on every record.
func (s *Server) checkResources(w http.ResponseWriter, r *http.Request, c *call) error {
	var in checkResourcesRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.Resources == nil {
		return invalid("resources", "resources is required: the records to decide on, each with an id")
	}
	total := 0
	for i, it := range in.Resources {
		if it.ID == "" || utf8.RuneCountInString(it.ID) > maxCorrelationID {
			return invalid(fmt.Sprintf("resources[%d].id", i), "resources[%d].id must be 1 to %d characters", i, maxCorrelationID)
		}
		perms := it.Permissions
		if perms == nil {
			perms = in.Permissions
		}
		if len(perms) == 0 {
			return invalid(fmt.Sprintf("resources[%d].permissions", i), "resources[%d] asks for no permission: give permissions, for it or for all", i)
		}
		total += len(perms)
	}
	if total > MaxBatch {
		return &policy.Error{Code: policy.CodeInvalidArgument,
			Message: fmt.Sprintf("a call decides at most %d record × permission pairs, this one asks %d; split it", MaxBatch, total),
			Details: map[string]any{"field": "resources", "limit": MaxBatch, "got": total}}
	}
	snap, err := s.snapshot(r.Context(), c.ws, in.MinRevision)
	if err != nil {
		return err
	}
	user, err := s.subject(snap, c.ws, subjectRequest{User: in.User, Session: in.Session})
	if err != nil {
		return err
	}
	out := checkResourcesJSON{Results: make([]checkResourceResultJSON, len(in.Resources)), Revision: snap.Revision()}
	var allowed, denied int
	defer func() { s.metrics.decisions(true, allowed); s.metrics.decisions(false, denied) }()
	for i, it := range in.Resources {
		perms := it.Permissions
		if perms == nil {
			perms = in.Permissions
		}
		res := checkResourceResultJSON{ID: it.ID, Permissions: make(map[string]checkJSON, len(perms))}
		for _, p := range perms {
			d, err := s.cfg.Engine.CheckIn(snap, user, p, it.Resource)
			if err != nil {
				return err
			}
			if d.Allowed {
				allowed++
			} else {
				denied++
			}
			res.Permissions[p] = toCheck(d)
		}
		out.Results[i] = res
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
