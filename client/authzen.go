package client

import (
	"context"
	"net/http"
)

// This file is the OpenID AuthZEN Authorization API 1.0 (Z1–Z3) from Go:
// for hosts that want the standard's shapes, and for testing a gateway's
// view. Check, CheckBatch and Filter remain the native way.

// AuthZENEntity is an AuthZEN subject or resource. For a subject, ID is
// the member's user id; a resource's Properties may carry owner_id (a user
// id or a member's email), department_id and relations (Z2).
type AuthZENEntity struct {
	Type       string         `json:"type"`
	ID         string         `json:"id,omitempty"`
	Properties map[string]any `json:"properties,omitempty"`
}

// AuthZENAction names an action: a permission key, <resource type>_<name>,
// or a workspace action alias (Z2).
type AuthZENAction struct {
	Name       string         `json:"name"`
	Properties map[string]any `json:"properties,omitempty"`
}

// AuthZENEvaluation is one access evaluation; in an AuthZENEvaluations
// request, nil fields take the request's defaults.
type AuthZENEvaluation struct {
	Subject  *AuthZENEntity `json:"subject,omitempty"`
	Action   *AuthZENAction `json:"action,omitempty"`
	Resource *AuthZENEntity `json:"resource,omitempty"`
	// Context is the request context; min_revision waits like D8.
	Context map[string]any `json:"context,omitempty"`
}

// AuthZENDecision is an AuthZEN decision. Context carries reason, level,
// permission and revision, or error when the question could not be
// decided (the decision is then false).
type AuthZENDecision struct {
	Decision bool           `json:"decision"`
	Context  map[string]any `json:"context,omitempty"`
}

// The evaluation semantics of AuthZEN §7.1.2.
const (
	ExecuteAll          = "execute_all"
	DenyOnFirstDeny     = "deny_on_first_deny"
	PermitOnFirstPermit = "permit_on_first_permit"
)

// AuthZENEvaluations is a batch of evaluations sharing defaults.
type AuthZENEvaluations struct {
	AuthZENEvaluation
	Evaluations []AuthZENEvaluation `json:"evaluations"`
	// Semantic is ExecuteAll (the default), DenyOnFirstDeny or
	// PermitOnFirstPermit.
	Semantic string `json:"-"`
}

// AuthZENSearch asks a subject search (Action set, Subject.ID ignored) or
// an action search (Action nil).
type AuthZENSearch struct {
	Subject  *AuthZENEntity `json:"subject"`
	Action   *AuthZENAction `json:"action,omitempty"`
	Resource *AuthZENEntity `json:"resource"`
	Context  map[string]any `json:"context,omitempty"`
	// Token is the previous page's NextToken; Limit the page size (0: the
	// server's default).
	Token string `json:"-"`
	Limit int    `json:"-"`
}

// AuthZENPage is a search answer.
type AuthZENPage struct {
	Page struct {
		NextToken string `json:"next_token"`
		Count     int    `json:"count"`
		Total     int    `json:"total"`
	} `json:"page"`
	Context map[string]any `json:"context,omitempty"`
	// Results are subjects (AuthZENEntity fields) or actions (Name).
	Results []struct {
		Type string `json:"type,omitempty"`
		ID   string `json:"id,omitempty"`
		Name string `json:"name,omitempty"`
	} `json:"results"`
}

// AuthZENMetadata is a policy decision point's metadata (AuthZEN §9).
type AuthZENMetadata struct {
	PolicyDecisionPoint       string `json:"policy_decision_point"`
	AccessEvaluationEndpoint  string `json:"access_evaluation_endpoint"`
	AccessEvaluationsEndpoint string `json:"access_evaluations_endpoint,omitempty"`
	SearchSubjectEndpoint     string `json:"search_subject_endpoint,omitempty"`
	SearchActionEndpoint      string `json:"search_action_endpoint,omitempty"`
}

// azPath is an AuthZEN endpoint: at the root when ws is "" (the key names
// the workspace), else under workspace ws.
func azPath(ws, endpoint string) string {
	if ws == "" {
		return "/access/v1/" + endpoint
	}
	return wsPath(ws) + "/access/v1/" + endpoint
}

func (c *Client) authzen(ctx context.Context, ws, endpoint string, body, out any) error {
	_, err := c.call(ctx, &request{method: http.MethodPost, path: azPath(ws, endpoint), body: body, idempotent: true, ws: ws}, out)
	return err
}

