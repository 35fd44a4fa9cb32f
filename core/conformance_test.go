package core_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/stsgate/stsgate/core"
	"github.com/stsgate/stsgate/internal/conformance"
	"github.com/stsgate/stsgate/internal/fakests"
	"github.com/stsgate/stsgate/internal/testproc"
)

// TestConformance runs the conformance table (docs/api.md) against the core alone; the Caddy
// and Traefik builds run the very same table against their binaries.
func TestConformance(t *testing.T) {
	env, err := conformance.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	h, err := env.Handler(core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	conformance.Run(t, env, conformance.HandlerDoer(h))
}

// TestLogsHoldNoSecrets captures every log line of a full conformance run at
// Debug and looks for every bearer token sent and every secret in play.
func TestLogsHoldNoSecrets(t *testing.T) {
	env, err := conformance.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	var logs testproc.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h, err := env.Handler(core.Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	var sent []string
	recording := conformance.RecordingDoer(conformance.HandlerDoer(h), &sent)
	for _, c := range conformance.Cases() {
		_ = conformance.Check(env, recording, c)
	}
	out := logs.String()
	if !strings.Contains(out, `"outcome":"issued"`) || !strings.Contains(out, `"outcome":"invalid_token"`) {
		t.Fatalf("expected audit lines for issued and refused tokens, got:\n%s", out)
	}
	secrets := append([]string{
		conformance.GatewaySecretKey,
		fakests.SecretAccessKey,
		fakests.SessionToken,
		string(env.IdP.HMACSecret),
	}, sent...)
	for _, probe := range conformance.LeakedFragments(out, secrets) {
		t.Errorf("log output holds a secret or token fragment %.12q…", probe)
	}
	if !strings.Contains(out, fakests.AccessKeyID) {
		t.Errorf("audit lines should name the AccessKeyId issued")
	}
}
