package client

import (
	"context"
	"net/http"
	"time"
)

// SessionKey describes a session signing key (A2); never its material.
type SessionKey struct {
	ID string `json:"id"`
	// SignFrom is when the key starts signing.
	SignFrom time.Time `json:"sign_from"`
	// AcceptUntil is when its tokens stop verifying; nil while current.
	AcceptUntil *time.Time `json:"accept_until"`
	// Signing marks the key that signs now on the node asked.
	Signing bool `json:"signing"`
}

// SessionKeys lists the session signing keys the node accepts (the
// deployment admin key only).
func (c *Client) SessionKeys(ctx context.Context) ([]SessionKey, error) {
	var out page[SessionKey]
	err := c.get(ctx, "", path("v1", "session-keys"), nil, &out)
	return out.Items, err
}

// RotateSessionKey adds a new session signing key that signs after the
// server's grace period; tokens of the previous keys stay valid until they
// expire. It returns the keys after the rotation (the deployment admin key
// only). It is not retried: a lost answer may have rotated.
func (c *Client) RotateSessionKey(ctx context.Context) ([]SessionKey, error) {
	var out page[SessionKey]
	_, err := c.call(ctx, &request{method: http.MethodPost, path: path("v1", "session-keys", "rotate")}, &out)
	return out.Items, err
}
