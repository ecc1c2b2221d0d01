package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// ConsoleLinkTTL is how long a console sign-in link works at most (X6).
const ConsoleLinkTTL = 5 * time.Minute

// ConsoleLink records that a one-time console sign-in link is being made
// for member user (X6): a write of the owners' area, audited as
// "console.link" with target member:<user>, so the audit log says who let
// whom into the console. The link itself is signed by the console; admin
// keeps its one use (ClaimConsoleLink). It returns the member and the
// workspace revision written; not_found if user is no member, forbidden
// unless the actor is an owner or a key acting for itself (X3).
func (s *Service) ConsoleLink(ctx context.Context, ws string, w Write, user string) (Member, int64, error) {
	var out Member
	v, err := s.update(ctx, ws, w, "console.link", func(v *view) error {
		m := v.member(user)
		if m == nil {
			return memberNotFound(excerpt(user))
		}
		out = *m.clone()
		// The link changes no state of the workspace, but the audit entry
		// needs a revision of its own: the workspace row is written again.
		v.wsDirty = true
		v.record("console.link", "member:"+user, nil, map[string]any{"user_id": user, "name": m.Name, "expires_in": ConsoleLinkTTL.String()})
		return nil
	})
	if err != nil {
		return Member{}, 0, err
	}
	return out, v.ws.Revision, nil
}

// consoleLinksSecret names the deployment secret that holds the console
// links claimed within the last ConsoleLinkTTL: nonce → expiry (Unix
// seconds). Expired claims are dropped on every claim, so it stays small.
const consoleLinksSecret = "console_links_claimed"

// ErrLinkUsed is returned by ClaimConsoleLink for a link that was already
// used, on this node or another.
var ErrLinkUsed = errors.New("admin: console link already used")

// maxClaims bounds the claims kept at once: a flood of sign-ins is refused
// before the secret grows without limit.
const maxClaims = 100_000

// ClaimConsoleLink claims the one use of the console link nonce, which
// expires at expires (X6); the console checks the expiry itself, the claim
// is kept until then. The first claim, on any node of the deployment,
// succeeds; every later one returns ErrLinkUsed. Claims live in one
// deployment secret changed by compare-and-set (Store.UpdateSecret), so two
// nodes redeeming one link at the same instant cannot both win.
func (s *Service) ClaimConsoleLink(ctx context.Context, nonce string, expires time.Time) error {
	if nonce == "" {
		return ErrLinkUsed
	}
	now := s.now()
	if _, err := s.store.Secret(ctx, consoleLinksSecret, func() []byte { return []byte("{}") }); err != nil {
		return fmt.Errorf("console links: %w", err)
	}
	_, err := s.store.UpdateSecret(ctx, consoleLinksSecret, func(old []byte) ([]byte, error) {
		claims := map[string]int64{}
		if err := json.Unmarshal(old, &claims); err != nil {
			// Only a write to the database itself damages the set; start
			// afresh rather than lock every console sign-in out for good.
			claims = map[string]int64{}
		}
		if _, used := claims[nonce]; used {
			return nil, ErrLinkUsed
		}
		for n, exp := range claims {
			if exp <= now.Unix() {
				delete(claims, n)
			}
		}
		if len(claims) >= maxClaims {
			return nil, policy.Errorf(policy.CodeUnavailable, "too many console sign-ins at once; try again in a few minutes")
		}
		claims[nonce] = expires.Unix() + 1
		return json.Marshal(claims)
	})
	if errors.Is(err, ErrLinkUsed) {
		return ErrLinkUsed
	}
	return err
}
