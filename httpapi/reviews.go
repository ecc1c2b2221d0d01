package httpapi

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// Access reviews (V1–V3).

type reviewScopeJSON struct {
	Roles       []string     `json:"roles,omitempty"`
	Permissions []string     `json:"permissions,omitempty"`
	Actions     []string     `json:"actions,omitempty"`
	MinLevel    policy.Level `json:"min_level,omitempty"`
}

type createReviewRequest struct {
	Name      string           `json:"name"`
	Deadline  time.Time        `json:"deadline"`
	Default   string           `json:"default"`
	Scope     *reviewScopeJSON `json:"scope"`
	Reviewers string           `json:"reviewers"`
	EveryDays int              `json:"every_days"`
}

type updateReviewRequest struct {
	Name      *string    `json:"name"`
	Deadline  *time.Time `json:"deadline"`
	Default   *string    `json:"default"`
	EveryDays *int       `json:"every_days"`
}

type decideRequest struct {
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
}

type reviewJSON struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Status    string          `json:"status"`
	Scope     reviewScopeJSON `json:"scope"`
	Reviewers string          `json:"reviewers"`
	Deadline  time.Time       `json:"deadline"`
	Default   string          `json:"default"`
	EveryDays int             `json:"every_days"`
	CreatedBy string          `json:"created_by"`
	CreatedAt time.Time       `json:"created_at"`
	ClosedBy  string          `json:"closed_by,omitempty"`
	ClosedAt  *time.Time      `json:"closed_at,omitempty"`
	Next      string          `json:"next,omitempty"`
	Decided   int             `json:"decided"`
	Items     int             `json:"items"`
}

type reviewItemJSON struct {
	ID         int           `json:"id"`
	UserID     string        `json:"user_id"`
	Department string        `json:"department_id,omitempty"`
	RoleID     string        `json:"role_id,omitempty"`
	Permission string        `json:"permission,omitempty"`
	Grants     policy.Grants `json:"grants"`
	LastUsed   *time.Time    `json:"last_used"`
	ExpiresAt  *time.Time    `json:"expires_at,omitempty"`
	Decision   string        `json:"decision,omitempty"`
	Reason     string        `json:"reason,omitempty"`
	DecidedBy  string        `json:"decided_by,omitempty"`
	DecidedAt  *time.Time    `json:"decided_at,omitempty"`
	Outcome    string        `json:"outcome,omitempty"`
	Note       string        `json:"note,omitempty"`
}

