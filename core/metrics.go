package core

import "time"

// Metrics receives counts and timings. The Caddy build feeds Prometheus
// through Caddy's registry; without one (Options.Metrics nil) nothing is
// counted.
type Metrics interface {
	// Request counts one answered request by route (token, healthz,
	// credentials), outcome (issued, ok, or a Kind's outcome label) and the
	// trusted issuer the token named ("" before one is known).
	Request(route, outcome, issuer string)
	// STSCall times one call to the STS (all retries) by outcome.
	STSCall(d time.Duration, outcome string)
}
