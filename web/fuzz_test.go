package web

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/policy"
	keyring "github.com/gatehouse-authz/gatehouse/session"
)

// FuzzDecodeSession: no cookie value crashes the decoder, and no change to
// a cookie the console signed is accepted.
func FuzzDecodeSession(f *testing.F) {
	keys, err := keyring.New(keyring.NewRing([]byte("0123456789abcdef0123456789abcdef")))
	if err != nil {
		f.Fatal(err)
	}
	c := &Console{keys: keys, adminKey: "k", now: time.Now}
	good := c.encodeSession(session{KeyID: "abc", Workspace: "acme", CSRF: "t", Expires: time.Now().Add(time.Hour).Unix()})
	f.Add("", 0, byte('A'))
	f.Add(".", 3, byte('.'))
	f.Add("eyJkIjp0cnVlfQ.AAAA", len(good)-1, byte('x'))
	f.Fuzz(func(t *testing.T, v string, pos int, b byte) {
		c.decodeSession(v) // must not panic
		if pos < 0 || pos >= len(good) || good[pos] == b {
			return
		}
		mutated := good[:pos] + string(b) + good[pos+1:]
		if _, err := c.decodeSession(mutated); err == nil {
			t.Fatalf("accepted a changed cookie: byte %d %q → %q", pos, good[pos], b)
		}
	})
}

// FuzzDecodeFlash: the flash cookie never panics its decoder, and no
// change to a signed one is accepted (W1: only the console's own messages
// show).
func FuzzDecodeFlash(f *testing.F) {
	keys, err := keyring.New(keyring.NewRing([]byte("0123456789abcdef0123456789abcdef")))
	if err != nil {
		f.Fatal(err)
	}
	c := &Console{keys: keys, adminKey: "k", now: time.Now}
	rec := httptest.NewRecorder()
	c.setFlash(rec, httptest.NewRequest("GET", "/", nil), "ok", "Saved.")
	good := strings.TrimPrefix(strings.Split(rec.Header().Get("Set-Cookie"), ";")[0], flashCookie+"=")
	if _, err := c.decodeFlash(good); err != nil {
		f.Fatalf("the console's own flash: %v", err)
	}
	f.Add("", 0, byte('A'))
	f.Add("eyJrIjoib2siLCJtIjoiaGkifQ", 3, byte('.'))
	f.Add(good, len(good)-1, byte('x'))
	f.Fuzz(func(t *testing.T, v string, pos int, b byte) {
		c.decodeFlash(v) // must not panic
		if pos < 0 || pos >= len(good) || good[pos] == b {
			return
		}
		mutated := good[:pos] + string(b) + good[pos+1:]
		if _, err := c.decodeFlash(mutated); err == nil {
			t.Fatalf("accepted a changed flash cookie: byte %d %q → %q", pos, good[pos], b)
		}
	})
}

// FuzzDraftGrants: the editor's hidden fields either parse into grants
// the catalog knows at valid levels, or fail with a domain error.
func FuzzDraftGrants(f *testing.F) {
	cat := policy.DefaultCatalog()
	for _, s := range []string{"leads_view=all", "leads_view=own&g=deals_edit=none", "x=y", "=", "leads_view=", "leads_view=all=all", "lead_view=all"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		form := url.Values{}
		for _, part := range strings.Split(s, "&g=") {
			form.Add("g", part)
		}
		r := httptest.NewRequest("POST", "/", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if err := r.ParseForm(); err != nil {
			return
		}
		g, err := draftGrants(r, cat)
		if err != nil {
			if policy.ErrorCode(err) == policy.CodeInternal {
				t.Fatalf("non-domain error for %q: %v", s, err)
			}
			return
		}
		for k, l := range g {
			if _, ok := cat.Lookup(k); !ok || !l.Valid() {
				t.Fatalf("accepted %s=%v from %q", k, l, s)
			}
		}
	})
}
