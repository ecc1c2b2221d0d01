package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// This file is AuthZEN search (Z3, §8): subject search answers who may do
// an action on a record (members, paged), action search which actions a
// member may do on a record. Both decide with check, so every result,
// evaluated, is allowed at the revision the search saw.

// azPageRequest is a search request's page object (§8.3.1).
type azPageRequest struct {
	Token string `json:"token"`
	Limit *int   `json:"limit"`
}

// azPage is a search response's page object (§8.3.2).
type azPage struct {
	NextToken string `json:"next_token"`
	Count     int    `json:"count"`
	Total     int    `json:"total"`
}

// azSearchResponse is a search answer (§8.4): page first, as recommended.
type azSearchResponse struct {
	Page    azPage         `json:"page"`
	Context map[string]any `json:"context,omitempty"`
	Results []any          `json:"results"`
}

const (
	azDefaultLimit = 50
	azMaxLimit     = 1000
)

// azCursor is what a next_token carries: where the previous page ended,
// and a digest of the request it belongs to, which every later page must
// repeat (§8.3).
type azCursor struct {
	After  string `json:"a"`
	Digest string `json:"d"`
}

// pageOf returns the page's limit and cursor position, after checking
// that a token belongs to this request.
func (in *azRequest) pageOf(kind string) (limit int, after string, digest string, err error) {
	limit = azDefaultLimit
	if in.Page != nil && in.Page.Limit != nil {
		if *in.Page.Limit < 0 {
			return 0, "", "", policy.Errorf(policy.CodeInvalidArgument, "page.limit must not be negative")
		}
		limit = min(*in.Page.Limit, azMaxLimit)
	}
	cp := *in
	cp.Page = &azPageRequest{Limit: nil}
	if in.Page != nil {
		cp.Page.Limit = in.Page.Limit
	}
	raw, _ := json.Marshal(cp)
	sum := sha256.Sum256(append([]byte(kind+"\x00"), raw...))
	digest = hex.EncodeToString(sum[:12])
	if in.Page == nil || in.Page.Token == "" {
		return limit, "", digest, nil
	}
	b, derr := base64.RawURLEncoding.DecodeString(in.Page.Token)
	var c azCursor
	if derr != nil || json.Unmarshal(b, &c) != nil || c.After == "" {
		return 0, "", "", policy.Errorf(policy.CodeInvalidArgument, "page.token is not one this search returned")
	}
	if c.Digest != digest {
		return 0, "", "", policy.Errorf(policy.CodeInvalidArgument, "page.token belongs to another search: every value but the token must stay the same across pages")
	}
	return limit, c.After, digest, nil
}

func nextToken(after, digest string) string {
	b, _ := json.Marshal(azCursor{After: after, Digest: digest})
	return base64.RawURLEncoding.EncodeToString(b)
}

// paged cuts the sorted keys after the cursor into one page.
func paged(keys []string, after string, limit int, digest string) ([]string, azPage) {
	start := 0
	if after != "" {
		start, _ = slices.BinarySearch(keys, after)
		if start < len(keys) && keys[start] == after {
			start++
		}
	}
	end := min(start+limit, len(keys))
	p := azPage{Count: end - start, Total: len(keys)}
	if end < len(keys) && end > start {
		p.NextToken = nextToken(keys[end-1], digest)
	}
	return keys[start:end], p
}

// azSearch is what every search starts from: the page asked for and the
// snapshot at the context's min_revision (D8).
type azSearch struct {
	snap          *policy.Snapshot
	limit         int
	after, digest string
}

func (s *Server) azSearchOf(r *http.Request, c *call, in *azRequest, kind string) (azSearch, error) {
	var q azSearch
	var err error
	if q.limit, q.after, q.digest, err = in.pageOf(kind); err != nil {
		return q, err
	}
	min, err := minRevision(in.Context)
	if err != nil {
		return q, err
	}
	q.snap, err = s.snapshot(r.Context(), c.ws, min)
	return q, err
}

