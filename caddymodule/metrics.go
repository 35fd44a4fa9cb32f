package caddymodule

import (
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stsgate/stsgate/core"
)

// The module's Prometheus metrics, registered in Caddy's registry (one per
// loaded config, so a reload starts from a fresh registry and leaves
// nothing behind). The handlers of one config share the collectors: the
// first registers them, the others find them through
// prometheus.AlreadyRegisteredError.
const (
	metricsNamespace = "caddy"
	metricsSubsystem = "sts_token"
)

// metrics implements core.Metrics.
type metrics struct {
	requests *prometheus.CounterVec
	stsCalls *prometheus.HistogramVec
	keys     *keyStats
}

// newMetrics registers (or finds) the collectors in reg. A nil reg gives
// nil metrics.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	requests, err := registerOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metricsNamespace,
		Subsystem: metricsSubsystem,
		Name:      "requests_total",
		Help:      "Requests answered by sts_token, by route (token, healthz, credentials), outcome (issued, ok, or the refusal) and the trusted issuer the token named (empty before one is known).",
	}, []string{"route", "outcome", "issuer"}))
	if err != nil {
		return nil, err
	}
	stsCalls, err := registerOrReuse(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: metricsNamespace,
		Subsystem: metricsSubsystem,
		Name:      "sts_call_duration_seconds",
		Help:      "Duration of STS calls (all attempts of one call), by outcome.",
		Buckets:   []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"outcome"}))
	if err != nil {
		return nil, err
	}
	keys, err := registerOrReuse(reg, newKeyStats())
	if err != nil {
		return nil, err
	}
	return &metrics{requests: requests, stsCalls: stsCalls, keys: keys}, nil
}

// countKeys adds an issuer's key source to the JWKS fetch counters.
func (m *metrics) countKeys(src core.StatsKeySet) {
	m.keys.add(src)
}

// Request counts one answered request.
func (m *metrics) Request(route, outcome, issuer string) {
	m.requests.WithLabelValues(route, outcome, issuer).Inc()
}

// STSCall times one STS call.
func (m *metrics) STSCall(d time.Duration, outcome string) {
	m.stsCalls.WithLabelValues(outcome).Observe(d.Seconds())
}

// registerOrReuse registers c, or returns the equal collector registered
// before it.
func registerOrReuse[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		if existing, ok := already.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}

// keyStats reports the fetches of the key sources of one config's handlers
// (discovery and JWKS requests, JWKS file reads) as two counters.
type keyStats struct {
	fetches  *prometheus.Desc
	failures *prometheus.Desc

	mu      sync.Mutex
	sources []core.StatsKeySet
}

func newKeyStats() *keyStats {
	return &keyStats{
		fetches: prometheus.NewDesc(
			prometheus.BuildFQName(metricsNamespace, metricsSubsystem, "jwks_fetches_total"),
			"Key fetches started by sts_token (OIDC discovery, JWKS requests, JWKS file reads).", nil, nil),
		failures: prometheus.NewDesc(
			prometheus.BuildFQName(metricsNamespace, metricsSubsystem, "jwks_fetch_failures_total"),
			"Key fetches by sts_token that failed.", nil, nil),
	}
}

// add counts src too, once however many handlers share it (the core shares
// a key source among the issuers with the same settings).
func (k *keyStats) add(src core.StatsKeySet) {
	if src == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, s := range k.sources {
		if s == src {
			return
		}
	}
	k.sources = append(k.sources, src)
}

// Describe implements prometheus.Collector.
func (k *keyStats) Describe(ch chan<- *prometheus.Desc) {
	ch <- k.fetches
	ch <- k.failures
}

// Collect implements prometheus.Collector.
func (k *keyStats) Collect(ch chan<- prometheus.Metric) {
	k.mu.Lock()
	var fetches, failures uint64
	for _, s := range k.sources {
		f, e := s.Stats()
		fetches += f
		failures += e
	}
	k.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(k.fetches, prometheus.CounterValue, float64(fetches))
	ch <- prometheus.MustNewConstMetric(k.failures, prometheus.CounterValue, float64(failures))
}

// Interface guards
var (
	_ core.Metrics         = (*metrics)(nil)
	_ prometheus.Collector = (*keyStats)(nil)
)
