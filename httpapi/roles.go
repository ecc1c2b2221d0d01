package httpapi

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

func (s *Server) listRoles(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	aud := policy.Audience(q.Get("audience"))
	if aud != "" && aud != policy.Internal && aud != policy.Client {
		return invalid("audience", "audience must be internal or client, not %q", excerpt(string(aud)))
	}
	roles, err := s.cfg.Admin.Roles(r.Context(), c.ws, q.Get("q"), aud)
	if err != nil {
		return err
	}
	items := make([]roleJSON, 0, len(roles))
	for _, ro := range roles {
		items = append(items, toRole(ro))
	}
	// By name, ignoring case, as the console lists them; the id breaks
	// no tie (names are unique ignoring case, R1) but keeps keys unique.
	out, err := paginate(r, "roles", items, func(x roleJSON) string { return strings.ToLower(x.Name) + "\x00" + x.ID })
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type createRoleRequest struct {
	Name        string             `json:"name"`
	Audience    policy.Audience    `json:"audience"`
	Description string             `json:"description"`
	Grants      policy.GrantValues `json:"grants"`
	Template    string             `json:"template"`
	Reason      string             `json:"reason"`
}

func (s *Server) createRole(w http.ResponseWriter, r *http.Request, c *call) error {
	var in createRoleRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	c.reason(in.Reason)
	grants, when := in.Grants.Split()
	ro, rev, err := s.cfg.Admin.CreateRole(r.Context(), c.ws, c.write, admin.RoleInput{Name: in.Name, Audience: in.Audience,
		Description: in.Description, Grants: grants, When: when, Template: in.Template})
	if err != nil {
		return err
	}
	writeRole(w, http.StatusCreated, ro, rev)
	return nil
}

// reason takes a body's reason over the Gatehouse-Reason header (X4).
func (c *call) reason(body string) {
	if body != "" {
		c.write.Reason = body
	}
}

// writeRole answers a role write with the role, its ETag (R7) and the
// workspace revision.
func writeRole(w http.ResponseWriter, status int, ro admin.Role, wsRevision int64) {
	w.Header().Set("ETag", etag(ro.Revision))
	writeWritten(w, status, toRole(ro), wsRevision)
}

func etag(rev int64) string { return `"` + strconv.FormatInt(rev, 10) + `"` }

func (s *Server) getRole(w http.ResponseWriter, r *http.Request, c *call) error {
	ro, err := s.cfg.Admin.Role(r.Context(), c.ws, r.PathValue("role"))
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(ro.Revision))
	writeJSON(w, http.StatusOK, toRole(ro))
	return nil
}

type updateRoleRequest struct {
	Name        *string            `json:"name"`
	Description *string            `json:"description"`
	Grants      policy.GrantValues `json:"grants"`
	// SetAll is R8: "allow" sets every permission to its highest level,
	// "deny" to none.
	SetAll string `json:"set_all"`
	Apply  *bool  `json:"apply"`
	Reason string `json:"reason"`
}

func (s *Server) updateRole(w http.ResponseWriter, r *http.Request, c *call) error {
	var in updateRoleRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	ifRev, err := revisionHeader(r)
	if err != nil {
		return err
	}
	c.reason(in.Reason)
	id := r.PathValue("role")
	var ro admin.Role
	var rev int64
	switch in.SetAll {
	case "":
		grants, when := in.Grants.Split()
		ro, rev, err = s.cfg.Admin.UpdateRole(r.Context(), c.ws, c.write, id, admin.RoleUpdate{Name: in.Name,
			Description: in.Description, Grants: grants, When: when, Apply: in.Apply, IfRevision: ifRev})
	case "allow", "deny":
		if in.Grants != nil || in.Name != nil || in.Description != nil {
			return invalid("set_all", "set_all replaces every grant; send name, description and grants in another request")
		}
		ro, rev, err = s.cfg.Admin.SetAllGrants(r.Context(), c.ws, c.write, id, in.SetAll == "allow", in.Apply, ifRev)
	default:
		return invalid("set_all", "set_all must be allow or deny, not %q", excerpt(in.SetAll))
	}
	if err != nil {
		return err
	}
	writeRole(w, http.StatusOK, ro, rev)
	return nil
}

