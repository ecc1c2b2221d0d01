package web

import (
	"net/http"
	"strings"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

type explainView struct {
	User, Permission, Owner, Department string
	Creator, Responsible                string
	Participant, Observer               string
	Members                             []admin.Member
	Permissions                         []string
	Result                              *policy.Explanation
	Problem                             string
}

// explainPage answers "why can or can't this member do this, on this
// record?" from the snapshot decisions use (D6).
func (c *Console) explainPage(w http.ResponseWriter, rq *request) error {
	q := rq.URL.Query()
	v := explainView{User: strings.TrimSpace(q.Get("user")), Permission: strings.TrimSpace(q.Get("permission")),
		Owner: strings.TrimSpace(q.Get("owner_id")), Department: strings.TrimSpace(q.Get("department_id")),
		Creator: q.Get("creator"), Responsible: q.Get("responsible"), Participant: q.Get("participant"), Observer: q.Get("observer")}
	for _, p := range rq.cat.Permissions() {
		v.Permissions = append(v.Permissions, p.Key)
	}
	var err error
	if v.Members, err = c.cfg.Admin.Members(rq.Context(), rq.ws, rq.actor(), admin.MemberFilter{Limit: 500}); err != nil {
		return err
	}
	if v.User != "" && v.Permission != "" && !rq.auth.Owner() {
		// A member explains only members it may see (X3); an unknown user
		// id is the engine's to explain (D3) for the host's keys only.
		if _, err := c.cfg.Admin.Member(rq.Context(), rq.ws, rq.actor(), v.User); err != nil {
			v.Problem = c.message(err)
			return c.render(w, rq, http.StatusOK, "explain", "explain", v)
		}
	}
	if v.User != "" && v.Permission != "" {
		snap, err := c.cfg.Engine.Snapshot(rq.ws)
		if err != nil {
			return err
		}
		var res *policy.Resource
		if v.Owner != "" || v.Department != "" || v.Creator+v.Responsible+v.Participant+v.Observer != "" {
			res = &policy.Resource{OwnerID: v.Owner, DepartmentID: v.Department, Relations: policy.Relations{
				Creator: ids(v.Creator), Responsible: ids(v.Responsible), Participant: ids(v.Participant), Observer: ids(v.Observer)}}
		}
		ex, err := snap.Explain(v.User, v.Permission, res)
		if err != nil {
			v.Problem = c.message(err)
		} else {
			v.Result = ex
		}
	}
	return c.render(w, rq, http.StatusOK, "explain", "explain", v)
}

// ids splits a comma-separated list of user ids.
func ids(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
