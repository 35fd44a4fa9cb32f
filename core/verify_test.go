package core

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestVerifierClaimsWithInjectedClock(t *testing.T) {
	keys := newTestKeys(t)
	issued := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cfg := DefaultConfig().JWT
	cfg.Issuer = testIssuer
	cfg.Audience = []string{"sts", "other"}

	tests := []struct {
		name   string
		now    time.Time
		edit   func(jwt.MapClaims)
		detail string // empty: accepted
	}{
		{name: "fresh", now: issued},
		{name: "just before exp", now: issued.Add(time.Hour - time.Second)},
		{name: "exp inside leeway", now: issued.Add(time.Hour + 59*time.Second)},
		{name: "exp at leeway edge", now: issued.Add(time.Hour + 60*time.Second), detail: "token is expired"},
		{name: "nbf inside leeway", now: issued, edit: func(c jwt.MapClaims) { c["nbf"] = issued.Add(59 * time.Second).Unix() }},
		{name: "nbf past leeway", now: issued, edit: func(c jwt.MapClaims) { c["nbf"] = issued.Add(61 * time.Second).Unix() }, detail: "token is not valid yet"},
		{name: "iat past leeway", now: issued, edit: func(c jwt.MapClaims) { c["iat"] = issued.Add(2 * time.Minute).Unix() }, detail: "token used before issued"},
		{name: "fractional exp", now: issued, edit: func(c jwt.MapClaims) { c["exp"] = float64(issued.Unix()) + 0.5 }},
		{name: "exp as string", now: issued, edit: func(c jwt.MapClaims) { c["exp"] = "tomorrow" }, detail: "token has an invalid exp claim"},
		{name: "no exp", now: issued, edit: func(c jwt.MapClaims) { delete(c, "exp") }, detail: "token has no exp claim"},
		{name: "second audience", now: issued, edit: func(c jwt.MapClaims) { c["aud"] = []string{"x", "other"} }},
		{name: "no audience", now: issued, edit: func(c jwt.MapClaims) { delete(c, "aud") }, detail: "token has invalid audience"},
		{name: "issuer with trailing slash", now: issued, edit: func(c jwt.MapClaims) { c["iss"] = testIssuer + "/" }, detail: "token has invalid issuer"},
		{name: "no issuer", now: issued, edit: func(c jwt.MapClaims) { delete(c, "iss") }, detail: "token has invalid issuer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims := testClaims(issued, "jane")
			if tt.edit != nil {
				tt.edit(claims)
			}
			now := tt.now
			v := newTokenVerifier(cfg, keys, func() time.Time { return now })
			_, err := v.Verify(context.Background(), keys.sign(t, "RS256", claims))
			checkDetail(t, err, tt.detail)
		})
	}
}

func TestVerifierHeaderChecks(t *testing.T) {
	keys := newTestKeys(t)
	now := time.Now()
	good := keys.sign(t, "RS256", testClaims(now, "jane"))
	parts := strings.Split(good, ".")
	cfg := DefaultConfig().JWT
	cfg.Algorithms = []string{"RS256"}

	withHeader := func(h string) string {
		return b64url(h) + "." + parts[1] + "." + parts[2]
	}
	tests := []struct {
		name, token, detail string
	}{
		{"allowed", good, ""},
		{"alg not in allow-list", keys.sign(t, "ES256", testClaims(now, "jane")), "token algorithm is not allowed"},
		{"alg none", withHeader(`{"alg":"none","kid":"rsa"}`), "token algorithm is not allowed"},
		{"alg None", withHeader(`{"alg":"None","kid":"rsa"}`), "token algorithm is not allowed"},
		{"crit header", withHeader(`{"alg":"RS256","kid":"rsa","crit":["exp"]}`), "token has critical header parameters"},
		{"two parts", parts[0] + "." + parts[1], "token is malformed"},
		{"bad base64", "###." + parts[1] + "." + parts[2], "token is malformed"},
		{"payload not an object", parts[0] + "." + b64url(`[1,2]`) + "." + parts[2], "token is malformed"},
		{"padded signature", good + "=", "token is malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newTokenVerifier(cfg, keys, nil)
			_, err := v.Verify(context.Background(), tt.token)
			checkDetail(t, err, tt.detail)
		})
	}
}

func TestVerifierKeysUnavailableIs503(t *testing.T) {
	v := newTokenVerifier(DefaultConfig().JWT, failingKeys{}, nil)
	keys := newTestKeys(t)
	_, err := v.Verify(context.Background(), keys.sign(t, "RS256", testClaims(time.Now(), "jane")))
	e, ok := asError(err)
	if !ok || e.Kind != KindKeysUnavailable || e.Kind.Status() != 503 {
		t.Fatalf("got %v, want KindKeysUnavailable", err)
	}
}

type failingKeys struct{}

func (failingKeys) Keys(context.Context, string, string) ([]any, error) {
	return nil, &Error{Kind: KindKeysUnavailable, Detail: "token signing keys are unavailable"}
}

func checkDetail(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		return
	}
	e, ok := asError(err)
	if !ok {
		t.Fatalf("got %v, want refusal %q", err, want)
	}
	if e.Detail != want || e.Kind != KindInvalidToken {
		t.Fatalf("got %v (kind %d), want %q", e.Detail, e.Kind, want)
	}
}

func b64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
