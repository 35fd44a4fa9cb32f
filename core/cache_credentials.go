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
// aws-sdk-go-v2's CredentialsCache, but keyed per caller.
type credentialCache struct {
	minRemaining time.Duration
	now          func() time.Time

	mu      sync.Mutex // guards entries and every entry
	entries map[string]*cacheEntry
	inserts int
}

type cacheEntry struct {
	creds   Credentials
	ok      bool // creds came from a call that succeeded
	refresh refresher
}

// cacheSweepEvery bounds memory: every so many inserts, expired entries go.
const cacheSweepEvery = 1024

func newCredentialCache(minRemaining time.Duration, now func() time.Time) *credentialCache {
	return &credentialCache{minRemaining: minRemaining, now: now, entries: make(map[string]*cacheEntry)}
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
		e = &cacheEntry{refresh: refresher{mu: &c.mu}}
		c.entries[key] = e
		c.sweepLocked()
	} else if e.ok && c.fresh(e.creds) {
		return e.creds, true, nil
	}
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

func (c *credentialCache) sweepLocked() {
	c.inserts++
	if c.inserts%cacheSweepEvery != 0 {
		return
	}
	for k, e := range c.entries {
		if e.refresh.flight == nil && !(e.ok && c.fresh(e.creds)) {
			delete(c.entries, k)
		}
	}
}

// cacheKey names what makes two requests interchangeable. Without a subject
// nothing tells callers apart, so such requests are not cached.
func (r stsRequest) cacheKey(mode string) string {
	if r.subject == "" {
		return ""
	}
	return strings.Join([]string{mode, r.issuer, r.subject, r.roleARN, r.sessionName, r.policy}, "\x00")
}
