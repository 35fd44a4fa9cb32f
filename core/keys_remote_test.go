package core

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/elliptic"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// ktServer is a fake key endpoint that counts requests, can fail, and can
// hold requests until released.
type ktServer struct {
	srv      *httptest.Server
	requests atomic.Int64
	arrived  chan struct{} // one value per request, before it may block

	mu     sync.Mutex
	status int
	body   []byte
	gate   chan struct{} // when set, requests wait for it to close
}

func newKTServer(t testing.TB, body []byte) *ktServer {
	t.Helper()
	s := &ktServer{status: http.StatusOK, body: body, arrived: make(chan struct{}, 1000)}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		s.release()
		s.srv.Close()
	})
	return s
}

func (s *ktServer) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	select {
	case s.arrived <- struct{}{}:
	default:
	}
	s.mu.Lock()
	gate := s.gate
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
	}
	s.mu.Lock()
	status, body := s.status, s.body
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (s *ktServer) set(status int, body []byte) {
	s.mu.Lock()
	s.status, s.body = status, body
	s.mu.Unlock()
}

// hold makes the following requests wait until release.
func (s *ktServer) hold() {
	s.mu.Lock()
	s.gate = make(chan struct{})
	s.mu.Unlock()
}

func (s *ktServer) release() {
	s.mu.Lock()
	if s.gate != nil {
		close(s.gate)
		s.gate = nil
	}
	s.mu.Unlock()
}

func (s *ktServer) count() int { return int(s.requests.Load()) }

func (s *ktServer) waitArrival(t testing.TB) {
	t.Helper()
	select {
	case <-s.arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("no request reached the fake")
	}
}

func newKTRemote(s *ktServer, clk *fakeClock, opts remoteOptions) *remoteKeySet {
	if opts.Client == nil {
		opts.Client = s.srv.Client()
	}
	ks := newRemoteKeySet(s.srv.URL+"/jwks", opts)
	ks.now = clk.Now
	return ks
}

// ktWaitFor spins (yielding, not sleeping) until cond holds.
func ktWaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

func (s *remoteKeySet) waiters() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refresh.waiting
}

func ktKeysUnavailable(t testing.TB, err error) *Error {
	t.Helper()
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("got %T %v, want *Error", err, err)
	}
	if e.Kind != KindKeysUnavailable || e.Detail != "token signing keys are unavailable" {
		t.Fatalf("got kind %v detail %q", e.Kind, e.Detail)
	}
	return e
}

func ktEdKeys(t testing.TB, kids ...string) (map[string]ed25519.PublicKey, []map[string]any) {
	pubs := map[string]ed25519.PublicKey{}
	var jwks []map[string]any
	for _, kid := range kids {
		pub := ktEdKey(t).Public().(ed25519.PublicKey)
		pubs[kid] = pub
		jwks = append(jwks, ktEdJWK(kid, pub))
	}
	return pubs, jwks
}

func TestRemoteKeySetLazyAndCached(t *testing.T) {
	pubs, jwks := ktEdKeys(t, "a", "b")
	s := newKTServer(t, ktJWKS(t, jwks...))
	ks := newKTRemote(s, newFakeClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)), testRemoteOptions(remoteOptions{}))
	if s.count() != 0 {
		t.Fatal("construction fetched")
	}
	for i := 0; i < 3; i++ {
		got, err := ks.Keys(context.Background(), "a", "EdDSA")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !pubs["a"].Equal(got[0]) {
			t.Fatalf("got %v", got)
		}
	}
	got, err := ks.Keys(context.Background(), "", "EdDSA")
	if err != nil || len(got) != 2 {
		t.Fatalf("no kid: got %d keys, %v", len(got), err)
	}
	if s.count() != 1 {
		t.Fatalf("%d requests, want 1", s.count())
	}
	if f, e := ks.Stats(); f != 1 || e != 0 {
		t.Fatalf("stats %d/%d", f, e)
	}
}

