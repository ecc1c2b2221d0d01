package web

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// The governance pages: separation of duties (S1–S3) and access reviews
// (V1–V3). Every refusal is admin's; the pages show it as it comes.

type sodRuleView struct {
	admin.SoDRule
	Kind       string // "permissions" or "roles"
	Sets       []string
	Violations []admin.SoDViolation
	More       bool // more violations than shown
}

type sodView struct {
	Rules []sodRuleView
	Edit  bool
	Roles []admin.Role
}

// sodPage lists the rules, each with its current violations and its
// exceptions (S3); with role-definition authority, forms to add rules and
// exceptions.
func (c *Console) sodPage(w http.ResponseWriter, rq *request) error {
	rules, err := c.cfg.Admin.SoDRules(rq.Context(), rq.ws, rq.actor())
	if err != nil {
		return err
	}
	v := sodView{Edit: rq.can(admin.AreaRolesEdit)}
	for _, r := range rules {
		rv := sodRuleView{SoDRule: r, Kind: "permissions"}
		sets := r.Permissions
		if r.Roles != nil {
			rv.Kind, sets = "roles", r.Roles
		}
		for _, s := range sets {
			rv.Sets = append(rv.Sets, strings.Join(s, ", "))
		}
		vs, next, err := c.cfg.Admin.SoDViolations(rq.Context(), rq.ws, rq.actor(), r.ID, admin.SoDPage{Limit: 50})
		if err != nil {
			return err
		}
		rv.Violations, rv.More = vs, next != ""
		v.Rules = append(v.Rules, rv)
	}
	if v.Edit {
		if v.Roles, err = c.cfg.Admin.Roles(rq.Context(), rq.ws, "", ""); err != nil {
			return err
		}
	}
	return c.render(w, rq, http.StatusOK, "sod", "sod", v)
}

