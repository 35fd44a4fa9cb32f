package core

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// tokenVerifier checks bearer JWTs. golang-jwt verifies the signature; the claims
// are decoded into a plain map and checked here, with an injected clock,
// because decoding into structs that embed jwt.RegisteredClaims reads as empty
// under yaegi (an expired token was accepted there) and because the refusal
// detail must read the same in every build.
//
// The header's jku, x5u, jwk and x5c members are never read: keys come only
// from the configured KeySet.
type tokenVerifier struct {
	keys      KeySet
	allowed   map[string]bool
	issuer    string
	audiences []string
	leeway    time.Duration
	maxBytes  int
	now       func() time.Time
	// verified caches tokens already verified (cache_tokens.go); nil: none.
	verified *verifiedTokens
}

// newTokenVerifier builds a tokenVerifier from a normalised JWTConfig.
func newTokenVerifier(cfg JWTConfig, keys KeySet, now func() time.Time) *tokenVerifier {
	cfg = Config{JWT: cfg}.normalized().JWT
	if now == nil {
		now = time.Now
	}
	allowed := make(map[string]bool, len(cfg.Algorithms))
	for _, alg := range cfg.Algorithms {
		if !strings.EqualFold(alg, "none") {
			allowed[alg] = true
		}
	}
	return &tokenVerifier{
		keys:      keys,
		allowed:   allowed,
		issuer:    cfg.Issuer,
		audiences: cfg.Audience,
		leeway:    cfg.Leeway,
		maxBytes:  cfg.MaxTokenBytes,
		now:       now,
		verified:  newVerifiedTokens(now),
	}
}

type tokenHeader struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Crit json.RawMessage `json:"crit"`
}

// Verify returns the token's claims, or an *Error: KindInvalidToken for any
// failed check, KindKeysUnavailable when no keys could be read.
//
// A token verified before is answered from the cache by a short function;
// the full check, verifyFull, runs only on a miss (see doc.go).
func (v *tokenVerifier) Verify(ctx context.Context, raw string) (Claims, error) {
	return verifyToken(v, ctx, raw)
}

// verifyToken is Verify, for the issuer's hot path (see doc.go).
func verifyToken(v *tokenVerifier, ctx context.Context, raw string) (Claims, error) {
	if v.verified == nil || len(raw) > v.maxBytes {
		return v.verifyFull(ctx, raw, "")
	}
	key := tokenKey(raw)
	if claims, ok := cachedClaims(v.verified, key); ok {
		return claims, nil
	}
	return v.verifyFull(ctx, raw, key)
}

// verifyFull checks raw in full and, when key is not empty, caches it.
func (v *tokenVerifier) verifyFull(ctx context.Context, raw, key string) (Claims, error) {
	if len(raw) > v.maxBytes {
		return nil, invalidToken("token is too large")
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, invalidToken("token is malformed")
	}
	var header tokenHeader
	if err := decodeSegment(parts[0], &header); err != nil {
		return nil, invalidToken("token is malformed")
	}
	if !v.allowed[header.Alg] {
		return nil, invalidToken("token algorithm is not allowed")
	}
	if len(header.Crit) > 0 {
		return nil, invalidToken("token has critical header parameters")
	}
	var claims map[string]any
	if err := decodeSegment(parts[1], &claims); err != nil || claims == nil {
		return nil, invalidToken("token is malformed")
	}
	signature, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, invalidToken("token is malformed")
	}
	if err := v.verifySignature(ctx, header, parts[0]+"."+parts[1], signature); err != nil {
		return nil, err
	}
	if err := v.checkClaims(Claims(claims)); err != nil {
		return nil, err
	}
	if key != "" {
		from, until := v.validity(Claims(claims))
		v.verified.put(key, Claims(claims), from, until)
	}
	return Claims(claims), nil
}

