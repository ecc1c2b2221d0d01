package client_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/client"
	"github.com/gatehouse-authz/gatehouse/internal/apitest"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// TestA3_Events checks the event feed as a long poll and as an SSE
// stream: every change in order, with the members whose epoch moved.
func TestA3_Events(t *testing.T) {
	t.Parallel()
	env := apitest.Start(t, apitest.Options{})
	w := newWorld(t, env, "acme")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := w.admin.LastRevision(w.ws)
	if start == 0 {
		t.Fatal("LastRevision is 0 after the setup's writes")
	}

	t.Run("long poll wakes on a write", func(t *testing.T) {
		done := make(chan int64, 1)
		go func() {
			time.Sleep(200 * time.Millisecond)
			_, rev, err := w.admin.SetMemberRoles(ctx, w.ws, "kim", []string{"contacts_own"})
			if err != nil {
				t.Error(err)
			}
			done <- rev
		}()
		began := time.Now()
		p, err := w.check.Events(ctx, w.ws, start, 20*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		rev := <-done
		if time.Since(began) > 10*time.Second {
			t.Fatalf("the long poll took %v", time.Since(began))
		}
		if len(p.Items) != 1 || p.Items[0].Revision != rev || p.Revision != rev || !slices.Contains(p.Items[0].Epochs, "kim") {
			t.Fatalf("events %+v, want the change at %d moving kim's epoch", p, rev)
		}
	})

	t.Run("long poll times out empty", func(t *testing.T) {
		last := w.admin.LastRevision(w.ws)
		p, err := w.check.Events(ctx, w.ws, last, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) != 0 || p.Revision != last {
			t.Fatalf("events %+v, want none at %d", p, last)
		}
	})

	t.Run("SSE stream", func(t *testing.T) {
		from := w.admin.LastRevision(w.ws)
		wrote := make(chan []int64, 1)
		go func() {
			var revs []int64
			defer func() { wrote <- revs }()
			for _, roles := range [][]string{{"contacts_all"}, {"contacts_department"}, {"employee"}} {
				_, rev, err := w.admin.SetMemberRoles(ctx, w.ws, "kim", roles)
				if err != nil {
					t.Error(err)
					return
				}
				revs = append(revs, rev)
			}
		}()
		var got []int64
		for ch, err := range w.check.Watch(ctx, w.ws, from) {
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ch.Epochs, []string{"kim"}) || ch.Action == "" {
				t.Errorf("change %+v", ch)
			}
			if got = append(got, ch.Revision); len(got) == 3 {
				break
			}
		}
		want := <-wrote
		if !slices.Equal(got, want) {
			t.Fatalf("streamed revisions %v, want %v", got, want)
		}
		if w.check.LastRevision(w.ws) != want[2] {
			t.Errorf("LastRevision %d after the stream, want %d", w.check.LastRevision(w.ws), want[2])
		}
	})

	t.Run("SSE stream replays from a revision", func(t *testing.T) {
		var revs []int64
		for ch, err := range w.check.Watch(ctx, w.ws, start) {
			if err != nil {
				t.Fatal(err)
			}
			if revs = append(revs, ch.Revision); len(revs) == 4 {
				break
			}
		}
		for i, r := range revs {
			if r != start+int64(i)+1 {
				t.Fatalf("revisions %v after %d: not consecutive", revs, start)
			}
		}
	})

	t.Run("SSE stream of a workspace one cannot see", func(t *testing.T) {
		n := 0
		for _, err := range w.check.Watch(ctx, "other", 0) {
			if client.ErrorCode(err) != policy.CodeNotFound {
				t.Fatalf("err %v, want not_found", err)
			}
			n++
		}
		if n != 1 {
			t.Fatalf("%d answers, want one error", n)
		}
	})
}
