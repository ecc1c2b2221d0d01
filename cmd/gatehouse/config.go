package main

import (
	"flag"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// serveConfig is gatehouse serve's configuration: flags, each with an
// environment variable as its default (flags win).
type serveConfig struct {
	Addr       string
	Database   string
	Catalog    string
	AdminKey   string
	Demo       bool
	LogLevel   string
	SessionTTL time.Duration
	PollEvery  time.Duration
	MaxStale   time.Duration
	RateLimit  float64
	RateBurst  int
	MaxStreams int
	// MetricsAddr is the metrics listener's address; "" or "off": none.
	MetricsAddr         string
	MetricsPerWorkspace bool
	KeyGrace            time.Duration
	// AuditKeyFile holds the audit keys (X4); see auditkeys.go.
	AuditKeyFile string
	UnkeyedAudit bool
	// PublicURL is the server's URL as clients reach it (AuthZEN metadata).
	PublicURL string
	// FrameAncestors are the origins that may frame the console (X6).
	FrameAncestors []string
}

// envFlags binds flags whose defaults come from the environment.
type envFlags struct {
	fs     *flag.FlagSet
	getenv func(string) string
}

func (e *envFlags) envName(name string) string {
	return "GATEHOUSE_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

func (e *envFlags) string(p *string, name, def, usage string) {
	env := e.envName(name)
	if v := e.getenv(env); v != "" {
		def = v
	}
	e.fs.StringVar(p, name, def, usage+" ($"+env+")")
}

func (e *envFlags) bool(p *bool, name string, usage string) {
	env := e.envName(name)
	def := false
	switch strings.ToLower(e.getenv(env)) {
	case "1", "true", "yes", "on":
		def = true
	}
	e.fs.BoolVar(p, name, def, usage+" ($"+env+")")
}

func (e *envFlags) duration(p *time.Duration, name string, def time.Duration, usage string) error {
	env := e.envName(name)
	if v := e.getenv(env); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("$%s: %w", env, err)
		}
		def = d
	}
	e.fs.DurationVar(p, name, def, usage+" ($"+env+")")
	return nil
}

func (e *envFlags) float(p *float64, name string, def float64, usage string) error {
	env := e.envName(name)
	if v := e.getenv(env); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			return fmt.Errorf("$%s: want a number ≥ 0, got %q", env, v)
		}
		def = f
	}
	e.fs.Float64Var(p, name, def, usage+" ($"+env+")")
	return nil
}

func (e *envFlags) int(p *int, name string, def int, usage string) error {
	env := e.envName(name)
	if v := e.getenv(env); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("$%s: want a whole number ≥ 0, got %q", env, v)
		}
		def = n
	}
	e.fs.IntVar(p, name, def, usage+" ($"+env+")")
	return nil
}

// origins binds a list of origins, comma- or space-separated, each checked
// by check (web.FrameAncestors).
func (e *envFlags) origins(p *[]string, name, usage string, check func(string) ([]string, error)) error {
	env := e.envName(name)
	if v := e.getenv(env); v != "" {
		list, err := check(v)
		if err != nil {
			return fmt.Errorf("$%s: %w", env, err)
		}
		*p = list
	}
	e.fs.Func(name, usage+" ($"+env+")", func(v string) error {
		list, err := check(v)
		if err != nil {
			return err
		}
		*p = list
		return nil
	})
	return nil
}

func parseURL(s string) (*url.URL, error) { return url.Parse(s) }
