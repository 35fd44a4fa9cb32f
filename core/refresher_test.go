package core

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestRefresherPause: after a success the next fetch waits the cool-down;
// after failures in a row it waits 1s, 2s, 4s... at most the cool-down;
// a success resets the backoff.
func TestRefresherPause(t *testing.T) {
	var mu sync.Mutex
	r := refresher{cooldown: 10 * time.Second, mu: &mu}
	clock := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	fail := func(ctx context.Context) (func(), error) { return nil, errors.New("IdP down") }
	ok := func(ctx context.Context) (func(), error) { return func() {}, nil }
	steps := []struct {
		name    string
		advance time.Duration
		fetch   func(ctx context.Context) (func(), error)
		ran     bool
	}{
		{"first fetch starts at once", 0, fail, true},
		{"within the 1s backoff", 999 * time.Millisecond, fail, false},
		{"after 1s", time.Millisecond, fail, true},
		{"within the 2s backoff", 1999 * time.Millisecond, fail, false},
		{"after 2s", time.Millisecond, fail, true},
		{"after 4s", 4 * time.Second, fail, true},
		{"8s is within the cap of 10s", 8 * time.Second, fail, true},
		{"capped at the cool-down: not after 9s", 9 * time.Second, fail, false},
		{"capped at the cool-down: after 10s", time.Second, ok, true},
		{"a success waits the cool-down", 9 * time.Second, ok, false},
		{"after the cool-down", time.Second, fail, true},
		{"a failure after the success backs off 1s again", time.Second, ok, true},
	}
	mu.Lock()
	defer mu.Unlock()
	for _, s := range steps {
		clock = clock.Add(s.advance)
		ran, err := r.fetchOrWait(context.Background(), clock, s.fetch)
		if err != nil || ran != s.ran {
			t.Fatalf("%s: ran %v, err %v; want ran %v", s.name, ran, err, s.ran)
		}
	}
	if f, e := r.stats(); f != 8 || e != 6 {
		t.Errorf("stats %d/%d, want 8/6", f, e)
	}
}

// TestRefresherSharesOneFlight: callers that arrive while a fetch is under
// way wait for it instead of starting their own, and see its outcome.
func TestRefresherSharesOneFlight(t *testing.T) {
	var mu sync.Mutex
	r := refresher{cooldown: time.Minute, mu: &mu}
	release := make(chan struct{})
	value := 0
	fetch := func(ctx context.Context) (func(), error) {
		<-release
		return func() { value++ }, nil
	}
	const callers = 8
	results := make(chan bool, callers)
	mu.Lock()
	for i := 0; i < callers; i++ {
		go func() {
			mu.Lock()
			defer mu.Unlock()
			ran, _ := r.fetchOrWait(context.Background(), time.Unix(0, 0), fetch)
			results <- ran
		}()
	}
	mu.Unlock()
	ktWaitFor(t, "every caller to wait", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return r.flight != nil && r.waiting == callers-1
	})
	close(release)
	for i := 0; i < callers; i++ {
		if !<-results {
			t.Fatal("a caller did not see the shared fetch end")
		}
	}
	if value != 1 || r.fetches != 1 {
		t.Fatalf("%d values stored by %d fetches, want 1 by 1", value, r.fetches)
	}
}
