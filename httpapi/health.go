package httpapi

import (
	"context"
	"net/http"
	"time"
)

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.cfg.Version})
}

// Freshness is how current a node's snapshots are.
type Freshness struct {
	// Age is the time since the node last confirmed that it holds every
	// committed change.
	Age time.Duration
	// Stale reports that changes may be missing: the database has been
	// unreachable for a while.
	Stale bool
}

// readyz answers 200 once every workspace's snapshot is loaded: a node
// answers decisions from its snapshots even while the database is down, so
// it stays ready then, reporting the database unreachable and the
// snapshots stale with their age; writes meanwhile fail with unavailable.
// Only a node still loading, or stale beyond MaxStale, answers 503.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	checks := map[string]string{}
	body := map[string]any{"checks": checks}
	ok := true
	if s.cfg.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.cfg.Ready(ctx); err != nil {
			checks["database"] = "unreachable"
			s.log.WarnContext(r.Context(), "readiness: database", "err", err)
		} else {
			checks["database"] = "ok"
		}
	}
	switch {
	case s.cfg.Engine == nil || !s.loaded.Load():
		checks["snapshots"], ok = "loading", false
	case s.cfg.Freshness != nil:
		f := s.cfg.Freshness()
		body["snapshot_age_seconds"] = f.Age.Seconds()
		checks["snapshots"] = "current"
		if f.Stale {
			checks["snapshots"] = "stale"
			if s.cfg.MaxStale > 0 && f.Age > s.cfg.MaxStale {
				ok = false
			}
		}
	default:
		checks["snapshots"] = "current"
	}
	body["ready"] = ok
	st := http.StatusOK
	if !ok {
		st = http.StatusServiceUnavailable
	}
	writeJSON(w, st, body)
}

// MarkLoaded tells /readyz that every workspace's snapshot is loaded.
func (s *Server) MarkLoaded() { s.loaded.Store(true) }