func (v *tokenVerifier) verifySignature(ctx context.Context, header tokenHeader, signingString string, signature []byte) error {
	method := jwt.GetSigningMethod(header.Alg)
	if method == nil {
		return invalidToken("token algorithm is not allowed")
	}
	keys, err := v.keys.Keys(ctx, header.Kid, header.Alg)
	if err != nil {
		return classifyKeyError(err)
	}
	if len(keys) == 0 {
		return invalidToken("token signing key is unknown")
	}
	for _, key := range keys {
		if method.Verify(signingString, signature, key) == nil {
			return nil
		}
	}
	return invalidToken("token signature is invalid")
}

func classifyKeyError(err error) *Error {
	if e, ok := asError(err); ok {
		return e
	}
	return &Error{Kind: KindKeysUnavailable, Detail: "token signing keys are unavailable", Err: err}
}

func (v *tokenVerifier) checkClaims(c Claims) error {
	now := v.now()
	exp, ok, valid := numericDate(c, "exp")
	if !valid {
		return invalidToken("token has an invalid exp claim")
	}
	if !ok {
		return invalidToken("token has no exp claim")
	}
	if !now.Before(exp.Add(v.leeway)) {
		return invalidToken("token is expired")
	}
	nbf, ok, valid := numericDate(c, "nbf")
	if !valid {
		return invalidToken("token has an invalid nbf claim")
	}
	if ok && now.Add(v.leeway).Before(nbf) {
		return invalidToken("token is not valid yet")
	}
	iat, ok, valid := numericDate(c, "iat")
	if !valid {
		return invalidToken("token has an invalid iat claim")
	}
	if ok && now.Add(v.leeway).Before(iat) {
		return invalidToken("token used before issued")
	}
	if v.issuer != "" {
		if iss, _ := c["iss"].(string); iss != v.issuer {
			return invalidToken("token has invalid issuer")
		}
	}
	if len(v.audiences) > 0 && !audienceMatches(c["aud"], v.audiences) {
		return invalidToken("token has invalid audience")
	}
	return nil
}

// validity is the window in which checkClaims passes for claims that passed
// it once: from the later of nbf and iat to exp, widened by the leeway.
func (v *tokenVerifier) validity(c Claims) (from, until time.Time) {
	exp, _, _ := numericDate(c, "exp")
	until = exp.Add(v.leeway)
	for _, name := range []string{"nbf", "iat"} {
		if t, ok, _ := numericDate(c, name); ok && t.After(from) {
			from = t
		}
	}
	if !from.IsZero() {
		from = from.Add(-v.leeway)
	}
	return from, until
}

// numericDate reads a NumericDate claim: ok says it is present, valid that it
// is a number (or absent).
func numericDate(c Claims, name string) (t time.Time, ok, valid bool) {
	raw, present := c[name]
	if !present || raw == nil {
		return time.Time{}, false, true
	}
	n, isNumber := raw.(json.Number)
	if !isNumber {
		return time.Time{}, false, false
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return time.Time{}, false, false
	}
	// Clamped, so that a far-future nbf or iat (1e19 seconds) stays in the
	// future instead of overflowing int64 into the distant past.
	if f > maxNumericDate {
		f = maxNumericDate
	} else if f < -maxNumericDate {
		f = -maxNumericDate
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true, true
}

// maxNumericDate is 2^53 seconds (285 million years): exact in a float64 and
// far inside time.Time's range.
const maxNumericDate = 1 << 53

func audienceMatches(aud any, want []string) bool {
	var have []string
	switch a := aud.(type) {
	case string:
		have = []string{a}
	case []any:
		for _, item := range a {
			if s, ok := item.(string); ok {
				have = append(have, s)
			}
		}
	}
	for _, h := range have {
		for _, w := range want {
			if h == w {
				return true
			}
		}
	}
	return false
}

func decodeSegment(seg string, into any) error {
	data, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(into); err != nil {
		return err
	}
	// A segment is exactly one JSON value: bytes after it (a second object
	// that another parser, such as the STS's, might read instead) are
	// refused, not ignored.
	if _, err := dec.Token(); err != io.EOF {
		return errTrailingJSON
	}
	return nil
}

var errTrailingJSON = errors.New("data after the JSON value")

func invalidToken(detail string) *Error {
	return &Error{Kind: KindInvalidToken, Detail: detail}
}
