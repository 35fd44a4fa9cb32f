package core

import (
	"context"
	"strings"
	"sync"
	"time"
)

// credentialCache shares STS answers between requests for the same identity,
// role and policy (Config.Cache). Concurrent misses for one key share a
// single STS call (the refresher of flight.go, with no cool-down); a cached
// answer is handed out only while it has at least minRemaining lifetime
// left, so it is refreshed ahead of expiry. Failures are not cached. Like
// aws-sdk-go-v2's CredentialsCache, but keyed per caller, and bounded: past
// max entries the least recently used one goes, so memory stays flat however
// many identities arrive within a credential's lifetime.
type credentialCache struct {
	minRemaining time.Duration
	max          int
	now          func() time.Time

	mu      sync.Mutex // guards entries, the list and every entry
	entries map[string]*cacheEntry
	// newest and oldest end the list of entries by last use (an intrusive
	// list: no interface values, which yaegi moves badly).
	newest, oldest *cacheEntry
}

type cacheEntry struct {
	key          string
	creds        Credentials
	ok           bool // creds came from a call that succeeded
	refresh      refresher
	newer, older *cacheEntry
}

func newCredentialCache(minRemaining time.Duration, max int, now func() time.Time) *credentialCache {
	return &credentialCache{minRemaining: minRemaining, max: max, now: now, entries: make(map[string]*cacheEntry)}
}

// get returns cached credentials for key, or calls fetch once for all
// concurrent callers. The bool says the answer came from the cache or from
// another caller's call.
func (c *credentialCache) get(ctx context.Context, key string, fetch func(ctx context.Context) (Credentials, error)) (Credentials, bool, error) {
	if key == "" {
		creds, err := fetch(ctx)
		return creds, false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e == nil {
		e = &cacheEntry{key: key, refresh: refresher{mu: &c.mu}}
		c.entries[key] = e
		c.evictLocked()
	} else {
		c.unlinkLocked(e)
		if e.ok && c.fresh(e.creds) {
			c.pushLocked(e)
			return e.creds, true, nil
		}
	}
	c.pushLocked(e)
	shared := e.refresh.flight != nil
	_, err := e.refresh.fetchOrWait(ctx, c.now(), func(ctx context.Context) (func(), error) {
		// The call outlives any one caller's cancellation: others wait on it.
		creds, err := fetch(context.WithoutCancel(ctx))
		if err != nil {
			return nil, err
		}
		return func() { e.creds, e.ok = creds, true }, nil
	})
	switch {
	case err != nil:
		return Credentials{}, false, &Error{Kind: KindSTSTimeout, Detail: "gave up waiting for the STS", Err: err}
	case e.refresh.lastErr != nil:
		return Credentials{}, shared, e.refresh.lastErr
	}
	return e.creds, shared, nil
}

func (c *credentialCache) fresh(creds Credentials) bool {
	return creds.Expiration.Sub(c.now()) >= c.minRemaining
}

// evictLocked drops least recently used entries while there are more than
// max. An evicted entry's callers still hold it and get its answer; it is
// only no longer found.
func (c *credentialCache) evictLocked() {
	for len(c.entries) > c.max && c.oldest != nil {
		e := c.oldest
		c.unlinkLocked(e)
		delete(c.entries, e.key)
	}
}

func (c *credentialCache) pushLocked(e *cacheEntry) {
	e.older = c.newest
	if c.newest != nil {
		c.newest.newer = e
	}
	c.newest = e
	if c.oldest == nil {
		c.oldest = e
	}
}

func (c *credentialCache) unlinkLocked(e *cacheEntry) {
	if e.newer != nil {
		e.newer.older = e.older
	} else if c.newest == e {
		c.newest = e.older
	}
	if e.older != nil {
		e.older.newer = e.newer
	} else if c.oldest == e {
		c.oldest = e.newer
	}
	e.newer, e.older = nil, nil
}

// cacheKey names what makes two requests interchangeable. Without a subject
// nothing tells callers apart, so such requests are not cached.
func (r stsRequest) cacheKey(mode string) string {
	if r.subject == "" {
		return ""
	}
	return strings.Join([]string{mode, r.issuer, r.subject, r.roleARN, r.sessionName, r.policy}, "\x00")
}
