package core

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Limits of a remote key source.
const (
	// DefaultKeyMaxAge is how long fetched keys are trusted before the next
	// request refetches them (cool-down permitting; old keys are kept when
	// that fetch fails).
	DefaultKeyMaxAge = 24 * time.Hour
	// maxKeyDocumentBytes caps a JWKS or discovery document.
	maxKeyDocumentBytes = 1 << 20
)

// keysUnavailableDetail is what the caller is told when no keys can be had.
const keysUnavailableDetail = "token signing keys are unavailable"

// RemoteOptions tune a RemoteKeySet or a DiscoveryKeySet. Zero (or
// negative) values take the defaults.
type RemoteOptions struct {
	// Client makes the requests. Default: http.DefaultClient.
	Client *http.Client
	// RefreshCooldown is the least time between the starts of two fetches.
	// Default: 1m.
	RefreshCooldown time.Duration
	// FetchTimeout bounds one fetch. Default: 10s.
	FetchTimeout time.Duration
	// MaxAge is how long fetched keys are used before a request refetches
	// them. Default: 24h.
	MaxAge time.Duration
}

func (o RemoteOptions) withDefaults() RemoteOptions {
	if o.Client == nil {
		o.Client = http.DefaultClient
	}
	if o.RefreshCooldown <= 0 {
		o.RefreshCooldown = DefaultRefreshCooldown
	}
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = DefaultFetchTimeout
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultKeyMaxAge
	}
	return o
}

// RemoteKeySet serves the keys of a JWKS URL, modelled on go-oidc's
// RemoteKeySet and aws-sdk-go-v2's CredentialsCache. Nothing is fetched until
// the first Keys call. The keys are cached; an unknown kid (or no key that
// fits the alg), or keys older than MaxAge, cause a refetch, at most one per
// RefreshCooldown. Concurrent callers share one fetch, run on the goroutine
// of the caller that started it (the set starts no goroutine), and every
// caller gives up when its own ctx ends. A failed fetch keeps the old keys.
type RemoteKeySet struct {
	url     string
	display string // url without its password, for errors
	opts    RemoteOptions
	now     func() time.Time

	mu          sync.Mutex
	keys        []JWK
	have        bool      // keys were fetched at least once
	fetchedAt   time.Time // of the last good fetch
	attempted   bool
	lastAttempt time.Time // start of the last fetch
	lastErr     error
	flight      *keyFlight // the fetch under way, if any
	waiting     int        // callers waiting for flight (tests watch it)
	fetches     uint64
	failures    uint64
}

// keyFlight is one fetch under way. done is closed when it ends; abandoned
// (written before the close) says it ended only because the ctx of the
// caller running it did, so a waiter should try again rather than take the
// outcome.
type keyFlight struct {
	done      chan struct{}
	abandoned bool
}

// NewRemoteKeySet returns a key set for the JWKS at jwksURL. It makes no
// request.
func NewRemoteKeySet(jwksURL string, opts RemoteOptions) *RemoteKeySet {
	return &RemoteKeySet{
		url:     jwksURL,
		display: redactKeyURL(jwksURL),
		opts:    opts.withDefaults(),
		now:     time.Now,
	}
}

// Stats returns how many fetches were started and how many of them failed.
func (s *RemoteKeySet) Stats() (fetches, failures uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches, s.failures
}

