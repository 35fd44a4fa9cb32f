package core

import "time"

// Metrics receives counts and timings. The Caddy build feeds Prometheus
// through Caddy's registry; the default drops them.
type Metrics interface {
	// Request counts one answered request by route (token, healthz) and
	// outcome (issued, ok, or a Kind's outcome label).
	Request(route, outcome string)
	// STSCall times one call to the STS (all retries) by outcome.
	STSCall(d time.Duration, outcome string)
}

type noMetrics struct{}

func (noMetrics) Request(route, outcome string)           {}
func (noMetrics) STSCall(d time.Duration, outcome string) {}
