package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"
)

// DiscoveryKeySet finds the JWKS URL by OIDC discovery, lazily: the first
// Keys call GETs {issuer}/.well-known/openid-configuration, requires its
// issuer to equal the configured one exactly and follows its jwks_uri, which
// is then served as a RemoteKeySet. A failed discovery is retried by a later
// call, at most once per RefreshCooldown; concurrent callers share one.
// Discovery is not repeated once it succeeded.
type DiscoveryKeySet struct {
	issuer    string
	configURL string
	display   string
	opts      RemoteOptions
	now       func() time.Time

	mu          sync.Mutex
	remote      *RemoteKeySet // set once discovery succeeded
	attempted   bool
	lastAttempt time.Time
	lastErr     error
	flight      *keyFlight
	fetches     uint64
	failures    uint64
}

// NewDiscoveryKeySet returns a key set for the OIDC issuer. It makes no
// request.
func NewDiscoveryKeySet(issuer string, opts RemoteOptions) *DiscoveryKeySet {
	configURL := strings.TrimRight(issuer, "/") + "/.well-known/openid-configuration"
	return &DiscoveryKeySet{
		issuer:    issuer,
		configURL: configURL,
		display:   redactKeyURL(configURL),
		opts:      opts.withDefaults(),
		now:       time.Now,
	}
}

// Stats returns how many discovery and JWKS fetches were started and how many
// of them failed.
func (d *DiscoveryKeySet) Stats() (fetches, failures uint64) {
	d.mu.Lock()
	fetches, failures = d.fetches, d.failures
	remote := d.remote
	d.mu.Unlock()
	if remote != nil {
		f, e := remote.Stats()
		fetches += f
		failures += e
	}
	return fetches, failures
}

// Keys implements KeySet.
func (d *DiscoveryKeySet) Keys(ctx context.Context, kid, alg string) ([]any, error) {
	joined := false
	for {
		d.mu.Lock()
		if remote := d.remote; remote != nil {
			d.mu.Unlock()
			return remote.Keys(ctx, kid, alg)
		}
		now := d.now()
		mayFetch := d.flight == nil && (!d.attempted || now.Sub(d.lastAttempt) >= d.opts.RefreshCooldown)
		if joined || (d.flight == nil && !mayFetch) {
			err := keysUnavailable(d.lastErr, d.display)
			d.mu.Unlock()
			return nil, err
		}
		if f := d.flight; f != nil {
			d.mu.Unlock()
			select {
			case <-f.done:
				joined = !f.abandoned
			case <-ctx.Done():
				return nil, keysWaitEnded(ctx, d.display)
			}
			// After the select, not inside its case: yaegi v0.16.1
			// (Traefik) ignores a continue written directly in a select
			// case and runs on past the select.
			continue
		}

		f := &keyFlight{done: make(chan struct{})}
		prevAttempted, prevAttempt := d.attempted, d.lastAttempt
		d.flight = f
		d.attempted = true
		d.lastAttempt = now
		d.fetches++
		d.mu.Unlock()

		d.runDiscovery(ctx, f, prevAttempted, prevAttempt)
		if f.abandoned {
			return nil, keysWaitEnded(ctx, d.display)
		}
		joined = true
	}
}

func (d *DiscoveryKeySet) runDiscovery(ctx context.Context, f *keyFlight, prevAttempted bool, prevAttempt time.Time) {
	jwksURL := ""
	err := fmt.Errorf("discovery at %s did not complete", d.display)
	defer func() {
		d.mu.Lock()
		switch {
		case err == nil:
			remote := NewRemoteKeySet(jwksURL, d.opts)
			remote.now = d.now
			d.remote = remote
			d.lastErr = nil
		case ctx.Err() != nil:
			f.abandoned = true
			d.attempted, d.lastAttempt = prevAttempted, prevAttempt
			d.failures++
		default:
			d.lastErr = err
			d.failures++
		}
		d.flight = nil
		close(f.done)
		d.mu.Unlock()
	}()
	jwksURL, err = d.discover(ctx)
}

// discoveryDocument holds the members of an OpenID Provider configuration
// that key lookup needs.
type discoveryDocument struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

func (d *DiscoveryKeySet) discover(ctx context.Context) (string, error) {
	body, err := fetchKeyDocument(ctx, d.opts.Client, d.configURL, d.display, d.opts.FetchTimeout)
	if err != nil {
		return "", err
	}
	var doc discoveryDocument
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", fmt.Errorf("discovery document at %s: %v", d.display, err)
	}
	if doc.Issuer != d.issuer {
		return "", fmt.Errorf("discovery document at %s names issuer %q, not the configured %q", d.display, doc.Issuer, d.issuer)
	}
	if err := checkKeyURL(doc.JWKSURI); err != nil {
		return "", fmt.Errorf("discovery document at %s: jwks_uri %v", d.display, err)
	}
	return doc.JWKSURI, nil
}

// checkKeyURL requires an absolute http or https URL.
func checkKeyURL(raw string) error {
	if raw == "" {
		return errors.New("is missing")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("must be an http or https URL, not %q", redactKeyURL(raw))
	}
	return nil
}
