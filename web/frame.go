package web

import (
	"fmt"
	"net/url"
	"strings"
)

// CheckFrameAncestor checks one origin given to frame the console
// (Config.FrameAncestors, --console-frame-ancestors): a scheme, http or
// https, and a host with an optional port and an optional leading
// wildcard label ("https://*.example.com"), nothing else. CSP keywords
// and paths are refused: each would say something else than "this site".
func CheckFrameAncestor(origin string) error {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(origin, " ;,'\"") {
		return fmt.Errorf("frame ancestor %q: want an origin such as https://crm.example.com", origin)
	}
	host := u.Hostname()
	if strings.Contains(strings.TrimPrefix(host, "*."), "*") {
		return fmt.Errorf("frame ancestor %q: a wildcard may only be the first label (https://*.example.com)", origin)
	}
	return nil
}

// FrameAncestors splits a comma- or space-separated list of origins, as
// the flag and its environment variable give it, and checks each.
func FrameAncestors(list string) ([]string, error) {
	var out []string
	for _, o := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' }) {
		o = strings.TrimSuffix(o, "/")
		if err := CheckFrameAncestor(o); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}
