package e2e

// Gateway targets: each starts a gateway serving one core.Config and returns
// its base URL (scheme://host:port; the routes are under cfg.Prefix). A
// scenario written once runs through every target.

import (
	"net/http"
	"net/http/httptest"
	"testing"

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
