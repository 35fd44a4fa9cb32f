package e2e

// Several trusted issuers in one gateway, end to end: people with Ory
// Hydra's tokens and workloads with the Kubernetes API server's
// service-account tokens, each mapped to its own role, through Caddy and
// Traefik, on MinIO and on Ceph RGW; then Hydra stops and the workloads
// keep getting credentials.

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stsgate/stsgate/core"
	"github.com/stsgate/stsgate/internal/conformance"
)

// peopleAndWorkloads trusts Hydra (people, peopleRole, named by
// preferred_username) and the API server (namespace backup, workloadRole,
// named by service account) instead of base's jwt block.
func peopleAndWorkloads(base core.Config, h *hydraServer, k *kubeAPI, peopleRole, workloadRole string) core.Config {
	people, workloads := core.DefaultConfig().JWT, core.DefaultConfig().JWT
	people.Issuer, people.Audience, people.RoleARN = h.Issuer, []string{conformance.Audience}, peopleRole
	workloads.Issuer, workloads.CAFile, workloads.Audience = k.URL, k.CAFile, []string{kubeAudience}
	workloads.Roles = []core.RoleRule{{Claim: "/kubernetes.io/namespace", Value: "backup", RoleARN: workloadRole}}
	workloads.SessionNameClaims = []string{"/kubernetes.io/serviceaccount/name"}
	base.JWT = core.DefaultConfig().JWT
	base.RoleARN = ""
	base.Issuers = []core.JWTConfig{people, workloads}
	return base
}

func TestSeveralIssuersHydraAndKubernetes(t *testing.T) {
	h := startHydra(t)
	k := startKube(t)
	minio := newMinIOEnv(t)
	rgw := newRGWEnv(t)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam:::user/gateway"]},"Action":["sts:AssumeRole"]}]}`
	rgw.RGW.admin(t, "role", "create", "--role-name=Workloads", "--assume-role-policy-doc="+trust)
	rgw.RGW.admin(t, "role-policy", "put", "--role-name=Workloads", "--policy-name=AllS3",
		`--policy-doc={"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":"arn:aws:s3:::*"}]}`)

	type backend struct {
		name                     string
		endpoint                 string
		base                     core.Config
		peopleRole, workloadRole string
	}
	backends := []backend{
		{"minio", minio.MinIO.URL, minio.baseConfig(), "arn:minio:iam:::role/people", "arn:minio:iam:::role/workloads"},
		{"rgw", rgw.RGW.URL, rgw.baseConfig(), rgw.RGW.RoleARN, "arn:aws:iam:::role/Workloads"},
	}
	type gateway struct {
		name, tokenURL string
		rec            *stsRecorder
		b              backend
	}
	var gateways []gateway
	person := h.userToken(t, "u-5e1c", map[string]any{"preferred_username": "erin"})
	for _, b := range backends {
		for _, gw := range []gatewayTarget{{"caddy", startCaddyGateway}, {"traefik", startTraefikGateway}} {
			// Started by the whole test: they serve on after Hydra stops.
			rec := newSTSRecorder(t, b.endpoint)
			cfg := peopleAndWorkloads(b.base, h, k, b.peopleRole, b.workloadRole)
			cfg.STS.Endpoint = rec.URL
			tokenURL := gw.start(t, cfg) + cfg.Prefix + "/token"
			gateways = append(gateways, gateway{b.name + "/" + gw.name, tokenURL, rec, b})
			t.Run(b.name+"/"+gw.name, func(t *testing.T) {
				ctx := testContext(t)
				for _, who := range []struct {
					name, bearer, role, session string
				}{
					{"person", person, b.peopleRole, "erin"},
					{"workload", k.serviceAccountToken(t, "backup", "nightly", kubeAudience), b.workloadRole, "nightly"},
				} {
					doc := mustIssue(t, tokenURL, who.bearer, b.endpoint)
					last := rec.Forms()[len(rec.Forms())-1]
					if last.Get("RoleArn") != who.role || last.Get("RoleSessionName") != who.session {
						t.Errorf("%s: the STS got %s as %s; want %s as %s", who.name, last.Get("RoleArn"), last.Get("RoleSessionName"), who.role, who.session)
					}
					bucketRoundTrip(t, ctx, doc.S3(), fmt.Sprintf("issuers-%s-%s-%s", b.name, gw.name, who.name), "from "+who.name)
				}
				// The people's role_arn is theirs: a workload of a namespace
				// no workload rule admits gets nothing.
				if status, body, _ := putToken(t, tokenURL, k.serviceAccountToken(t, "web", "frontend", kubeAudience)); status != http.StatusForbidden {
					t.Errorf("a workload no rule admits: %d %s; want 403", status, body)
				}
			})
		}
	}

	h.stop()
	t.Run("Hydra stopped", func(t *testing.T) {
		for _, g := range gateways {
			// A service account never seen before: its token is verified
			// in full, with the API server's keys.
			bearer := k.serviceAccountToken(t, "backup", "after-hydra-"+g.b.name, kubeAudience)
			mustIssue(t, g.tokenURL, bearer, g.b.endpoint)
			if last := g.rec.Forms()[len(g.rec.Forms())-1]; last.Get("RoleArn") != g.b.workloadRole {
				t.Errorf("%s: the STS got role %s; want %s", g.name, last.Get("RoleArn"), g.b.workloadRole)
			}
		}
	})
}