func TestRemoteKeySetUnknownKidCooldown(t *testing.T) {
	_, first := ktEdKeys(t, "a")
	_, rotated := ktEdKeys(t, "b")
	s := newKTServer(t, ktJWKS(t, first...))
	clk := newFakeClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	ks := newKTRemote(s, clk, testRemoteOptions(remoteOptions{RefreshCooldown: time.Minute}))

	steps := []struct {
		name      string
		advance   time.Duration
		rotate    bool
		kid, alg  string
		found     bool
		wantCalls int
	}{
		{"first use", 0, false, "a", "EdDSA", true, 1},
		{"unknown kid within cooldown of the first fetch", 59 * time.Second, true, "b", "EdDSA", false, 1},
		{"unknown kid refetches", time.Second, false, "b", "EdDSA", true, 2},
		{"rotated-away kid within cooldown", 0, false, "a", "EdDSA", false, 2},
		{"second unknown kid within cooldown", 30 * time.Second, false, "c", "EdDSA", false, 2},
		{"no fitting key within cooldown", 0, false, "b", "RS256", false, 2},
		{"after cooldown", 30 * time.Second, false, "c", "EdDSA", false, 3},
		{"known kid never refetches", 0, false, "b", "EdDSA", true, 3},
		{"no fitting key after cooldown", time.Minute, false, "b", "ES256", false, 4},
	}
	for _, st := range steps {
		clk.Advance(st.advance)
		if st.rotate {
			s.set(http.StatusOK, ktJWKS(t, rotated...))
		}
		got, err := ks.Keys(context.Background(), st.kid, st.alg)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got == nil || (len(got) > 0) != st.found {
			t.Fatalf("%s: got %v, want found=%v", st.name, got, st.found)
		}
		if s.count() != st.wantCalls {
			t.Fatalf("%s: %d requests, want %d", st.name, s.count(), st.wantCalls)
		}
	}
}

func TestRemoteKeySetConcurrentCallersShareOneFetch(t *testing.T) {
	const callers = 50
	for _, coldStart := range []bool{true, false} {
		name := "unknown kid"
		if coldStart {
			name = "cold start"
		}
		t.Run(name, func(t *testing.T) {
			_, first := ktEdKeys(t, "old")
			pubs, next := ktEdKeys(t, "new")
			s := newKTServer(t, ktJWKS(t, first...))
			clk := newFakeClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
			ks := newKTRemote(s, clk, testRemoteOptions(remoteOptions{}))
			before := 0
			if !coldStart {
				if _, err := ks.Keys(context.Background(), "old", "EdDSA"); err != nil {
					t.Fatal(err)
				}
				before = 1
				clk.Advance(time.Hour)
			}
			s.set(http.StatusOK, ktJWKS(t, next...))
			s.hold()

			var wg sync.WaitGroup
			errs := make(chan error, callers)
			for i := 0; i < callers; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					got, err := ks.Keys(context.Background(), "new", "EdDSA")
					if err == nil && (len(got) != 1 || !pubs["new"].Equal(got[0])) {
						err = errors.New("wrong keys")
					}
					errs <- err
				}()
			}
			s.waitArrival(t)
			if !coldStart {
				s.waitArrival(t) // the priming request was counted too
			}
			ktWaitFor(t, "all callers to wait", func() bool { return ks.waiters() == callers-1 })
			s.release()
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if got := s.count() - before; got != 1 {
				t.Fatalf("%d fetches for %d concurrent callers, want 1", got, callers)
			}
		})
	}
}