func (s *Server) deleteRole(w http.ResponseWriter, r *http.Request, c *call) error {
	rev, err := s.cfg.Admin.DeleteRole(r.Context(), c.ws, c.write, r.PathValue("role"), r.URL.Query().Get("reassign_to"))
	if err != nil {
		return err
	}
	writeWritten(w, http.StatusOK, nil, rev)
	return nil
}

type duplicateRoleRequest struct {
	Name string `json:"name"`
}

func (s *Server) duplicateRole(w http.ResponseWriter, r *http.Request, c *call) error {
	var in duplicateRoleRequest
	if r.ContentLength != 0 {
		if err := decode(w, r, &in); err != nil {
			return err
		}
	}
	ro, rev, err := s.cfg.Admin.DuplicateRole(r.Context(), c.ws, c.write, r.PathValue("role"), in.Name)
	if err != nil {
		return err
	}
	writeRole(w, http.StatusCreated, ro, rev)
	return nil
}

type previewRequest struct {
	Grants policy.GrantValues `json:"grants"`
}

type impactJSON struct {
	RoleID      string                 `json:"role_id"`
	Affected    int                    `json:"affected"`
	Unaffected  int                    `json:"unaffected"`
	Permissions []permissionImpactJSON `json:"permissions"`
	Members     []memberImpactJSON     `json:"members"`
	NextCursor  string                 `json:"next_cursor,omitempty"`
	// SoD lists the members who would come to break a separation-of-duties
	// rule (S2): applying the edit would be refused.
	SoD []sodPreviewJSON `json:"sod_violations"`
}

type sodPreviewJSON struct {
	RuleID string     `json:"rule_id"`
	Rule   string     `json:"rule"`
	UserID string     `json:"user_id"`
	Held   [][]string `json:"held"`
}

type permissionImpactJSON struct {
	Permission string `json:"permission"`
	Gaining    int    `json:"gaining"`
	Losing     int    `json:"losing"`
	Changing   int    `json:"changing,omitempty"` // G1: same level, other conditions
}

type memberImpactJSON struct {
	UserID  string            `json:"user_id"`
	Changes []grantChangeJSON `json:"changes"`
}

