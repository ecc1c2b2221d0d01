package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// DefaultUserAgent is the User-Agent of a client made without WithUserAgent.
const DefaultUserAgent = "gatehouse-go-client/1"

// Client calls one Gatehouse server with one API key. It is safe for
// concurrent use; the copies As and WithReason return share its revision
// tracking.
type Client struct {
	base      string // the server's URL without a trailing slash
	key       string
	http      *http.Client
	retry     RetryPolicy
	userAgent string
	// consistent makes decision calls send the highest revision seen as
	// min_revision (D8).
	consistent bool
	revs       *revisions
	actor      string // Gatehouse-Actor of admin calls (X3)
	reason     string // Gatehouse-Reason of admin calls (X4)
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client send its requests with hc instead of
// http.DefaultClient. A Timeout on hc bounds long polls too: keep it
// above the wait asked of Events, or use contexts instead.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithRetry replaces DefaultRetry. RetryPolicy{MaxAttempts: 1} turns
// retries off.
func WithRetry(p RetryPolicy) Option { return func(c *Client) { c.retry = p } }

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// WithConsistency makes every decision call (Check, CheckBatch, Filter,
// Explain, WhoCan) ask for at least the highest revision of its workspace
// this client has seen, from its own writes or earlier answers: a check
// right after a write sees that write, on any node (D8). An explicit
// MinRevision above it wins.
func WithConsistency() Option { return func(c *Client) { c.consistent = true } }

// New returns a client of the server at baseURL (e.g.
// "http://127.0.0.1:8470") that authenticates with key, a workspace API
// key or the deployment admin key. An empty key sends no Authorization
// header, which the public endpoints accept.
func New(baseURL, key string, opts ...Option) *Client {
	c := &Client{
		base:      strings.TrimRight(baseURL, "/"),
		key:       key,
		http:      http.DefaultClient,
		retry:     DefaultRetry,
		userAgent: DefaultUserAgent,
		revs:      &revisions{m: map[string]int64{}},
	}
	for _, o := range opts {
		o(c)
	}
	if c.http == nil {
		c.http = http.DefaultClient
	}
	return c
}

// As returns a copy of c whose calls name actor as the acting member (X3,
// header Gatehouse-Actor): the server then answers what that member may
// see and do — reads limited to its span, writes to its authority, and
// no write that escalates (privilege_escalation, X3a). Decision calls
// (check, batch, filter, sessions, events) are the host's own and ignore
// it.
func (c *Client) As(actor string) *Client {
	cp := *c
	cp.actor = actor
	return &cp
}

// WithReason returns a copy of c whose administration calls carry reason
// (X4, header Gatehouse-Reason), for writes whose input has no Reason
// field of its own; a Reason in the input wins.
func (c *Client) WithReason(reason string) *Client {
	cp := *c
	cp.reason = reason
	return &cp
}

// LastRevision returns the highest revision of workspace ws this client
// (or a copy of it) has seen in an answer, 0 if none. Pass it as
// MinRevision to read your own writes, or use WithConsistency.
func (c *Client) LastRevision(ws string) int64 { return c.revs.get(ws) }

// revisions tracks the highest revision seen per workspace.
type revisions struct {
	mu sync.Mutex
	m  map[string]int64
}

func (r *revisions) get(ws string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[ws]
}

func (r *revisions) see(ws string, rev int64) {
	if ws == "" || rev <= 0 {
		return
	}
	r.mu.Lock()
	if rev > r.m[ws] {
		r.m[ws] = rev
	}
	r.mu.Unlock()
}

// minRevision is the min_revision a decision call on ws sends.
func (c *Client) minRevision(ws string, asked int64) int64 {
	if c.consistent {
		return max(asked, c.revs.get(ws))
	}
	return asked
}

// request is one API call.
type request struct {
	method string
	path   string // already escaped
	query  url.Values
	// body is marshalled as JSON unless raw is set.
	body        any
	raw         []byte
	contentType string
	header      http.Header
	// idempotent marks a POST that changes nothing (a decision), which
	// may be retried like every GET, PUT and DELETE.
	idempotent bool
	// create marks a POST that creates something: it carries a new
	// Idempotency-Key, the same on each retry, so that it too is retried
	// and a retry answers the first creation, never a second one.
	create bool
	// ws is the workspace whose revisions the answer reports.
	ws string
}

// path joins escaped path segments: path("v1", "workspaces", ws) is
// "/v1/workspaces/<ws escaped>". Ids may hold any character.
func path(segments ...string) string {
	var b strings.Builder
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// wsPath is the path of a workspace's resource.
func wsPath(ws string, rest ...string) string {
	return path(append([]string{"v1", "workspaces", ws}, rest...)...)
}

// maxAnswer bounds the answers the client reads into memory.
const maxAnswer = 64 << 20

// send makes the call, with retries when it is idempotent, and returns
// the successful answer's header and body. Any answer other than 2xx is
// an *Error.
func (c *Client) send(ctx context.Context, rq *request) (http.Header, []byte, error) {
	var body []byte
	switch {
	case rq.raw != nil:
		body = rq.raw
	case rq.body != nil:
		var err error
		if body, err = json.Marshal(rq.body); err != nil {
			return nil, nil, fmt.Errorf("gatehouse: encode %s %s: %w", rq.method, rq.path, err)
		}
		if rq.contentType == "" {
			rq.contentType = "application/json"
		}
	}
	u := c.base + rq.path
	if len(rq.query) > 0 {
		u += "?" + rq.query.Encode()
	}
	idempotent := rq.idempotent
	if rq.create && rq.header.Get("Idempotency-Key") == "" {
		if rq.header == nil {
			rq.header = http.Header{}
		}
		rq.header.Set("Idempotency-Key", rand.Text())
		idempotent = true
	}
	switch rq.method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete:
		idempotent = true
	}
	var resp *http.Response
	err := c.retrying(ctx, idempotent, func() (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, rq.method, u, bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("gatehouse: %s %s: %w", rq.method, u, err)
		}
		if body == nil {
			req.Body, req.ContentLength = http.NoBody, 0
		}
		c.decorate(req, rq)
		resp, err = c.http.Do(req)
		return resp, err
	})
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, nil, fmt.Errorf("gatehouse: %s %s: reading the answer: %w", rq.method, rq.path, err)
	}
	if resp.StatusCode/100 != 2 {
		e := errorFrom(resp.StatusCode, data)
		if code := resp.Header.Get("Gatehouse-Error-Code"); code != "" {
			// The AuthZEN endpoints answer a message string (Z1).
			e.Code, e.Message = policy.Code(code), strings.TrimSpace(string(data))
		}
		e.RetryAfter, _ = retryAfter(resp.Header.Get("Retry-After"), time.Now())
		return nil, nil, e
	}
	if v := resp.Header.Get("Gatehouse-Revision"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			c.revs.see(rq.ws, n)
		}
	}
	return resp.Header, data, nil
}

