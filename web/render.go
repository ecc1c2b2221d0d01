package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/policy"
)

//go:embed templates
var templateFS embed.FS

// pages holds one template set per page: the layout and the shared
// partials, plus the page's own file, which defines "title" and "content".
type pages struct {
	byName map[string]*template.Template
}

var funcs = template.FuncMap{
	"wsPath": wsPath,
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"holdsRole": func(id string, as []admin.Assignment) bool {
		return slices.ContainsFunc(as, func(a admin.Assignment) bool { return a.RoleID == id })
	},
	"whenSec":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"localInput": func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") },
	"level":      func(l policy.Level) string { return levelLabel(l) },
	"plural":     plural,
	"deletable":  deletable,
	"duplicable": duplicable,
	"join":       strings.Join,
	"asset":      asset,
	"action":     actionLabel,
	"dict":       func(xs ...any) []any { return xs },
	"protected":  protectedReason,
	"deptNames":  deptNames,
	"inc":        func(i int) int { return i + 1 },
}

func parsePages() (*pages, error) {
	shared, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse console layout: %w", err)
	}
	files, err := fs.Glob(templateFS, "templates/pages/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, f := range files {
		t, err := template.Must(shared.Clone()).ParseFS(templateFS, f)
		if err != nil {
			return nil, fmt.Errorf("parse console page %s: %w", f, err)
		}
		p.byName[strings.TrimSuffix(path.Base(f), ".html")] = t
	}
	return p, nil
}

// view is what every page template gets.
type view struct {
	Title     string
	Session   session
	CSRF      string
	WS        string
	Workspace admin.Workspace
	// Member is the member a member's session acts as (X6), nil for keys.
	Member *admin.Member
	// Can is what the session may do in WS (X3): pages show only the
	// sections and controls it allows.
	Can   can
	Nav   string // the active section
	Flash *flash
	Data  any
}

// can is a session's authority in a workspace by area (X3), for templates.
type can struct {
	RolesRead, PeopleRead, PeopleEdit, Reports, RolesEdit, Owner, Plan bool
}

func canOf(rq *request) can {
	if rq.ws == "" {
		return can{}
	}
	return can{RolesRead: rq.can(admin.AreaRolesRead), PeopleRead: rq.can(admin.AreaPeopleRead),
		PeopleEdit: rq.can(admin.AreaPeopleEdit), Reports: rq.can(admin.AreaReports), RolesEdit: rq.can(admin.AreaRolesEdit),
		Owner: rq.can(admin.AreaOwner), Plan: rq.can(admin.AreaPlan)}
}

func (c *Console) viewOf(rq *request, data any) view {
	return view{Session: rq.sess, CSRF: rq.sess.CSRF, WS: rq.ws, Workspace: rq.space, Member: rq.member, Can: canOf(rq), Data: data}
}

// render writes a whole page.
func (c *Console) render(w http.ResponseWriter, rq *request, status int, page, nav string, data any) error {
	v := c.viewOf(rq, data)
	v.Nav, v.Flash = nav, c.takeFlash(w, rq.Request)
	return c.execute(w, status, page, "layout.html", v)
}

// partial writes one named template of a page, for htmx to swap in.
func (c *Console) partial(w http.ResponseWriter, rq *request, page, name string, data any) error {
	return c.execute(w, http.StatusOK, page, name, c.viewOf(rq, data))
}

func (c *Console) execute(w http.ResponseWriter, status int, page, name string, v view) error {
	t, ok := c.pages.byName[page]
	if !ok {
		return fmt.Errorf("no console page %q", page)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, v); err != nil {
		return fmt.Errorf("render %s/%s: %w", page, name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// fail answers an error a handler returned. A domain error on a form post
// goes back to the page it came from as a flash message; anything else is
// an error page.
func (c *Console) fail(w http.ResponseWriter, rq *request, err error) {
	var pe *policy.Error
	if errors.As(err, &pe) && pe.Code == policy.CodeNotFound && rq.Method == http.MethodGet {
		c.notFoundPage(w, rq, pe.Message)
		return
	}
	if errors.As(err, &pe) && pe.Code == policy.CodeForbidden && rq.Method == http.MethodGet {
		// X3: a page the session's authority does not reach. The
		// workspace's navigation stays, showing what it does reach.
		c.render(w, rq, http.StatusForbidden, "error", "", errorView{Heading: "Not yours to see",
			Message: "Your access does not include this page: " + pe.Message + "."})
		return
	}
	msg := c.message(err)
	if rq.Method != http.MethodGet {
		if rq.Header.Get("HX-Request") == "true" && rq.Header.Get("HX-Target") != "" {
			// A fragment request: answer the message in place.
			c.execute(w, http.StatusOK, "error", "alert", view{Data: msg})
			return
		}
		c.setFlash(w, rq.Request, "error", msg)
		redirect(w, rq.Request, back(rq.Request))
		return
	}
	rq.ws = ""
	c.render(w, rq, http.StatusInternalServerError, "error", "", errorView{Heading: "Something went wrong", Message: msg})
}

// back is where a failed form post returns: the form's own "back" field,
// kept to this console's paths, or the page the form was on.
func back(r *http.Request) string {
	if b := safeNext(r.PostFormValue("back")); b != "" {
		return b
	}
	if u, err := url.Parse(r.Referer()); err == nil && u.Host == r.Host {
		if b := safeNext(u.RequestURI()); b != "" {
			return b
		}
	}
	return "/"
}

type errorView struct {
	Heading, Message string
}

func (c *Console) notFoundPage(w http.ResponseWriter, rq *request, msg string) {
	rq.ws = ""
	c.render(w, rq, http.StatusNotFound, "error", "", errorView{Heading: "Not found", Message: msg})
}

func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	s, m, _ := c.currentSession(r)
	c.notFoundPage(w, &request{Request: r, sess: s, member: m}, "There is nothing at this address, or it is not yours to see.")
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// levelLabel is how a level reads in the console.
func levelLabel(l policy.Level) string {
	switch l {
	case policy.LevelNone:
		return "None"
	case policy.LevelOwn:
		return "Own"
	case policy.LevelDepartment:
		return "Department"
	case policy.LevelSubdepartments:
		return "Subdepartments"
	case policy.LevelAll:
		return "All"
	}
	return l.String()
}