// previewRole answers the impact of proposed grants (P1): a summary and a
// page of the affected members, whatever the role's size.
func (s *Server) previewRole(w http.ResponseWriter, r *http.Request, c *call) error {
	var in previewRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.Grants == nil {
		return invalid("grants", "grants are required: the proposed grants of the role")
	}
	after, err := decodeCursor(r, "preview")
	if err != nil {
		return err
	}
	limit, err := limitParam(r)
	if err != nil {
		return err
	}
	grants, when := in.Grants.Split()
	imp, err := s.cfg.Admin.PreviewRoleWhen(r.Context(), c.ws, r.PathValue("role"), grants, when, admin.ImpactPage{After: after, Limit: limit})
	if err != nil {
		return err
	}
	out := impactJSON{RoleID: imp.RoleID, Affected: imp.Affected, Unaffected: imp.Unaffected,
		Permissions: make([]permissionImpactJSON, 0, len(imp.Permissions)), Members: make([]memberImpactJSON, 0, len(imp.Members))}
	for _, p := range imp.Permissions {
		out.Permissions = append(out.Permissions, permissionImpactJSON(p))
	}
	for _, m := range imp.Members {
		mi := memberImpactJSON{UserID: m.UserID, Changes: make([]grantChangeJSON, 0, len(m.Changes))}
		for _, ch := range m.Changes {
			mi.Changes = append(mi.Changes, grantChangeJSON{Permission: ch.Permission, Old: ch.Old, New: ch.New, OldWhen: ch.OldWhen, NewWhen: ch.NewWhen})
		}
		out.Members = append(out.Members, mi)
	}
	if imp.Next != "" {
		out.NextCursor = encodeCursor("preview", imp.Next)
	}
	out.SoD = make([]sodPreviewJSON, len(imp.SoD))
	for i, v := range imp.SoD {
		out.SoD[i] = sodPreviewJSON{RuleID: v.RuleID, Rule: v.RuleName, UserID: v.UserID, Held: v.Held}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) listRevisions(w http.ResponseWriter, r *http.Request, c *call) error {
	revs, err := s.cfg.Admin.RoleRevisions(r.Context(), c.ws, r.PathValue("role"))
	if err != nil {
		return err
	}
	items := make([]revisionJSON, 0, len(revs))
	for _, rv := range revs {
		items = append(items, toRevision(rv))
	}
	// Oldest first: zero-padded numbers sort as the revisions do.
	out, err := paginate(r, "revisions", items, func(x revisionJSON) string { return fmt.Sprintf("%020d", x.Revision) })
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func revisionParam(r *http.Request) (int64, error) {
	n, err := strconv.ParseInt(r.PathValue("n"), 10, 64)
	if err != nil || n < 1 {
		return 0, invalid("n", "a revision is a positive integer, not %q", excerpt(r.PathValue("n")))
	}
	return n, nil
}

type revisionDiffJSON struct {
	revisionJSON
	Changes []grantChangeJSON `json:"changes"`
}

func (s *Server) getRevision(w http.ResponseWriter, r *http.Request, c *call) error {
	n, err := revisionParam(r)
	if err != nil {
		return err
	}
	d, err := s.cfg.Admin.RoleRevision(r.Context(), c.ws, r.PathValue("role"), n)
	if err != nil {
		return err
	}
	out := revisionDiffJSON{revisionJSON: toRevision(d.Revision), Changes: make([]grantChangeJSON, 0, len(d.Changes))}
	for _, ch := range d.Changes {
		out.Changes = append(out.Changes, grantChangeJSON{Permission: ch.Permission, Old: ch.Old, New: ch.New, OldWhen: ch.OldWhen, NewWhen: ch.NewWhen})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type restoreRequest struct {
	Apply  *bool  `json:"apply"`
	Reason string `json:"reason"`
}

func (s *Server) restoreRevision(w http.ResponseWriter, r *http.Request, c *call) error {
	n, err := revisionParam(r)
	if err != nil {
		return err
	}
	var in restoreRequest
	if r.ContentLength != 0 {
		if err := decode(w, r, &in); err != nil {
			return err
		}
	}
	ifRev, err := revisionHeader(r)
	if err != nil {
		return err
	}
	c.reason(in.Reason)
	ro, rev, err := s.cfg.Admin.RestoreRevision(r.Context(), c.ws, c.write, r.PathValue("role"), n, in.Apply, ifRev)
	if err != nil {
		return err
	}
	writeRole(w, http.StatusOK, ro, rev)
	return nil
}

func (s *Server) listRoleMembers(w http.ResponseWriter, r *http.Request, c *call) error {
	role := r.PathValue("role")
	if _, err := s.cfg.Admin.Role(r.Context(), c.ws, role); err != nil {
		return err
	}
	return s.membersPage(w, r, c, role)
}

type userIDsRequest struct {
	UserIDs []string `json:"user_ids"`
	// ExpiresAt, when set, is when the assignment expires (T1).
	ExpiresAt *time.Time `json:"expires_at"`
}

func (s *Server) addRoleMembers(w http.ResponseWriter, r *http.Request, c *call) error {
	var in userIDsRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if len(in.UserIDs) == 0 {
		return invalid("user_ids", "user_ids must list at least one member")
	}
	if len(in.UserIDs) > admin.MaxImport {
		return invalid("user_ids", "at most %d members at once", admin.MaxImport)
	}
	rev, err := s.cfg.Admin.AddRoleMembersUntil(r.Context(), c.ws, c.write, r.PathValue("role"), in.UserIDs, derefTime(in.ExpiresAt))
	if err != nil {
		return err
	}
	writeWritten(w, http.StatusOK, nil, rev)
	return nil
}

func (s *Server) removeRoleMember(w http.ResponseWriter, r *http.Request, c *call) error {
	rev, err := s.cfg.Admin.RemoveRoleMember(r.Context(), c.ws, c.write, r.PathValue("role"), r.PathValue("user"))
	if err != nil {
		return err
	}
	writeWritten(w, http.StatusOK, nil, rev)
	return nil
}
