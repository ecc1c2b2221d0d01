// Package pgtest gives a test its own PostgreSQL cluster, which the test
// can stop and start again, for checking how Gatehouse behaves while its
// database is down. The shared server of scripts/postgres cannot be used
// for that: stopping it would break every other test using it.
//
// pgtest imports only the standard library.
package pgtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Server is a private PostgreSQL cluster in a temporary directory, serving
// on a fixed loopback port for its whole life, so a DSN taken before a Stop
// works again after the next Start.
type Server struct {
	bin    string // directory holding initdb and pg_ctl
	dir    string // data directory
	port   int
	asRoot bool // run the tools as the postgres user (initdb refuses root)
}

// Start creates a cluster, starts it and registers a cleanup that stops it
// and removes its files. It skips the test when PostgreSQL is not
// installed, except when CI is set: CI must never skip these tests.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{asRoot: os.Geteuid() == 0}
	s.bin = binDir()
	if s.bin == "" {
		missing(t, "PostgreSQL is not installed (no pg_ctl in /usr/lib/postgresql/*/bin or PATH)")
	}

	// The directory is made directly under os.TempDir, not with t.TempDir:
	// the per-test parents t.TempDir creates are 0700 and owned by the test's
	// user, so the postgres user could not reach a cluster inside them.
	dir, err := os.MkdirTemp("", "gatehouse-pgtest-")
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	s.dir = dir
	t.Cleanup(func() {
		// The pid file exists while a postmaster runs, even one whose Start
		// timed out; immediate, as nothing in a test cluster needs saving.
		if _, err := os.Stat(filepath.Join(dir, "postmaster.pid")); err == nil {
			if out, err := s.pgCtl("-m", "immediate", "-w", "stop"); err != nil {
				t.Errorf("pgtest: stopping the server: %v\n%s", err, out)
			}
		}
		os.RemoveAll(dir)
	})
	if s.asRoot {
		u, err := user.Lookup("postgres")
		if err != nil {
			missing(t, "running as root but there is no postgres user to run the server as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatalf("pgtest: %v", err)
		}
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pgtest: finding a free port: %v", err)
	}
	s.port = l.Addr().(*net.TCPAddr).Port
	l.Close()

	if out, err := s.run("initdb", "-D", dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "-N"); err != nil {
		// As root, the usual cause is a TMPDIR the postgres user cannot enter.
		t.Fatalf("pgtest: initdb in %s: %v\n%s", dir, err, out)
	}
	// The options of scripts/postgres go into the cluster's own config
	// rather than pg_ctl -o, so every later Start uses the same port and
	// socket directory without repeating them.
	conf := fmt.Sprintf("port = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\n"+
		"fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 300\n", s.port, dir)
	f, err := os.OpenFile(filepath.Join(dir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString(conf)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		t.Fatalf("pgtest: writing postgresql.conf: %v", err)
	}
	s.Start(t)
	return s
}

// DSN is the URL of the server's postgres database, as the superuser
// postgres with trust authentication. It stays the same across Stop and
// Start.
func (s *Server) DSN() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
}

// Stop shuts the server down (fast mode: open connections are cut) and
// returns once it has exited.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if out, err := s.pgCtl("-m", "fast", "-w", "stop"); err != nil {
		t.Fatalf("pgtest: stopping the server: %v\n%s", err, out)
	}
}

// Start starts a stopped server again, on the same port and data, and
// returns once it accepts connections.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	if out, err := s.pgCtl("-l", filepath.Join(s.dir, "server.log"), "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
		t.Fatalf("pgtest: starting the server on port %d: %v\n%s\n%s", s.port, err, out, log)
	}
}

// binDir finds PostgreSQL's tools: Debian's newest major version, else
// whatever pg_ctl is on PATH. It returns "" when there is none.
func binDir() string {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	best, bestMajor := "", -1
	for _, b := range bins {
		// Compare majors as numbers: as strings, "9.6" sorts after "16".
		v, _, _ := strings.Cut(filepath.Base(filepath.Dir(filepath.Dir(b))), ".")
		if major, err := strconv.Atoi(v); err == nil && major > bestMajor {
			best, bestMajor = filepath.Dir(b), major
		}
	}
	if best == "" {
		if p, err := exec.LookPath("pg_ctl"); err == nil {
			best = filepath.Dir(p)
		}
	}
	return best
}

func (s *Server) pgCtl(args ...string) ([]byte, error) {
	return s.run("pg_ctl", append([]string{"-D", s.dir}, args...)...)
}

// run runs one of PostgreSQL's tools, as the postgres user when we are
// root. It runs in the data directory because the tools fail in a working
// directory the postgres user cannot enter, such as root's.
func (s *Server) run(tool string, args ...string) ([]byte, error) {
	name := filepath.Join(s.bin, tool)
	if s.asRoot {
		args = append([]string{"-u", "postgres", "--", name}, args...)
		name = "runuser"
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = s.dir
	return cmd.CombinedOutput()
}

// missing skips the test for lack of PostgreSQL, or fails it in CI.
func missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal("pgtest: " + why + "; CI must run the PostgreSQL tests")
	}
	t.Skip("pgtest: " + why)
}
