package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/internal/apitest"
)

// TestA3_EventsLongPoll: the feed reports every revision in order, with
// no gaps, and the members whose epoch moved; a long poll returns as soon
// as a change commits.
func TestA3_EventsLongPoll(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	w := newWorld(t, env, "acme")
	all := w.check.ok(200, "GET", w.path("/events?after=0"), nil)
	items := all.items()
	for i, it := range items {
		if rev := int64(it.(map[string]any)["revision"].(float64)); rev != int64(i+1) {
			t.Fatalf("event %d has revision %d: gaps or disorder: %s", i, rev, all.raw)
		}
	}
	last := all.num("revision")
	if last != int64(len(items)) {
		t.Fatalf("feed revision %d after %d events", last, len(items))
	}
	done := make(chan reply, 1)
	go func() { done <- w.check.do("GET", w.path(fmt.Sprintf("/events?after=%d&wait=10", last)), nil) }()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	w.admin.ok(200, "PUT", w.path("/members/rep/roles"), map[string]any{"role_ids": []string{"employee"}})
	r := <-done
	if time.Since(start) > 2*time.Second {
		t.Errorf("long poll woke %v after the write", time.Since(start))
	}
	ev := r.items()
	if len(ev) != 1 {
		t.Fatalf("long poll: %s", r.raw)
	}
	e := ev[0].(map[string]any)
	if int64(e["revision"].(float64)) != last+1 || e["action"] != "member.roles" || fmt.Sprint(e["epochs"]) != "[rep]" {
		t.Fatalf("event: %v", e)
	}
	// Nothing new: an empty answer after the wait, at the same revision.
	r = w.check.ok(200, "GET", w.path(fmt.Sprintf("/events?after=%d&wait=0", last+1)), nil)
	if len(r.items()) != 0 || r.num("revision") != last+1 {
		t.Fatalf("empty poll: %s", r.raw)
	}
	w.check.fails(400, "invalid_argument", "GET", w.path("/events?after=-1"), nil)
	w.check.fails(400, "invalid_argument", "GET", w.path("/events?wait=600"), nil)
}

// TestA3_EventsSSE: the same feed as Server-Sent Events, resumable with
// Last-Event-ID.
func TestA3_EventsSSE(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	w := newWorld(t, env, "acme")
	head := w.check.ok(200, "GET", w.path("/events?after=0"), nil).num("revision")
	req, _ := http.NewRequest("GET", env.URL+w.path("/events"), nil)
	req.Header.Set("Authorization", "Bearer "+w.checkKey)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Last-Event-ID", fmt.Sprint(head-2))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	events := make(chan [2]string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		var id string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "id: "):
				id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "data: "):
				events <- [2]string{id, strings.TrimPrefix(line, "data: ")}
			}
		}
		close(events)
	}()
	next := func() (string, map[string]any) {
		t.Helper()
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("stream ended")
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(ev[1]), &m); err != nil {
				t.Fatal(err)
			}
			return ev[0], m
		case <-time.After(5 * time.Second):
			t.Fatal("no event within 5 s")
		}
		return "", nil
	}
	for want := head - 1; want <= head; want++ {
		if id, m := next(); id != fmt.Sprint(want) || int64(m["revision"].(float64)) != want {
			t.Fatalf("resumed event %s %v, want revision %d", id, m, want)
		}
	}
	w.admin.ok(200, "PUT", w.path("/departments/support"), map[string]any{"name": "Support"})
	w.admin.ok(200, "PUT", w.path("/departments/support"), map[string]any{"name": "Customer support"})
	for want := head + 1; want <= head+2; want++ {
		if id, m := next(); id != fmt.Sprint(want) || m["action"] != "department.put" {
			t.Fatalf("live event %s %v, want revision %d", id, m, want)
		}
	}
}

// TestA3_EventsWaitZero: wait=0 answers at once, with what there is.
func TestA3_EventsWaitZero(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{Wrap: contract(t)})
	w := newWorld(t, env, "acme")
	r := w.check.ok(200, "GET", w.path("/events?after=0&wait=0"), nil)
	if len(r.items()) == 0 {
		t.Fatalf("wait=0 with changes: %s", r.raw)
	}
}

// TestA3_EventsAnswerBounded: an answer of the feed grows with the
// members whose epochs moved, so it is cut by their number, not only by
// the count of changes: 60 applied edits of a 3,000-member role once
// answered 180,000 user ids at once. The pages together still report
// every revision in order.
func TestA3_EventsAnswerBounded(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{})
	w := newWorld(t, env, "acme")
	start := w.importSalesReps(t, 3000)
	for i := range 60 {
		level := []string{"own", "all"}[i%2]
		w.admin.ok(200, "PATCH", w.path("/roles/sales_rep"), map[string]any{"grants": map[string]any{"leads_view": level}})
	}
	after, revs, answers := start, 0, 0
	for {
		r := w.check.ok(200, "GET", w.path(fmt.Sprintf("/events?after=%d&wait=0", after)), nil)
		items := r.items()
		if len(items) == 0 {
			break
		}
		answers++
		ids := 0
		for _, it := range items {
			e := it.(map[string]any)
			if rev := int64(e["revision"].(float64)); rev != after+1 {
				t.Fatalf("revision %d after %d", rev, after)
			}
			after++
			revs++
			ids += len(e["epochs"].([]any))
		}
		if len(items) > 1 && ids > 10_000 {
			t.Fatalf("one answer lists %d changes and %d user ids (%d bytes)", len(items), ids, len(r.raw))
		}
	}
	if revs != 60 || answers < 18 {
		t.Fatalf("%d revisions in %d answers", revs, answers)
	}
}

// TestA3_StreamsCappedPerKey: one key holds at most MaxStreams event long
// polls and SSE streams at once; the next gets 429 rate_limited, other
// keys are served, and a closed stream frees its place.
func TestA3_StreamsCappedPerKey(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{MaxStreams: 3})
	w := newWorld(t, env, "acme")
	open := func(key string) (*http.Response, func()) {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", env.URL+w.path("/events?after=1000000"), nil)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Accept", "text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp, func() { cancel(); resp.Body.Close() }
	}
	var closers []func()
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	for range 3 {
		resp, done := open(w.checkKey)
		closers = append(closers, done)
		if resp.StatusCode != 200 {
			t.Fatalf("stream within the cap: %d", resp.StatusCode)
		}
	}
	r := w.check.fails(429, "rate_limited", "GET", w.path("/events?after=0&wait=1"), nil)
	if r.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	resp, done := open(w.checkKey)
	done()
	if resp.StatusCode != 429 {
		t.Fatalf("a fourth stream: %d", resp.StatusCode)
	}
	// Another key is not limited by this one's streams.
	w.admin.ok(200, "GET", w.path("/events?after=0&wait=0"), nil)
	// Closing a stream frees its place.
	closers[0]()
	closers = closers[1:]
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := w.check.do("GET", w.path("/events?after=0&wait=0"), nil)
		if r.status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a closed stream did not free its place: %d %s", r.status, r.raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
