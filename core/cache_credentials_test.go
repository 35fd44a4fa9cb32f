package core

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestCredentialCache covers what the issuer's burst test does not: a
// failure is not kept, an answer is fetched again once it runs short of
// lifetime, and a caller that stops waiting leaves the shared call running.
func TestCredentialCache(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	answer := Credentials{AccessKeyID: "A", SecretAccessKey: "S", SessionToken: "T", Expiration: clock.Now().Add(time.Hour)}
	c := newCredentialCache(15*time.Minute, DefaultCacheMaxEntries, clock.Now)
	calls := 0
	fails := errors.New("sts down")
	failing := func(context.Context) (Credentials, error) { calls++; return Credentials{}, fails }
	working := func(context.Context) (Credentials, error) { calls++; return answer, nil }

	if _, _, err := c.get(context.Background(), "k", failing); err != fails {
		t.Fatalf("first call: %v", err)
	}
	if got, shared, err := c.get(context.Background(), "k", working); err != nil || shared || got != answer || calls != 2 {
		t.Fatalf("after a failure: %v %v %v, %d calls; want a new call", got, shared, err, calls)
	}
	if _, shared, _ := c.get(context.Background(), "k", working); !shared || calls != 2 {
		t.Fatalf("fresh answer: shared=%v, %d calls; want it from the cache", shared, calls)
	}
	clock.Advance(46 * time.Minute) // 14m left, under the 15m asked for
	if _, shared, _ := c.get(context.Background(), "k", working); shared || calls != 3 {
		t.Fatalf("short-lived answer: shared=%v, %d calls; want a new call", shared, calls)
	}

	// A waiter whose ctx ends gets a timeout; the call it waited for still
	// fills the cache for the next caller.
	release, started := make(chan struct{}), make(chan struct{})
	slow := func(ctx context.Context) (Credentials, error) {
		close(started)
		<-release
		if ctx.Err() != nil {
			t.Error("the shared call saw its caller's cancellation")
		}
		return answer, nil
	}
	clock.Advance(time.Hour)
	answer.Expiration = clock.Now().Add(time.Hour)
	runner, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { _, _, err := c.get(runner, "k", slow); done <- err }()
	<-started
	waiter, stop := context.WithCancel(context.Background())
	stop()
	if _, _, err := c.get(waiter, "k", working); classify(err).Kind != KindSTSTimeout {
		t.Fatalf("waiter whose ctx ended: %v; want an STS timeout", err)
	}
	cancel()
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("runner: %v", err)
	}
	if got, shared, _ := c.get(context.Background(), "k", working); !shared || got != answer {
		t.Fatalf("after the slow call: %v shared=%v; want its answer from the cache", got, shared)
	}
}

// TestCredentialCacheBound: however many identities arrive within a
// credential's lifetime, the cache holds at most max of them, and the least
// recently used go first.
func TestCredentialCacheBound(t *testing.T) {
	clock := newFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	answer := Credentials{AccessKeyID: "A", SecretAccessKey: "S", Expiration: clock.Now().Add(time.Hour)}
	c := newCredentialCache(15*time.Minute, 4, clock.Now)
	fetch := func(context.Context) (Credentials, error) { return answer, nil }
	get := func(key string) bool {
		_, cached, err := c.get(context.Background(), key, fetch)
		if err != nil {
			t.Fatal(err)
		}
		return cached
	}
	for _, k := range []string{"a", "b", "c", "d"} {
		get(k)
	}
	get("a") // used again: a is kept, b is now the least recently used
	get("e")
	get("f")
	if n := c.size(); n > 4 {
		t.Fatalf("%d entries; want at most the bound, 4", n)
	}
	for key, want := range map[string]bool{"a": true, "f": true, "b": false} {
		if got := get(key); got != want {
			t.Errorf("%s served from the cache: %v, want %v", key, got, want)
		}
	}
	for i := 0; i < 10000; i++ {
		get(fmt.Sprint("id-", i))
		if n := c.size(); n > 4 {
			t.Fatalf("after %d identities: %d entries, want at most 4", i+1, n)
		}
	}
}

// size is how many entries the cache holds.
func (c *credentialCache) size() int {
	return len(c.entries) + len(c.older)
}
