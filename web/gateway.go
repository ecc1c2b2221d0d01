package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// The gateway page: a workspace's gateway routes (forward authorization),
// the ordered list a gateway's request is matched against. Like the
// matrix, the list is a draft carried in the form: every editor action
// (add, delete, move) posts the draft to …/gateway/draft and gets the
// redrawn list; nothing is written until Save, one SetGatewayRoutes call
// that admin validates (the console checks nothing of its own).

// gatewayMethods are the methods a route may name, in the order the
// select offers them; policy.GatewayRoute.Validate decides.
var gatewayMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "*"}

// gatewayRow is one route of the draft.
type gatewayRow struct {
	policy.GatewayRoute
	// Problem is the save's refusal of this route, shown in its row.
	Problem string
	// Focus marks the control to focus after a redraw (the row a button
	// moved, the row just added).
	Focus string
}

type gatewayView struct {
	Rows []gatewayRow
	// Base fingerprints the saved routes the draft started from: a save
	// over routes another edit changed meanwhile is stopped once.
	Base string
	// Changed says the draft differs from the saved routes.
	Changed bool
	Saved   int
	// Problem is a refused action or save not tied to one route.
	Problem string
	// Edit is set when the session may change the routes (X3:
	// settings_roles_edit at all); otherwise the page has no control.
	Edit        bool
	Methods     []string
	Max         int
	Permissions []permChoice
	Aliases     []aliasChoice
	// ForwardAuth is the URL gateways call; Nginx and Caddy are ready-made
	// configurations calling it.
	ForwardAuth  string
	Nginx, Caddy string
}

type permChoice struct{ Key, Label string }

type aliasChoice struct{ Alias, Permission string }

func (c *Console) gatewayPage(w http.ResponseWriter, rq *request) error {
	saved, err := c.cfg.Admin.GatewayRoutes(rq.Context(), rq.ws)
	if err != nil {
		return err
	}
	v, err := c.gatewayView(rq, saved, rowsOf(saved))
	if err != nil {
		return err
	}
	return c.render(w, rq, http.StatusOK, "gateway", "gateway", v)
}

func rowsOf(routes []policy.GatewayRoute) []gatewayRow {
	rows := make([]gatewayRow, len(routes))
	for i, r := range routes {
		rows[i] = gatewayRow{GatewayRoute: r}
	}
	return rows
}

func routesOf(rows []gatewayRow) []policy.GatewayRoute {
	out := make([]policy.GatewayRoute, len(rows))
	for i, r := range rows {
		out[i] = r.GatewayRoute
	}
	return out
}

func (c *Console) gatewayView(rq *request, saved []policy.GatewayRoute, rows []gatewayRow) (gatewayView, error) {
	v := gatewayView{Rows: rows, Base: fingerprint(saved), Saved: len(saved), Edit: rq.can(admin.AreaRolesEdit),
		Methods: gatewayMethods, Max: policy.MaxGatewayRoutes}
	v.Changed = !slices.Equal(saved, routesOf(rows))
	v.ForwardAuth, v.Nginx, v.Caddy = gatewaySnippets(origin(rq.Request), rq.ws)
	if !v.Edit {
		return v, nil
	}
	aliases, err := c.cfg.Admin.ActionAliases(rq.Context(), rq.ws)
	if err != nil {
		return gatewayView{}, err
	}
	for _, a := range slices.Sorted(maps.Keys(aliases)) {
		v.Aliases = append(v.Aliases, aliasChoice{Alias: a, Permission: aliases[a]})
	}
	for _, p := range rq.cat.Permissions() {
		v.Permissions = append(v.Permissions, permChoice{Key: p.Key, Label: p.Module.Name + ": " + actionLabel(p.Action)})
	}
	return v, nil
}

