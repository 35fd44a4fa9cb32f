package main

import (
	"bytes"
	"context"
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
	cfg := core.DefaultConfig().JWT
	cfg.Issuer = "http://issuer.test"
	cfg.Audience = []string{"demo"}
	cfg.JWKSFile = filepath.Join(dir, jwksFileName)
	keys, err := core.NewKeySet(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := core.NewVerifier(cfg, keys, time.Now).Verify(context.Background(), strings.TrimSpace(tok.String()))
	if err != nil {
		t.Fatalf("the core refuses the minted token: %v", err)
	}
	for name, want := range map[string]string{"sub": "jane", "preferred_username": "jane", "team": "ops", "azp": "demo"} {
		if got, _ := claims.String(name); got != want {
			t.Errorf("claim %s = %q, want %q", name, got, want)
		}
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
