package web

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
)

const auditPerPage = 50

type auditView struct {
	// Entries are newest first.
	Entries              []auditRow
	Actor, Target, Since string
	// Older and Newer are the cursors of the pages before and after this
	// one: entries before Older, entries after Newer.
	Older, Newer       int64
	HasOlder, HasNewer bool
	// Chain is the verification of the whole hash chain, for those who
	// may read the whole log (X3 reports).
	Chain   *admin.AuditReport
	Problem string
	// Limited is set below reports: the page shows the history of one
	// member of the session's span at a time, chosen from Members.
	Limited bool
	Members []admin.Member
}

// auditRow is an entry with its actor named for people (X5).
type auditRow struct {
	admin.AuditEntry
	Who, WhoID string
}

// actorLabel names an audit entry's actor (X5): a member by the name it
// had then, a key by its name when known, the deployment admin, the
// system. keys maps key ids to names.
func actorLabel(e admin.AuditEntry, keys map[string]string) (who, id string) {
	switch {
	case e.Actor == "":
		return "API key", "" // entries from before keys were named (X5)
	case e.Actor == "deployment":
		return "Deployment admin", ""
	case e.Actor == "system":
		return "System", ""
	case strings.HasPrefix(e.Actor, "key:"):
		k := strings.TrimPrefix(e.Actor, "key:")
		if n := keys[k]; n != "" {
			return "API key " + n, k
		}
		return "API key " + k, ""
	}
	return cmp.Or(e.ActorName, e.Actor), e.Actor
}

// auditPage lists the audit log (X4), newest first, a page at a time,
// with the verification of the whole hash chain. Below reports (X3) it
// lists the history of one member of the session's span, asked for by
// target; admin decides what that covers.
func (c *Console) auditPage(w http.ResponseWriter, rq *request) error {
	q := rq.URL.Query()
	v := auditView{Actor: strings.TrimSpace(q.Get("actor")), Target: strings.TrimSpace(q.Get("target")), Since: q.Get("since"),
		Limited: !rq.can(admin.AreaReports)}
	f := admin.AuditFilter{Actor: v.Actor, Target: v.Target}
	if v.Since != "" {
		t, err := time.Parse("2006-01-02", v.Since)
		if err != nil {
			v.Problem = "Since: choose a date (like 2026-01-31)."
			v.Since = ""
		}
		f.Since = t
	}
	if v.Limited {
		var err error
		if v.Members, err = c.cfg.Admin.Members(rq.Context(), rq.ws, rq.actor(), admin.MemberFilter{Limit: 500}); err != nil {
			return err
		}
		if v.Target == "" {
			return c.render(w, rq, http.StatusOK, "audit", "audit", v)
		}
	} else {
		chain, err := c.cfg.Admin.VerifyAudit(rq.Context(), rq.ws)
		if err != nil {
			return err
		}
		v.Chain = &chain
	}
	var before, after int64
	for name, p := range map[string]*int64{"before": &before, "after": &after} {
		if s := q.Get(name); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 0 {
				v.Problem = "That page does not exist; showing the latest entries."
				before, after = 0, 0
				break
			}
			*p = n
		}
	}
	entries, err := c.auditEntries(rq, f, &v, before, after)
	if err != nil {
		return err
	}
	keys := map[string]string{}
	if rq.can(admin.AreaOwner) {
		ks, err := c.cfg.Admin.Keys(rq.Context(), rq.ws)
		if err != nil {
			return err
		}
		for _, k := range ks {
			keys[k.ID] = k.Name
		}
	}
	for _, e := range entries {
		who, id := actorLabel(e, keys)
		v.Entries = append(v.Entries, auditRow{AuditEntry: e, Who: who, WhoID: id})
	}
	if n := len(v.Entries); n > 0 {
		v.Newer, v.Older = v.Entries[0].Seq, v.Entries[n-1].Seq
	}
	return c.render(w, rq, http.StatusOK, "audit", "audit", v)
}

// auditEntries reads one page of entries matching f, newest first: those
// just after after, or else just before before (0: the newest), and says
// whether there are older and newer ones. The store pages forward only;
// an unfiltered log numbers its entries without gaps (the chain says so),
// so its page is one read; a filtered one is read forward to find the
// page's end.
func (c *Console) auditEntries(rq *request, f admin.AuditFilter, v *auditView, before, after int64) ([]admin.AuditEntry, error) {
	filtered := f.Actor != "" || f.Target != "" || !f.Since.IsZero()
	var out []admin.AuditEntry
	switch {
	case after > 0:
		f.After, f.Limit = after, auditPerPage+1
		page, err := c.cfg.Admin.Audit(rq.Context(), rq.ws, rq.actor(), f)
		if err != nil {
			return nil, err
		}
		if len(page) > auditPerPage {
			page, v.HasNewer = page[:auditPerPage], true
		}
		out, v.HasOlder = page, true
	case !filtered && v.Chain != nil && v.Chain.OK:
		top := v.Chain.Entries
		if before > 0 && before-1 < top {
			top, v.HasNewer = before-1, true
		}
		f.After, f.Limit = max(0, top-auditPerPage), auditPerPage
		page, err := c.cfg.Admin.Audit(rq.Context(), rq.ws, rq.actor(), f)
		if err != nil {
			return nil, err
		}
		out, v.HasOlder = page, f.After > 0
	default:
		f.Limit = 1000
	scan:
		for {
			page, err := c.cfg.Admin.Audit(rq.Context(), rq.ws, rq.actor(), f)
			if err != nil {
				return nil, err
			}
			for _, e := range page {
				if before > 0 && e.Seq >= before {
					v.HasNewer = true
					break scan
				}
				out = append(out, e)
				if len(out) > auditPerPage {
					out, v.HasOlder = out[1:], true
				}
			}
			if len(page) < f.Limit {
				break
			}
			f.After = page[len(page)-1].Seq
		}
	}
	slices.Reverse(out)
	return out, nil
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
