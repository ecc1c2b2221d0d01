package admin

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Notice tells the other nodes of a deployment that a workspace reached a
// revision. A store that can deliver notices (PostgreSQL's LISTEN/NOTIFY)
// sends one per committed change; a node that receives it loads the change
// (Service.Follow). Notices only speed things up: a lost one is made good
// by the next Service.Sync.
type Notice struct {
	Workspace string
	Revision  int64
	Time      time.Time // when the change was committed, for the propagation delay
}

// String encodes n as "<revision> <unix microseconds> <workspace>", the
// workspace last so that any id survives.
func (n Notice) String() string {
	return strconv.FormatInt(n.Revision, 10) + " " + strconv.FormatInt(n.Time.UnixMicro(), 10) + " " + n.Workspace
}

// ParseNotice decodes what Notice.String encoded.
func ParseNotice(s string) (Notice, error) {
	rev, rest, ok1 := strings.Cut(s, " ")
	us, ws, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || ws == "" {
		return Notice{}, errors.New("notice: want \"<revision> <micros> <workspace>\"")
	}
	r, err := strconv.ParseInt(rev, 10, 64)
	if err != nil || r < 1 {
		return Notice{}, errors.New("notice: bad revision")
	}
	t, err := strconv.ParseInt(us, 10, 64)
	if err != nil {
		return Notice{}, errors.New("notice: bad time")
	}
	return Notice{Workspace: ws, Revision: r, Time: time.UnixMicro(t).UTC()}, nil
}
