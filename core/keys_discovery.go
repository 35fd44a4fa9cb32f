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

// discoveryKeySet finds the JWKS URL by OIDC discovery, lazily: the first
// Keys call GETs {issuer}/.well-known/openid-configuration, requires its
// issuer to equal the configured one exactly and follows its jwks_uri, which
// is then served as a remoteKeySet. A failed discovery is retried by a later
// call after a short backoff (see refresher); concurrent callers share one.
// Discovery is not repeated once it succeeded.
type discoveryKeySet struct {
	issuer    string
	configURL string
	display   string
	opts      remoteOptions
	now       func() time.Time

	mu      sync.Mutex
	remote  *remoteKeySet // set once discovery succeeded
	refresh refresher
}

// newDiscoveryKeySet returns a key set for the OIDC issuer. It makes no
// request.
func newDiscoveryKeySet(issuer string, opts remoteOptions) *discoveryKeySet {
	configURL := strings.TrimRight(issuer, "/") + "/.well-known/openid-configuration"
	d := &discoveryKeySet{
		issuer:    issuer,
		configURL: configURL,
		display:   redactKeyURL(configURL),
		opts:      opts,
		now:       time.Now,
		refresh:   refresher{cooldown: opts.RefreshCooldown},
	}
	d.refresh.mu = &d.mu
	return d
}

// Stats returns how many discovery and JWKS fetches were started and how many
// of them failed.
func (d *discoveryKeySet) Stats() (fetches, failures uint64) {
	d.mu.Lock()
	fetches, failures = d.refresh.stats()
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
func (d *discoveryKeySet) Keys(ctx context.Context, kid, alg string) ([]any, error) {
	d.mu.Lock()
	for {
		if remote := d.remote; remote != nil {
			d.mu.Unlock()
			return remote.Keys(ctx, kid, alg)
		}
		ran, err := d.refresh.fetchOrWait(ctx, d.now(), d.fetchFunc())
		if err != nil {
			d.mu.Unlock()
			return nil, keysWaitEnded(ctx, d.display)
		}
		if !ran || d.remote == nil {
			err := keysUnavailable(d.refresh.lastErr, d.display)
			d.mu.Unlock()
			return nil, err
		}
	}
}

// fetchFunc is the refresher's fetch: discovery, then a remoteKeySet for
// the jwks_uri it names.
func (d *discoveryKeySet) fetchFunc() func(ctx context.Context) (func(), error) {
	return func(ctx context.Context) (func(), error) {
		jwksURL, err := d.discover(ctx)
		if err != nil {
			return nil, err
		}
		return func() {
			remote := newRemoteKeySet(jwksURL, d.opts)
			remote.now = d.now
			d.remote = remote
		}, nil
	}
}

// discoveryDocument holds the members of an OpenID Provider configuration
// that key lookup needs.
type discoveryDocument struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

func (d *discoveryKeySet) discover(ctx context.Context) (string, error) {
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
	if err := checkURL(doc.JWKSURI); err != nil {
		return "", fmt.Errorf("discovery document at %s: jwks_uri %v", d.display, err)
	}
	return doc.JWKSURI, nil
}

// checkURL requires an absolute http or https URL.
func checkURL(raw string) error {
	if raw == "" {
		return errors.New("is missing")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("must be an http or https URL, not %q", redactKeyURL(raw))
	}
	return nil
}
