package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
)

const auditPerPage = 50

type auditView struct {
	Entries              []admin.AuditEntry
	Actor, Target, Since string
	// Next and Prev are the cursors of the later and earlier pages; HasPrev
	// says whether there is an earlier page.
	Next, Prev int64
	HasPrev    bool
	Chain      admin.AuditReport
	Problem    string
}

// auditPage lists the audit log (X4) in time order, a page at a time,
// with the verification of the whole hash chain. Without filters it opens
// on the latest page (entry numbers run from 1 without gaps); filtered, on
// the first match.
func (c *Console) auditPage(w http.ResponseWriter, rq *request) error {
	q := rq.URL.Query()
	v := auditView{Actor: strings.TrimSpace(q.Get("actor")), Target: strings.TrimSpace(q.Get("target")), Since: q.Get("since")}
	var err error
	if v.Chain, err = c.cfg.Admin.VerifyAudit(rq.Context(), rq.ws); err != nil {
		return err
	}
	f := admin.AuditFilter{Actor: v.Actor, Target: v.Target, Limit: auditPerPage + 1}
	if v.Since != "" {
		t, err := time.Parse("2006-01-02", v.Since)
		if err != nil {
			v.Problem = "Since: choose a date (like 2026-01-31)."
			v.Since = ""
		}
		f.Since = t
	}
	filtered := v.Actor != "" || v.Target != "" || !f.Since.IsZero()
	switch a := q.Get("after"); {
	case a != "":
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil || n < 0 {
			v.Problem = "That page does not exist; showing the first."
		} else {
			f.After = n
		}
	case !filtered:
		f.After = max(0, v.Chain.Entries-auditPerPage)
	}
	entries, err := c.cfg.Admin.Audit(rq.Context(), rq.ws, rq.actor(), f)
	if err != nil {
		return err
	}
	if len(entries) > auditPerPage {
		entries = entries[:auditPerPage]
		v.Next = entries[len(entries)-1].Seq
	}
	v.Entries = entries
	if !filtered && f.After > 0 {
		v.HasPrev, v.Prev = true, max(0, f.After-auditPerPage)
	}
	return c.render(w, rq, http.StatusOK, "audit", "audit", v)
}

type usageView struct {
	Days      int
	Unused    []unusedByRole
	RoleNames map[string]string
	Used      []admin.Usage
}

// unusedByRole groups a role's unused grants, so a long report reads role
// by role.
type unusedByRole struct {
	RoleID, Name string
	Grants       []admin.UnusedGrant
}

// usagePage lists the grants no allowed decision used within N days (U1).
func (c *Console) usagePage(w http.ResponseWriter, rq *request) error {
	days := 30
	if d, err := strconv.Atoi(rq.URL.Query().Get("days")); err == nil && d > 0 && d <= 3650 {
		days = d
	}
	unused, err := c.cfg.Admin.UnusedGrants(rq.Context(), rq.ws, days)
	if err != nil {
		return err
	}
	used, err := c.cfg.Admin.Usage(rq.Context(), rq.ws)
	if err != nil {
		return err
	}
	names, _, err := c.roleNames(rq)
	if err != nil {
		return err
	}
	v := usageView{Days: days, RoleNames: names, Used: used}
	for _, u := range unused {
		if n := len(v.Unused); n == 0 || v.Unused[n-1].RoleID != u.RoleID {
			v.Unused = append(v.Unused, unusedByRole{RoleID: u.RoleID, Name: names[u.RoleID]})
		}
		g := &v.Unused[len(v.Unused)-1]
		g.Grants = append(g.Grants, u)
	}
	return c.render(w, rq, http.StatusOK, "usage", "usage", v)
}
