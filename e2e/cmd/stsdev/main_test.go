package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stsgate/stsgate/core"
)

// TestKeysAndToken: keys is idempotent, and the gateway's jwks_file loader
// accepts the JWKS and verifies the tokens token mints, claims included.
func TestKeysAndToken(t *testing.T) {
	dir := t.TempDir()
	var first, second bytes.Buffer
	if err := run([]string{"keys", "-dir", dir}, nil, &first); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"keys", "-dir", dir}, nil, &second); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(first.String(), "(created,") || !strings.Contains(second.String(), "(kept,") {
		t.Fatalf("keys is not idempotent:\n%s\n%s", first.String(), second.String())
	}
	kid := func(s string) string { _, after, _ := strings.Cut(s, "kid "); return strings.Fields(after)[0] }
	if kid(first.String()) != kid(second.String()) {
		t.Fatalf("kid changed: %q vs %q", first.String(), second.String())
	}

	var tok bytes.Buffer
	err := run([]string{"token", "-dir", dir, "-sub", "jane", "-aud", "demo", "-iss", "http://issuer.test",
		"-ttl", "10m", "-claim", "team=ops", "-claim", `groups:=["s3-users"]`}, nil, &tok)
	if err != nil {
		t.Fatal(err)
	}
	// The core accepts the minted token: an issuer trusting the JWKS file
	// asks its STS for the caller's session, with the claims in the policy.
	cfg := core.DefaultConfig()
	cfg.EndpointURL = "http://s3.test"
	cfg.RoleARN = "arn:aws:iam:::role/demo"
	cfg.Credentials = core.CredentialsConfig{AccessKey: "AK", SecretKey: "SK"}
	cfg.Policy = `{"claims":"${claim:sub} ${claim:team} ${claim:azp}"}`
	cfg.JWT.Issuer = "http://issuer.test"
	cfg.JWT.Audience = []string{"demo"}
	cfg.JWT.JWKSFile = filepath.Join(dir, jwksFileName)
	sts := &recordingSTS{}
	iss, err := core.New(cfg, core.Options{STS: sts})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPut, "/apis/sts/token", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(tok.String()))
	rec := httptest.NewRecorder()
	iss.ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		t.Fatalf("the core refuses the minted token: %d %s", rec.Code, rec.Body)
	}
	if sts.in.SessionName != "jane" || !strings.Contains(sts.in.Policy, `"jane ops demo"`) {
		t.Errorf("the STS got session %q and policy %q; want jane, with sub, team and azp", sts.in.SessionName, sts.in.Policy)
	}
	if _, err := os.Stat(filepath.Join(dir, keyFileName)); err != nil {
		t.Fatal(err)
	}
}

func TestS3RefusesNonDocument(t *testing.T) {
	err := run([]string{"s3", "-creds", "-", "ls"}, strings.NewReader(`{"type":"about:blank","status":401}`), &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "no credentials") {
		t.Fatalf("err = %v, want a complaint about missing credentials", err)
	}
}

// recordingSTS answers every AssumeRole and keeps what it was asked.
type recordingSTS struct{ in core.AssumeRoleInput }

func (s *recordingSTS) AssumeRole(_ context.Context, in core.AssumeRoleInput) (core.Credentials, error) {
	s.in = in
	return core.Credentials{AccessKeyID: "AK", SecretAccessKey: "SK", SessionToken: "T", Expiration: time.Now().Add(time.Hour)}, nil
}

func (s *recordingSTS) AssumeRoleWithWebIdentity(ctx context.Context, in core.WebIdentityInput) (core.Credentials, error) {
	return s.AssumeRole(ctx, core.AssumeRoleInput{})
}
