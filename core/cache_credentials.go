package core

import (
	"context"
	"strings"
	"sync"
	"time"
)

// credentialCache shares STS answers between requests for the same identity,
// role and policy (Config.Cache). Concurrent misses for one key share a
// single STS call (the refresher of refresher.go, with no cool-down); a cached
// answer is handed out only while it has at least minRemaining lifetime
// left, so it is refreshed ahead of expiry. Failures are not cached. Like
// aws-sdk-go-v2's CredentialsCache, but keyed per caller, and bounded: it
// holds at most max entries, in two generations of max/2 each. An entry
// used in the older generation moves to the newer one; when the newer one
// is full, the older one is dropped whole. So the least recently used go
// first, memory stays flat however many identities arrive, and nothing
// is scanned or linked (yaegi mishandles self-referencing struct types).
type credentialCache struct {
	minRemaining time.Duration
	half         int // entries a generation holds
	now          func() time.Time

	mu      sync.Mutex // guards both generations and every entry
	entries map[string]*cacheEntry
	older   map[string]*cacheEntry
}

type cacheEntry struct {
	creds   Credentials
	ok      bool // creds came from a call that succeeded
	refresh refresher
}

func newCredentialCache(minRemaining time.Duration, max int, now func() time.Time) *credentialCache {
	half := max / 2
	if half < 1 {
		half = 1
	}
	return &credentialCache{minRemaining: minRemaining, half: half, now: now,
		entries: make(map[string]*cacheEntry), older: make(map[string]*cacheEntry)}
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
		e = c.takeLocked(key)
	}
	if e.ok && c.fresh(e.creds) {
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

// takeLocked puts key's entry, from the older generation or new, into the
// newer one, starting a new generation when the newer one is full. An entry
// dropped with its generation is still held by its callers and gives them
// its answer; it is only no longer found.
func (c *credentialCache) takeLocked(key string) *cacheEntry {
	e := c.older[key]
	if e != nil {
		delete(c.older, key)
	} else {
		e = &cacheEntry{refresh: refresher{mu: &c.mu}}
	}
	if len(c.entries) >= c.half {
		c.older, c.entries = c.entries, make(map[string]*cacheEntry, c.half)
	}
	c.entries[key] = e
	return e
}

func (c *credentialCache) fresh(creds Credentials) bool {
	return creds.Expiration.Sub(c.now()) >= c.minRemaining
}

// cacheKey names what makes two requests interchangeable. Without a subject
// nothing tells callers apart, so such requests are not cached.
func (r stsRequest) cacheKey(mode string) string {
	if r.subject == "" {
		return ""
	}
	return strings.Join([]string{mode, r.issuer, r.subject, r.roleARN, r.sessionName, r.policy}, "\x00")
}
