package core

import (
	"context"
	"strings"
	"time"
)

// trust is one trusted issuer as the issuer serves it: the verifier of its
// tokens (its own keys, single flight and backoff) and how its callers map
// to STS calls.
type trust struct {
	// name is the issuer's iss ("" for a lone issuer that checks none).
	name     string
	verifier *tokenVerifier
	keys     KeySet
	roleARN  string
	roles    []RoleRule
	// sessionNames are the claims tried for the RoleSessionName.
	sessionNames []string
	policy       *policyTemplate
	duration     time.Duration
}

func newTrust(t trustedIssuer, keys KeySet, now func() time.Time) (*trust, error) {
	policy, err := loadPolicy(t)
	if err != nil {
		return nil, err
	}
	return &trust{
		name:         t.JWT.Issuer,
		verifier:     newTokenVerifier(t.JWT, keys, now),
		keys:         keys,
		roleARN:      t.JWT.RoleARN,
		roles:        t.JWT.Roles,
		sessionNames: t.JWT.SessionNameClaims,
		policy:       policy,
		duration:     t.JWT.Duration,
	}, nil
}

// verifyAny verifies raw against the issuer its iss names, matched exactly,
// with that issuer's keys only: a kid only another issuer has is unknown
// here, and an iss no issuer has is refused before any key is fetched
// (never fetch keys because a token says where to). The lookup is one map
// read whatever the number of issuers.
func verifyAny(i *Issuer, ctx context.Context, raw string) (Claims, *trust, error) {
	if len(raw) > i.maxTokenBytes {
		return nil, nil, invalidToken("token is too large")
	}
	key := tokenKey(raw)
	if claims, ok := cachedClaims(i.verified, key); ok {
		iss, _ := claims["iss"].(string)
		return claims, i.byIssuer[iss], nil
	}
	iss, err := peekIssuer(raw)
	if err != nil {
		return nil, nil, err
	}
	t := i.byIssuer[iss]
	if t == nil {
		return nil, nil, invalidToken("token has invalid issuer")
	}
	claims, err := t.verifier.verifyFull(ctx, raw, "")
	if err != nil {
		return nil, t, err
	}
	from, until := t.verifier.validity(claims)
	i.verified.put(key, claims, from, until)
	return claims, t, nil
}

// peekIssuer reads a token's iss before anything is verified, to choose
// the keys it must verify with; the payload is checked again in full by
// that issuer's verifier.
func peekIssuer(raw string) (string, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", invalidToken("token is malformed")
	}
	var claims map[string]any
	if err := decodeSegment(parts[1], &claims); err != nil || claims == nil {
		return "", invalidToken("token is malformed")
	}
	iss, _ := claims["iss"].(string)
	return iss, nil
}

// prefixed renames the jwt options a ConfigError names after the block
// they came from ("issuers[1]." for the second of several issuers).
func prefixed(err error, prefix string) error {
	ce, ok := err.(*ConfigError)
	if !ok || prefix == "jwt." {
		return err
	}
	name := strings.TrimPrefix(strings.TrimPrefix(ce.Option, "jwt"), ".")
	if name == "" {
		return &ConfigError{Option: strings.TrimSuffix(prefix, "."), Reason: ce.Reason}
	}
	return &ConfigError{Option: prefix + name, Reason: ce.Reason}
}
