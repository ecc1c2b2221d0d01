package httpapi

import (
	"slices"
	"testing"
)

func TestNegotiate(t *testing.T) {
	offers := []string{"application/yaml", "application/json"}
	cases := []struct{ accept, want string }{
		{"", "application/yaml"},
		{"*/*", "application/yaml"},
		{"application/json", "application/json"},
		{"application/json;q=0.5, application/yaml", "application/yaml"},
		{"application/yaml;q=0.1, application/*;q=0.5", "application/json"}, // json through the wildcard at 0.5
		{"application/json;q=0", "application/yaml"},
		{"application/json; q=1.0, */*; q=0.1", "application/json"},
		{"text/html, application/xhtml+xml", "application/yaml"},
		{"application/json;q=abc", "application/json"}, // a malformed q counts as 1
		{",,;;==", "application/yaml"},
	}
	for _, tc := range cases {
		if got := negotiate(tc.accept, offers...); got != tc.want {
			t.Errorf("negotiate(%q) = %s, want %s", tc.accept, got, tc.want)
		}
	}
}

// FuzzNegotiate: any Accept header picks one of the offers, and never
// panics.
func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{"", "*/*", "application/json;q=0.9, application/yaml;q=0.8", "application/*;q=0", "a/b;q=1e400", ";q=", "application/json;q=0.5;q=1"} {
		f.Add(s)
	}
	offers := []string{"application/yaml", "application/json"}
	f.Fuzz(func(t *testing.T, accept string) {
		if got := negotiate(accept, offers...); !slices.Contains(offers, got) {
			t.Fatalf("negotiate(%q) = %q, not an offer", accept, got)
		}
	})
}
