package core

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// stubSTS is an in-process STS that counts calls; for handler tests and
// benchmarks where the network is not the point.
type stubSTS struct {
	calls   atomic.Int64
	mu      sync.Mutex
	last    AssumeRoleInput
	lastWeb WebIdentityInput
	err     error
	// gate, when set, holds every call until it is closed.
	gate chan struct{}
	now  func() time.Time
}

func (s *stubSTS) AssumeRole(ctx context.Context, in AssumeRoleInput) (Credentials, error) {
	s.calls.Add(1)
	s.mu.Lock()
	s.last = in
	s.mu.Unlock()
	return s.answer(ctx, in.SessionName)
}

func (s *stubSTS) AssumeRoleWithWebIdentity(ctx context.Context, in WebIdentityInput) (Credentials, error) {
	s.calls.Add(1)
	s.mu.Lock()
	s.lastWeb = in
	s.mu.Unlock()
	return s.answer(ctx, in.SessionName)
}

func (s *stubSTS) answer(ctx context.Context, session string) (Credentials, error) {
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return Credentials{}, ctx.Err()
		}
	}
	if s.err != nil {
		return Credentials{}, s.err
	}
	now := time.Now
	if s.now != nil {
		now = s.now
	}
	n := s.calls.Load()
	return Credentials{
		AccessKeyID:     "ASIASTUB" + session,
		SecretAccessKey: "stub-secret",
		SessionToken:    "stub-session-token-" + time.Duration(n).String(),
		Expiration:      now().Add(time.Hour),
	}, nil
}

// testKeys is a fresh RSA and EC key pair served through a staticKeySet-like
// KeySet.
type testKeys struct {
	rsa *rsa.PrivateKey
	ec  *ecdsa.PrivateKey
}

func newTestKeys(t testing.TB) *testKeys {
	t.Helper()
	r, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	e, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &testKeys{rsa: r, ec: e}
}

// Keys implements KeySet: kid "rsa" and "ec".
func (k *testKeys) Keys(_ context.Context, kid, alg string) ([]any, error) {
	switch {
	case kid == "rsa" && (alg[:2] == "RS" || alg[:2] == "PS"):
		return []any{&k.rsa.PublicKey}, nil
	case kid == "ec" && alg == "ES256":
		return []any{&k.ec.PublicKey}, nil
	}
	return nil, nil
}

func (k *testKeys) sign(t testing.TB, alg string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.GetSigningMethod(alg), claims)
	var key any = k.rsa
	tok.Header["kid"] = "rsa"
	if alg == "ES256" {
		key = k.ec
		tok.Header["kid"] = "ec"
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const testIssuer = "https://idp.test"

func testClaims(now time.Time, sub string) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": testIssuer, "aud": "sts", "sub": sub, "preferred_username": sub,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
}

func testConfig() Config {
	c := DefaultConfig()
	c.EndpointURL = "http://s3.test:9000"
	c.RoleARN = "arn:aws:iam:::role/test"
	c.Credentials = CredentialsConfig{AccessKey: "AK", SecretKey: "SK"}
	c.JWT.Issuer = testIssuer
	c.JWT.Audience = []string{"sts"}
	return c
}

// fakeClock is the injected clock of the tests: it moves only when a test
// advances it.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock(start time.Time) *fakeClock { return &fakeClock{t: start} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testRemoteOptions fills the options a test leaves zero as newKeySet
// would from a default configuration.
func testRemoteOptions(o remoteOptions) remoteOptions {
	j := DefaultConfig().normalized().JWT
	if o.Client == nil {
		o.Client = http.DefaultClient
	}
	o.RefreshCooldown = or(o.RefreshCooldown, j.RefreshCooldown)
	o.FetchTimeout = or(o.FetchTimeout, j.FetchTimeout)
	o.MaxAge = or(o.MaxAge, j.KeyMaxAge)
	if o.Logger == nil {
		o.Logger = discardLogger()
	}
	return o
}

// testKeySet is newKeySet of cfg as New hands it over: normalized.
func testKeySet(cfg JWTConfig) (KeySet, error) {
	return newKeySet(cfg.normalized(), discardLogger())
}

// loadWarnings builds an Issuer from cfg and returns the warnings New
// logged, each "option: reason".
func loadWarnings(cfg Config) ([]string, error) {
	var logged bytes.Buffer
	_, err := New(cfg, Options{STS: &stubSTS{}, Logger: slog.New(slog.NewJSONHandler(&logged, nil))})
	var warnings []string
	for _, line := range strings.Split(strings.TrimSpace(logged.String()), "\n") {
		var entry struct{ Level, Msg string }
		if json.Unmarshal([]byte(line), &entry) == nil && entry.Level == "WARN" {
			warnings = append(warnings, entry.Msg)
		}
	}
	return warnings, err
}