// azSearchSubject answers POST …/access/v1/search/subject (§8.5): the
// members who may do the action on the resource, by user id. The
// subject's id is ignored, as §8.5.1 requires.
func (s *Server) azSearchSubject(w http.ResponseWriter, r *http.Request, c *call) error {
	var in azRequest
	if err := decodeAuthZEN(w, r, &in); err != nil {
		return err
	}
	switch {
	case in.Subject == nil || in.Subject.Type == "":
		return policy.Errorf(policy.CodeInvalidArgument, "subject with a type is required")
	case in.Action == nil || in.Action.Name == "":
		return policy.Errorf(policy.CodeInvalidArgument, "action with a name is required")
	case in.Resource == nil || in.Resource.Type == "":
		return policy.Errorf(policy.CodeInvalidArgument, "resource with a type is required")
	}
	q, err := s.azSearchOf(r, c, &in, "subject")
	if err != nil {
		return err
	}
	snap, limit, after, digest := q.snap, q.limit, q.after, q.digest
	perm, err := azPermission(snap, in.Action.Name, in.Resource.Type)
	if err != nil {
		return err
	}
	rec, err := azRecord(snap, in.Resource.Properties)
	if err != nil {
		return err
	}
	users, err := snap.WhoCan(perm, policy.LevelOwn)
	if err != nil {
		return err
	}
	allowed := users[:0:0]
	for _, u := range users {
		if d, err := snap.CheckContext(u, perm, rec, in.Context); err == nil && d.Allowed {
			allowed = append(allowed, u)
		}
	}
	slices.Sort(allowed)
	page, p := paged(allowed, after, limit, digest)
	out := azSearchResponse{Page: p, Context: map[string]any{"permission": perm, "revision": snap.Revision()},
		Results: make([]any, 0, len(page))}
	for _, u := range page {
		out.Results = append(out.Results, azEntity{Type: in.Subject.Type, ID: u})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// azSearchAction answers POST …/access/v1/search/action (§8.7): the
// actions the subject may do on the resource. When the resource's type is
// a module of the catalog, they are its action names (so that
// <type>_<name> is the permission, Z2) and the aliases of its permissions;
// otherwise every permission key and alias the subject may use.
func (s *Server) azSearchAction(w http.ResponseWriter, r *http.Request, c *call) error {
	var in azRequest
	if err := decodeAuthZEN(w, r, &in); err != nil {
		return err
	}
	switch {
	case in.Subject == nil || in.Subject.Type == "" || in.Subject.ID == "":
		return policy.Errorf(policy.CodeInvalidArgument, "subject with type and id is required")
	case in.Resource == nil || in.Resource.Type == "":
		return policy.Errorf(policy.CodeInvalidArgument, "resource with a type is required")
	}
	q, err := s.azSearchOf(r, c, &in, "action")
	if err != nil {
		return err
	}
	snap, limit, after, digest := q.snap, q.limit, q.after, q.digest
	rec, err := azRecord(snap, in.Resource.Properties)
	if err != nil {
		return err
	}
	cat := snap.Catalog()
	mod, isModule := cat.Module(in.Resource.Type)
	var names []string
	for _, p := range cat.Permissions() {
		if isModule && p.Module != mod {
			continue
		}
		if d, err := snap.CheckContext(in.Subject.ID, p.Key, rec, in.Context); err != nil || !d.Allowed {
			continue
		}
		if isModule {
			names = append(names, p.Action)
		} else {
			names = append(names, p.Key)
		}
		names = append(names, snap.AliasesOf(p.Key)...)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	page, pg := paged(names, after, limit, digest)
	out := azSearchResponse{Page: pg, Context: map[string]any{"revision": snap.Revision()}, Results: make([]any, 0, len(page))}
	for _, n := range page {
		out.Results = append(out.Results, azAction{Name: n})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// trimSlash is used to build endpoint URLs.
func trimSlash(s string) string { return strings.TrimRight(s, "/") }
