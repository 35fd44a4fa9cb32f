package core

import (
	"crypto/sha256"
	"sync"
	"time"
)

// The verified-token cache (as Envoy's jwt_authn keeps one): a caller that
// presents the same token again, as the Cray CLI does for every request
// within its token's life, skips the signature check, which is most of the
// cost of a token-checked request. An entry answers only inside the window
// in which the token's time claims hold (nbf and iat reached, exp not, each
// with the leeway), so a hit needs no claim checks: the issuer and audience
// it was checked against do not change. Outside that window the token is
// verified in full again and refused with the exact reason. An entry lives at
// most verifiedTokenTTL, so a key withdrawn from the JWKS stops being
// honoured within that time.
const (
	verifiedTokenTTL = 5 * time.Minute
	verifiedTokenMax = 4096
)

type verifiedTokens struct {
	now func() time.Time

	mu      sync.Mutex
	entries map[string]verifiedToken
}

type verifiedToken struct {
	claims Claims
	// from and until (Unix nanoseconds) bound the window in which the entry
	// answers; integers compare without a library call under yaegi.
	from  int64
	until int64
}

func newVerifiedTokens(now func() time.Time) *verifiedTokens {
	return &verifiedTokens{now: now, entries: make(map[string]verifiedToken)}
}

// tokenKey is a digest of the whole token, so that no other token, however
// it differs, can find the entry.
func tokenKey(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return string(sum[:])
}

// cachedClaims returns the claims of a token verified before, if it is
// cached and the clock is inside its window. The claims are shared: callers
// only read them. Kept short, without defer: it runs on every request (see
// doc.go). Expired entries are dropped by put.
func cachedClaims(c *verifiedTokens, key string) (Claims, bool) {
	now := c.now().UnixNano()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	return e.claims, ok && now >= e.from && now < e.until
}

// put remembers a verified token for the window [from, until), cut to
// verifiedTokenTTL from now.
func (c *verifiedTokens) put(key string, claims Claims, from, until time.Time) {
	now := c.now()
	if ttl := now.Add(verifiedTokenTTL); ttl.Before(until) {
		until = ttl
	}
	entry := verifiedToken{claims: claims, until: until.UnixNano()}
	if !from.IsZero() {
		entry.from = from.UnixNano()
	}
	c.mu.Lock()
	if len(c.entries) >= verifiedTokenMax {
		c.evictLocked(now.UnixNano())
	}
	c.entries[key] = entry
	c.mu.Unlock()
}

// evictLocked drops expired entries and, if the cache is still full, a
// quarter of it (map order is random enough for a cache of this kind).
func (c *verifiedTokens) evictLocked(now int64) {
	for k, e := range c.entries {
		if now >= e.until {
			delete(c.entries, k)
		}
	}
	drop := len(c.entries) - verifiedTokenMax*3/4
	for k := range c.entries {
		if drop <= 0 {
			break
		}
		delete(c.entries, k)
		drop--
	}
}
