package core

import (
	"context"
	"sync"
	"time"
)

// retryBackoff is the first pause after a failed fetch; each further failure
// in a row doubles it, up to the refresh cool-down.
const retryBackoff = time.Second

// refresher is the one single-flight primitive of the key sources and of
// the credential cache (cache_credentials.go), in the spirit of go-oidc's inflight and
// aws-sdk-go-v2's CredentialsCache: callers
// that need a fresh value share the one fetch under way, run on the
// goroutine of the caller that started it (nothing starts a goroutine of
// its own), and every caller stops waiting when its own ctx ends. The owner
// keeps its value and decides when it needs a fetch; the refresher decides
// when one may start:
//
//   - after a fetch that succeeded, a cool-down later, so that tokens with
//     made-up kids cannot make the gateway hammer its IdP;
//   - after one that failed, a backoff later: retryBackoff, doubling with
//     each failure in a row, at most the cool-down. A failure is not a
//     refresh: a gateway that started while its IdP was down serves tokens
//     within seconds of the IdP answering, not a cool-down later;
//   - a fetch cut short by its caller's ctx does not count at all.
//
// The owner's value is kept when a fetch fails. All fields are guarded by
// the owner's mutex (mu), which fetchOrWait releases while it fetches or
// waits.
type refresher struct {
	cooldown time.Duration
	mu       *sync.Mutex

	flight    *flight // the fetch under way, if any
	waiting   int     // callers waiting for flight (tests watch it)
	attempted bool
	lastStart time.Time
	failed    int // fetches that failed in a row
	fetches   uint64
	failures  uint64
	lastErr   error
}

// flight is one fetch under way. done is closed when it ends; abandoned
// (written before the close) says it ended only because the ctx of the
// caller running it did, so a waiter should try again rather than take the
// outcome.
type flight struct {
	done      chan struct{}
	abandoned bool
}

// mayStart reports whether a fetch may start at now: none is under way and
// the pause after the last one is over. (A clock that stepped back allows
// one, rather than waiting for it.)
func (r *refresher) mayStart(now time.Time) bool {
	if r.flight != nil {
		return false
	}
	if !r.attempted || now.Before(r.lastStart) {
		return true
	}
	return now.Sub(r.lastStart) >= r.pause()
}

// pause is how long after the start of the last fetch the next may start.
func (r *refresher) pause() time.Duration {
	if r.failed == 0 {
		return r.cooldown
	}
	d := retryBackoff
	for i := 1; i < r.failed && d < r.cooldown; i++ {
		d *= 2
	}
	if d > r.cooldown {
		d = r.cooldown
	}
	return d
}

// fetchOrWait is called with mu held when the owner needs a fetch. It
// waits for the fetch under way, or starts fetch when one may start, and
// returns with mu held: ran is true when a fetch ended while it was in
// here (the owner's value is as good as it will get now), false when none
// was under way and none may start yet. err is set only when ctx ended
// first. fetch runs without mu and must not take it; on success it returns
// apply, which stores the new value and is called with mu held before any
// waiter wakes. Its error is kept for the owner's refusals (lastErr).
func (r *refresher) fetchOrWait(ctx context.Context, now time.Time, fetch func(ctx context.Context) (apply func(), err error)) (ran bool, err error) {
	if f := r.flight; f != nil {
		r.waiting++
		r.mu.Unlock()
		gaveUp := false
		select {
		case <-f.done:
		case <-ctx.Done():
			gaveUp = true
		}
		r.mu.Lock()
		r.waiting--
		if gaveUp {
			return false, ctx.Err()
		}
		if f.abandoned {
			// The caller running it gave up: this one may run the next.
			return r.fetchOrWait(ctx, now, fetch)
		}
		return true, nil
	}
	if !r.mayStart(now) {
		return false, nil
	}
	f := &flight{done: make(chan struct{})}
	prevAttempted, prevStart := r.attempted, r.lastStart
	r.flight = f
	r.attempted = true
	r.lastStart = now
	r.fetches++
	r.mu.Unlock()

	apply, ferr := fetch(ctx)

	r.mu.Lock()
	switch {
	case ferr == nil:
		apply()
		r.failed = 0
		r.lastErr = nil
	case ctx.Err() != nil:
		// Cut short by this caller alone: as if it had not started.
		f.abandoned = true
		r.attempted, r.lastStart = prevAttempted, prevStart
		r.failures++
	default:
		r.failed++
		r.failures++
		r.lastErr = ferr
	}
	r.flight = nil
	close(f.done)
	if f.abandoned {
		return false, ctx.Err()
	}
	return true, nil
}

// stats returns how many fetches started and how many failed (mu held).
func (r *refresher) stats() (fetches, failures uint64) {
	return r.fetches, r.failures
}
