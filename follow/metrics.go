package follow

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the follower's Prometheus series.
type metrics struct {
	propagation prometheus.Histogram
	syncs       *prometheus.CounterVec
	polled      prometheus.Counter
	collectors  []prometheus.Collector
}

func newMetrics(f *Follower) metrics {
	m := metrics{
		propagation: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "gatehouse_propagation_seconds",
			Help:    "Time from another node's commit of a change to its snapshot serving here (clocks of both nodes).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}}),
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_sync_total",
			Help: "Polls of every workspace's stored revision, by result."}, []string{"result"}),
		polled: prometheus.NewCounter(prometheus.CounterOpts{Name: "gatehouse_sync_followed_total",
			Help: "Workspaces brought up to date by a poll rather than a notice (notices lost, or the node was away)."}),
	}
	m.collectors = []prometheus.Collector{m.propagation, m.syncs, m.polled,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_snapshot_age_seconds",
			Help: "Time since this node last confirmed it holds every committed change."},
			func() float64 { return f.Status().Age.Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_snapshot_stale",
			Help: "1 while the snapshots may miss changes (the database unreachable beyond the stale threshold)."},
			func() float64 { return boolFloat(f.Status().Stale) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_change_notices_listening",
			Help: "1 while change notices flow from the database; 0 means changes arrive with the poll."},
			func() float64 { return boolFloat(f.Status().Listening) }),
	}
	return m
}

// Register adds the follower's series to reg.
func (f *Follower) Register(reg prometheus.Registerer) error {
	for _, c := range f.m.collectors {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
