package httpapi

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse-authz/gatehouse/engine"
	"github.com/gatehouse-authz/gatehouse/policy"
)

// metrics are the server's Prometheus series.
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	allowed  prometheus.Counter
	denied   prometheus.Counter
	// condEvals and condErrors count grant conditions evaluated by
	// decisions, and those that failed to evaluate (G3).
	condEvals, condErrors prometheus.Counter
	inflight              prometheus.Gauge
	registry              *prometheus.Registry
	collector             *engineCollector
	routes                sync.Map // pattern → *routeMetrics
}

func newMetrics(reg *prometheus.Registry, e *engine.Engine, perWorkspace bool) *metrics {
	m := &metrics{
		registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_http_requests_total",
			Help: "HTTP requests by route pattern and status code."}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gatehouse_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern.",
			Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}},
			[]string{"route"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "gatehouse_http_requests_in_flight",
			Help: "HTTP requests being served."}),
	}
	decisions := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_decisions_total",
		Help: "Decisions (check, batch items) by result."}, []string{"result"})
	m.allowed, m.denied = decisions.WithLabelValues("allowed"), decisions.WithLabelValues("denied")
	m.condEvals = prometheus.NewCounter(prometheus.CounterOpts{Name: "gatehouse_condition_evaluations_total",
		Help: "Grant conditions evaluated by decisions (G1)."})
	m.condErrors = prometheus.NewCounter(prometheus.CounterOpts{Name: "gatehouse_condition_errors_total",
		Help: "Grant conditions that failed to evaluate, each denying (G3)."})
	m.collector = &engineCollector{e: e, perWorkspace: perWorkspace,
		workspaces: prometheus.NewDesc("gatehouse_workspaces", "Workspaces this node serves.", nil, nil),
		allMembers: prometheus.NewDesc("gatehouse_members", "Members in the snapshots of every workspace this node serves.", nil, nil),
		flushes:    prometheus.NewDesc("gatehouse_usage_flushes_total", "Usage flushes (U1) by result.", []string{"result"}, nil),
	}
	if perWorkspace {
		m.collector.revision = prometheus.NewDesc("gatehouse_snapshot_revision", "The revision of the workspace's snapshot served.", []string{"workspace"}, nil)
		m.collector.members = prometheus.NewDesc("gatehouse_snapshot_members", "Members in the workspace's snapshot.", []string{"workspace"}, nil)
	}
	reg.MustRegister(m.requests, m.latency, m.inflight, decisions, m.condEvals, m.condErrors, m.collector,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// decisions counts n decisions, allowed or denied; a batch adds its
// counts once rather than contending on the counters for every item.
// conditions counts grant conditions evaluated and failed (G1, G3).
func (m *metrics) conditions(evaluated, failed int) {
	if evaluated > 0 {
		m.condEvals.Add(float64(evaluated))
	}
	if failed > 0 {
		m.condErrors.Add(float64(failed))
	}
}

func (m *metrics) decisions(allowed bool, n int) {
	if n <= 0 {
		return
	}
	if allowed {
		m.allowed.Add(float64(n))
	} else {
		m.denied.Add(float64(n))
	}
}

// engineCollector reads the engine's state at scrape time. Series per
// workspace are only there when asked for (Config.MetricsPerWorkspace):
// they name every tenant, and are one series each at 10,000 of them.
type engineCollector struct {
	e                               *engine.Engine
	perWorkspace                    bool
	workspaces, allMembers, flushes *prometheus.Desc
	revision, members               *prometheus.Desc // per workspace; nil when off
}

func (c *engineCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.workspaces
	ch <- c.allMembers
	ch <- c.flushes
	if c.perWorkspace {
		ch <- c.revision
		ch <- c.members
	}
}

func (c *engineCollector) Collect(ch chan<- prometheus.Metric) {
	if c.e == nil {
		return
	}
	served, members := 0, 0
	for _, ws := range c.e.Workspaces() {
		if s, err := c.e.Snapshot(ws); err == nil {
			served++
			members += s.NumMembers()
			if c.perWorkspace {
				ch <- prometheus.MustNewConstMetric(c.revision, prometheus.GaugeValue, float64(s.Revision()), ws)
				ch <- prometheus.MustNewConstMetric(c.members, prometheus.GaugeValue, float64(s.NumMembers()), ws)
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(c.workspaces, prometheus.GaugeValue, float64(served))
	ch <- prometheus.MustNewConstMetric(c.allMembers, prometheus.GaugeValue, float64(members))
	ok, failed := c.e.Flushes()
	ch <- prometheus.MustNewConstMetric(c.flushes, prometheus.CounterValue, float64(ok), "ok")
	ch <- prometheus.MustNewConstMetric(c.flushes, prometheus.CounterValue, float64(failed), "failed")
}

// Metrics serves the server's Prometheus metrics. The API itself does
// not: the caller serves this on a listener of its own (--metrics-addr,
// loopback by default), where no API client reaches it (W1).
func (s *Server) Metrics() http.Handler {
	return promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{})
}

// routeMetrics are one route's series, resolved once: looking label
// values up on every request would cost more than a check.
type routeMetrics struct {
	latency prometheus.Observer
	byCode  sync.Map // status int → prometheus.Counter
	m       *metrics
	route   string
}

func (m *metrics) route(pattern string) *routeMetrics {
	if rm, ok := m.routes.Load(pattern); ok {
		return rm.(*routeMetrics)
	}
	rm, _ := m.routes.LoadOrStore(pattern, &routeMetrics{latency: m.latency.WithLabelValues(pattern), m: m, route: pattern})
	return rm.(*routeMetrics)
}

func (rm *routeMetrics) observe(status int, d time.Duration) {
	c, ok := rm.byCode.Load(status)
	if !ok {
		c, _ = rm.byCode.LoadOrStore(status, rm.m.requests.WithLabelValues(rm.route, strconv.Itoa(status)))
	}
	c.(prometheus.Counter).Inc()
	rm.latency.Observe(d.Seconds())
}

// recorder remembers the status a handler wrote.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (SSE flushes
// and deadlines).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// instrument counts and times every request by its route pattern, logs
// it at debug level, and turns a panic into a logged internal error.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		s.metrics.inflight.Inc()
		defer func() {
			s.metrics.inflight.Dec()
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.ErrorContext(r.Context(), "panic serving request", "method", r.Method, "path", r.URL.Path, "panic", p)
				if rec.status == 0 {
					writeJSON(rec, http.StatusInternalServerError, errorBody{Error: errorJSON{Code: policy.CodeInternal, Message: "internal error; the server log has the cause"}})
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			if rec.status == 0 {
				rec.status = http.StatusOK
			}
			d := time.Since(start)
			s.metrics.route(route).observe(rec.status, d)
			s.log.DebugContext(r.Context(), "request", "method", r.Method, "route", route, "status", rec.status, "duration", d)
		}()
		next.ServeHTTP(rec, r)
	})
}
