package caddymodule

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/stsgate/stsgate/core"
	"github.com/stsgate/stsgate/internal/conformance"
)

// provisioned provisions h in ctx and cleans it up at the end of the test.
func provisioned(t *testing.T, ctx caddy.Context, h *Handler) *Handler {
	t.Helper()
	if err := h.Provision(ctx); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	t.Cleanup(func() {
		if err := h.Cleanup(); err != nil {
			t.Errorf("Cleanup: %v", err)
		}
	})
	if err := h.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return h
}

func newCaddyContext(t *testing.T) caddy.Context {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	return ctx
}

// chain puts the handlers in front of the conformance next handler, first
// handler outermost, as a Caddy route does.
func chain(handlers []*Handler) http.Handler {
	var next caddyhttp.Handler = caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.WriteHeader(conformance.NextStatus)
		_, err := w.Write([]byte(conformance.NextBody))
		return err
	})
	for i := len(handlers) - 1; i >= 0; i-- {
		h, inner := handlers[i], next
		next = caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			return h.ServeHTTP(w, r, inner)
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := next.ServeHTTP(w, r); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
}

// TestConformanceInProcess runs the conformance table (docs/api.md) through the module's
// handlers, configured from the Caddyfile and provisioned in a Caddy
// context, without the binary. TestCaddyConformance runs the same table
// against the built Caddy.
func TestConformanceInProcess(t *testing.T) {
	env := newConformanceEnv(t)
	secrets := map[string]string{}
	caddyfile := siteCaddyfile(2019, 8080, env.Mounts(), secrets)
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	ctx := newCaddyContext(t)
	var handlers []*Handler
	for _, h := range adaptedHandlers(t, caddyfile) {
		h := h
		handlers = append(handlers, provisioned(t, ctx, &h))
	}
	conformance.Run(t, env, conformance.HandlerDoer(chain(handlers)))

	t.Run("metrics", func(t *testing.T) {
		families, err := ctx.GetMetricsRegistry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]*dto.MetricFamily{}
		for _, f := range families {
			byName[f.GetName()] = f
		}
		requests := byName["caddy_sts_token_requests_total"]
		if got := counterWith(requests, map[string]string{"route": "token", "outcome": "issued"}); got < 1 {
			t.Errorf("requests_total{route=token,outcome=issued} = %v", got)
		}
		if got := counterWith(requests, map[string]string{"route": "token", "outcome": "sts_rejected"}); got < 2 {
			t.Errorf("requests_total{route=token,outcome=sts_rejected} = %v", got)
		}
		calls := byName["caddy_sts_token_sts_call_duration_seconds"]
		var timeouts uint64
		for _, m := range calls.GetMetric() {
			if labelsMatch(m, map[string]string{"outcome": "sts_timeout"}) {
				timeouts += m.GetHistogram().GetSampleCount()
			}
		}
		if timeouts != 1 {
			t.Errorf("sts_call_duration_seconds{outcome=sts_timeout} count = %d, want 1", timeouts)
		}
		if f := byName["caddy_sts_token_jwks_fetches_total"]; f == nil || f.GetMetric()[0].GetCounter().GetValue() < 1 {
			t.Errorf("jwks_fetches_total missing or zero: %v", f)
		}
		if byName["caddy_sts_token_jwks_fetch_failures_total"] == nil {
			t.Error("jwks_fetch_failures_total missing")
		}
	})
}

