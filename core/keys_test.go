package core

import (
	"context"
	"crypto/ed25519"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestNewKeySetSelection(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "keys.pem")
	ktWriteFile(t, keyFile, ktPKIX(t, ktEdKey(t).Public()), time.Now())
	notPEM := filepath.Join(dir, "ca.txt")
	ktWriteFile(t, notPEM, []byte("no certificates here"), time.Now())

	tests := []struct {
		name      string
		cfg       JWTConfig
		wantType  string
		wantError string // option named by the *ConfigError; "any": an error
	}{
		{"jwks_url", JWTConfig{JWKSURL: "https://idp.example/jwks-sel-1"}, "*core.remoteKeySet", ""},
		{"jwks_url with issuer", JWTConfig{Issuer: "https://idp.example", JWKSURL: "https://idp.example/jwks-sel-2"}, "*core.remoteKeySet", ""},
		{"jwks_file", JWTConfig{JWKSFile: keyFile}, "*core.fileKeySet", ""},
		{"issuer alone", JWTConfig{Issuer: "https://idp.example/sel-3"}, "*core.discoveryKeySet", ""},
		{"hmac alone", JWTConfig{HMACSecret: "s3cret-s3cret-s3cret-s3cret-s3cret"}, "*core.staticKeySet", ""},
		{"hmac with issuer, HS-only allow-list", JWTConfig{Issuer: "my-app", HMACSecret: "x", Algorithms: []string{"HS256"}}, "*core.staticKeySet", ""},
		{"hmac with jwks_url", JWTConfig{JWKSURL: "https://idp.example/jwks-sel-4", HMACSecret: "x"}, "*core.hmacSplitKeySet", ""},
		{"hmac with issuer", JWTConfig{Issuer: "https://idp.example/sel-5", HMACSecret: "x"}, "*core.hmacSplitKeySet", ""},
		{"nothing", JWTConfig{}, "", "any"},
		{"issuer with HS-only allow-list and no secret", JWTConfig{Issuer: "https://idp.example", Algorithms: []string{"HS256"}}, "", "any"},
		{"ca_file missing", JWTConfig{JWKSURL: "https://idp.example/jwks", CAFile: filepath.Join(dir, "nope.pem")}, "", "jwt.ca_file"},
		{"ca_file without certificates", JWTConfig{JWKSURL: "https://idp.example/jwks", CAFile: notPEM}, "", "jwt.ca_file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ks, err := testKeySet(tc.cfg)
			if tc.wantError != "" {
				ce, ok := err.(*ConfigError)
				if err == nil || tc.wantError != "any" && (!ok || ce.Option != tc.wantError) {
					t.Fatalf("got %v, want a ConfigError for %s", err, tc.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ktTypeName(ks); got != tc.wantType {
				t.Fatalf("got %s, want %s", got, tc.wantType)
			}
			if _, ok := ks.(StatsKeySet); !ok {
				t.Fatal("no Stats")
			}
		})
	}
}

func ktTypeName(v any) string {
	switch v.(type) {
	case *remoteKeySet:
		return "*core.remoteKeySet"
	case *fileKeySet:
		return "*core.fileKeySet"
	case *discoveryKeySet:
		return "*core.discoveryKeySet"
	case *staticKeySet:
		return "*core.staticKeySet"
	case *hmacSplitKeySet:
		return "*core.hmacSplitKeySet"
	}
	return "?"
}

func TestNewKeySetIsLazy(t *testing.T) {
	s := newKTServer(t, []byte(`{"keys":[]}`))
	for _, cfg := range []JWTConfig{
		{JWKSURL: s.srv.URL + "/jwks"},
		{Issuer: s.srv.URL},
		{JWKSFile: filepath.Join(t.TempDir(), "missing.json")},
	} {
		if _, err := testKeySet(cfg); err != nil {
			t.Fatal(err)
		}
	}
	if s.count() != 0 {
		t.Fatalf("%d requests at construction", s.count())
	}
}

// TestKeySetHMACIsolation: the secret goes to HS* only, public keys never do.
func TestKeySetHMACIsolation(t *testing.T) {
	rsaKey := ktRSAKey(t, 2048)
	ed := ktEdKey(t).Public().(ed25519.PublicKey)
	path := filepath.Join(t.TempDir(), "keys.pem")
	ktWriteFile(t, path, append(ktPKIX(t, &rsaKey.PublicKey), ktPKIX(t, ed)...), time.Now())
	secret := "0123456789abcdef0123456789abcdef"

	fromCfg, err := testKeySet(JWTConfig{JWKSFile: path, HMACSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	static, err := newStaticKeySet([]byte(secret), &rsaKey.PublicKey, jsonWebKey{KID: "ed", Key: ed})
	if err != nil {
		t.Fatal(err)
	}
	asymOnly, err := testKeySet(JWTConfig{JWKSFile: path})
	if err != nil {
		t.Fatal(err)
	}
	hmacOnly, err := testKeySet(JWTConfig{HMACSecret: secret})
	if err != nil {
		t.Fatal(err)
	}

	sets := map[string]KeySet{"config": fromCfg, "static": static, "asymmetric only": asymOnly, "hmac only": hmacOnly}
	for name, ks := range sets {
		for _, alg := range []string{"HS256", "HS384", "HS512", "RS256", "PS512", "EdDSA", "ES256", "none", ""} {
			for _, kid := range []string{"", "ed", "other"} {
				got, err := ks.Keys(context.Background(), kid, alg)
				if err != nil {
					t.Fatalf("%s %s: %v", name, alg, err)
				}
				for _, k := range got {
					_, isSecret := k.([]byte)
					if isSecret != isHMACAlg(alg) {
						t.Fatalf("%s: alg %s got a %T", name, alg, k)
					}
					if isSecret && string(k.([]byte)) != secret {
						t.Fatalf("%s: wrong secret", name)
					}
				}
				wantSecret := isHMACAlg(alg) && name != "asymmetric only"
				if wantSecret && len(got) != 1 {
					t.Fatalf("%s %s: got %d keys, want the secret", name, alg, len(got))
				}
				wantRSA := (alg == "RS256" || alg == "PS512") && name != "hmac only"
				if wantRSA && (len(got) != 1 || !rsaKey.PublicKey.Equal(got[0])) {
					t.Fatalf("%s %s kid %q: got %v, want the RSA key", name, alg, kid, got)
				}
				if (alg == "none" || alg == "" || alg == "ES256") && len(got) != 0 {
					t.Fatalf("%s %q: got keys", name, alg)
				}
			}
		}
	}
}

func TestNewStaticKeySetRefusals(t *testing.T) {
	small := ktRSAKey(t, 1024)
	for name, key := range map[string]any{
		"empty secret":           []byte{},
		"small RSA":              &small.PublicKey,
		"private key":            small,
		"string":                 "secret",
		"jsonWebKey with no key": jsonWebKey{KID: "x"},
		"jsonWebKey kty mismatch": jsonWebKey{KID: "x", Kty: "EC",
			Key: ktEdKey(t).Public()},
	} {
		if _, err := newStaticKeySet(key); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if _, err := newStaticKeySet(); err == nil {
		t.Error("no keys accepted")
	}
}

func TestKeySetRegistrySharing(t *testing.T) {
	pubs, jwks := ktEdKeys(t, "a")
	s := newKTServer(t, ktJWKS(t, jwks...))
	cfg := JWTConfig{JWKSURL: s.srv.URL + "/jwks", RefreshCooldown: time.Minute, FetchTimeout: 5 * time.Second}

	// 100 routers, built concurrently, then all asked for a key: one fetch.
	const routers = 100
	sets := make([]KeySet, routers)
	var wg sync.WaitGroup
	for i := 0; i < routers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ks, err := testKeySet(cfg)
			if err != nil {
				t.Error(err)
			}
			sets[i] = ks
		}(i)
	}
	wg.Wait()
	for i, ks := range sets {
		got, err := ks.Keys(context.Background(), "a", "EdDSA")
		if err != nil || len(got) != 1 || !pubs["a"].Equal(got[0]) {
			t.Fatalf("router %d: %v, %v", i, got, err)
		}
		if ks != sets[0] {
			t.Fatalf("router %d has its own key set", i)
		}
	}
	if s.count() != 1 {
		t.Fatalf("%d fetches for %d routers, want 1", s.count(), routers)
	}

	// The HMAC-combined set shares the same source.
	withSecret := cfg
	withSecret.HMACSecret = "x"
	combined, err := testKeySet(withSecret)
	if err != nil {
		t.Fatal(err)
	}
	if combined.(*hmacSplitKeySet).asym != sets[0] {
		t.Fatal("HMAC-combined set has its own source")
	}
	if f, _ := combined.(StatsKeySet).Stats(); f != 1 {
		t.Fatalf("combined stats: %d fetches", f)
	}

	// Any difference in settings means a source of its own.
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	ktWriteFile(t, caFile, ktTLSCertPEM(t), time.Now())
	for name, change := range map[string]func(c *JWTConfig){
		"cooldown": func(c *JWTConfig) { c.RefreshCooldown = 2 * time.Minute },
		"timeout":  func(c *JWTConfig) { c.FetchTimeout = time.Second },
		"insecure": func(c *JWTConfig) { c.InsecureSkipVerify = true },
		"ca_file":  func(c *JWTConfig) { c.CAFile = caFile },
		"url":      func(c *JWTConfig) { c.JWKSURL += "?v=2" },
	} {
		other := cfg
		change(&other)
		ks, err := testKeySet(other)
		if err != nil {
			t.Fatal(err)
		}
		if ks == sets[0] {
			t.Errorf("%s: shared despite different settings", name)
		}
	}

	// Zero values and defaults share once normalized, as New hands them over.
	a, _ := testKeySet(JWTConfig{JWKSURL: s.srv.URL + "/jwks-defaults"})
	b, _ := testKeySet(JWTConfig{JWKSURL: s.srv.URL + "/jwks-defaults", RefreshCooldown: DefaultRefreshCooldown, FetchTimeout: DefaultFetchTimeout})
	if a != b {
		t.Error("zero and default settings not shared")
	}

	// File and discovery sources are shared too.
	path := filepath.Join(t.TempDir(), "k.pem")
	f1, _ := testKeySet(JWTConfig{JWKSFile: path})
	f2, _ := testKeySet(JWTConfig{JWKSFile: path})
	d1, _ := testKeySet(JWTConfig{Issuer: s.srv.URL + "/realm"})
	d2, _ := testKeySet(JWTConfig{Issuer: s.srv.URL + "/realm"})
	if f1 != f2 || d1 != d2 {
		t.Error("file or discovery source not shared")
	}
}

// ktTLSCertPEM returns a throwaway certificate in PEM, usable as a CA file.
func ktTLSCertPEM(t testing.TB) []byte {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}

func TestNewKeySetTLS(t *testing.T) {
	pubs, jwks := ktEdKeys(t, "a")
	body := ktJWKS(t, jwks...)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  JWTConfig
		ok   bool
	}{
		{"verification on by default", JWTConfig{JWKSURL: srv.URL + "/tls-1"}, false},
		{"ca_file trusted", JWTConfig{JWKSURL: srv.URL + "/tls-2", CAFile: caFile}, true},
		{"insecure_skip_verify", JWTConfig{JWKSURL: srv.URL + "/tls-3", InsecureSkipVerify: true}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ks, err := testKeySet(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ks.Keys(context.Background(), "a", "EdDSA")
			if !tc.ok {
				ktKeysUnavailable(t, err)
				return
			}
			if err != nil || len(got) != 1 || !pubs["a"].Equal(got[0]) {
				t.Fatalf("%v, %v", got, err)
			}
		})
	}
}
