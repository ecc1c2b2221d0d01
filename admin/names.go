package admin

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/gatehouse-authz/gatehouse/policy"
)

// nameKey is the form two role names are compared in (R1): compatibility
// normalized (NFKC: full-width and other compatibility forms become
// plain), case folded ("STRASSE" and "straße" collide), spaces collapsed,
// and Cyrillic and Greek letters that look like Latin ones taken as those
// (a "Sаles" with a Cyrillic а is not a second "Sales"): two roles an
// admin cannot tell apart in a list are one name.
func nameKey(name string) string {
	folded := cases.Fold().String(norm.NFKC.String(name))
	var b strings.Builder
	space := false
	for _, r := range strings.TrimSpace(folded) {
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		if l, ok := lookalike[r]; ok {
			r = l
		}
		b.WriteRune(r)
	}
	return b.String()
}

// lookalike maps case-folded Cyrillic and Greek letters to the Latin
// letter they are drawn like, in lower or upper case (UTS #39's
// confusables, the cross-script letters of names).
var lookalike = map[rune]rune{
	'а': 'a', 'в': 'b', 'е': 'e', 'ё': 'ë', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c',
	'т': 't', 'у': 'y', 'х': 'x', 'ѕ': 's', 'і': 'i', 'ї': 'ï', 'ј': 'j', 'ԁ': 'd', 'һ': 'h', 'ӏ': 'l',
	'ԛ': 'q', 'ԝ': 'w', 'α': 'a', 'β': 'b', 'ε': 'e', 'ζ': 'z', 'η': 'h', 'ι': 'i', 'κ': 'k', 'μ': 'm',
	'ν': 'v', 'ο': 'o', 'ρ': 'p', 'τ': 't', 'υ': 'u', 'χ': 'x',
}

// cleanName trims a display name and checks it has 1 to max characters.
func cleanName(what, name string, max int) (string, error) {
	name = norm.NFC.String(strings.TrimSpace(name))
	if n := utf8.RuneCountInString(name); n < 1 || n > max || !utf8.ValidString(name) {
		return "", policy.Errorf(policy.CodeInvalidArgument, "%s name must be 1 to %d characters, got %d", what, max, n)
	}
	if strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return "", policy.Errorf(policy.CodeInvalidArgument, "%s name must not contain control characters", what)
	}
	// Invisible characters (zero-width spaces and joiners, the byte-order
	// mark, soft hyphens, bidirectional controls) would let two names
	// that look alike differ.
	if strings.ContainsFunc(name, func(r rune) bool { return unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Variation_Selector, r) }) {
		return "", policy.Errorf(policy.CodeInvalidArgument, "%s name must not contain invisible characters", what)
	}
	return name, nil
}

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// checkID validates a caller-chosen id (workspace, department).
func checkID(what, id string) error {
	if !idRE.MatchString(id) {
		return policy.Errorf(policy.CodeInvalidArgument, "%s id %q must be 1 to 64 lowercase letters, digits, dots, hyphens or underscores, starting with a letter or digit", what, id)
	}
	return nil
}

// checkUserID validates a host platform's user id: any text of 1 to 256
// bytes without control characters.
func checkUserID(id string) error {
	if id == "" || len(id) > 256 || !utf8.ValidString(id) || strings.ContainsFunc(id, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return policy.Errorf(policy.CodeInvalidArgument, "user id %q must be 1 to 256 bytes of printable UTF-8", id)
	}
	return nil
}

// slug derives a role id from its name: lowercase ASCII letters and
// digits joined by underscores.
func slug(name string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if under && b.Len() > 0 {
				b.WriteByte('_')
			}
			under = false
			b.WriteRune(r)
		default:
			under = true
		}
		if b.Len() >= 48 {
			break
		}
	}
	return b.String()
}

// newRoleID picks an id for a new custom role: its name's slug, made
// unique, never a predefined id (an upgrade may add that role later).
func (v *view) newRoleID(name string) string {
	base := slug(name)
	if base == "" || base[0] < 'a' || base[0] > 'z' {
		base = "role_" + base
	}
	base = strings.TrimSuffix(base, "_")
	taken := func(id string) bool {
		_, reserved := predefinedRoles()[id]
		_, exists := v.roles[id]
		return reserved || exists
	}
	id := base
	for n := 2; taken(id); n++ {
		id = base + "_" + strconv.Itoa(n)
	}
	return id
}
