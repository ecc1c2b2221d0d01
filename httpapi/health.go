package httpapi

import (
	"context"
	"net/http"
	"time"
)

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.cfg.Version})
}

// readyz answers 200 when the database answers and every workspace's
// snapshot is loaded, else 503 with what is missing.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	checks := map[string]string{}
	ok := true
	if s.cfg.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.cfg.Ready(ctx); err != nil {
			checks["database"], ok = "unreachable", false
			s.log.WarnContext(r.Context(), "readiness: database", "err", err)
		} else {
			checks["database"] = "ok"
		}
	}
	if s.cfg.Engine == nil || !s.loaded.Load() {
		checks["snapshots"], ok = "loading", false
	} else {
		checks["snapshots"] = "ok"
	}
	st := http.StatusOK
	if !ok {
		st = http.StatusServiceUnavailable
	}
	writeJSON(w, st, map[string]any{"ready": ok, "checks": checks})
}

// MarkLoaded tells /readyz that every workspace's snapshot is loaded.
func (s *Server) MarkLoaded() { s.loaded.Store(true) }