// fingerprint identifies a list of routes, for the draft's base.
func fingerprint(routes []policy.GatewayRoute) string {
	h := sha256.New()
	for _, r := range routes {
		fmt.Fprintf(h, "%q %q %q %q %q\n", r.Method, r.Path, r.Permission, r.Owner, r.Department)
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// draftRows reads the draft from the form: one value of each field per
// route, in order.
func draftRows(r *http.Request) ([]gatewayRow, error) {
	f := r.PostForm
	n := len(f["method"])
	for _, k := range []string{"path", "permission", "owner", "department"} {
		if len(f[k]) != n {
			return nil, policy.Errorf(policy.CodeInvalidArgument, "the draft is unreadable (%d methods, %d %ss): it was reset to the saved routes", n, len(f[k]), k)
		}
	}
	rows := make([]gatewayRow, n)
	for i := range rows {
		rows[i].GatewayRoute = policy.GatewayRoute{
			Method:     strings.ToUpper(strings.TrimSpace(f["method"][i])),
			Path:       strings.TrimSpace(f["path"][i]),
			Permission: strings.TrimSpace(f["permission"][i]),
			Owner:      trimParam(f["owner"][i]),
			Department: trimParam(f["department"][i]),
		}
	}
	return rows, nil
}

// trimParam accepts a parameter typed as it appears in the path ("{id}").
func trimParam(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
		s = s[1 : len(s)-1]
	}
	return s
}

// draftGateway applies one editor action to the draft and answers the
// redrawn list. Nothing is written.
func (c *Console) draftGateway(w http.ResponseWriter, rq *request) error {
	if err := rq.ParseForm(); err != nil {
		return err
	}
	saved, err := c.cfg.Admin.GatewayRoutes(rq.Context(), rq.ws)
	if err != nil {
		return err
	}
	base := rq.PostFormValue("base")
	rows, err := draftRows(rq.Request)
	if err == nil {
		var next []gatewayRow
		if next, err = gatewayOp(rq.PostFormValue("op"), rows, saved); err == nil {
			rows = next
		}
	} else {
		rows, base = rowsOf(saved), fingerprint(saved)
	}
	v, verr := c.gatewayView(rq, saved, rows)
	if verr != nil {
		return verr
	}
	v.Base = base
	if err != nil {
		v.Problem = c.message(err)
	}
	return c.gatewayAnswer(w, rq, v)
}

// gatewayOp applies an editor action: add, discard, or delete, up or
// down with the 0-based index of a route ("up:2").
func gatewayOp(op string, rows []gatewayRow, saved []policy.GatewayRoute) ([]gatewayRow, error) {
	name, arg, _ := strings.Cut(op, ":")
	switch name {
	case "add":
		if len(rows) >= policy.MaxGatewayRoutes {
			return nil, policy.Errorf(policy.CodeInvalidArgument, "a workspace has at most %d gateway routes", policy.MaxGatewayRoutes)
		}
		return append(rows, gatewayRow{GatewayRoute: policy.GatewayRoute{Method: "GET"}, Focus: "path"}), nil
	case "discard":
		return rowsOf(saved), nil
	case "delete", "up", "down":
		i, err := strconv.Atoi(arg)
		if err != nil || i < 0 || i >= len(rows) {
			return nil, policy.Errorf(policy.CodeInvalidArgument, "there is no route %s in the draft", clip(arg))
		}
		switch name {
		case "delete":
			rows = slices.Delete(rows, i, i+1)
			if len(rows) > 0 {
				// Focus stays in the list: on the row that took its place.
				rows[min(i, len(rows)-1)].Focus = "delete"
			}
		case "up":
			if i == 0 {
				return nil, policy.Errorf(policy.CodeInvalidArgument, "route 1 is already the first")
			}
			rows[i-1], rows[i] = rows[i], rows[i-1]
			// Focus follows the route, on a button it can still use.
			rows[i-1].Focus = "up"
			if i-1 == 0 {
				rows[i-1].Focus = "down"
			}
		case "down":
			if i == len(rows)-1 {
				return nil, policy.Errorf(policy.CodeInvalidArgument, "route %d is already the last", i+1)
			}
			rows[i+1], rows[i] = rows[i], rows[i+1]
			rows[i+1].Focus = "down"
			if i+1 == len(rows)-1 {
				rows[i+1].Focus = "up"
			}
		}
		return rows, nil
	}
	return nil, policy.Errorf(policy.CodeInvalidArgument, "unknown editor action %q", clip(op))
}

func clip(s string) string {
	if r := []rune(s); len(r) > 64 {
		return string(r[:64]) + "…"
	}
	return s
}

// routeIndex finds which route admin refused: its errors start with
// "routes[i]: ".
var routeIndex = regexp.MustCompile(`^routes\[(\d+)\]: `)

// saveGateway writes the draft with one SetGatewayRoutes call, as the
// request's actor. A refusal comes back in place: the draft kept, the
// refused route's row named and marked.
func (c *Console) saveGateway(w http.ResponseWriter, rq *request) error {
	if err := rq.ParseForm(); err != nil {
		return err
	}
	saved, err := c.cfg.Admin.GatewayRoutes(rq.Context(), rq.ws)
	if err != nil {
		return err
	}
	rows, err := draftRows(rq.Request)
	if err != nil {
		return err
	}
	routes := routesOf(rows)
	v, err := c.gatewayView(rq, saved, rows)
	if err != nil {
		return err
	}
	if now := fingerprint(saved); rq.PostFormValue("base") != now {
		// Another edit changed the routes since this draft was loaded. Say
		// so once; saving again replaces them (the new base).
		v.Problem = fmt.Sprintf("Not saved: someone else changed the gateway routes since you opened this page (there are now %s). "+
			"Reload the page to see theirs, or save again to replace them with the routes below.", plural(len(saved), "route", "routes"))
		return c.gatewayAnswer(w, rq, v)
	}
	if slices.Equal(saved, routes) {
		c.setFlash(w, rq.Request, "ok", "No route changed: nothing was saved.")
		redirect(w, rq.Request, wsPath(rq.ws, "gateway"))
		return nil
	}
	_, rev, err := c.cfg.Admin.SetGatewayRoutes(rq.Context(), rq.ws, rq.write(strings.TrimSpace(rq.PostFormValue("reason"))), routes)
	if err != nil {
		msg := c.message(err)
		if m := routeIndex.FindStringSubmatch(msg); m != nil {
			if i, _ := strconv.Atoi(m[1]); i < len(v.Rows) {
				v.Rows[i].Problem = fmt.Sprintf("Route %d: %s", i+1, strings.TrimPrefix(msg, m[0]))
				v.Rows[i].Focus = "path"
				v.Problem = fmt.Sprintf("Not saved: route %d was refused (below).", i+1)
				return c.gatewayAnswer(w, rq, v)
			}
		}
		v.Problem = "Not saved: " + msg
		return c.gatewayAnswer(w, rq, v)
	}
	c.setFlash(w, rq.Request, "ok", fmt.Sprintf("Saved %s (workspace revision %d). Gateways follow the new routes at once.",
		plural(len(routes), "gateway route", "gateway routes"), rev))
	redirect(w, rq.Request, wsPath(rq.ws, "gateway"))
	return nil
}

// gatewayAnswer answers an editor request: the redrawn list for htmx, the
// whole page for a plain form post (200: a form shown again).
func (c *Console) gatewayAnswer(w http.ResponseWriter, rq *request, v gatewayView) error {
	if rq.Header.Get("HX-Request") == "true" {
		return c.partial(w, rq, "gateway", "gateway-editor", v)
	}
	return c.render(w, rq, http.StatusOK, "gateway", "gateway", v)
}

// origin is the scheme and host this request came to: the Gatehouse a
// gateway calls, as far as the console can tell.
func origin(r *http.Request) string {
	scheme := "http"
	if secure(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
