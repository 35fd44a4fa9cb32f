package core

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// ktIdP is a fake OpenID provider: a discovery document and a JWKS.
type ktIdP struct {
	srv       *httptest.Server
	discovery atomic.Int64
	jwks      atomic.Int64

	mu      sync.Mutex
	doc     map[string]any
	status  int
	keyBody []byte
}

func newKTIdP(t *testing.T, keyBody []byte) *ktIdP {
	t.Helper()
	p := &ktIdP{status: http.StatusOK, keyBody: keyBody}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		switch r.URL.Path {
		case "/realms/x/.well-known/openid-configuration":
			p.discovery.Add(1)
			w.WriteHeader(p.status)
			_ = json.NewEncoder(w).Encode(p.doc)
		case "/keys":
			p.jwks.Add(1)
			_, _ = w.Write(p.keyBody)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(p.srv.Close)
	p.doc = map[string]any{
		"issuer":   p.srv.URL + "/realms/x",
		"jwks_uri": p.srv.URL + "/keys",
	}
	return p
}

func (p *ktIdP) setDoc(key string, value any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if value == nil {
		delete(p.doc, key)
	} else {
		p.doc[key] = value
	}
}

func newKTDiscovery(p *ktIdP, issuer string, clk *fakeClock) *discoveryKeySet {
	d := newDiscoveryKeySet(issuer, testRemoteOptions(remoteOptions{Client: p.srv.Client()}))
	d.now = clk.Now
	return d
}

func TestDiscoveryFollowsJWKSURI(t *testing.T) {
	pubs, jwks := ktEdKeys(t, "a")
	for _, trailingSlash := range []bool{false, true} {
		p := newKTIdP(t, ktJWKS(t, jwks...))
		issuer := p.srv.URL + "/realms/x"
		if trailingSlash {
			issuer += "/"
			p.setDoc("issuer", issuer)
		}
		d := newKTDiscovery(p, issuer, newFakeClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)))
		if p.discovery.Load() != 0 || p.jwks.Load() != 0 {
			t.Fatal("construction fetched")
		}
		for i := 0; i < 3; i++ {
			got, err := d.Keys(context.Background(), "a", "EdDSA")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || !pubs["a"].Equal(got[0]) {
				t.Fatalf("got %v", got)
			}
		}
		if p.discovery.Load() != 1 || p.jwks.Load() != 1 {
			t.Fatalf("%d discovery and %d JWKS requests, want 1 and 1", p.discovery.Load(), p.jwks.Load())
		}
		if f, e := d.Stats(); f != 2 || e != 0 {
			t.Fatalf("stats %d/%d, want 2/0", f, e)
		}
	}
}

func TestDiscoveryRefusals(t *testing.T) {
	_, jwks := ktEdKeys(t, "a")
	tests := []struct {
		name  string
		key   string
		value any
		cause string
	}{
		{"issuer mismatch", "issuer", "https://evil.example/realms/x", "names issuer"},
		{"issuer differs by a slash", "issuer", "SELF/", "names issuer"},
		{"issuer missing", "issuer", nil, "names issuer"},
		{"jwks_uri missing", "jwks_uri", nil, "jwks_uri is missing"},
		{"jwks_uri not http", "jwks_uri", "file:///etc/keys.json", "jwks_uri must be"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newKTIdP(t, ktJWKS(t, jwks...))
			issuer := p.srv.URL + "/realms/x"
			if s, ok := tc.value.(string); ok && strings.HasPrefix(s, "SELF") {
				tc.value = issuer + strings.TrimPrefix(s, "SELF")
			}
			p.setDoc(tc.key, tc.value)
			clk := newFakeClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
			d := newKTDiscovery(p, issuer, clk)
			_, err := d.Keys(context.Background(), "a", "EdDSA")
			e := ktKeysUnavailable(t, err)
			if !strings.Contains(e.Err.Error(), tc.cause) {
				t.Fatalf("cause %v, want %q", e.Err, tc.cause)
			}
			if p.jwks.Load() != 0 {
				t.Fatal("JWKS fetched despite the refusal")
			}
			// Not retried within the backoff.
			_, err = d.Keys(context.Background(), "a", "EdDSA")
			ktKeysUnavailable(t, err)
			if p.discovery.Load() != 1 {
				t.Fatalf("%d discovery requests within cooldown", p.discovery.Load())
			}
			if f, fails := d.Stats(); f != 1 || fails != 1 {
				t.Fatalf("stats %d/%d", f, fails)
			}
		})
	}
}

func TestDiscoveryRetriedAfterFailure(t *testing.T) {
	pubs, jwks := ktEdKeys(t, "a")
	p := newKTIdP(t, ktJWKS(t, jwks...))
	p.mu.Lock()
	p.status = http.StatusServiceUnavailable
	p.mu.Unlock()
	clk := newFakeClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	d := newKTDiscovery(p, p.srv.URL+"/realms/x", clk)
	_, err := d.Keys(context.Background(), "a", "EdDSA")
	e := ktKeysUnavailable(t, err)
	if !strings.Contains(e.Err.Error(), "status 503") {
		t.Fatalf("cause %v", e.Err)
	}
	p.mu.Lock()
	p.status = http.StatusOK
	p.mu.Unlock()
	// A gateway that started before its IdP: retried after a 1s backoff,
	// not a whole cool-down later.
	clk.Advance(500 * time.Millisecond)
	if _, err = d.Keys(context.Background(), "a", "EdDSA"); err == nil || p.discovery.Load() != 1 {
		t.Fatalf("retried within the backoff: %v", err)
	}
	clk.Advance(500 * time.Millisecond)
	got, err := d.Keys(context.Background(), "a", "EdDSA")
	if err != nil || len(got) != 1 || !pubs["a"].Equal(got[0]) {
		t.Fatalf("after the backoff: %v, %v", got, err)
	}
	if p.discovery.Load() != 2 || p.jwks.Load() != 1 {
		t.Fatalf("%d discovery, %d JWKS requests", p.discovery.Load(), p.jwks.Load())
	}
}

func TestDiscoveryContextCancel(t *testing.T) {
	gate := make(chan struct{})
	arrived := make(chan struct{}, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-gate:
		case <-r.Context().Done():
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	defer close(gate)
	d := newDiscoveryKeySet(srv.URL, testRemoteOptions(remoteOptions{Client: srv.Client()}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := d.Keys(ctx, "", "RS256")
		done <- err
	}()
	<-arrived
	cancel()
	ktKeysUnavailable(t, <-done)
	d.mu.Lock()
	attempted := d.refresh.attempted
	d.mu.Unlock()
	if attempted {
		t.Fatal("an abandoned discovery counted against the cool-down")
	}
}