type closeReportJSON struct {
	Review  reviewJSON       `json:"review"`
	Revoked []reviewItemJSON `json:"revoked"`
	Refused []reviewItemJSON `json:"refused"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func toReviewJSON(r admin.Review, decided, total int) reviewJSON {
	return reviewJSON{ID: r.ID, Name: r.Name, Status: r.Status, Scope: reviewScopeJSON{Roles: r.Scope.Roles, Permissions: r.Scope.Permissions,
		Actions: r.Scope.Actions, MinLevel: r.Scope.MinLevel}, Reviewers: r.Reviewers, Deadline: r.Deadline, Default: r.Default,
		EveryDays: r.EveryDays, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, ClosedBy: r.ClosedBy, ClosedAt: timePtr(r.ClosedAt),
		Next: r.Next, Decided: decided, Items: total}
}

func toItemJSON(it admin.ReviewItem) reviewItemJSON {
	g := it.Grants
	if g == nil {
		g = policy.Grants{}
	}
	return reviewItemJSON{ID: it.ID, UserID: it.UserID, Department: it.DepartmentID, ExpiresAt: timePtr(it.ExpiresAt), RoleID: it.RoleID, Permission: it.Permission, Grants: g, LastUsed: timePtr(it.LastUsed),
		Decision: it.Decision, Reason: it.Reason, DecidedBy: it.DecidedBy, DecidedAt: timePtr(it.DecidedAt), Outcome: it.Outcome, Note: it.Note}
}

func itemsJSON(its []admin.ReviewItem) []reviewItemJSON {
	out := make([]reviewItemJSON, len(its))
	for i, it := range its {
		out[i] = toItemJSON(it)
	}
	return out
}

// createReview opens a campaign (V1); its items are generated now.
func (s *Server) createReview(w http.ResponseWriter, r *http.Request, c *call) error {
	var in createReviewRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	ri := admin.ReviewInput{Name: in.Name, Deadline: in.Deadline, Default: in.Default, Reviewers: in.Reviewers, EveryDays: in.EveryDays}
	if in.Scope != nil {
		ri.Scope = admin.ReviewScope{Roles: in.Scope.Roles, Permissions: in.Scope.Permissions, Actions: in.Scope.Actions, MinLevel: in.Scope.MinLevel}
	}
	rv, rev, err := s.cfg.Admin.OpenReview(r.Context(), c.ws, c.write, ri)
	if err != nil {
		return err
	}
	writeWritten(w, http.StatusCreated, toReviewJSON(rv, 0, len(rv.Items)), rev)
	return nil
}

// listReviews answers the campaigns the caller may see, newest first.
func (s *Server) listReviews(w http.ResponseWriter, r *http.Request, c *call) error {
	after, err := decodeCursor(r, "reviews")
	if err != nil {
		return err
	}
	limit, err := limitParam(r)
	if err != nil {
		return err
	}
	rs, err := s.cfg.Admin.Reviews(r.Context(), c.ws, c.write.Actor)
	if err != nil {
		return err
	}
	out := page[reviewJSON]{Items: []reviewJSON{}}
	skipping := after != ""
	for _, rv := range rs {
		if skipping {
			skipping = rv.ID != after
			continue
		}
		if len(out.Items) == limit {
			out.NextCursor = encodeCursor("reviews", out.Items[limit-1].ID)
			break
		}
		_, decided, total, err := s.cfg.Admin.GetReview(r.Context(), c.ws, c.write.Actor, rv.ID)
		if err != nil {
			return err
		}
		out.Items = append(out.Items, toReviewJSON(rv, decided, total))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getReview(w http.ResponseWriter, r *http.Request, c *call) error {
	rv, decided, total, err := s.cfg.Admin.GetReview(r.Context(), c.ws, c.write.Actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toReviewJSON(rv, decided, total))
	return nil
}

func (s *Server) updateReview(w http.ResponseWriter, r *http.Request, c *call) error {
	var in updateReviewRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	rv, rev, err := s.cfg.Admin.UpdateReview(r.Context(), c.ws, c.write, r.PathValue("id"),
		admin.ReviewUpdate{Name: in.Name, Deadline: in.Deadline, Default: in.Default, EveryDays: in.EveryDays})
	if err != nil {
		return err
	}
	_, decided, total, err := s.cfg.Admin.GetReview(r.Context(), c.ws, c.write.Actor, rv.ID)
	if err != nil {
		return err
	}
	writeWritten(w, http.StatusOK, toReviewJSON(rv, decided, total), rev)
	return nil
}

// listReviewItems answers a campaign's items the caller may see (V2,
// V3): ?open=true for undecided ones, ?role= and ?permission= to filter;
// ?format=csv exports every decision as CSV (a report).
func (s *Server) listReviewItems(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	id := r.PathValue("id")
	switch q.Get("format") {
	case "", "json":
	case "csv":
		rows, err := s.cfg.Admin.ReviewCSV(r.Context(), c.ws, c.write.Actor, id)
		if err != nil {
			return err
		}
		h := w.Header()
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="review-`+id+`.csv"`)
		w.WriteHeader(http.StatusOK)
		cw := csv.NewWriter(w)
		for _, row := range rows {
			for i, f := range row { // no cell a spreadsheet would run as a formula
				if f != "" && (f[0] == '=' || f[0] == '+' || f[0] == '-' || f[0] == '@') {
					row[i] = "'" + f
				}
			}
			_ = cw.Write(row)
		}
		cw.Flush()
		return nil
	default:
		return invalid("format", "format must be json or csv, not %q", excerpt(q.Get("format")))
	}
	pos, err := decodeCursor(r, "items")
	if err != nil {
		return err
	}
	after := 0
	if pos != "" {
		if after, err = strconv.Atoi(pos); err != nil {
			return invalid("cursor", "the cursor is not one this list returned")
		}
	}
	limit, err := limitParam(r)
	if err != nil {
		return err
	}
	open, err := boolParam(r, "open")
	if err != nil {
		return err
	}
	items, err := s.cfg.Admin.ReviewItems(r.Context(), c.ws, c.write.Actor, id,
		admin.ReviewItemFilter{Open: open, RoleID: q.Get("role"), Permission: q.Get("permission"), After: after, Limit: limit + 1})
	if err != nil {
		return err
	}
	out := page[reviewItemJSON]{Items: []reviewItemJSON{}}
	for i, it := range items {
		if i == limit {
			out.NextCursor = encodeCursor("items", strconv.Itoa(items[i-1].ID))
			break
		}
		out.Items = append(out.Items, toItemJSON(it))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// decideReviewItem records keep or revoke on one item (V2).
func (s *Server) decideReviewItem(w http.ResponseWriter, r *http.Request, c *call) error {
	var in decideRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	item, err := strconv.Atoi(r.PathValue("item"))
	if err != nil || item < 1 {
		return invalid("item", "item must be a positive integer, not %q", excerpt(r.PathValue("item")))
	}
	it, rev, err := s.cfg.Admin.DecideReviewItem(r.Context(), c.ws, c.write, r.PathValue("id"), item, in.Decision, in.Reason)
	if err != nil {
		return err
	}
	writeWritten(w, http.StatusOK, toItemJSON(it), rev)
	return nil
}

// closeReview closes a campaign (V2): defaults, revocations, recurrence.
func (s *Server) closeReview(w http.ResponseWriter, r *http.Request, c *call) error {
	rep, err := s.cfg.Admin.CloseReview(r.Context(), c.ws, c.write, r.PathValue("id"))
	if err != nil {
		return err
	}
	decided, total := rep.Review.Progress()
	writeWritten(w, http.StatusOK, closeReportJSON{Review: toReviewJSON(rep.Review, decided, total),
		Revoked: itemsJSON(rep.Revoked), Refused: itemsJSON(rep.Refused)}, rep.Revision)
	return nil
}