func TestRemoteKeySetFailureKeepsOldKeys(t *testing.T) {
	pubs, first := ktEdKeys(t, "a")
	_, rotated := ktEdKeys(t, "b")
	s := newKTServer(t, ktJWKS(t, first...))
	clk := newFakeClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	ks := newKTRemote(s, clk, testRemoteOptions(remoteOptions{}))
	ctx := context.Background()
	if _, err := ks.Keys(ctx, "a", "EdDSA"); err != nil {
		t.Fatal(err)
	}

	s.set(http.StatusInternalServerError, []byte(`{"error":"down"}`))
	clk.Advance(2 * time.Minute)
	got, err := ks.Keys(ctx, "b", "EdDSA")
	if err != nil || len(got) != 0 {
		t.Fatalf("unknown kid after failed refetch: %v, %v", got, err)
	}
	got, err = ks.Keys(ctx, "a", "EdDSA")
	if err != nil || len(got) != 1 || !pubs["a"].Equal(got[0]) {
		t.Fatalf("old key lost after failed refetch: %v, %v", got, err)
	}

	// Stale keys: the refetch fails, the old keys are still served.
	clk.Advance(DefaultKeyMaxAge)
	got, err = ks.Keys(ctx, "a", "EdDSA")
	if err != nil || len(got) != 1 {
		t.Fatalf("stale key not served when refresh failed: %v, %v", got, err)
	}
	if s.count() != 3 {
		t.Fatalf("%d requests, want 3", s.count())
	}
	// Within the cool-down the stale keys are served without a fetch.
	if _, err = ks.Keys(ctx, "a", "EdDSA"); err != nil || s.count() != 3 {
		t.Fatalf("refetched within cooldown (%d requests): %v", s.count(), err)
	}
	if f, e := ks.Stats(); f != 3 || e != 2 {
		t.Fatalf("stats %d/%d, want 3/2", f, e)
	}

	// The endpoint recovers with a rotated set: a stale key that vanished
	// is dropped, as a revoked key must be.
	s.set(http.StatusOK, ktJWKS(t, rotated...))
	clk.Advance(time.Minute)
	got, err = ks.Keys(ctx, "a", "EdDSA")
	if err != nil || len(got) != 0 {
		t.Fatalf("revoked key still served: %v, %v", got, err)
	}
	if got, _ = ks.Keys(ctx, "b", "EdDSA"); len(got) != 1 || s.count() != 4 {
		t.Fatalf("rotated key: %v after %d requests", got, s.count())
	}
}

func TestRemoteKeySetMaxAge(t *testing.T) {
	_, jwks := ktEdKeys(t, "a")
	s := newKTServer(t, ktJWKS(t, jwks...))
	clk := newFakeClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	ks := newKTRemote(s, clk, testRemoteOptions(remoteOptions{MaxAge: time.Hour}))
	ctx := context.Background()
	steps := []struct {
		advance   time.Duration
		wantCalls int
	}{
		{0, 1},
		{time.Hour - time.Second, 1},
		{time.Second, 2},
		{time.Hour - time.Second, 2},
		{time.Second, 3},
	}
	for i, st := range steps {
		clk.Advance(st.advance)
		if got, err := ks.Keys(ctx, "a", "EdDSA"); err != nil || len(got) != 1 {
			t.Fatalf("step %d: %v, %v", i, got, err)
		}
		if s.count() != st.wantCalls {
			t.Fatalf("step %d: %d requests, want %d", i, s.count(), st.wantCalls)
		}
	}
}

