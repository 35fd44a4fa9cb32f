package core

import (
	"crypto/sha256"
	"sync"
	"time"
)

// The verified-token cache (as Envoy's jwt_authn keeps one): a caller that
// presents the same token again, as the Cray CLI does for every request
// within its token's life, skips the signature check, which is most of the
// cost of a token-checked request. The claims are still checked against the
// clock on every hit. An entry lives at most verifiedTokenTTL, so a key
// withdrawn from the JWKS stops being honoured within that time.
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
	until  time.Time
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

// get returns the claims of a token verified before, if it is still cached.
// The claims are shared: callers only read them.
func (c *verifiedTokens) get(key string) (Claims, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	if !c.now().Before(e.until) {
		delete(c.entries, key)
		return nil, false
	}
	return e.claims, true
}

// put remembers a verified token until exp or verifiedTokenTTL, whichever
// comes first.
func (c *verifiedTokens) put(key string, claims Claims, exp time.Time) {
	now := c.now()
	until := now.Add(verifiedTokenTTL)
	if exp.Before(until) {
		until = exp
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= verifiedTokenMax {
		c.evictLocked(now)
	}
	entry := verifiedToken{claims: claims, until: until}
	c.entries[key] = entry
}

// evictLocked drops expired entries and, if the cache is still full, a
// quarter of it (map order is random enough for a cache of this kind).
func (c *verifiedTokens) evictLocked(now time.Time) {
	for k, e := range c.entries {
		if !now.Before(e.until) {
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