// splitSet reads one set of a rule from a form field: comma- or
// space-separated keys.
func splitSet(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

// putSoD adds or replaces a rule from the form (S1).
func (c *Console) putSoD(w http.ResponseWriter, rq *request) error {
	r := admin.SoDRule{ID: strings.TrimSpace(rq.PostFormValue("id")), Name: rq.PostFormValue("name"), Description: rq.PostFormValue("description")}
	var sets [][]string
	for _, f := range []string{"set1", "set2", "set3"} {
		if s := splitSet(rq.PostFormValue(f)); len(s) > 0 {
			sets = append(sets, s)
		}
	}
	if rq.PostFormValue("kind") == "roles" {
		r.Roles = sets
	} else {
		r.Permissions = sets
	}
	if old, err := c.cfg.Admin.SoDRule(rq.Context(), rq.ws, rq.actor(), r.ID); err == nil {
		r.Exceptions = old.Exceptions
	}
	if _, _, err := c.cfg.Admin.PutSoDRule(rq.Context(), rq.ws, rq.write(""), r); err != nil {
		return err
	}
	vs, _, err := c.cfg.Admin.SoDViolations(rq.Context(), rq.ws, rq.actor(), r.ID, admin.SoDPage{Limit: 1000})
	if err != nil {
		return err
	}
	msg := "Rule " + r.Name + " saved."
	if n := len(slices.DeleteFunc(vs, func(v admin.SoDViolation) bool { return v.Excepted })); n > 0 {
		verb := "members already break"
		if n == 1 {
			verb = "member already breaks"
		}
		msg += fmt.Sprintf(" %d %s it, listed below; new violations are refused from now on (S3).", n, verb)
	}
	c.setFlash(w, rq.Request, "ok", msg)
	redirect(w, rq.Request, wsPath(rq.ws, "sod"))
	return nil
}

func (c *Console) deleteSoD(w http.ResponseWriter, rq *request) error {
	if _, err := c.cfg.Admin.DeleteSoDRule(rq.Context(), rq.ws, rq.write(""), rq.PathValue("id")); err != nil {
		return err
	}
	c.setFlash(w, rq.Request, "ok", "Rule deleted.")
	redirect(w, rq.Request, wsPath(rq.ws, "sod"))
	return nil
}

// exceptSoD records (or, with remove, withdraws) a member's exception to
// a rule: with a reason and an optional expiry (S3).
func (c *Console) exceptSoD(w http.ResponseWriter, rq *request) error {
	r, err := c.cfg.Admin.SoDRule(rq.Context(), rq.ws, rq.actor(), rq.PathValue("id"))
	if err != nil {
		return err
	}
	user := strings.TrimSpace(rq.PostFormValue("user_id"))
	r.Exceptions = slices.DeleteFunc(slices.Clone(r.Exceptions), func(e admin.SoDException) bool { return e.UserID == user })
	msg := "Exception for " + user + " withdrawn."
	if rq.PostFormValue("remove") == "" {
		e := admin.SoDException{UserID: user, Reason: rq.PostFormValue("reason")}
		if d := rq.PostFormValue("expires"); d != "" {
			t, err := time.Parse("2006-01-02", d)
			if err != nil {
				return policy.Errorf(policy.CodeInvalidArgument, "the expiry %q is not a date", d)
			}
			e.ExpiresAt = t
		}
		r.Exceptions = append(r.Exceptions, e)
		msg = "Exception for " + user + " recorded."
	}
	if _, _, err := c.cfg.Admin.PutSoDRule(rq.Context(), rq.ws, rq.write(""), r); err != nil {
		return err
	}
	c.setFlash(w, rq.Request, "ok", msg)
	redirect(w, rq.Request, wsPath(rq.ws, "sod"))
	return nil
}

type reviewRow struct {
	admin.Review
	Decided, Total int
}

type reviewsView struct {
	Reviews []reviewRow
	Edit    bool
	Roles   []admin.Role
	Due     string // the default deadline offered, a date
}

// reviewsPage lists the campaigns the session may see, with progress;
// with role-definition authority, a form to open one (V1).
func (c *Console) reviewsPage(w http.ResponseWriter, rq *request) error {
	rs, err := c.cfg.Admin.Reviews(rq.Context(), rq.ws, rq.actor())
	if err != nil {
		return err
	}
	v := reviewsView{Edit: rq.can(admin.AreaRolesEdit), Due: time.Now().AddDate(0, 0, 14).Format("2006-01-02")}
	for _, r := range rs {
		_, d, n, err := c.cfg.Admin.GetReview(rq.Context(), rq.ws, rq.actor(), r.ID)
		if err != nil {
			return err
		}
		v.Reviews = append(v.Reviews, reviewRow{Review: r, Decided: d, Total: n})
	}
	if v.Edit {
		if v.Roles, err = c.cfg.Admin.Roles(rq.Context(), rq.ws, "", ""); err != nil {
			return err
		}
	}
	return c.render(w, rq, http.StatusOK, "reviews", "reviews", v)
}

// openReview opens a campaign from the form (V1).
func (c *Console) openReview(w http.ResponseWriter, rq *request) error {
	if err := rq.ParseForm(); err != nil {
		return err
	}
	in := admin.ReviewInput{Name: rq.PostFormValue("name"), Default: rq.PostFormValue("default"), Reviewers: rq.PostFormValue("reviewers")}
	d, err := time.Parse("2006-01-02", rq.PostFormValue("deadline"))
	if err != nil {
		return policy.Errorf(policy.CodeInvalidArgument, "the deadline %q is not a date", rq.PostFormValue("deadline"))
	}
	in.Deadline = d.Add(24*time.Hour - time.Second) // the end of that day
	if n := rq.PostFormValue("every_days"); n != "" {
		if in.EveryDays, err = strconv.Atoi(n); err != nil {
			return policy.Errorf(policy.CodeInvalidArgument, "repeat every %q days: not a number", n)
		}
	}
	in.Scope.Roles = rq.PostForm["roles"]
	in.Scope.Actions = splitSet(rq.PostFormValue("actions"))
	rv, _, err := c.cfg.Admin.OpenReview(rq.Context(), rq.ws, rq.write(""), in)
	if err != nil {
		return err
	}
	c.setFlash(w, rq.Request, "ok", fmt.Sprintf("Review %s opened with %s.", rv.Name, plural(len(rv.Items), "item", "items")))
	redirect(w, rq.Request, wsPath(rq.ws, "reviews", rv.ID))
	return nil
}

type campaignView struct {
	Review         admin.Review
	Decided, Total int
	Items          []admin.ReviewItem
	Open           bool   // only undecided items shown
	Role, Perm     string // filters
	Roles          []string
	Close, Report  bool
}

// reviewPage is a campaign: its progress and the items the session may
// decide (the reviewer's inbox, V3), filtered by role or permission, with
// bulk keep and revoke.
func (c *Console) reviewPage(w http.ResponseWriter, rq *request) error {
	id := rq.PathValue("id")
	r, d, n, err := c.cfg.Admin.GetReview(rq.Context(), rq.ws, rq.actor(), id)
	if err != nil {
		return err
	}
	q := rq.URL.Query()
	v := campaignView{Review: r, Decided: d, Total: n, Open: q.Get("open") == "1", Role: q.Get("role"), Perm: q.Get("permission"),
		Close: rq.can(admin.AreaRolesEdit) && r.Status != admin.ReviewClosed, Report: rq.can(admin.AreaReports)}
	all, err := c.cfg.Admin.ReviewItems(rq.Context(), rq.ws, rq.actor(), id, admin.ReviewItemFilter{})
	if err != nil {
		return err
	}
	for _, it := range all {
		if it.RoleID != "" && !slices.Contains(v.Roles, it.RoleID) {
			v.Roles = append(v.Roles, it.RoleID)
		}
	}
	slices.Sort(v.Roles)
	if v.Items, err = c.cfg.Admin.ReviewItems(rq.Context(), rq.ws, rq.actor(), id,
		admin.ReviewItemFilter{Open: v.Open, RoleID: v.Role, Permission: v.Perm, Limit: 500}); err != nil {
		return err
	}
	return c.render(w, rq, http.StatusOK, "review", "reviews", v)
}

// decideReview records one decision on every item checked (V2).
func (c *Console) decideReview(w http.ResponseWriter, rq *request) error {
	if err := rq.ParseForm(); err != nil {
		return err
	}
	id, decision := rq.PathValue("id"), rq.PostFormValue("decision")
	items := rq.PostForm["item"]
	if len(items) == 0 {
		return policy.Errorf(policy.CodeInvalidArgument, "tick the items to %s first", decision)
	}
	for _, s := range items {
		n, err := strconv.Atoi(s)
		if err != nil {
			return policy.Errorf(policy.CodeInvalidArgument, "item %q is not a number", s)
		}
		if _, _, err := c.cfg.Admin.DecideReviewItem(rq.Context(), rq.ws, rq.write(""), id, n, decision, rq.PostFormValue("reason")); err != nil {
			return err
		}
	}
	c.setFlash(w, rq.Request, "ok", fmt.Sprintf("%s: %s.", strings.ToUpper(decision[:1])+decision[1:], plural(len(items), "item", "items")))
	redirect(w, rq.Request, back(rq.Request))
	return nil
}

// closeReviewPost closes a campaign (V2) and reports what it did.
func (c *Console) closeReviewPost(w http.ResponseWriter, rq *request) error {
	rep, err := c.cfg.Admin.CloseReview(rq.Context(), rq.ws, rq.write(""), rq.PathValue("id"))
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("Review closed: %s revoked", plural(len(rep.Revoked), "item", "items"))
	if len(rep.Refused) > 0 {
		msg += fmt.Sprintf("; %s refused by a rule and left as they were", plural(len(rep.Refused), "revocation", "revocations"))
	}
	if rep.Next != "" {
		msg += "; the next review is open"
	}
	c.setFlash(w, rq.Request, "ok", msg+".")
	redirect(w, rq.Request, wsPath(rq.ws, "reviews", rq.PathValue("id")))
	return nil
}

// reviewCSV downloads a campaign's decisions (V3).
func (c *Console) reviewCSV(w http.ResponseWriter, rq *request) error {
	rows, err := c.cfg.Admin.ReviewCSV(rq.Context(), rq.ws, rq.actor(), rq.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="review-`+rq.PathValue("id")+`.csv"`)
	cw := csv.NewWriter(w)
	for _, row := range rows {
		for i, f := range row {
			if f != "" && strings.ContainsRune("=+-@", rune(f[0])) {
				row[i] = "'" + f
			}
		}
		cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}