func TestRemoteKeySetNeverFetched(t *testing.T) {
	p256 := ktECKey(t, elliptic.P256())
	tests := []struct {
		name   string
		status int
		body   []byte
		cause  string
	}{
		{"status 500", http.StatusInternalServerError, []byte(`oops`), "status 500"},
		{"status 404", http.StatusNotFound, ktJWKS(t, ktECJWK("a", &p256.PublicKey)), "status 404"},
		{"not JSON", http.StatusOK, []byte(`<html>`), "not a JWKS"},
		{"no keys", http.StatusOK, []byte(`{"keys":[]}`), "no keys"},
		{"only unusable keys", http.StatusOK, []byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`), "no usable"},
		{"too large", http.StatusOK, append([]byte(`{"keys":[],"pad":"`), make([]byte, 1<<20)...), "larger than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newKTServer(t, tc.body)
			s.set(tc.status, tc.body)
			clk := newFakeClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
			ks := newKTRemote(s, clk, testRemoteOptions(remoteOptions{}))
			_, err := ks.Keys(context.Background(), "a", "ES256")
			e := ktKeysUnavailable(t, err)
			if e.Err == nil || !strings.Contains(e.Err.Error(), tc.cause) || !strings.Contains(e.Err.Error(), s.srv.URL+"/jwks") {
				t.Fatalf("cause %v, want it to hold %q and the URL", e.Err, tc.cause)
			}
			// A failure is not a refresh: retried after 1s, then 2s, 4s...
			// (at most the cool-down), not a whole cool-down later.
			for _, step := range []struct {
				advance  time.Duration
				requests int
			}{
				{999 * time.Millisecond, 1}, // within the first backoff
				{time.Millisecond, 2},       // 1s: retried, fails again
				{1999 * time.Millisecond, 2},
				{time.Millisecond, 3}, // 2s later: retried
			} {
				clk.Advance(step.advance)
				_, err = ks.Keys(context.Background(), "a", "ES256")
				ktKeysUnavailable(t, err)
				if s.count() != step.requests {
					t.Fatalf("after %s more: %d requests, want %d", step.advance, s.count(), step.requests)
				}
			}
			// A recovered endpoint is used at the next retry, 4s later.
			s.set(http.StatusOK, ktJWKS(t, ktECJWK("a", &p256.PublicKey)))
			clk.Advance(4 * time.Second)
			got, err := ks.Keys(context.Background(), "a", "ES256")
			if err != nil || len(got) != 1 || s.count() != 4 {
				t.Fatalf("after the backoff: %v, %v, %d requests", got, err, s.count())
			}
		})
	}
}

func TestRemoteKeySetUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/jwks"
	srv.Close()
	ks := newRemoteKeySet(url, testRemoteOptions(remoteOptions{}))
	_, err := ks.Keys(context.Background(), "", "RS256")
	e := ktKeysUnavailable(t, err)
	if !strings.Contains(e.Error(), url) {
		t.Fatalf("cause does not name the URL: %v", e)
	}
}

func TestRemoteKeySetRedactsURLPassword(t *testing.T) {
	s := newKTServer(t, nil)
	s.set(http.StatusUnauthorized, nil)
	u := strings.Replace(s.srv.URL, "http://", "http://user:hunter2@", 1) + "/jwks"
	ks := newRemoteKeySet(u, testRemoteOptions(remoteOptions{Client: s.srv.Client()}))
	_, err := ks.Keys(context.Background(), "", "RS256")
	ktKeysUnavailable(t, err)
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("password in error: %v", err)
	}
}

