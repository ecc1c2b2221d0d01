package httpapi

import (
	"net/http"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
)

// sodRuleIn is the body of PUT …/sod-rules/{id} (S1, S3): either
// conflicts (sets of permission keys) or roles (sets of role ids).
type sodRuleIn struct {
	Name        string           `json:"name"`
	Description string           `json:"description"`
	Conflicts   [][]string       `json:"conflicts"`
	Roles       [][]string       `json:"roles"`
	Exceptions  []sodExceptionIn `json:"exceptions"`
}

type sodExceptionIn struct {
	UserID    string     `json:"user_id"`
	Reason    string     `json:"reason"`
	ExpiresAt *time.Time `json:"expires_at"`
}

type sodRuleJSON struct {
	ID          string             `json:"id"`
	Name        string             `json:"name"`
	Description string             `json:"description"`
	Conflicts   [][]string         `json:"conflicts,omitempty"`
	Roles       [][]string         `json:"roles,omitempty"`
	Exceptions  []sodExceptionJSON `json:"exceptions"`
	CreatedAt   time.Time          `json:"created_at"`
	UpdatedAt   time.Time          `json:"updated_at"`
}

type sodExceptionJSON struct {
	UserID    string     `json:"user_id"`
	Reason    string     `json:"reason"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	GrantedBy string     `json:"granted_by"`
	GrantedAt time.Time  `json:"granted_at"`
}

type sodViolationJSON struct {
	UserID string `json:"user_id"`
	// Held lists, per set of the rule, what of it the member holds (null
	// for a set it does not hold).
	Held      [][]string        `json:"held"`
	Excepted  bool              `json:"excepted"`
	Exception *sodExceptionJSON `json:"exception,omitempty"`
}

func exceptionJSON(e admin.SoDException) sodExceptionJSON {
	out := sodExceptionJSON{UserID: e.UserID, Reason: e.Reason, GrantedBy: e.GrantedBy, GrantedAt: e.GrantedAt}
	if !e.ExpiresAt.IsZero() {
		t := e.ExpiresAt
		out.ExpiresAt = &t
	}
	return out
}

func sodJSON(r admin.SoDRule) sodRuleJSON {
	out := sodRuleJSON{ID: r.ID, Name: r.Name, Description: r.Description, Conflicts: r.Permissions, Roles: r.Roles,
		Exceptions: make([]sodExceptionJSON, len(r.Exceptions)), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	for i, e := range r.Exceptions {
		out.Exceptions[i] = exceptionJSON(e)
	}
	return out
}

// listSoDRules answers a page of the workspace's SoD rules, by id.
func (s *Server) listSoDRules(w http.ResponseWriter, r *http.Request, c *call) error {
	after, err := decodeCursor(r, "sod")
	if err != nil {
		return err
	}
	limit, err := limitParam(r)
	if err != nil {
		return err
	}
	rules, err := s.cfg.Admin.SoDRules(r.Context(), c.ws, c.write.Actor)
	if err != nil {
		return err
	}
	out := page[sodRuleJSON]{Items: []sodRuleJSON{}}
	for _, rule := range rules {
		if rule.ID <= after {
			continue
		}
		if len(out.Items) == limit {
			out.NextCursor = encodeCursor("sod", out.Items[limit-1].ID)
			break
		}
		out.Items = append(out.Items, sodJSON(rule))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getSoDRule(w http.ResponseWriter, r *http.Request, c *call) error {
	rule, err := s.cfg.Admin.SoDRule(r.Context(), c.ws, c.write.Actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sodJSON(rule))
	return nil
}

// putSoDRule creates or replaces a rule with its exceptions (S1, S3).
func (s *Server) putSoDRule(w http.ResponseWriter, r *http.Request, c *call) error {
	var in sodRuleIn
	if err := decode(w, r, &in); err != nil {
		return err
	}
	rule := admin.SoDRule{ID: r.PathValue("id"), Name: in.Name, Description: in.Description, Permissions: in.Conflicts, Roles: in.Roles}
	for _, e := range in.Exceptions {
		x := admin.SoDException{UserID: e.UserID, Reason: e.Reason}
		if e.ExpiresAt != nil {
			x.ExpiresAt = *e.ExpiresAt
		}
		rule.Exceptions = append(rule.Exceptions, x)
	}
	out, rev, err := s.cfg.Admin.PutSoDRule(r.Context(), c.ws, c.write, rule)
	if err != nil {
		return err
	}
	writeWritten(w, http.StatusOK, sodJSON(out), rev)
	return nil
}

func (s *Server) deleteSoDRule(w http.ResponseWriter, r *http.Request, c *call) error {
	rev, err := s.cfg.Admin.DeleteSoDRule(r.Context(), c.ws, c.write, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeWritten(w, http.StatusOK, struct{}{}, rev)
	return nil
}

// listSoDViolations answers a page of the members who break a rule now
// (S3), with their exceptions.
func (s *Server) listSoDViolations(w http.ResponseWriter, r *http.Request, c *call) error {
	after, err := decodeCursor(r, "sodv")
	if err != nil {
		return err
	}
	limit, err := limitParam(r)
	if err != nil {
		return err
	}
	vs, next, err := s.cfg.Admin.SoDViolations(r.Context(), c.ws, c.write.Actor, r.PathValue("id"), admin.SoDPage{After: after, Limit: limit})
	if err != nil {
		return err
	}
	out := page[sodViolationJSON]{Items: make([]sodViolationJSON, 0, len(vs))}
	for _, v := range vs {
		j := sodViolationJSON{UserID: v.UserID, Held: v.Held, Excepted: v.Excepted}
		if v.Exception != nil {
			e := exceptionJSON(*v.Exception)
			j.Exception = &e
		}
		out.Items = append(out.Items, j)
	}
	if next != "" {
		out.NextCursor = encodeCursor("sodv", next)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
