package client

import (
	"context"
	"net/http"
	"time"
)

// ConsoleLink is a one-time console sign-in link for a member (X6).
type ConsoleLink struct {
	// URL signs the member in to the console once, until ExpiresAt (5
	// minutes). It is a secret until used: hand it to that member's
	// browser only, for example as an iframe's src.
	URL       string    `json:"url"`
	UserID    string    `json:"user_id"`
	ExpiresAt time.Time `json:"expires_at"`
}

// ConsoleLink asks for a link that signs member user of workspace ws in to
// the console as itself (X6), opening returnTo (a console path such as
// "/w/acme/roles"; the workspace's first page the member may see if
// empty). It needs an admin key acting for itself or as an owner; it
// returns the link and the workspace revision written (minting is
// audited).
func (c *Client) ConsoleLink(ctx context.Context, ws, user, returnTo string) (*ConsoleLink, int64, error) {
	var out ConsoleLink
	body := struct {
		UserID   string `json:"user_id"`
		ReturnTo string `json:"return_to,omitempty"`
	}{user, returnTo}
	rev, err := c.write(ctx, &request{method: http.MethodPost, path: wsPath(ws, "console-links"), body: body, ws: ws, create: true}, &out)
	if err != nil {
		return nil, 0, err
	}
	return &out, rev, nil
}