// Evaluate asks one AuthZEN access evaluation (Z1), in workspace ws, or,
// with ws "", in the workspace of the client's key.
func (c *Client) Evaluate(ctx context.Context, ws string, in AuthZENEvaluation) (*AuthZENDecision, error) {
	var out AuthZENDecision
	if err := c.authzen(ctx, ws, "evaluation", in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Evaluations asks several evaluations at one revision (AuthZEN §7); the
// answers are in order, cut short as in.Semantic says.
func (c *Client) Evaluations(ctx context.Context, ws string, in AuthZENEvaluations) ([]AuthZENDecision, error) {
	body := map[string]any{"evaluations": in.Evaluations}
	if in.Subject != nil {
		body["subject"] = in.Subject
	}
	if in.Action != nil {
		body["action"] = in.Action
	}
	if in.Resource != nil {
		body["resource"] = in.Resource
	}
	if in.Context != nil {
		body["context"] = in.Context
	}
	if in.Semantic != "" {
		body["options"] = map[string]any{"evaluations_semantic": in.Semantic}
	}
	var out struct {
		Evaluations []AuthZENDecision `json:"evaluations"`
	}
	if err := c.authzen(ctx, ws, "evaluations", body, &out); err != nil {
		return nil, err
	}
	return out.Evaluations, nil
}

func (in AuthZENSearch) body() map[string]any {
	b := map[string]any{"subject": in.Subject, "resource": in.Resource}
	if in.Action != nil {
		b["action"] = in.Action
	}
	if in.Context != nil {
		b["context"] = in.Context
	}
	page := map[string]any{}
	if in.Token != "" {
		page["token"] = in.Token
	}
	if in.Limit > 0 {
		page["limit"] = in.Limit
	}
	if len(page) > 0 {
		b["page"] = page
	}
	return b
}

// SearchSubjects lists the members who may do in.Action on in.Resource
// (Z3), a page at a time.
func (c *Client) SearchSubjects(ctx context.Context, ws string, in AuthZENSearch) (*AuthZENPage, error) {
	var out AuthZENPage
	if err := c.authzen(ctx, ws, "search/subject", in.body(), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SearchActions lists the actions in.Subject may do on in.Resource (Z3).
func (c *Client) SearchActions(ctx context.Context, ws string, in AuthZENSearch) (*AuthZENPage, error) {
	in.Action = nil
	var out AuthZENPage
	if err := c.authzen(ctx, ws, "search/action", in.body(), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AuthZENConfiguration reads the policy decision point metadata (Z1): for
// the root when ws is "", else for workspace ws. inWorkspacePath picks the
// /v1/workspaces/{ws}/.well-known/… form over RFC 8615's
// /.well-known/authzen-configuration/v1/workspaces/{ws}; both answer the same.
func (c *Client) AuthZENConfiguration(ctx context.Context, ws string, inWorkspacePath bool) (*AuthZENMetadata, error) {
	p := "/.well-known/authzen-configuration"
	switch {
	case ws != "" && inWorkspacePath:
		p = wsPath(ws) + p
	case ws != "":
		p += wsPath(ws)
	}
	var out AuthZENMetadata
	if err := c.get(ctx, "", p, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ActionAliases returns workspace ws's action aliases (Z2): alias →
// permission key.
func (c *Client) ActionAliases(ctx context.Context, ws string) (map[string]string, error) {
	var out struct {
		ActionAliases map[string]string `json:"action_aliases"`
	}
	if err := c.get(ctx, ws, wsPath(ws, "action-aliases"), nil, &out); err != nil {
		return nil, err
	}
	return out.ActionAliases, nil
}

// SetActionAliases replaces workspace ws's action aliases (Z2) and returns
// them with the workspace revision after the write.
func (c *Client) SetActionAliases(ctx context.Context, ws string, aliases map[string]string) (map[string]string, int64, error) {
	var out struct {
		ActionAliases map[string]string `json:"action_aliases"`
		Revision      int64             `json:"workspace_revision"`
	}
	if _, err := c.call(ctx, &request{method: http.MethodPut, path: wsPath(ws, "action-aliases"), body: aliases, ws: ws}, &out); err != nil {
		return nil, 0, err
	}
	return out.ActionAliases, out.Revision, nil
}
