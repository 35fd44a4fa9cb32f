package e2e

// A gateway that boots before its IdP (Keycloak still starting): requests
// get 503 while the IdP is down, and tokens are served within seconds of
// the IdP answering, not a refresh cool-down later.

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stsgate/stsgate/core"
	"github.com/stsgate/stsgate/internal/conformance"
	"github.com/stsgate/stsgate/internal/fakests"
	"github.com/stsgate/stsgate/internal/testproc"
)

func TestGatewayStartedBeforeIdP(t *testing.T) {
	fake, err := fakests.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	for _, gw := range gatewayTargets {
		t.Run(gw.name, func(t *testing.T) {
			addr := testproc.LoopbackAddr(t) // the IdP listens here later
			cfg := core.DefaultConfig()
			cfg.EndpointURL = "http://s3.test:9000"
			cfg.RoleARN = fakests.RoleOK
			cfg.STS.Endpoint = fake.URL
			cfg.Credentials = core.CredentialsConfig{AccessKey: "AKIDGATEWAY", SecretKey: "gateway-secret"}
			cfg.JWT.Issuer = "http://" + addr
			cfg.JWT.Audience = []string{conformance.Audience}
			tokenURL := gw.start(t, cfg) + cfg.Prefix + "/token"

			// While the IdP is down, for about two seconds: 503.
			early, err := conformance.NewIdP()
			if err != nil {
				t.Fatal(err)
			}
			early.Close()
			claims := early.Claims(time.Now(), "jane")
			claims["iss"] = cfg.JWT.Issuer
			unverifiable := conformance.Sign("RS256", early.RSA, claims, nil)
			for start := time.Now(); time.Since(start) < 2*time.Second; time.Sleep(200 * time.Millisecond) {
				status, body, _ := putToken(t, tokenURL, unverifiable)
				var p struct{ Detail string }
				_ = json.Unmarshal(body, &p)
				if status != http.StatusServiceUnavailable || p.Detail != "token signing keys are unavailable" {
					t.Fatalf("IdP down: status %d, want 503: %s", status, body)
				}
			}

			idp, err := conformance.NewIdPAt(addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(idp.Close)
			up := time.Now()
			token := conformance.Sign("RS256", idp.RSA, idp.Claims(time.Now(), "jane"), nil)
			for {
				status, body, _ := putToken(t, tokenURL, token)
				if status == http.StatusCreated {
					break
				}
				// The backoff after failures started at 1s and doubles, so
				// the retry is a few seconds away (the log says how many);
				// the bound only tells that from the refresh cool-down (1m)
				// a failure used to wait, without timing a noisy machine.
				if time.Since(up) > core.DefaultRefreshCooldown/2 {
					t.Fatalf("no 201 within %s of the IdP answering: %d %s", core.DefaultRefreshCooldown/2, status, body)
				}
				time.Sleep(100 * time.Millisecond)
			}
			t.Logf("%s: first 201 %s after the IdP answered", gw.name, time.Since(up).Round(10*time.Millisecond))
		})
	}
}
