package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

// A client that hangs up is not a server failure: no ERROR line, no
// internal error; any other unexpected error is both.
func TestWriteError_ClientCancelIsNotAnInternalError(t *testing.T) {
	var log bytes.Buffer
	s := &Server{log: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tt := range []struct {
		name      string
		ctx       context.Context
		err       error
		status    int
		code      string
		errorLine bool
	}{
		{"client gone", ctx, fmt.Errorf("load workspace: %w", context.Canceled), 503, `"unavailable"`, false},
		{"canceled, client still there", context.Background(), fmt.Errorf("load workspace: %w", context.Canceled), 500, `"internal"`, true},
		{"other failure, client gone", ctx, errors.New("disk on fire"), 500, `"internal"`, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			log.Reset()
			w := httptest.NewRecorder()
			s.writeError(w, httptest.NewRequestWithContext(tt.ctx, "GET", "/v1/workspaces/acme", nil), tt.err)
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.code) {
				t.Errorf("answer %d %s, want %d %s", w.Code, w.Body, tt.status, tt.code)
			}
			if got := strings.Contains(log.String(), "level=ERROR"); got != tt.errorLine {
				t.Errorf("ERROR logged: %v, want %v\n%s", got, tt.errorLine, log.String())
			}
		})
	}
}
