package e2e

// Gateway targets: each starts a gateway serving one core.Config and returns
// its base URL (scheme://host:port; the routes are under cfg.Prefix). A
// scenario written once runs through every target.

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stsgate/stsgate/core"
)

type gatewayTarget struct {
	name  string
	start func(t *testing.T, cfg core.Config) string
}

var gatewayTargets = []gatewayTarget{
	{"core", startCoreGateway},
	{"caddy", startCaddyGateway},
	{"traefik", startTraefikGateway},
}

// scenario is one behaviour against a backend environment E, checked
// through every gateway target by runScenarios.
type scenario[E any] struct {
	name string
	run  func(t *testing.T, env E, gw gatewayTarget)
}

// runScenarios runs every scenario through every gateway target, each as
// a subtest, logging how long each took.
func runScenarios[E any](t *testing.T, env E, scenarios []scenario[E]) {
	t.Helper()
	for _, gw := range gatewayTargets {
		t.Run(gw.name, func(t *testing.T) {
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					start := time.Now()
					sc.run(t, env, gw)
					t.Logf("%s/%s: %s", gw.name, sc.name, time.Since(start).Round(time.Millisecond))
				})
			}
		})
	}
}

// startCoreGateway serves the core handler in-process.
func startCoreGateway(t *testing.T, cfg core.Config) string {
	t.Helper()
	iss, err := core.New(cfg, core.Options{})
	if err != nil {
		t.Fatalf("core.New: %v", err)
	}
	srv := httptest.NewServer(iss.Wrap(http.NotFoundHandler()))
	t.Cleanup(srv.Close)
	return srv.URL
}
