package core

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// countingKeys counts how often the verifier needed a key.
type countingKeys struct {
	KeySet
	lookups atomic.Int64
}

func (k *countingKeys) Keys(ctx context.Context, kid, alg string) ([]any, error) {
	k.lookups.Add(1)
	return k.KeySet.Keys(ctx, kid, alg)
}

func TestVerifiedTokensSkipTheSignatureOnlyForTheSameToken(t *testing.T) {
	keys := &countingKeys{KeySet: newTestKeys(t)}
	signer := keys.KeySet.(*testKeys)
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	v := newTokenVerifier(testConfig().JWT, keys, func() time.Time { return now })
	tok := signer.sign(t, "RS256", testClaims(now, "jane"))
	verify := func(raw string) error {
		_, err := v.Verify(context.Background(), raw)
		return err
	}

	if err := verify(tok); err != nil {
		t.Fatal(err)
	}
	if err := verify(tok); err != nil || keys.lookups.Load() != 1 {
		t.Fatalf("a second presentation should be a cache hit: err %v, key lookups %d", err, keys.lookups.Load())
	}
	// A different token, even one bit off, is verified in full and refused.
	if err := verify(tok[:len(tok)-2] + "AA"); err == nil || keys.lookups.Load() != 2 {
		t.Fatalf("a tampered token must be verified in full and refused: err %v, lookups %d", err, keys.lookups.Load())
	}
	// The TTL bounds how long a withdrawn key would still be honoured.
	now = now.Add(verifiedTokenTTL)
	if err := verify(tok); err != nil || keys.lookups.Load() != 3 {
		t.Fatalf("after the TTL the signature is checked again: err %v, lookups %d", err, keys.lookups.Load())
	}
	// Outside the token's own window the entry does not answer: the token
	// is verified again and refused with the exact reason.
	now = now.Add(2 * time.Hour)
	checkDetail(t, v.verifiedOrError(tok), "token is expired")
}

func TestVerifiedTokensAnswerOnlyInsideTheTokensWindow(t *testing.T) {
	keys := newTestKeys(t)
	start := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	now := start
	v := newTokenVerifier(testConfig().JWT, keys, func() time.Time { return now })
	claims := testClaims(start, "jane")
	claims["nbf"] = start.Unix()
	tok := keys.sign(t, "RS256", claims)
	if err := v.verifiedOrError(tok); err != nil {
		t.Fatal(err)
	}
	// A clock stepped back before nbf (beyond the leeway) must not be
	// answered from the cache.
	now = start.Add(-time.Hour)
	checkDetail(t, v.verifiedOrError(tok), "token is not valid yet")
	now = start
	if err := v.verifiedOrError(tok); err != nil {
		t.Fatal(err)
	}
}

// verifiedOrError is Verify's error, for checkDetail.
func (v *tokenVerifier) verifiedOrError(raw string) error {
	_, err := v.Verify(context.Background(), raw)
	return err
}

func TestVerifiedTokensStayBounded(t *testing.T) {
	now := time.Now()
	c := newVerifiedTokens(func() time.Time { return now })
	for i := 0; i < 3*verifiedTokenMax; i++ {
		c.put(tokenKey(strconv.Itoa(i)), Claims{}, time.Time{}, now.Add(time.Hour))
	}
	if n := len(c.entries); n > verifiedTokenMax {
		t.Fatalf("%d entries, want at most %d", n, verifiedTokenMax)
	}
	if _, ok := cachedClaims(c, tokenKey(strconv.Itoa(3*verifiedTokenMax-1))); !ok {
		t.Error("the newest entry should be there")
	}
}
