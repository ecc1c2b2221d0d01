package web

import "testing"

func TestSafeNext_KeepsToConsolePaths(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/w/acme/roles?q=x", "/w/acme/roles?q=x"},
		{"/", "/"},
		{"", ""},
		{"//evil.example", ""},
		{"/\\evil.example", ""},
		{"/\t/evil.example", ""},
		{"/\n/evil.example", ""},
		{"https://evil.example/", ""},
		{"w/acme", ""},
		{"/%2F/evil.example", ""}, // harmless, but refused: it decodes to "//"
	} {
		if got := safeNext(tc.in); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
