package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// KeyRotator rotates the session signing keys (A2): it stores a new key
// that signs after a grace period, keeps the previous ones accepted until
// every token they signed has expired, and makes this node use the new
// ring at once (the other nodes read it within their poll interval).
type KeyRotator interface {
	RotateSessionKey(ctx context.Context) error
}

// sessionKeyJSON describes a signing key; never its material.
type sessionKeyJSON struct {
	ID          string     `json:"id"`
	SignFrom    time.Time  `json:"sign_from"`
	AcceptUntil *time.Time `json:"accept_until"`
	Signing     bool       `json:"signing"`
}

func (s *Server) listSessionKeys(w http.ResponseWriter, _ *http.Request, _ *call) error {
	if s.cfg.Sessions == nil {
		return policy.Errorf(policy.CodeUnavailable, "sessions are not enabled on this server")
	}
	s.writeSessionKeys(w)
	return nil
}

func (s *Server) rotateSessionKey(w http.ResponseWriter, r *http.Request, _ *call) error {
	if s.cfg.Sessions == nil || s.cfg.Rotator == nil {
		return policy.Errorf(policy.CodeUnavailable, "session keys cannot be rotated on this server")
	}
	if err := s.cfg.Rotator.RotateSessionKey(r.Context()); err != nil {
		return err
	}
	s.writeSessionKeys(w)
	return nil
}

func (s *Server) writeSessionKeys(w http.ResponseWriter) {
	out := page[sessionKeyJSON]{Items: []sessionKeyJSON{}}
	for _, k := range s.cfg.Sessions.Info(s.now()) {
		j := sessionKeyJSON{ID: k.ID, SignFrom: k.SignFrom.UTC(), Signing: k.Signing}
		if !k.AcceptUntil.IsZero() {
			until := k.AcceptUntil.UTC()
			j.AcceptUntil = &until
		}
		out.Items = append(out.Items, j)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}
