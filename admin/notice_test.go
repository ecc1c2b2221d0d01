package admin

import (
	"testing"
	"time"
)

func TestNotice_RoundTrip(t *testing.T) {
	t.Parallel()
	at := time.UnixMicro(1_790_000_000_123_456).UTC()
	for _, n := range []Notice{
		{Workspace: "acme", Revision: 1, Time: at},
		{Workspace: "with space and ünïcode", Revision: 1 << 40, Time: at},
	} {
		got, err := ParseNotice(n.String())
		if err != nil || got != n {
			t.Errorf("ParseNotice(%q) = %+v, %v; want %+v", n.String(), got, err, n)
		}
	}
	for _, bad := range []string{"", "1", "1 2", "1 2 ", "x 2 ws", "1 x ws", "0 2 ws", "-3 2 ws"} {
		if n, err := ParseNotice(bad); err == nil {
			t.Errorf("ParseNotice(%q) = %+v, want an error", bad, n)
		}
	}
}

// FuzzParseNotice: whatever arrives on the notification channel either is
// refused or round-trips exactly.
func FuzzParseNotice(f *testing.F) {
	for _, s := range []string{"1 1790000000123456 acme", "9 0 a b", "1 2", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseNotice(s)
		if err != nil {
			return
		}
		again, err := ParseNotice(n.String())
		if err != nil || again != n {
			t.Fatalf("%q → %+v → %q → %+v, %v", s, n, n.String(), again, err)
		}
	})
}
