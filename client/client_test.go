package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/client"
	"github.com/gatehouse-authz/gatehouse/internal/apitest"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// TestErrorsCarryCodes checks that every error answer becomes a
// *client.Error with the status and code of DESIGN §3, its details kept.
func TestErrorsCarryCodes(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{})
	w := newWorld(t, env, "acme")
	ctx := context.Background()
	role, _, err := w.admin.CreateRole(ctx, w.ws, client.RoleInput{Name: "Editable", Grants: policy.Grants{"deals_view": policy.LevelOwn}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.admin.UpdateRole(ctx, w.ws, role.ID, client.RoleUpdate{Grants: policy.Grants{"deals_view": policy.LevelAll}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		call   func() error
		status int
		code   policy.Code
		detail string // a key Details must have, if not ""
	}{
		{"not_found role", func() error { _, err := w.admin.Role(ctx, w.ws, "nope"); return err }, 404, policy.CodeNotFound, ""},
		{"W1 other workspace is not_found", func() error { _, err := w.admin.Workspace(ctx, "other"); return err }, 404, policy.CodeNotFound, "workspace"},
		{"unauthenticated", func() error {
			_, err := client.New(env.URL, "ghk_wrong").Roles(ctx, w.ws, client.RoleQuery{})
			return err
		}, 401, policy.CodeUnauthenticated, ""},
		{"X2 check key cannot administer", func() error { _, err := w.check.Roles(ctx, w.ws, client.RoleQuery{}); return err }, 403, policy.CodeForbidden, "scope"},
		{"R1 name_taken", func() error {
			_, _, err := w.admin.CreateRole(ctx, w.ws, client.RoleInput{Name: "EDITABLE"})
			return err
		}, 409, policy.CodeNameTaken, ""},
		{"R2 role_protected", func() error { _, err := w.admin.DeleteRole(ctx, w.ws, "employee", ""); return err }, 409, policy.CodeRoleProtected, ""},
		{"R5 role_in_use", func() error { _, err := w.admin.DeleteRole(ctx, w.ws, "contacts_own", ""); return err }, 409, policy.CodeRoleInUse, ""},
		{"R7 revision_conflict", func() error {
			_, _, err := w.admin.UpdateRole(ctx, w.ws, role.ID, client.RoleUpdate{Grants: policy.Grants{}, IfRevision: 1})
			return err
		}, 412, policy.CodeRevisionConflict, "actual"},
		{"C1 unknown_permission with suggestions", func() error {
			_, err := w.check.Check(ctx, w.ws, client.CheckRequest{User: "ann", Permission: "contact_view"})
			return err
		}, 422, policy.CodeUnknownPermission, "suggestions"},
		{"C4 dependency_violation", func() error {
			_, _, err := w.admin.CreateRole(ctx, w.ws, client.RoleInput{Name: "Broken", Grants: policy.Grants{"deals_edit": policy.LevelAll}})
			return err
		}, 422, policy.CodeDependencyViolation, ""},
		{"X4 reason_required", func() error {
			_, _, err := w.admin.CreateRole(ctx, w.ws, client.RoleInput{Name: "Exporter", Grants: policy.Grants{"contacts_view": policy.LevelAll, "contacts_export": policy.LevelAll}})
			return err
		}, 422, policy.CodeReasonRequired, "permissions"},
		{"M6 audience_mismatch", func() error {
			_, _, err := w.admin.SetMemberRoles(ctx, w.ws, "ivy", []string{"contacts_all"})
			return err
		}, 409, policy.CodeAudienceMismatch, ""},
		{"invalid_argument", func() error {
			_, err := w.check.Check(ctx, w.ws, client.CheckRequest{Permission: "contacts_view"})
			return err
		}, 400, policy.CodeInvalidArgument, "field"},
		{"D4 batch over the limit", func() error {
			_, err := w.check.CheckBatch(ctx, w.ws, client.Batch{Checks: make([]client.CheckRequest, client.MaxBatch+1)})
			return err
		}, 400, policy.CodeInvalidArgument, "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var e *client.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not a *client.Error", err, err)
			}
			if e.Status != tt.status || e.Code != tt.code {
				t.Fatalf("got %d %s (%s), want %d %s", e.Status, e.Code, e.Message, tt.status, tt.code)
			}
			if e.Message == "" {
				t.Error("the error has no message")
			}
			if tt.detail != "" {
				if _, ok := e.Details[tt.detail]; !ok {
					t.Errorf("details %v lack %q", e.Details, tt.detail)
				}
			}
			if !errors.Is(err, &client.Error{Code: tt.code}) || client.ErrorCode(err) != tt.code {
				t.Errorf("errors.Is / ErrorCode do not see code %s", tt.code)
			}
			if !strings.Contains(err.Error(), string(tt.code)) {
				t.Errorf("Error() = %q does not name the code", err.Error())
			}
		})
	}
}

