package e2e

import (
	"testing"

	"github.com/stsgate/stsgate/core"
	"github.com/stsgate/stsgate/internal/conformance"
)

// startTraefikGateway runs the plugin in a real Traefik (startTraefik of
// traefik_test.go) with cfg as its one middleware on a catch-all router.
func startTraefikGateway(t *testing.T, cfg core.Config) string {
	t.Helper()
	backend := startBackend(t, conformance.NextHandler())
	dynamic := traefikDynamic(
		[]conformance.Mount{{Name: "minio", Config: cfg}},
		[]traefikRoute{{name: "all", rule: "PathPrefix(`/`)", backend: backend}},
	)
	return startTraefik(t, dynamic).URL
}