// decorate sets the headers every request carries.
func (c *Client) decorate(req *http.Request, rq *request) {
	for k, vs := range rq.header {
		req.Header[k] = vs
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if rq.contentType != "" {
		req.Header.Set("Content-Type", rq.contentType)
	}
	if c.actor != "" {
		req.Header.Set("Gatehouse-Actor", c.actor)
	}
	if c.reason != "" {
		req.Header.Set("Gatehouse-Reason", c.reason)
	}
}

// call sends rq and decodes a JSON answer into out (if not nil).
func (c *Client) call(ctx context.Context, rq *request, out any) (http.Header, error) {
	h, data, err := c.send(ctx, rq)
	if err != nil {
		return nil, err
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return nil, fmt.Errorf("gatehouse: %s %s: the answer is not the expected JSON: %w", rq.method, rq.path, err)
		}
	}
	return h, nil
}

// written is what every write answer carries (DESIGN §3): the workspace
// revision after the write.
type written struct {
	WorkspaceRevision int64 `json:"workspace_revision"`
}

// write sends a write, decodes the object written into out (if not nil)
// and returns the workspace revision after it.
func (c *Client) write(ctx context.Context, rq *request, out any) (int64, error) {
	_, data, err := c.send(ctx, rq)
	if err != nil {
		return 0, err
	}
	var w written
	if err := json.Unmarshal(data, &w); err != nil {
		return 0, fmt.Errorf("gatehouse: %s %s: the answer is not the expected JSON: %w", rq.method, rq.path, err)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return 0, fmt.Errorf("gatehouse: %s %s: the answer is not the expected JSON: %w", rq.method, rq.path, err)
		}
	}
	c.revs.see(rq.ws, w.WorkspaceRevision)
	return w.WorkspaceRevision, nil
}

// get is an idempotent GET of a workspace's resource into out.
func (c *Client) get(ctx context.Context, ws, p string, q url.Values, out any) error {
	_, err := c.call(ctx, &request{method: http.MethodGet, path: p, query: q, idempotent: true, ws: ws}, out)
	return err
}
