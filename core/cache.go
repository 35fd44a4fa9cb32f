package core

import (
	"context"
	"strings"
	"sync"
	"time"
)

// credentialCache shares STS answers between requests for the same identity,
// role and policy (Config.Cache). Concurrent misses for one key share a
// single STS call; a cached answer is handed out only while it has at least
// minRemaining lifetime left, so it is refreshed ahead of expiry. Failures are
// not cached. Like aws-sdk-go-v2's CredentialsCache, but keyed per caller.
type credentialCache struct {
	minRemaining time.Duration
	now          func() time.Time

	mu      sync.Mutex
	entries map[string]*cacheEntry
	inserts int
	waiting int // callers waiting for another's call (tests watch it)
}

type cacheEntry struct {
	creds Credentials
	// done is closed when the call that fills creds/err returns.
	done chan struct{}
	err  error
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
	e := c.entries[key]
	if e != nil {
		select {
		case <-e.done:
			if e.err == nil && c.fresh(e.creds) {
				c.mu.Unlock()
				return e.creds, true, nil
			}
			e = nil // stale or failed: start a new call
		default:
			c.waiting++
			c.mu.Unlock()
			creds, shared, err := c.wait(ctx, e)
			c.mu.Lock()
			c.waiting--
			c.mu.Unlock()
			return creds, shared, err
		}
	}
	e = &cacheEntry{done: make(chan struct{})}
	c.entries[key] = e
	c.sweepLocked()
	c.mu.Unlock()

	// The call outlives any one caller's cancellation: others wait on it.
	creds, err := fetch(context.WithoutCancel(ctx))
	c.mu.Lock()
	e.creds, e.err = creds, err
	if err != nil && c.entries[key] == e {
		delete(c.entries, key)
	}
	c.mu.Unlock()
	close(e.done)
	return creds, false, err
}

func (c *credentialCache) wait(ctx context.Context, e *cacheEntry) (Credentials, bool, error) {
	select {
	case <-e.done:
		return e.creds, true, e.err
	case <-ctx.Done():
		return Credentials{}, false, &Error{Kind: KindSTSTimeout, Detail: "gave up waiting for the STS", Err: ctx.Err()}
	}
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
		select {
		case <-e.done:
			if e.err != nil || !c.fresh(e.creds) {
				delete(c.entries, k)
			}
		default:
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