func labelsMatch(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, l := range m.GetLabel() {
		if v, ok := want[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

func counterWith(f *dto.MetricFamily, labels map[string]string) float64 {
	var sum float64
	for _, m := range f.GetMetric() {
		if labelsMatch(m, labels) {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

func minimalHandler() *Handler {
	return &Handler{
		EndpointURL: "http://s3.test:9000",
		STSEndpoint: "http://127.0.0.1:1",
		RoleARN:     "arn:aws:iam:::role/ok",
		JWT:         &JWTConfig{Issuer: "https://idp.test"},
	}
}

// TestProvisionResolvesSecretPlaceholders: {env.X} in access_key,
// secret_key and hmac_secret are resolved into the issuer's config only; the
// module's own (JSON) config keeps the placeholders.
func TestProvisionResolvesSecretPlaceholders(t *testing.T) {
	t.Setenv("STSGATE_TEST_AK", "AKIDFROMENV")
	t.Setenv("STSGATE_TEST_SK", "secret-from-env")
	t.Setenv("STSGATE_TEST_HMAC", "hmac-from-env-0123456789-0123456789-0123456789")
	h := minimalHandler()
	h.AccessKey = "{env.STSGATE_TEST_AK}"
	h.SecretKey = "{env.STSGATE_TEST_SK}"
	h.JWT.HMACSecret = "{env.STSGATE_TEST_HMAC}"
	provisioned(t, newCaddyContext(t), h)
	if c := h.cfg.Credentials; c.AccessKey != "AKIDFROMENV" || c.SecretKey != "secret-from-env" {
		t.Errorf("credentials not resolved: %q", c.AccessKey)
	}
	if h.cfg.JWT.HMACSecret != "hmac-from-env-0123456789-0123456789-0123456789" {
		t.Error("hmac_secret not resolved")
	}
	out, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"AKIDFROMENV", "secret-from-env", "hmac-from-env"} {
		if strings.Contains(string(out), secret) {
			t.Errorf("the JSON config holds a resolved secret: %s", out)
		}
	}
}

// TestValidateNamesTheOption: Provision of an invalid config builds
// nothing, and Validate names the option.
func TestProvisionNamesTheOption(t *testing.T) {
	cases := map[string]func(h *Handler){
		"role_arn":             func(h *Handler) { h.RoleARN = "" },
		"endpoint_url":         func(h *Handler) { h.EndpointURL = "" },
		"mode":                 func(h *Handler) { h.Mode = "assume" },
		"duration":             func(h *Handler) { h.Duration = caddy.Duration(60e9) },
		"jwt.leeway":           func(h *Handler) { l := caddy.Duration(-1); h.JWT.Leeway = &l },
		"jwt.refresh_cooldown": func(h *Handler) { h.JWT.RefreshCooldown = caddy.Duration(-1) },
		"jwt.fetch_timeout":    func(h *Handler) { h.JWT.FetchTimeout = caddy.Duration(-1) },
		"timeout":              func(h *Handler) { h.Timeout = caddy.Duration(-1) },
		"jwt":                  func(h *Handler) { h.JWT = nil },
		"sts_endpoint":         func(h *Handler) { h.STSEndpoint = "rgw:8080" },
		"access_key":           func(h *Handler) { h.SecretKey = "s" },
	}
	for option, edit := range cases {
		t.Run(option, func(t *testing.T) {
			h := minimalHandler()
			edit(h)
			err := h.Provision(newCaddyContext(t))
			defer h.Cleanup()
			var cfgErr *core.ConfigError
			if err == nil || !errorsAs(err, &cfgErr) || cfgErr.Option != option {
				t.Fatalf("Provision = %v, want a ConfigError naming %s", err, option)
			}
			if verr := h.Validate(); verr == nil || verr.Error() != err.Error() {
				t.Fatalf("Validate = %v, want Provision's error", verr)
			}
			if h.issuer != nil || h.sts != nil {
				t.Error("an invalid config should build nothing")
			}
		})
	}
}

// TestCleanupAfterFailedProvision: Cleanup works on a handler whose
// Provision failed, and on one never provisioned.
func TestCleanupAfterFailedProvision(t *testing.T) {
	h := minimalHandler()
	h.CAFile = "/nonexistent/ca.pem"
	err := h.Provision(newCaddyContext(t))
	if err == nil || !strings.Contains(err.Error(), "ca_file") {
		t.Fatalf("Provision = %v, want an error naming ca_file", err)
	}
	if err := h.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if err := new(Handler).Cleanup(); err != nil {
		t.Fatal(err)
	}
}

// TestServeHTTPPassesOtherPaths: a request for another path reaches next
// untouched, and next's error is returned to Caddy.
func TestServeHTTPPassesOtherPaths(t *testing.T) {
	h := provisioned(t, newCaddyContext(t), minimalHandler())
	called := false
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		called = true
		return caddyhttp.Error(http.StatusTeapot, nil)
	})
	req, _ := http.NewRequest(http.MethodGet, "/apis/sts/tokens", nil)
	err := h.ServeHTTP(nil, req, next)
	if !called {
		t.Fatal("next was not called")
	}
	if he, ok := err.(caddyhttp.HandlerError); !ok || he.StatusCode != http.StatusTeapot {
		t.Fatalf("next's error was not returned: %v", err)
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
