package core

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func newTestIssuer(t testing.TB, cfg Config, keys *testKeys, sts *stubSTS, now func() time.Time) *Issuer {
	t.Helper()
	iss, err := New(cfg, Options{STS: sts, Keys: keys, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

func putToken(h http.Handler, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPut, "/apis/sts/token", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestIssuerPassesPolicySessionAndDuration(t *testing.T) {
	keys := newTestKeys(t)
	sts := &stubSTS{}
	cfg := testConfig()
	cfg.Duration = 2 * time.Hour
	cfg.Policy = `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${claim:preferred_username}/*"}]}`
	iss := newTestIssuer(t, cfg, keys, sts, nil)

	rec := putToken(iss, keys.sign(t, "RS256", testClaims(time.Now(), "jane")))
	if rec.Code != http.StatusCreated {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	want := AssumeRoleInput{
		RoleARN: cfg.RoleARN, SessionName: "jane", Duration: 2 * time.Hour,
		Policy: `{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/jane/*"}]}`,
	}
	if sts.last != want {
		t.Errorf("STS got %+v\nwant %+v", sts.last, want)
	}
}

func TestIssuerWebIdentityForwardsTheToken(t *testing.T) {
	keys := newTestKeys(t)
	sts := &stubSTS{}
	cfg := testConfig()
	cfg.Mode, cfg.Credentials, cfg.RoleARN = ModeWebIdentity, CredentialsConfig{}, ""
	iss := newTestIssuer(t, cfg, keys, sts, nil)
	tok := keys.sign(t, "ES256", testClaims(time.Now(), "jane"))
	if rec := putToken(iss, tok); rec.Code != http.StatusCreated {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if sts.lastWeb.Token != tok || sts.lastWeb.RoleARN != "" || sts.lastWeb.SessionName != "jane" {
		t.Errorf("STS got %+v", sts.lastWeb)
	}
}

func TestIssuerUnknownErrorIsNot500(t *testing.T) {
	keys := newTestKeys(t)
	iss := newTestIssuer(t, testConfig(), keys, &stubSTS{err: context.Canceled}, nil)
	rec := putToken(iss, keys.sign(t, "RS256", testClaims(time.Now(), "jane")))
	if rec.Code != http.StatusBadGateway || !strings.Contains(rec.Body.String(), `"status":502`) {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
}

// concurrentPuts sends n simultaneous requests and returns the statuses seen.
func concurrentPuts(h http.Handler, tokens []string) map[int]int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[int]int{}
	for _, tok := range tokens {
		wg.Add(1)
		go func(tok string) {
			defer wg.Done()
			rec := putToken(h, tok)
			mu.Lock()
			seen[rec.Code]++
			mu.Unlock()
		}(tok)
	}
	wg.Wait()
	return seen
}

func TestCacheSharesOneSTSCallPerIdentity(t *testing.T) {
	keys := newTestKeys(t)
	tok := keys.sign(t, "RS256", testClaims(time.Now(), "node-service"))
	tokens := make([]string, 1000)
	for i := range tokens {
		tokens[i] = tok
	}
	for _, tt := range []struct {
		name  string
		cache time.Duration
		calls int64
	}{
		{"cache on", 15 * time.Minute, 1},
		{"cache off", 0, 1000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			gate := make(chan struct{})
			sts := &stubSTS{gate: gate}
			cfg := testConfig()
			cfg.Cache = tt.cache
			iss := newTestIssuer(t, cfg, keys, sts, nil)
			// Release the STS once every caller is inside it (cache off) or
			// waiting for the one call that is (cache on).
			piledUp := func() bool {
				if sts.calls.Load() < tt.calls {
					return false
				}
				if iss.cache == nil {
					return true
				}
				iss.cache.mu.Lock()
				defer iss.cache.mu.Unlock()
				for _, e := range iss.cache.entries {
					return e.refresh.waiting == len(tokens)-1
				}
				return false
			}
			piled := make(chan bool, 1)
			go func() {
				// Bounded, so that callers that never pile up fail the
				// test below instead of hanging it.
				deadline := time.Now().Add(time.Minute)
				for !piledUp() && time.Now().Before(deadline) {
					runtime.Gosched()
				}
				piled <- piledUp()
				close(gate)
			}()
			seen := concurrentPuts(iss, tokens)
			if !<-piled {
				t.Fatalf("the callers never piled up (%d STS calls)", sts.calls.Load())
			}
			if seen[http.StatusCreated] != len(tokens) {
				t.Fatalf("statuses %v", seen)
			}
			if got := sts.calls.Load(); got != tt.calls {
				t.Errorf("%d STS calls for %d requests, want %d", got, len(tokens), tt.calls)
			}
		})
	}
}

func TestCacheNeverCrossesIdentitiesAndRefreshesAhead(t *testing.T) {
	keys := newTestKeys(t)
	now := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	sts := &stubSTS{now: clock}
	cfg := testConfig()
	cfg.Cache = 15 * time.Minute
	cfg.JWT.Leeway = 5 * time.Minute
	iss := newTestIssuer(t, cfg, keys, sts, clock)

	claimsAt := func(sub string) jwt.MapClaims {
		c := testClaims(now, sub)
		c["exp"] = now.Add(24 * time.Hour).Unix()
		return c
	}
	jane, john := keys.sign(t, "RS256", claimsAt("jane")), keys.sign(t, "RS256", claimsAt("john"))
	first := putToken(iss, jane).Body.String()
	if again := putToken(iss, jane).Body.String(); again != first {
		t.Errorf("a second request within the window should get the cached answer")
	}
	if other := putToken(iss, john).Body.String(); other == first || !strings.Contains(other, "ASIASTUBjohn") {
		t.Errorf("john got jane's credentials: %s", other)
	}
	if sts.calls.Load() != 2 {
		t.Fatalf("calls = %d, want 2", sts.calls.Load())
	}
	// 46 minutes on, 14 minutes are left: under the 15-minute window, so the
	// cache refreshes before expiry.
	now = now.Add(46 * time.Minute)
	if refreshed := putToken(iss, jane).Body.String(); refreshed == first {
		t.Errorf("credentials with less than the window left must be refreshed")
	}
	if sts.calls.Load() != 3 {
		t.Errorf("calls = %d, want 3", sts.calls.Load())
	}
}

func TestCacheDoesNotKeepFailures(t *testing.T) {
	keys := newTestKeys(t)
	sts := &stubSTS{err: rejectedBySTS("AccessDenied", "no", nil)}
	cfg := testConfig()
	cfg.Cache = 15 * time.Minute
	iss := newTestIssuer(t, cfg, keys, sts, nil)
	tok := keys.sign(t, "RS256", testClaims(time.Now(), "jane"))
	if rec := putToken(iss, tok); rec.Code != http.StatusBadGateway {
		t.Fatalf("status %d", rec.Code)
	}
	sts.err = nil
	if rec := putToken(iss, tok); rec.Code != http.StatusCreated {
		t.Fatalf("after the STS recovered: status %d", rec.Code)
	}
}