// Keys implements KeySet.
func (s *RemoteKeySet) Keys(ctx context.Context, kid, alg string) ([]any, error) {
	// joined: this caller saw a fetch end (its own or one it waited for) and
	// takes what is there now instead of fetching again.
	joined := false
	for {
		s.mu.Lock()
		now := s.now()
		mayFetch := s.flight == nil && (!s.attempted || now.Sub(s.lastAttempt) >= s.opts.RefreshCooldown)
		if s.have {
			got := selectKeys(s.keys, kid, alg)
			fresh := now.Sub(s.fetchedAt) < s.opts.MaxAge
			// Matching keys are served at once unless they are stale and
			// this caller may refresh them; stale keys are still served
			// while another caller refreshes.
			if len(got) > 0 && (joined || fresh || !mayFetch) {
				s.mu.Unlock()
				return got, nil
			}
			if len(got) == 0 && (joined || (s.flight == nil && !mayFetch)) {
				s.mu.Unlock()
				return got, nil
			}
		} else if joined || (s.flight == nil && !mayFetch) {
			err := keysUnavailable(s.lastErr, s.display)
			s.mu.Unlock()
			return nil, err
		}

		if f := s.flight; f != nil {
			s.waiting++
			s.mu.Unlock()
			gaveUp := false
			select {
			case <-f.done:
				joined = !f.abandoned
			case <-ctx.Done():
				gaveUp = true
			}
			s.mu.Lock()
			s.waiting--
			s.mu.Unlock()
			if gaveUp {
				return nil, keysWaitEnded(ctx, s.display)
			}
			continue
		}

		f := &keyFlight{done: make(chan struct{})}
		prevAttempted, prevAttempt := s.attempted, s.lastAttempt
		s.flight = f
		s.attempted = true
		s.lastAttempt = now
		s.fetches++
		s.mu.Unlock()

		s.runFetch(ctx, f, prevAttempted, prevAttempt)
		if f.abandoned {
			return nil, keysWaitEnded(ctx, s.display)
		}
		joined = true
	}
}

// runFetch fetches the keys for flight f and records the outcome. A fetch
// cut short by the caller's own ctx does not count against the cool-down.
func (s *RemoteKeySet) runFetch(ctx context.Context, f *keyFlight, prevAttempted bool, prevAttempt time.Time) {
	keys := []JWK(nil)
	err := fmt.Errorf("fetching JWKS from %s did not complete", s.display)
	defer func() {
		s.mu.Lock()
		switch {
		case err == nil:
			s.keys = keys
			s.have = true
			s.fetchedAt = s.now()
			s.lastErr = nil
		case ctx.Err() != nil:
			f.abandoned = true
			s.attempted, s.lastAttempt = prevAttempted, prevAttempt
			s.failures++
		default:
			s.lastErr = err
			s.failures++
		}
		s.flight = nil
		close(f.done)
		s.mu.Unlock()
	}()
	keys, err = s.fetch(ctx)
}

func (s *RemoteKeySet) fetch(ctx context.Context) ([]JWK, error) {
	body, err := fetchKeyDocument(ctx, s.opts.Client, s.url, s.display, s.opts.FetchTimeout)
	if err != nil {
		return nil, err
	}
	keys, err := ParseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("JWKS from %s: %v", s.display, err)
	}
	return keys, nil
}

// fetchKeyDocument GETs a JWKS or discovery document: status 200 and at most
// 1 MiB, within timeout. Errors name the URL (display) and never a token.
func fetchKeyDocument(ctx context.Context, client *http.Client, rawURL, display string, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %v", display, err)
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	resp, err := client.Do(req)
	if err != nil {
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		return nil, fmt.Errorf("GET %s: %w", display, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, fmt.Errorf("GET %s: status %s", display, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeyDocumentBytes+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading body: %w", display, err)
	}
	if len(body) > maxKeyDocumentBytes {
		return nil, fmt.Errorf("GET %s: document larger than %d bytes", display, maxKeyDocumentBytes)
	}
	return body, nil
}

// keysUnavailable is the KindKeysUnavailable refusal; the cause names the
// source, for logs.
func keysUnavailable(cause error, source string) *Error {
	if cause == nil {
		cause = fmt.Errorf("no keys could be read from %s", source)
	}
	return &Error{Kind: KindKeysUnavailable, Detail: keysUnavailableDetail, Err: cause}
}

// keysWaitEnded is the refusal of a caller whose ctx ended while keys were
// being fetched.
func keysWaitEnded(ctx context.Context, source string) *Error {
	return &Error{
		Kind:   KindKeysUnavailable,
		Detail: keysUnavailableDetail,
		Err:    fmt.Errorf("gave up waiting for keys from %s: %w", source, ctx.Err()),
	}
}

// redactKeyURL hides a password in a key URL before it reaches a log.
func redactKeyURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(malformed URL)"
	}
	return u.Redacted()
}
