package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse/admin"
)

// The event feed (A3) reads the changelog, so it reports every revision
// in order and without gaps: a host that keeps the last revision it saw
// and asks for what came after misses nothing, across restarts too.

const (
	eventsPage = 500 // changes per answer or SSE burst
	eventsRead = 50  // changes read from the store at once
	// eventsBudget bounds the user ids and targets of one answer or
	// burst: a change lists every member whose epoch moved, so 500 of
	// them could list millions. A change larger than the budget is sent
	// alone.
	eventsBudget    = 10_000
	defaultLongPoll = 25 * time.Second // under common proxy idle timeouts
	maxLongPoll     = 60 * time.Second
	sseHeartbeat    = 15 * time.Second
)

type eventsJSON struct {
	Items []changeJSON `json:"items"`
	// Revision is the last revision the answer covers: ask for after=it
	// next.
	Revision int64 `json:"revision"`
}

func (s *Server) events(w http.ResponseWriter, r *http.Request, c *call) error {
	after, err := intParam(r, "after", 0, 1<<62)
	if err != nil {
		return err
	}
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		if after, err = strconv.ParseInt(v, 10, 64); err != nil || after < 0 {
			return invalid("Last-Event-ID", "Last-Event-ID must be a revision, not %q", v)
		}
	}
	stream := strings.Contains(r.Header.Get("Accept"), "text/event-stream")
	wait := defaultLongPoll
	if v := r.URL.Query().Get("wait"); v != "" && !stream {
		n, err := intParam(r, "wait", 0, int64(maxLongPoll/time.Second))
		if err != nil {
			return err
		}
		wait = time.Duration(n) * time.Second
	}
	key := c.key.ID
	if c.deployed {
		key = "deployment"
	}
	if err := s.streams.acquire(w, key); err != nil {
		return err
	}
	defer s.streams.release(key)
	if stream {
		return s.eventStream(w, r, c.ws, after)
	}
	changes, rev, err := s.nextChanges(r.Context(), time.Now().Add(wait), c.ws, after)
	if err != nil {
		return err
	}
	out := eventsJSON{Items: make([]changeJSON, 0, len(changes)), Revision: max(rev, after)}
	for _, ch := range changes {
		out.Items = append(out.Items, toChange(ch))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// nextChanges returns the changes after revision after, waiting until
// there are some or the deadline passes (then none, with no error). rev
// is the last revision returned, or after. ctx bounds the reads.
func (s *Server) nextChanges(ctx context.Context, deadline time.Time, ws string, after int64) ([]admin.Change, int64, error) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		cur, changed, err := s.cfg.Engine.Changed(ws)
		if err != nil {
			return nil, 0, err
		}
		if cur > after {
			changes, err := s.someChanges(ctx, ws, after)
			if err != nil {
				return nil, 0, err
			}
			if n := len(changes); n > 0 {
				return changes, changes[n-1].Revision, nil
			}
		}
		select {
		case <-changed:
		case <-timer.C:
			return nil, after, nil
		case <-ctx.Done():
			return nil, after, nil
		}
	}
}

// someChanges reads the changes after revision after, at most eventsPage
// of them and as many as fit eventsBudget (at least one), reading the
// store a few at a time so that neither the answer nor the reading grows
// with the number of members a change touched.
func (s *Server) someChanges(ctx context.Context, ws string, after int64) ([]admin.Change, error) {
	var out []admin.Change
	size := 0
	for len(out) < eventsPage {
		batch, err := s.cfg.Admin.Changes(ctx, ws, after, eventsRead)
		if err != nil {
			return nil, err
		}
		for _, ch := range batch {
			n := len(ch.Epochs) + len(ch.Targets)
			if len(out) > 0 && size+n > eventsBudget {
				return out, nil
			}
			out, size = append(out, ch), size+n
			if len(out) == eventsPage {
				return out, nil
			}
		}
		if len(batch) < eventsRead {
			return out, nil
		}
		after = batch[len(batch)-1].Revision
	}
	return out, nil
}

// eventStream serves the feed as Server-Sent Events: one "change" event
// per revision, with the revision as the event id, so a reconnecting
// EventSource resumes where it stopped (Last-Event-ID).
func (s *Server) eventStream(w http.ResponseWriter, r *http.Request, ws string, after int64) error {
	if _, _, err := s.cfg.Engine.Changed(ws); err != nil {
		return err
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "retry: 2000\n\n")
	for {
		rc.SetWriteDeadline(time.Now().Add(sseHeartbeat + 10*time.Second))
		if err := rc.Flush(); err != nil {
			return nil // the client left
		}
		changes, rev, err := s.nextChanges(r.Context(), time.Now().Add(sseHeartbeat), ws, after)
		if err != nil {
			s.log.WarnContext(r.Context(), "event stream", "workspace", ws, "err", err)
			return nil
		}
		if r.Context().Err() != nil {
			return nil
		}
		if len(changes) == 0 {
			fmt.Fprintf(w, ": keep-alive\n\n")
			continue
		}
		for _, ch := range changes {
			b, _ := json.Marshal(toChange(ch))
			fmt.Fprintf(w, "id: %d\nevent: change\ndata: %s\n\n", ch.Revision, b)
		}
		after = rev
	}
}
