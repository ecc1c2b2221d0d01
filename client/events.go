package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Change is one committed revision of a workspace, from its event feed
// (A3).
type Change struct {
	Revision int64     `json:"revision"`
	Time     time.Time `json:"time"`
	Action   string    `json:"action"`
	Targets  []string  `json:"targets"`
	// Epochs lists the members whose epoch moved (A1): end their
	// sessions, they must re-authenticate (A2, A3).
	Epochs []string `json:"epochs"`
}

// EventPage is an answer of the event feed.
type EventPage struct {
	Items []Change `json:"items"`
	// Revision is the last revision the answer covers: ask for the
	// changes after it next.
	Revision int64 `json:"revision"`
}

// Events returns the changes of workspace ws after revision after, in
// order and without gaps. When there are none yet it waits up to wait
// (rounded up to whole seconds, at most 60 s) for one and then answers an
// empty page: a long poll. A wait of 0 answers at once.
//
//	for after := int64(0); ; {
//		p, err := c.Events(ctx, ws, after, 25*time.Second)
//		if err != nil { … }
//		for _, ch := range p.Items { … }
//		after = p.Revision
//	}
func (c *Client) Events(ctx context.Context, ws string, after int64, wait time.Duration) (*EventPage, error) {
	v := url.Values{
		"after": {strconv.FormatInt(after, 10)},
		"wait":  {strconv.FormatInt(int64((wait+time.Second-1)/time.Second), 10)},
	}
	var out EventPage
	if err := c.get(ctx, ws, wsPath(ws, "events"), v, &out); err != nil {
		return nil, err
	}
	c.revs.see(ws, out.Revision)
	return &out, nil
}

// Watch follows workspace ws's event feed as Server-Sent Events from
// revision after on, yielding each change as it commits. A dropped
// connection is reopened where it stopped (Last-Event-ID), with the
// client's retry policy bounding consecutive failures; an API error or
// the last failure is yielded and ends the sequence. The sequence ends
// quietly when ctx is done or the loop breaks.
func (c *Client) Watch(ctx context.Context, ws string, after int64) iter.Seq2[Change, error] {
	return func(yield func(Change, error) bool) {
		failures := 0
		for ctx.Err() == nil {
			progressed, err := c.stream(ctx, ws, after, func(ch Change) bool {
				after = ch.Revision
				c.revs.see(ws, ch.Revision)
				return yield(ch, nil)
			})
			if err == errStop || ctx.Err() != nil {
				return
			}
			if progressed {
				failures = 0
			}
			failures++
			if _, api := err.(*Error); api || failures >= max(c.retry.MaxAttempts, 1) {
				if err == nil {
					err = fmt.Errorf("gatehouse: the event stream of %s keeps closing", ws)
				}
				yield(Change{}, err)
				return
			}
			t := time.NewTimer(c.retry.backoff(failures))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
	}
}

// errStop is stream's answer when the consumer stopped.
var errStop = errors.New("stopped")

// stream reads one SSE connection until it ends, passing each change to
// emit. It reports whether it delivered any change.
func (c *Client) stream(ctx context.Context, ws string, after int64, emit func(Change) bool) (bool, error) {
	u := c.base + wsPath(ws, "events") + "?after=" + strconv.FormatInt(after, 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, err
	}
	c.decorate(req, &request{header: http.Header{"Accept": {"text/event-stream"}}})
	resp, err := c.http.Do(req)
	if err != nil {
		return false, fmt.Errorf("gatehouse: event stream: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var buf [64 << 10]byte
		n, _ := resp.Body.Read(buf[:])
		e := errorFrom(resp.StatusCode, buf[:n])
		if retryable(resp.StatusCode) {
			return false, fmt.Errorf("gatehouse: event stream: %w", e) // wrapped: retried, not final
		}
		return false, e
	}
	progressed := false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), maxAnswer)
	var event, data strings.Builder
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			// The blank line ends an event.
			if event.String() == "change" && data.Len() > 0 {
				var ch Change
				if err := json.Unmarshal([]byte(data.String()), &ch); err != nil {
					return progressed, fmt.Errorf("gatehouse: event stream: a change is not JSON: %w", err)
				}
				progressed = true
				if !emit(ch) {
					return true, errStop
				}
			}
			event.Reset()
			data.Reset()
		case strings.HasPrefix(line, ":"): // a comment: keep-alive
		default:
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "event":
				event.Reset()
				event.WriteString(value)
			case "data":
				if data.Len() > 0 {
					data.WriteByte('\n')
				}
				data.WriteString(value)
			}
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return progressed, fmt.Errorf("gatehouse: event stream: %w", err)
	}
	return progressed, nil
}
