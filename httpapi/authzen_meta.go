package httpapi

import (
	"net/http"
	"net/url"
	"strings"
)

// azMetadata is the AuthZEN policy decision point metadata (§9): the
// endpoints this server offers. Resource search is not offered: a
// workspace's records live in the host's database, which the filter
// endpoint (D5) turns into a WHERE clause instead.
type azMetadata struct {
	PolicyDecisionPoint       string `json:"policy_decision_point"`
	AccessEvaluationEndpoint  string `json:"access_evaluation_endpoint"`
	AccessEvaluationsEndpoint string `json:"access_evaluations_endpoint"`
	SearchSubjectEndpoint     string `json:"search_subject_endpoint"`
	SearchActionEndpoint      string `json:"search_action_endpoint"`
}

// azConfiguration answers GET /.well-known/authzen-configuration and its
// per-workspace forms (/.well-known/authzen-configuration/v1/workspaces/{ws},
// RFC 8615's, and /v1/workspaces/{ws}/.well-known/authzen-configuration).
// It names URLs only: it reads no workspace, so it says nothing about
// which workspaces exist (W1) and needs no key.
func (s *Server) azConfiguration(w http.ResponseWriter, r *http.Request, _ *call) error {
	pdp := s.baseURL(r)
	if ws := r.PathValue("ws"); ws != "" {
		pdp += "/v1/workspaces/" + url.PathEscape(ws)
	}
	writeJSON(w, http.StatusOK, azMetadata{PolicyDecisionPoint: pdp,
		AccessEvaluationEndpoint:  pdp + "/access/v1/evaluation",
		AccessEvaluationsEndpoint: pdp + "/access/v1/evaluations",
		SearchSubjectEndpoint:     pdp + "/access/v1/search/subject",
		SearchActionEndpoint:      pdp + "/access/v1/search/action"})
	return nil
}

// baseURL is the server's public URL: Config.PublicURL, or else the
// request's scheme and Host (https behind TLS or X-Forwarded-Proto).
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return trimSlash(s.cfg.PublicURL)
	}
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	host := r.Host
	if host == "" || strings.ContainsAny(host, "/\\?#@ \"<>") {
		host = "localhost"
	}
	return scheme + "://" + host
}