// TestErrorCodeFromStatus checks the code of answers that are not
// Gatehouse's: derived from the status.
func TestErrorCodeFromStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		body   string
		want   policy.Code
	}{
		{404, "404 page not found", policy.CodeNotFound},
		{502, "<html>bad gateway</html>", policy.CodeUnavailable},
		{401, "", policy.CodeUnauthenticated},
		{413, "too big", policy.CodePayloadTooLarge},
		{409, `{"error": "conflict"}`, policy.CodeInternal},
		{500, `{"message": "boom"}`, policy.CodeInternal},
		{418, "teapot", policy.CodeInternal},
		// Gatehouse's own body wins over the status.
		{400, `{"error": {"code": "unknown_permission", "message": "m"}}`, policy.CodeUnknownPermission},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			c := client.New(srv.URL, "k", client.WithRetry(client.RetryPolicy{MaxAttempts: 1}))
			_, err := c.Role(context.Background(), "ws", "r")
			var e *client.Error
			if !errors.As(err, &e) || e.Status != tt.status || e.Code != tt.want {
				t.Fatalf("got %#v, want status %d code %s", err, tt.status, tt.want)
			}
		})
	}
}

// TestD8_WritesReturnTheirRevision checks that writes return the
// workspace revision and that WithConsistency sends the highest one seen
// as min_revision on decision calls.
func TestD8_WritesReturnTheirRevision(t *testing.T) {
	t.Parallel()
	var mu = make(chan struct{}, 1)
	var seen []string // min_revision of decision requests, as sent
	wrap := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && (strings.HasSuffix(r.URL.Path, "/check") || strings.HasSuffix(r.URL.Path, "/filter")) {
				body := readBody(t, r)
				mu <- struct{}{}
				seen = append(seen, minRevisionOf(body))
				<-mu
			}
			h.ServeHTTP(w, r)
		})
	}
	env := apitest.Start(t, apitest.Options{Wrap: wrap})
	w := newWorld(t, env, "acme")
	ctx := context.Background()
	c := client.New(env.URL, w.adminKey, client.WithConsistency())
	plain := client.New(env.URL, w.adminKey)

	ws, err := c.Workspace(ctx, w.ws)
	if err != nil {
		t.Fatal(err)
	}
	role, rev1, err := c.CreateRole(ctx, w.ws, client.RoleInput{Name: "Fresh", Grants: policy.Grants{"deals_view": policy.LevelAll}})
	if err != nil {
		t.Fatal(err)
	}
	if rev1 <= ws.Revision {
		t.Fatalf("create role: workspace revision %d, not after %d", rev1, ws.Revision)
	}
	if role.Revision != 1 {
		t.Errorf("a new role's own revision is %d, want 1", role.Revision)
	}
	_, rev2, err := c.SetMemberRoles(ctx, w.ws, "kim", []string{role.ID})
	if err != nil {
		t.Fatal(err)
	}
	if rev2 <= rev1 || c.LastRevision(w.ws) != rev2 {
		t.Fatalf("revisions %d then %d, LastRevision %d", rev1, rev2, c.LastRevision(w.ws))
	}
	d, err := c.Check(ctx, w.ws, client.CheckRequest{User: "kim", Permission: "deals_view", Resource: &policy.Resource{OwnerID: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if !d.Allowed || d.Revision < rev2 {
		t.Fatalf("check after the write: %+v, want allowed at revision ≥ %d", d, rev2)
	}
	if _, err := plain.Check(ctx, w.ws, client.CheckRequest{User: "kim", Permission: "deals_view"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Filter(ctx, w.ws, client.FilterRequest{User: "kim", Permission: "deals_view", MinRevision: 1}); err != nil {
		t.Fatal(err)
	}
	mu <- struct{}{}
	got := slices.Clone(seen)
	<-mu
	want := []string{itoa(rev2), "", itoa(rev2)}
	if !slices.Equal(got, want) {
		t.Fatalf("min_revision sent: %q, want %q", got, want)
	}

	// A revision the server has not reached is revision_unavailable
	// (503), retried and then reported.
	fast := client.New(env.URL, w.adminKey, client.WithRetry(client.RetryPolicy{MaxAttempts: 2, MaxDelay: 2 * time.Second}))
	_, err = fast.Check(ctx, w.ws, client.CheckRequest{User: "kim", Permission: "deals_view", MinRevision: rev2 + 100})
	if client.ErrorCode(err) != policy.CodeRevisionUnavailable {
		t.Fatalf("check at a future revision: %v, want revision_unavailable", err)
	}
	var e *client.Error
	if errors.As(err, &e) && (e.Status != 503 || e.RetryAfter != time.Second) {
		t.Errorf("status %d, Retry-After %v; want 503 and 1s", e.Status, e.RetryAfter)
	}
}

// TestX4_WithReason checks that WithReason sends the reason powerful
// writes need, and As the acting member (X3), both recorded.
func TestX4_WithReason(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{})
	w := newWorld(t, env, "acme")
	ctx := context.Background()
	allow := client.RoleUpdate{SetAll: "allow"}
	if _, _, err := w.admin.UpdateRole(ctx, w.ws, "contacts_own", allow); client.ErrorCode(err) != policy.CodeReasonRequired {
		t.Fatalf("allow everything without a reason: %v, want reason_required", err)
	}
	r, _, err := w.admin.As("joe").WithReason("the team lead needs it").UpdateRole(ctx, w.ws, "contacts_own", allow)
	if err != nil {
		t.Fatal(err)
	}
	if r.Grants["contacts_delete"] != policy.LevelAll {
		t.Errorf("grants after allow everything: %v", r.Grants)
	}
	revs, err := w.admin.RoleRevisions(ctx, w.ws, "contacts_own")
	if err != nil {
		t.Fatal(err)
	}
	last := revs[len(revs)-1]
	if last.Reason != "the team lead needs it" || last.Author != "joe" {
		t.Errorf("the revision records reason %q by %q", last.Reason, last.Author)
	}
}

// TestOptions checks that the client sends through the given http.Client
// with the given User-Agent.
func TestOptions(t *testing.T) {
	t.Parallel()
	var ua, auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ua, auth = r.UserAgent(), r.Header.Get("Authorization")
		w.Write([]byte(`{"status":"ok","version":"x"}`))
	}))
	defer srv.Close()
	var sent int
	hc := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		sent++
		return http.DefaultTransport.RoundTrip(r)
	})}
	c := client.New(srv.URL+"/", "secret", client.WithHTTPClient(hc), client.WithUserAgent("crm-backend/2"))
	if _, err := c.Health(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sent != 1 || ua != "crm-backend/2" || auth != "Bearer secret" {
		t.Fatalf("sent %d, User-Agent %q, Authorization %q", sent, ua, auth)
	}
	if _, err := client.New(srv.URL, "").Health(context.Background()); err != nil || ua != client.DefaultUserAgent || auth != "" {
		t.Fatalf("defaults: %v, User-Agent %q, Authorization %q", err, ua, auth)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
