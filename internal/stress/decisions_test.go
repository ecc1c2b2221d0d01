package stress

import (
	"fmt"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
	"github.com/gatehouse-authz/gatehouse/client"
	"github.com/gatehouse-authz/gatehouse/internal/policyref"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// token is a session issued for a user at an epoch (A2).
type token struct {
	user, token string
	epoch       int64
}

// batchSize is how many checks one sample asks each node.
const batchSize = 60

// decisions asks every node the same random batch of checks at the stored
// state's revision or later (D8), and compares the
// answers decided exactly at it with the reference. When quiet, no write
// can commit until the sample is done, so every node must answer at the
// state's revision.
func (c *checker) decisions(s *state, quiet bool) {
	h := c.h
	qs := c.batch(s)
	for i, api := range h.api {
		sent := time.Now()
		res, err := api.CheckBatch(h.ctx, c.ws, client.Batch{Checks: qs, MinRevision: s.rev})
		got := time.Now()
		// An expiry committed by system moves the revision even while the
		// writers are stopped (T2): such a sample is not quiet.
		if quiet && s.expiresWithin(sent.Add(-time.Minute), got.Add(time.Minute)) {
			quiet = false
		}
		if !c.decided(i, res, err, s, quiet) {
			continue
		}
		if len(res.Results) != len(qs) {
			h.rep.fail("D4 a batch answers every check", "%s node %d: %d checks, %d results", c.ws, i, len(qs), len(res.Results))
			continue
		}
		if res.Revision != s.rev {
			c.missed++
			h.stats.add("check samples skipped (revision moved)", 1)
			h.stats.add("check decisions skipped", len(qs))
			for _, r := range res.Results {
				if r.Err != nil && r.Err.Code != policy.CodeUnknownPermission && r.Err.Code != policy.CodeReauthenticationRequired {
					h.rep.fail("unexpected error", "%s node %d: batch item: %v", c.ws, i, r.Err)
				}
			}
			continue
		}
		h.stats.add("check samples compared", 1)
		// T1: what expired before the request was sent, less the bound of
		// 1 s, is never honoured; what expires after the answer came is.
		hi, lo := s.refAt(got), s.refAt(sent.Add(-time.Second))
		for j, q := range qs {
			c.compare(s, i, q, res.Results[j], hi, lo)
		}
	}
}

// decided checks a decision call's error and revision; it reports whether
// there is an answer to compare.
func (c *checker) decided(node int, res *client.BatchResult, err error, s *state, quiet bool) bool {
	h := c.h
	if err != nil {
		// A node following another's commits may take longer than D8's
		// second to catch up on a busy machine; anything else is a failure.
		if client.ErrorCode(err) == policy.CodeRevisionUnavailable && len(h.nodes) > 1 {
			h.stats.add("check samples skipped (revision_unavailable)", 1)
			return false
		}
		h.rep.fail("unexpected error", "%s node %d: decision: %v", c.ws, node, err)
		return false
	}
	rev := res.Revision
	if rev < s.rev {
		h.rep.fail("D8 min_revision", "%s node %d: asked for revision %d or later, decided at %d", c.ws, node, s.rev, rev)
	}
	if quiet && rev != s.rev {
		h.rep.fail("D8 min_revision", "%s node %d: decided at revision %d while the database stood still at %d", c.ws, node, rev, s.rev)
	}
	if rev < c.lastDec[node] {
		h.rep.fail("D8 a node's revisions never go backwards", "%s node %d: decided at %d after %d", c.ws, node, rev, c.lastDec[node])
	}
	c.lastDec[node] = max(c.lastDec[node], rev)
	return true
}

// batch builds random checks: members, former members and strangers, any
// permission of the workspace's catalog (smart objects, relation modules),
// with and without records, some by session, a few unknown permissions.
func (c *checker) batch(s *state) []client.CheckRequest {
	perms := s.cat.Permissions()
	qs := make([]client.CheckRequest, 0, batchSize)
	for range batchSize {
		q := client.CheckRequest{User: c.anyUser(), Permission: perms[c.rng.IntN(len(perms))].Key}
		switch n := c.rng.IntN(20); {
		case n == 0:
			q.Permission = "lead_view" // C1: an error, never a silent deny
		case n <= 3 && len(c.tokens) > 0:
			t := c.tokens[c.rng.IntN(len(c.tokens))]
			q.User, q.Session = "", t.token
		}
		if c.rng.IntN(5) < 3 {
			q.Resource = c.record()
		}
		qs = append(qs, q)
	}
	return qs
}

func (c *checker) anyUser() string {
	if c.rng.IntN(15) == 0 {
		return "stranger"
	}
	return userPool[c.rng.IntN(len(userPool))]
}

// record is a random record: owned by anyone, in a department or not
// (existing or not), with random relations.
func (c *checker) record() *policy.Resource {
	r := &policy.Resource{OwnerID: c.anyUser()}
	switch n := c.rng.IntN(10); {
	case n < 6:
		r.DepartmentID = deptPool[c.rng.IntN(5)]
	case n < 7:
		r.DepartmentID = deptPool[c.rng.IntN(len(deptPool))]
	}
	for _, l := range []*[]string{&r.Relations.Creator, &r.Relations.Responsible, &r.Relations.Participant, &r.Relations.Observer} {
		for c.rng.IntN(4) == 0 {
			*l = append(*l, c.anyUser())
		}
	}
	return r
}

// compare checks one decision of node against the reference of s judged
// when the answer came (hi), or, for access expiring meanwhile, when the
// request was sent less T1's bound of 1 s (lo).
func (c *checker) compare(s *state, node int, q client.CheckRequest, got client.BatchItem, hi, lo *policyref.Model) {
	h := c.h
	h.stats.add("check decisions compared", 1)
	where := fmt.Sprintf("%s node %d at revision %d: %s %s %+v", c.ws, node, s.rev, q.User, q.Permission, q.Resource)
	user := q.User
	if q.Session != "" {
		t := c.tokenOf(q.Session)
		user = t.user
		where = fmt.Sprintf("%s node %d at revision %d: session(%s, epoch %d) %s %+v", c.ws, node, s.rev, t.user, t.epoch, q.Permission, q.Resource)
		m := s.members[t.user]
		switch {
		case m == nil || m.Epoch > t.epoch:
			if got.Err == nil || got.Err.Code != policy.CodeReauthenticationRequired {
				h.rep.fail("A2 sessions end with the epoch", "%s: member %s, want reauthentication_required, got %+v %v", where, epochText(m), got.Decision, got.Err)
			}
			return
		case m.Epoch < t.epoch:
			// Only possible when the epoch went backwards: the token is an
			// earlier member's. A1's check reports the cause.
			if got.Err == nil || got.Err.Code != policy.CodeReauthenticationRequired {
				h.rep.fail("A2 a session of a removed member stays dead", "%s: the member, added again, is at epoch %d, yet the old session decides: %+v",
					where, m.Epoch, got.Decision)
			}
			return
		}
	}
	if _, ok := s.cat.Lookup(q.Permission); !ok {
		if got.Err == nil || got.Err.Code != policy.CodeUnknownPermission {
			h.rep.fail("C1 unknown permissions are errors", "%s: got %+v %v", where, got.Decision, got.Err)
		}
		return
	}
	if got.Err != nil {
		h.rep.fail("decisions equal the reference", "%s: error %v", where, got.Err)
		return
	}
	d := got.Decision
	if !hi.IsMember(user) {
		if d.Allowed || d.Level != policy.LevelNone || d.Reason != policy.ReasonNotAMember {
			h.rep.fail("D3 non-members are denied", "%s: got %+v", where, d)
		}
		return
	}
	wantLevel, want := hi.Level(user, q.Permission), hi.Allowed(user, q.Permission, q.Resource)
	if (d.Allowed != want || d.Level != wantLevel) && lo != hi &&
		d.Allowed == lo.Allowed(user, q.Permission, q.Resource) && d.Level == lo.Level(user, q.Permission) {
		h.stats.add("check decisions within T1's bound", 1)
		return
	}
	if d.Allowed != want || d.Level != wantLevel {
		h.rep.fail("decisions equal the reference", "%s: got allowed=%v level=%s (%s), reference allowed=%v level=%s",
			where, d.Allowed, d.Level, d.Reason, want, wantLevel)
	}
}

func epochText(m *admin.Member) string {
	if m == nil {
		return "gone"
	}
	return fmt.Sprintf("at epoch %d", m.Epoch)
}

func (c *checker) tokenOf(tok string) token {
	for _, t := range c.tokens {
		if t.token == tok {
			return t
		}
	}
	panic("stress: unknown session token")
}

// filter asks one node for a filter (D5) and, decided at s's revision,
// checks that exactly the records the reference allows match it.
func (c *checker) filter(s *state) {
	h := c.h
	node := c.rng.IntN(len(h.api))
	perms := s.cat.Permissions()
	p := perms[c.rng.IntN(len(perms))]
	in := client.FilterRequest{User: c.anyUser(), Permission: p.Key, MinRevision: s.rev}
	sent := time.Now()
	f, err := h.api[node].Filter(h.ctx, c.ws, in)
	if s.expiresWithin(s.loadedAt.Add(-time.Second), time.Now().Add(time.Second)) || s.expiresWithin(sent.Add(-time.Second), time.Now()) {
		h.stats.add("check filters skipped (expiry in between)", 1)
		return
	}
	if err != nil {
		switch code := client.ErrorCode(err); {
		case code == policy.CodeRevisionUnavailable && len(h.nodes) > 1:
			return
		case code == policy.CodeUnknownPermission && p.Module.SmartObject:
			return // deleted since s (C9)
		}
		h.rep.fail("unexpected error", "%s node %d: filter %+v: %v", c.ws, node, in, err)
		return
	}
	if f.Revision != s.rev {
		h.stats.add("check filters skipped (revision moved)", 1)
		return
	}
	h.stats.add("check filters compared", 1)
	for range 20 {
		r := c.record()
		if got, want := f.Matches(r), s.refAt(time.Now()).Allowed(in.User, in.Permission, r); got != want {
			h.rep.fail("D5 filters equal the reference", "%s node %d at revision %d: %s %s %+v: filter %+v matches=%v, reference %v",
				c.ws, node, s.rev, in.User, in.Permission, r, f, got, want)
		}
	}
}

// issueSession asks a node for a session of a random user now and then,
// and checks its epoch when it was issued at s's revision (A2).
func (c *checker) issueSession(s *state) {
	if c.rng.IntN(3) != 0 {
		return
	}
	h := c.h
	u := userPool[c.rng.IntN(len(userPool))]
	node := c.rng.IntN(len(h.api))
	ses, err := h.api[node].CreateSession(h.ctx, c.ws, u, time.Hour)
	if err != nil {
		if client.ErrorCode(err) != policy.CodeNotFound {
			h.rep.fail("unexpected error", "%s node %d: session for %s: %v", c.ws, node, u, err)
		}
		return
	}
	if ses.Revision == s.rev {
		if m := s.members[u]; m == nil || m.Epoch != ses.Epoch {
			h.rep.fail("A2 sessions carry the member's epoch", "%s node %d at revision %d: session of %s at epoch %d, stored member %s", c.ws, node, s.rev, u, ses.Epoch, epochText(m))
		}
	}
	t := token{user: u, token: ses.Token, epoch: ses.Epoch}
	if len(c.tokens) < 16 {
		c.tokens = append(c.tokens, t)
	} else {
		c.tokens[c.rng.IntN(len(c.tokens))] = t
	}
}

// final runs once the writers have stopped: every node must reach the
// stored revision within D8's wait, and decide every member's every
// permission, with and without a record, as the reference does.
func (c *checker) final() {
	h := c.h
	s := c.load()
	if s == nil {
		return
	}
	c.check(s)
	var qs []client.CheckRequest
	for _, u := range append(userPool, "stranger") {
		for _, p := range s.cat.Permissions() {
			qs = append(qs, client.CheckRequest{User: u, Permission: p.Key})
			if c.rng.IntN(2) == 0 {
				qs = append(qs, client.CheckRequest{User: u, Permission: p.Key, Resource: c.record()})
			}
		}
	}
	for i, api := range h.api {
		for start := 0; start < len(qs); start += client.MaxBatch {
			part := qs[start:min(start+client.MaxBatch, len(qs))]
			var res *client.BatchResult
			var err error
			deadline := time.Now().Add(10 * time.Second)
			sent := time.Now()
			for {
				res, err = api.CheckBatch(h.ctx, c.ws, client.Batch{Checks: part, MinRevision: s.rev})
				if client.ErrorCode(err) != policy.CodeRevisionUnavailable || time.Now().After(deadline) {
					break
				}
			}
			got := time.Now()
			if s.expiresWithin(s.loadedAt.Add(-time.Minute), got.Add(time.Minute)) && err == nil && res.Revision != s.rev {
				// An expiry committed by system since the load (T2).
				h.stats.add("check final batches skipped (expiry committed)", 1)
				continue
			}
			if !c.decided(i, res, err, s, true) {
				h.rep.fail("D8 nodes catch up", "%s node %d never reached revision %d: %v", c.ws, i, s.rev, err)
				return
			}
			if len(res.Results) != len(part) {
				h.rep.fail("D4 a batch answers every check", "%s node %d: %d checks, %d results", c.ws, i, len(part), len(res.Results))
				return
			}
			hi, lo := s.refAt(got), s.refAt(sent.Add(-time.Second))
			for j, q := range part {
				c.compare(s, i, q, res.Results[j], hi, lo)
			}
			h.stats.add("check final decisions compared", len(part))
		}
	}
}
