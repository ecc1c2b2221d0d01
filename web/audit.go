package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

const auditPerPage = 50

type auditView struct {
	Entries              []admin.AuditEntry
	Actor, Target, Since string
	Next                 int64
	Chain                admin.AuditReport
}

// auditPage lists the audit log (X4), newest filters first, with the
// verification of the whole hash chain.
func (c *Console) auditPage(w http.ResponseWriter, rq *request) error {
	q := rq.URL.Query()
	v := auditView{Actor: strings.TrimSpace(q.Get("actor")), Target: strings.TrimSpace(q.Get("target")), Since: q.Get("since")}
	f := admin.AuditFilter{Actor: v.Actor, Target: v.Target, Limit: auditPerPage + 1}
	if v.Since != "" {
		t, err := time.Parse("2006-01-02", v.Since)
		if err != nil {
			return policy.Errorf(policy.CodeInvalidArgument, "since: want a date like 2026-01-31")
		}
		f.Since = t
	}
	if a := q.Get("after"); a != "" {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil {
			return policy.Errorf(policy.CodeInvalidArgument, "after: want an entry number")
		}
		f.After = n
	}
	entries, err := c.cfg.Admin.Audit(rq.Context(), rq.ws, f)
	if err != nil {
		return err
	}
	if len(entries) > auditPerPage {
		entries = entries[:auditPerPage]
		v.Next = entries[len(entries)-1].Seq
	}
	v.Entries = entries
	if v.Chain, err = c.cfg.Admin.VerifyAudit(rq.Context(), rq.ws); err != nil {
		return err
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