func TestRemoteKeySetFetchTimeout(t *testing.T) {
	_, jwks := ktEdKeys(t, "a")
	s := newKTServer(t, ktJWKS(t, jwks...))
	s.hold()
	clk := newFakeClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	ks := newKTRemote(s, clk, testRemoteOptions(remoteOptions{FetchTimeout: 50 * time.Millisecond}))
	start := time.Now()
	_, err := ks.Keys(context.Background(), "a", "EdDSA")
	e := ktKeysUnavailable(t, err)
	if !errors.Is(e, context.DeadlineExceeded) {
		t.Fatalf("cause %v, want a deadline", e.Err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %s", d)
	}
	// A timeout is a failure: the cool-down holds.
	if _, err = ks.Keys(context.Background(), "a", "EdDSA"); err == nil || s.count() != 1 {
		t.Fatalf("retried within cooldown: %v, %d requests", err, s.count())
	}
	if f, fails := ks.Stats(); f != 1 || fails != 1 {
		t.Fatalf("stats %d/%d", f, fails)
	}
}

func TestRemoteKeySetContextCancel(t *testing.T) {
	t.Run("caller running the fetch", func(t *testing.T) {
		pubs, jwks := ktEdKeys(t, "a")
		s := newKTServer(t, ktJWKS(t, jwks...))
		s.hold()
		ks := newKTRemote(s, newFakeClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)), testRemoteOptions(remoteOptions{}))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := ks.Keys(ctx, "a", "EdDSA")
			done <- err
		}()
		s.waitArrival(t)
		cancel()
		err := <-done
		ktKeysUnavailable(t, err)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cause %v, want context.Canceled", err)
		}
		// The abandoned fetch does not count against the cool-down: the
		// next caller fetches at once, at the same instant.
		s.release()
		got, err := ks.Keys(context.Background(), "a", "EdDSA")
		if err != nil || len(got) != 1 || !pubs["a"].Equal(got[0]) || s.count() != 2 {
			t.Fatalf("after abandoned fetch: %v, %v, %d requests", got, err, s.count())
		}
	})
	t.Run("waiting caller", func(t *testing.T) {
		pubs, jwks := ktEdKeys(t, "a")
		s := newKTServer(t, ktJWKS(t, jwks...))
		s.hold()
		ks := newKTRemote(s, newFakeClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)), testRemoteOptions(remoteOptions{}))
		leader := make(chan []any, 1)
		go func() {
			got, _ := ks.Keys(context.Background(), "a", "EdDSA")
			leader <- got
		}()
		s.waitArrival(t)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := ks.Keys(ctx, "a", "EdDSA")
			done <- err
		}()
		ktWaitFor(t, "the caller to wait", func() bool { return ks.waiters() == 1 })
		cancel()
		err := <-done
		ktKeysUnavailable(t, err)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cause %v, want context.Canceled", err)
		}
		s.release()
		if got := <-leader; len(got) != 1 || !pubs["a"].Equal(got[0]) {
			t.Fatalf("leader got %v", got)
		}
		if s.count() != 1 {
			t.Fatalf("%d requests, want 1", s.count())
		}
	})
}

func BenchmarkRemoteKeySetHit(b *testing.B) {
	_, jwks := ktEdKeys(b, "a", "b", "c")
	s := newKTServer(b, ktJWKS(b, jwks...))
	ks := newKTRemote(s, newFakeClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)), testRemoteOptions(remoteOptions{}))
	ctx := context.Background()
	if _, err := ks.Keys(ctx, "b", "EdDSA"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if got, err := ks.Keys(ctx, "b", "EdDSA"); err != nil || len(got) != 1 {
			b.Fatal(got, err)
		}
	}
}

// TestRemoteKeySetKeyMaxAge: with the default key_max_age (10m), a key the
// IdP removed is refused at the first request past it; a refetch that fails
// keeps the old keys and says so in the log.
func TestRemoteKeySetKeyMaxAge(t *testing.T) {
	_, both := ktEdKeys(t, "a", "b")
	_, onlyB := ktEdKeys(t, "b")
	s := newKTServer(t, ktJWKS(t, both...))
	clk := newFakeClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	var logged bytes.Buffer
	ks := newKTRemote(s, clk, testRemoteOptions(remoteOptions{Logger: slog.New(slog.NewTextHandler(&logged, nil))}))
	ctx := context.Background()
	if got, err := ks.Keys(ctx, "a", "EdDSA"); err != nil || len(got) != 1 {
		t.Fatalf("first fetch: %v, %v", got, err)
	}
	s.set(http.StatusInternalServerError, []byte(`down`))
	clk.Advance(10 * time.Minute)
	if got, err := ks.Keys(ctx, "a", "EdDSA"); err != nil || len(got) != 1 || s.count() != 2 {
		t.Fatalf("failed refetch past key_max_age: %v, %v after %d fetches; want the old key kept", got, err, s.count())
	}
	if !strings.Contains(logged.String(), "could not be refetched") || !strings.Contains(logged.String(), "status 500") {
		t.Errorf("the failed refetch was not logged: %q", logged.String())
	}
	s.set(http.StatusOK, ktJWKS(t, onlyB...))
	clk.Advance(time.Minute) // past the cool-down after the failure
	if got, err := ks.Keys(ctx, "a", "EdDSA"); err != nil || len(got) != 0 {
		t.Fatalf("a key the IdP removed: %v, %v; want it refused", got, err)
	}
	if s.count() != 3 {
		t.Fatalf("%d fetches; want 3", s.count())
	}
}
