package e2e

// The Caddy build without access_key*: the gateway's own keys come from
// aws-sdk-go-v2's default credential chain. Here the chain's EKS IRSA
// shape (a web identity token file and a role ARN) against a real MinIO,
// with AWS_ENDPOINT_URL_STS pointing the SDK's own STS call at it.

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCaddyGatewayKeysFromIRSA: the SDK trades the token file for
// temporary keys at MinIO's STS, and the gateway signs its AssumeRole with
// them (session token included). MinIO then refuses that AssumeRole, by
// its own rule that temporary credentials cannot make more (on AWS this is
// role chaining and succeeds); the refusal reaches the caller as a 502
// naming MinIO's code, which also shows MinIO read the signature as valid.
func TestCaddyGatewayKeysFromIRSA(t *testing.T) {
	env := newMinIOEnv(t)
	dir := t.TempDir()
	// The pod's projected service-account token: a JWT MinIO trusts.
	tokenFile := filepath.Join(dir, "token")
	gatewayToken := env.token("system:serviceaccount:sts:gateway", map[string]any{minioClaimPolicy: "readwrite"})
	if err := os.WriteFile(tokenFile, []byte(gatewayToken), 0o600); err != nil {
		t.Fatal(err)
	}
	rec := newSTSRecorder(t, env.MinIO.URL)
	cfg := env.baseConfig()
	cfg.Credentials.AccessKey, cfg.Credentials.SecretKey = "", ""
	cfg.STS.Endpoint = rec.URL
	base := startCaddyGatewayEnv(t, cfg, []string{
		"AWS_WEB_IDENTITY_TOKEN_FILE=" + tokenFile,
		"AWS_ROLE_ARN=" + minioRoleARN,
		"AWS_ROLE_SESSION_NAME=stsgate-gateway",
		"AWS_ENDPOINT_URL_STS=" + rec.URL,
		"AWS_REGION=" + minioRegion,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "aws-credentials"),
	})
	status, body, _ := putToken(t, base+cfg.Prefix+"/token", env.token("alice", nil))

	forms, headers := rec.Forms(), rec.Headers()
	if len(forms) != 2 {
		t.Fatalf("the STS saw %d calls, want the SDK's and the gateway's: %v", len(forms), forms)
	}
	if f := forms[0]; f.Get("Action") != "AssumeRoleWithWebIdentity" || f.Get("WebIdentityToken") != gatewayToken || f.Get("RoleArn") != minioRoleARN {
		t.Errorf("first call is not the SDK's AssumeRoleWithWebIdentity with the token file: %v", f)
	}
	if f, h := forms[1], headers[1]; f.Get("Action") != "AssumeRole" || h.Get("X-Amz-Security-Token") == "" ||
		!strings.Contains(h.Get("Authorization"), "Credential=") {
		t.Errorf("second call is not an AssumeRole signed with temporary keys: %v, %v", f, h)
	}
	if status != http.StatusBadGateway || !strings.Contains(string(body), "AccessDenied") {
		t.Fatalf("PUT token: status %d, want MinIO's AccessDenied for an AssumeRole by temporary keys: %s", status, body)
	}
}
