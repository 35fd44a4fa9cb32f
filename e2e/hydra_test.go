package e2e

// Ory Hydra's real tokens through every gateway target: found by OIDC
// discovery, bought as credentials on MinIO in both modes, and accepted
// across a rotation of Hydra's signing keys while requests flow.

import (
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stsgate/stsgate/core"
	"github.com/stsgate/stsgate/internal/conformance"
	"github.com/stsgate/stsgate/internal/testproc"
)

var hydraScenarios = []scenario[*hydraEnv]{
	{"discovery", hydraDiscovery},
	{"web_identity", hydraWebIdentity},
	{"key_rotation", hydraKeyRotation},
}

// hydraEnv is Hydra and a MinIO that trusts it for web identity.
type hydraEnv struct {
	Hydra *hydraServer
	minio *minioEnv
}

// TestHydra starts Hydra and a MinIO trusting it, then runs every scenario
// through every gateway target.
func TestHydra(t *testing.T) {
	h := startHydra(t)
	m := startMinIO(t, testproc.Binary(t, "STSGATE_MINIO", "../.cache/bin/minio"), h.Issuer+"/.well-known/openid-configuration", "")
	env := &hydraEnv{Hydra: h, minio: &minioEnv{MinIO: m, GatewayAK: "stsgate-gateway", GatewaySK: "stsgate-gateway-secret"}}
	env.minio.addUser(t, env.minio.GatewayAK, env.minio.GatewaySK, "readwrite")
	runScenarios(t, env, hydraScenarios)
}

// config is an assume_role configuration on MinIO that finds Hydra's keys
// by OIDC discovery from its issuer alone.
func (e *hydraEnv) config() core.Config {
	c := core.DefaultConfig()
	c.EndpointURL = e.minio.MinIO.URL
	c.RoleARN = minioRoleARN
	c.STS.Endpoint = e.minio.MinIO.URL
	c.Credentials = core.CredentialsConfig{AccessKey: e.minio.GatewayAK, SecretKey: e.minio.GatewaySK}
	c.JWT.Issuer = e.Hydra.Issuer
	c.JWT.Audience = []string{conformance.Audience}
	return c
}

// hydraDiscovery: a client_credentials token (a UUID subject, aud a list)
// and a person's authorization-code token both buy working credentials;
// the session name names the person.
func hydraDiscovery(t *testing.T, env *hydraEnv, gw gatewayTarget) {
	ctx := testContext(t)
	rec := newSTSRecorder(t, env.minio.MinIO.URL)
	cfg := env.config()
	cfg.STS.Endpoint = rec.URL
	tokenURL := gw.start(t, cfg) + cfg.Prefix + "/token"

	doc := mustIssue(t, tokenURL, env.Hydra.clientToken(t), env.minio.MinIO.URL)
	if _, err := doc.S3().ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil {
		t.Fatalf("list buckets: %v", err)
	}
	forms := rec.Forms()
	if got := forms[len(forms)-1].Get("RoleSessionName"); got != env.Hydra.clientID {
		t.Errorf("client token: RoleSessionName %q, want the client ID %q", got, env.Hydra.clientID)
	}

	user := env.Hydra.userToken(t, "u-7d1f", map[string]any{"preferred_username": "dave smith"})
	mustIssue(t, tokenURL, user, env.minio.MinIO.URL)
	forms = rec.Forms()
	if got := forms[len(forms)-1].Get("RoleSessionName"); got != "dave-smith" {
		t.Errorf("user token: RoleSessionName %q, want dave-smith", got)
	}
}

// hydraWebIdentity: MinIO trusts Hydra; the gateway forwards a person's
// Hydra token and MinIO's policy claim decides.
func hydraWebIdentity(t *testing.T, env *hydraEnv, gw gatewayTarget) {
	ctx := testContext(t)
	cfg := env.config()
	cfg.Mode = core.ModeWebIdentity
	cfg.RoleARN = ""
	cfg.Credentials = core.CredentialsConfig{}
	tokenURL := gw.start(t, cfg) + cfg.Prefix + "/token"
	user := env.Hydra.userToken(t, "u-9a2c", map[string]any{"preferred_username": "erin", minioClaimPolicy: "readwrite"})
	c := mustIssue(t, tokenURL, user, env.minio.MinIO.URL).S3()
	bucket := bucketName("hydra-webid", gw)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
}

// hydraKeyRotation: while a caller keeps asking, Hydra's signing key is
// rotated. Tokens of the new key are accepted within the refresh cool-down,
// tokens of the old key until it is deleted; once the gateway has fetched
// the key set again, a token of the deleted key is refused.
func hydraKeyRotation(t *testing.T, env *hydraEnv, gw gatewayTarget) {
	const cooldown = 2 * time.Second
	cfg := env.config()
	cfg.JWT.RefreshCooldown = cooldown
	tokenURL := gw.start(t, cfg) + cfg.Prefix + "/token"

	old1, old2 := env.Hydra.clientToken(t), env.Hydra.clientToken(t)
	oldKid := kidOf(t, old1)
	mustIssue(t, tokenURL, old1, env.minio.MinIO.URL)

	newKid := env.Hydra.rotateKey(t)
	fresh := env.Hydra.clientToken(t)
	if kidOf(t, fresh) != newKid {
		t.Fatalf("after rotation Hydra signs with %s, want %s", kidOf(t, fresh), newKid)
	}
	waitIssued(t, tokenURL, fresh, cooldown+5*time.Second)
	mustIssue(t, tokenURL, old1, env.minio.MinIO.URL)

	env.Hydra.deleteKey(t, oldKid)
	// The next rotation brings a kid the gateway does not know, so it
	// fetches the key set again (after the cool-down), without the old key.
	env.Hydra.rotateKey(t)
	waitIssued(t, tokenURL, env.Hydra.clientToken(t), cooldown+5*time.Second)
	if status, body, _ := putToken(t, tokenURL, old2); status != http.StatusUnauthorized {
		t.Fatalf("a token of the deleted key: status %d, want 401: %s", status, body)
	}
}

// waitIssued asks until bearer gets a 201, for at most limit.
func waitIssued(t *testing.T, tokenURL, bearer string, limit time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		status, body, _ := putToken(t, tokenURL, bearer)
		if status == http.StatusCreated {
			t.Logf("a token of the new key was accepted after %s", time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Since(start) > limit {
			t.Fatalf("a token of the new key still refused after %s: %d %s", limit, status, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
