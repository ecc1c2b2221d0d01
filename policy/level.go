package policy

import "fmt"

// Level is how far a grant reaches. Levels are ordered: a higher level
// includes everything a lower one allows.
type Level uint8

// The five levels, lowest first. Unscoped actions take only LevelNone and LevelAll (C5).
const (
	LevelNone Level = iota
	LevelOwn
	LevelDepartment
	LevelSubdepartments
	LevelAll
)

// levelCount is the number of valid levels; a Level at or above it is invalid.
const levelCount = 5

var levelNames = [levelCount]string{"none", "own", "department", "subdepartments", "all"}

// String returns the level's API name, e.g. "subdepartments".
func (l Level) String() string {
	if l < levelCount {
		return levelNames[l]
	}
	return fmt.Sprintf("Level(%d)", uint8(l))
}

// Valid reports whether l is one of the five levels.
func (l Level) Valid() bool { return l < levelCount }

// ParseLevel returns the level named s. Names are case-sensitive, like
// permission keys. It returns an invalid_argument error for any other string.
func ParseLevel(s string) (Level, error) {
	for i, n := range levelNames {
		if n == s {
			return Level(i), nil
		}
	}
	if len(s) > 32 { // a level name is short; do not echo a megabyte
		s = s[:32] + "…"
	}
	return LevelNone, Errorf(CodeInvalidArgument, "unknown level %q: use none, own, department, subdepartments or all", s)
}

// MarshalText encodes the level as its name.
func (l Level) MarshalText() ([]byte, error) {
	if !l.Valid() {
		return nil, Errorf(CodeInvalidArgument, "invalid level %d", uint8(l))
	}
	return []byte(levelNames[l]), nil
}

// UnmarshalText decodes a level name.
func (l *Level) UnmarshalText(b []byte) error {
	v, err := ParseLevel(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}
